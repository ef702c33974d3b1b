package payments

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/risk"
	"github.com/agentpay/agentpay/store"
)

// Risk stages: a payment is assessed when it is created (and when its
// agent changes it) and again when the user approves it.
const (
	stageCreate  = "create"
	stageApprove = "approve"
)

// DeclineRisk is the decline code of a payment risk control denied. The
// reasons are the operator's (GET /v1/payments/{id}/risk): telling them to
// the agent would teach a hijacked one what to avoid.
const DeclineRisk = "risk_denied"

// Containment: an agent key whose payments are mostly denied, or whose
// captured payments keep ending in claims, is suspended for every user.
const (
	containDecisionsMin = 20  // decisions in 24 h before the deny rate counts
	containDenyRate     = 0.5 // of those decisions
	containCapturesMin  = 20  // captures in 30 days before the claim rate counts
	containClaimRate    = 0.1 // of those captures
)

// historyBucketsMax bounds the amount histogram read per user and asset
// (quarter-octave buckets of int64 amounts: at most 252 exist).
const historyBucketsMax = 256

// Counter windows. Each is kept as fixed buckets; a window's value is the
// sliding estimate over the current and the previous bucket (risk.Sliding).
type window struct {
	name string
	size time.Duration
}

var (
	minute1 = window{"m1", time.Minute}
	hour1   = window{"h1", time.Hour}
	day1    = window{"d1", 24 * time.Hour}
	days30  = window{"d30", 30 * 24 * time.Hour}
	// keepLong is how long counters of a user's history live after their
	// last payment.
	keepLong = 400 * 24 * time.Hour
)

// bucket returns the ids of the current and previous buckets of a counter
// family in w, the current bucket's expiry (it is read as the previous one
// during the next window) and how far into the current bucket now is.
func (w window) bucket(family string, now time.Time) (cur, prev string, expires int64, elapsed time.Duration) {
	start := risk.WindowStart(now, w.size)
	cur = family + ":" + w.name + ":" + strconv.FormatInt(start.Unix(), 10)
	prev = family + ":" + w.name + ":" + strconv.FormatInt(start.Add(-w.size).Unix(), 10)
	return cur, prev, start.Add(2 * w.size).UnixMicro(), now.Sub(start)
}

// reads collects counter ids to read in one query.
type reads struct {
	ids   []string
	final []string // of ids, buckets whose period is over (see pastBuckets)
	got   map[string]store.Count
}

func (r *reads) want(ids ...string) { r.ids = append(r.ids, ids...) }

// sliding returns the sliding estimate of a family in w, as a window.
func (r *reads) sliding(family string, w window, now time.Time) risk.Window {
	cur, prev, _, elapsed := w.bucket(family, now)
	return risk.Window{
		Count:  risk.Sliding(r.got[prev].N, r.got[cur].N, elapsed, w.size),
		Amount: risk.Sliding(r.got[prev].Amount, r.got[cur].Amount, elapsed, w.size),
	}
}

func (r *reads) wantWindows(family string, now time.Time, ws ...window) {
	for _, w := range ws {
		cur, prev, _, elapsed := w.bucket(family, now)
		r.want(cur, prev)
		if elapsed >= pastGrace {
			r.final = append(r.final, prev)
		}
	}
}

// pastGrace is how long after its period a bucket may still grow: a unit
// prepared just before the period ended adds to it when it commits.
const pastGrace = 10 * time.Second

// pastBucketsMax bounds the buckets a node caches; past it the cache
// starts over (each bucket then costs one more read).
const pastBucketsMax = 100_000

// pastBuckets caches the counter buckets whose period is over (by
// pastGrace): nothing adds to them any more, so a node reads each once
// instead of on every decision, which halves the ids a decision reads.
// Absent buckets are cached as zero.
type pastBuckets struct {
	mu sync.Mutex
	m  map[string]store.Count
}

// read reads r.ids into r.got, the final buckets from the cache where it
// has them.
func (c *pastBuckets) read(ctx context.Context, db *store.DB, r *reads) error {
	final := make(map[string]bool, len(r.final))
	for _, id := range r.final {
		final[id] = true
	}
	r.got = make(map[string]store.Count, len(r.ids))
	ask := make([]string, 0, len(r.ids))
	c.mu.Lock()
	for _, id := range r.ids {
		if v, ok := c.m[id]; ok && final[id] {
			r.got[id] = v
		} else {
			ask = append(ask, id)
		}
	}
	c.mu.Unlock()
	got, err := db.Counters(ctx, ask...)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= pastBucketsMax {
		c.m = make(map[string]store.Count)
	}
	for _, id := range ask {
		r.got[id] = got[id]
		if final[id] {
			c.m[id] = got[id]
		}
	}
	return nil
}

// count adds n events and amount to the current bucket of a family in w.
func count(family string, w window, now time.Time, n, amount int64) store.Count {
	cur, _, expires, _ := w.bucket(family, now)
	return store.Count{ID: cur, N: n, Amount: amount, ExpiresAt: expires}
}

// actor is who asked for a payment, for the counters an agent key has: its
// key, or, for a charge a merchant makes under a mandate without an agent,
// the mandate (so such charges never pool into one empty key's counts).
func actor(p agentpay.Payment) string {
	if p.AgentKeyID != "" {
		return p.AgentKeyID
	}
	return "man_" + p.MandateID
}

// grantOf is the grant a payment counts under: its grant, or its mandate.
func grantOf(p agentpay.Payment) string {
	if p.GrantID != "" {
		return p.GrantID
	}
	return "man_" + p.MandateID
}

// The counter families of a payment.
func velocityFamilies(p agentpay.Payment) (grant, key, user, merchant string) {
	return "v:g:" + grantOf(p), "v:k:" + actor(p) + ":" + p.Asset, "v:u:" + p.UserID + ":" + p.Asset,
		"v:m:" + p.MerchantID + ":" + p.Asset
}
func fanoutMarker(p agentpay.Payment) string  { return "ku:" + actor(p) + ":" + p.UserID }
func fanoutFamily(p agentpay.Payment) string  { return "kf:" + actor(p) }
func decisionsFamily(key string) string       { return "kd:" + key }
func deniesFamily(key string) string          { return "kx:" + key }
func capturesFamily(owner string) string      { return "cap:" + owner }
func claimsFamily(owner string) string        { return "clm:" + owner }
func payeeCounter(p agentpay.Payment) string  { return "pm:" + p.UserID + ":" + p.MerchantID }
func historyPrefix(p agentpay.Payment) string { return "h:" + p.UserID + ":" + p.Asset + ":" }

// CaptureCounts are the counters a capture adds to: its merchant's and
// its agent key's captures over 30 days, the denominators of their claim
// rates.
func CaptureCounts(p agentpay.Payment, now time.Time) []store.Count {
	return []store.Count{count(capturesFamily(p.MerchantID), days30, now, 1, 0), count(capturesFamily(actor(p)), days30, now, 1, 0)}
}

// ClaimCounts are the counters a compensation claim on p adds to.
func ClaimCounts(p agentpay.Payment, now time.Time) []store.Count {
	return []store.Count{count(claimsFamily(p.MerchantID), days30, now, 1, 0), count(claimsFamily(actor(p)), days30, now, 1, 0)}
}

// assessment is a decision and what it writes with the payment's unit.
type assessment struct {
	decision risk.Decision
	counts   []store.Count
	contain  bool // suspend the agent key
}

// defaultRules are the built-in rules, compiled once.
var defaultRules = sync.OnceValue(func() *risk.Ruleset { return risk.MustCompile(risk.DefaultRules) })

// risk returns the service's engine; a Service made without one gets its
// own, with the built-in rules.
func (s *Service) risk() *risk.Engine {
	s.riskOnce.Do(func() {
		if s.Risk == nil {
			s.Risk = risk.NewEngine(defaultRules(), 0)
		}
	})
	return s.Risk
}

// assess gathers p's signals (two reads: the counters by id, the user's
// amount histogram by key range), decides, and returns the counts the
// payment's unit adds.
//
// attempt says whether p is a new attempt to pay, which counts towards
// velocity; a new version of a payment is decided again but not counted.
//
// payee says that p is charged under a mandate naming its merchant.
func (s *Service) assess(ctx context.Context, stage string, attempt bool, p agentpay.Payment, g agentpay.Grant,
	m store.StoredMerchant, tier agentpay.TierLimits, now time.Time, payee bool) (assessment, error) {
	grantF, keyF, userF, merchantF := velocityFamilies(p)
	all := []window{minute1, hour1, day1}
	var r reads
	for _, f := range []string{grantF, keyF, userF, merchantF} {
		r.wantWindows(f, now, all...)
	}
	markerH1, _, _, _ := hour1.bucket(fanoutMarker(p), now)
	markerD1, _, _, _ := day1.bucket(fanoutMarker(p), now)
	r.want(markerH1, markerD1, payeeCounter(p))
	r.wantWindows(fanoutFamily(p), now, hour1, day1)
	r.wantWindows(decisionsFamily(actor(p)), now, day1)
	r.wantWindows(deniesFamily(actor(p)), now, day1)
	for _, owner := range []string{p.MerchantID, actor(p)} {
		r.wantWindows(capturesFamily(owner), now, days30)
		r.wantWindows(claimsFamily(owner), now, days30)
	}
	var err error
	if err = s.past.read(ctx, s.DB, &r); err != nil {
		return assessment{}, err
	}
	hist, err := s.DB.CountersWithPrefix(ctx, historyPrefix(p), historyBucketsMax)
	if err != nil {
		return assessment{}, err
	}
	histogram := make(map[int]int64, len(hist))
	var historyCount int64
	for _, c := range hist {
		b, err := strconv.Atoi(strings.TrimPrefix(c.ID, historyPrefix(p)))
		if err != nil {
			return assessment{}, fmt.Errorf("payments: history counter %q: %w", c.ID, err)
		}
		histogram[b] += c.N
		historyCount += c.N
	}

	var a assessment
	if attempt {
		// The attempt counts, whatever is decided: an agent probing
		// amounts under the limits is what velocity is for.
		for _, f := range []string{grantF, keyF, userF, merchantF} {
			for _, w := range all {
				a.counts = append(a.counts, count(f, w, now, 1, p.Totals.Total))
			}
		}
		// A user's first payment through this key in a window adds them to
		// the key's distinct users. Two first payments racing may both
		// add: the count errs high, on the side of caution.
		for _, w := range []window{hour1, day1} {
			marker, _, _, _ := w.bucket(fanoutMarker(p), now)
			if r.got[marker].N == 0 {
				a.counts = append(a.counts, count(fanoutFamily(p), w, now, 1, 0))
				r.got[marker] = store.Count{N: 1}
				cur, _, _, _ := w.bucket(fanoutFamily(p), now)
				c := r.got[cur]
				c.N++
				r.got[cur] = c
			}
			a.counts = append(a.counts, count(fanoutMarker(p), w, now, 1, 0))
		}
	}
	if !attempt {
		// Velocity excludes the payment being decided, which was counted
		// when it was created: take it out of the bucket it went into. Its
		// amount then may have differed (a version since changed it); the
		// bucket's amount loses at most what it holds.
		created := time.UnixMicro(p.CreatedAt)
		for _, f := range []string{grantF, keyF, userF, merchantF} {
			for _, w := range all {
				then, _, _, _ := w.bucket(f, created)
				if c, ok := r.got[then]; ok && c.N > 0 {
					c.N--
					c.Amount -= min(c.Amount, p.Totals.Total)
					r.got[then] = c
				}
			}
		}
	}
	rate := func(num, den int64) float64 {
		if den <= 0 {
			return 0
		}
		return float64(num) / float64(den)
	}
	names := make([]string, len(p.Items))
	for i, it := range p.Items {
		names[i] = it.Name
	}
	overlap, mismatch := risk.IntentOverlap(p.Purpose, m.Name, names)
	sig := risk.Signals{Stage: stage}
	sig.Payment = risk.PaymentSignals{Amount: p.Totals.Total, Asset: p.Asset, Items: int64(len(p.Items)), MerchantCategory: m.MCC,
		Mandate: p.MandateID != "", MandatePayee: payee}
	sig.User = risk.UserSignals{HistoryCount: historyCount, HistoryMedian: risk.Quantile(histogram, 0.5),
		HistoryP95: risk.Quantile(histogram, 0.95), Tier: int64(tier.Tier), TierPerPayment: tier.PerPayment}
	velocity := func(f string) risk.Velocity {
		return risk.Velocity{M1: r.sliding(f, minute1, now), H1: r.sliding(f, hour1, now), D1: r.sliding(f, day1, now)}
	}
	sig.Velocity = risk.VelocitySignals{Grant: velocity(grantF), AgentKey: velocity(keyF), User: velocity(userF), Merchant: velocity(merchantF)}
	mc, mq := r.sliding(capturesFamily(p.MerchantID), days30, now).Count, r.sliding(claimsFamily(p.MerchantID), days30, now).Count
	sig.Merchant = risk.MerchantSignals{FirstPayment: r.got[payeeCounter(p)].N == 0,
		CategoryAllowed: len(g.Categories) == 0 || slices.Contains(g.Categories, m.MCC),
		Captures30d:     mc, Claims30d: mq, ClaimRate: rate(mq, mc)}
	kc, kq := r.sliding(capturesFamily(actor(p)), days30, now).Count, r.sliding(claimsFamily(actor(p)), days30, now).Count
	kd, kx := r.sliding(decisionsFamily(actor(p)), day1, now).Count, r.sliding(deniesFamily(actor(p)), day1, now).Count
	sig.AgentKey = risk.AgentKeySignals{UsersH1: r.sliding(fanoutFamily(p), hour1, now).Count,
		UsersD1: r.sliding(fanoutFamily(p), day1, now).Count, Decisions24h: kd, Denies24h: kx, DenyRate: rate(kx, kd),
		Claims30d: kq, Captures30d: kc, ClaimRate: rate(kq, kc)}
	sig.Intent = risk.IntentSignals{Purpose: p.Purpose, Mismatch: mismatch, Overlap: overlap}

	a.decision = s.risk().Evaluate(sig)
	denied := a.decision.Outcome == risk.Deny
	a.counts = append(a.counts, count(decisionsFamily(actor(p)), day1, now, 1, 0))
	if denied {
		kx++
		a.counts = append(a.counts, count(deniesFamily(actor(p)), day1, now, 1, 0))
	}
	kd++
	// Containment suspends agent keys; a charge without an agent has none.
	a.contain = p.AgentKeyID != "" && ((kd >= containDecisionsMin && rate(kx, kd) >= containDenyRate) ||
		(kc >= containCapturesMin && rate(kq, kc) >= containClaimRate))
	return a, nil
}

// record adds the assessment to the unit of p (as it will be written): the
// decision with its signals, the counts and, when the agent key crossed a
// containment threshold, its suspension and the event that says so.
func (s *Service) record(ctx context.Context, u *store.Unit, stage string, p agentpay.Payment, a assessment, now time.Time) error {
	reasons, err := json.Marshal(a.decision.Reasons)
	if err != nil {
		return err
	}
	signals, err := json.Marshal(a.decision.Signals)
	if err != nil {
		return err
	}
	u.Rows = append(u.Rows, store.RiskDecision{ID: agentpay.NewID("rsk"), PaymentID: p.ID, PaymentVersion: p.Version, Stage: stage,
		Outcome: string(a.decision.Outcome), Reasons: string(reasons), Signals: string(signals),
		RulesVersion: a.decision.RulesVersion, CreatedAt: now.UnixMicro()}.Row())
	u.Counts = append(u.Counts, a.counts...)
	if !a.contain {
		return nil
	}
	id := store.AgentSuspensionID("key", p.AgentKeyID)
	// A key suspended before, even if an operator lifted it since, is
	// left to the operators: containment acts once, and does not fight a
	// human who looked at the key and let it go.
	if _, found, err := s.DB.AgentSuspensionByID(ctx, id); err != nil || found {
		return err
	}
	u.Rows = append(u.Rows, store.AgentSuspension{ID: id, Suspended: true, CreatedAt: now.UnixMicro()}.Row())
	data, err := json.Marshal(map[string]any{"agent_key": p.AgentKeyID, "payment": p.ID,
		"decisions_24h": a.decision.Signals.AgentKey.Decisions24h, "denies_24h": a.decision.Signals.AgentKey.Denies24h,
		"claim_rate": a.decision.Signals.AgentKey.ClaimRate})
	if err != nil {
		return err
	}
	u.Rows = append(u.Rows, store.Event{ID: agentpay.NewID("evt"), ObjectID: id, Type: "agent_key.suspended", Seq: 1,
		Data: string(data), CreatedAt: now.UnixMicro()}.Row())
	return nil
}

// authorizedCounts are what an authorized payment adds to its user's
// history: the amount histogram and the payments to this merchant.
func authorizedCounts(p agentpay.Payment, now time.Time) []store.Count {
	keep := now.Add(keepLong).UnixMicro()
	return []store.Count{
		{ID: historyPrefix(p) + fmt.Sprintf("%03d", risk.Bucket(p.Totals.Total)), N: 1, Amount: p.Totals.Total, ExpiresAt: keep},
		{ID: payeeCounter(p), N: 1, Amount: p.Totals.Total, ExpiresAt: keep},
	}
}

// applyOutcome sets what the decision means for a payment that would
// otherwise wait for the user: denied payments are declined, reviewed ones
// held for an operator (for PaymentReviewTTL). It returns the event type.
func applyOutcome(p *agentpay.Payment, d risk.Decision, now time.Time, typ string) (string, error) {
	switch d.Outcome {
	case risk.Deny:
		next, err := agentpay.NextStatus(p.Status, agentpay.ActionDecline, 0, 0)
		if err != nil {
			return typ, err
		}
		p.Status, p.DeclineCode = next, DeclineRisk
		return "payment.declined", nil
	case risk.Review:
		next, err := agentpay.NextStatus(p.Status, agentpay.ActionHold, 0, 0)
		if err != nil {
			return typ, err
		}
		p.Status = next
		p.ApprovalExpiresAt = now.Add(agentpay.PaymentReviewTTL).UnixMicro()
		return "payment.in_review", nil
	}
	return typ, nil
}
