package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
)

// Limits of the dispatcher.
const (
	// ClaimTTL is how long a node's claim on a delivery lasts: longer than
	// an attempt (Timeout) and the commit of its outcome. A node that dies
	// holding a claim delays that delivery by at most this much.
	ClaimTTL = 2 * time.Minute
	// LogRetention is how long ended deliveries stay in the delivery log.
	LogRetention = 30 * 24 * time.Hour
	// EndpointDisabledEvent is the type of the event written for a merchant
	// whose endpoint was disabled.
	EndpointDisabledEvent = "webhook_endpoint.disabled"

	scanMax         = 100
	cleanupEvery    = 10 * time.Minute
	cleanupBatchMax = 10000
	cleanupLease    = "webhook.cleanup"
	// recordTries bounds the commits of one outcome: a retry follows a
	// version conflict on the endpoint row, which concurrent deliveries to
	// one merchant cause.
	recordTries = 5
)

// Dispatcher delivers due webhooks. Every node runs one; claims on each
// delivery row keep two nodes from sending the same attempt.
type Dispatcher struct {
	DB     *store.DB
	Client *Client          // nil: a Client that refuses loopback
	Log    *slog.Logger     // nil: slog.Default()
	Now    func() time.Time // nil: time.Now; tests inject a clock
	Holder string           // names this node in claims; "": a new id
	// Concurrency bounds the attempts in flight; 0 means 32.
	Concurrency int
	// Poll is how often due deliveries are looked for when nothing wakes
	// the dispatcher (retries come due by time alone); 0 means 1 s.
	Poll time.Duration

	once sync.Once
}

func (d *Dispatcher) init() {
	d.once.Do(func() {
		if d.Client == nil {
			d.Client = NewClient(false)
		}
		if d.Log == nil {
			d.Log = slog.Default()
		}
		if d.Now == nil {
			d.Now = time.Now
		}
		if d.Holder == "" {
			d.Holder = agentpay.NewID("node")
		}
		if d.Concurrency <= 0 {
			d.Concurrency = 32
		}
		if d.Poll <= 0 {
			d.Poll = time.Second
		}
	})
}

// Run delivers until ctx ends: at once when a unit enqueues deliveries (the
// bus wakes it), and every Poll for retries that came due. Attempts in
// flight when ctx ends are abandoned and their claims released, so another
// node (or this one, restarted) sends them again.
func (d *Dispatcher) Run(ctx context.Context) {
	d.init()
	wake, stop := d.DB.Bus.Subscribe(Topic)
	defer stop()
	tick := time.NewTicker(d.Poll)
	defer tick.Stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	sem := make(chan struct{}, d.Concurrency)
	var inflight sync.Map // delivery id -> struct{}: attempts of this node not yet recorded
	var lastCleanup time.Time
	for {
		due, err := d.DB.DueWebhookDeliveries(ctx, d.Now().UnixMicro(), scanMax)
		if err != nil && ctx.Err() == nil {
			d.Log.Warn("webhook scan failed", "error", err)
		}
		launched := 0
		for _, dl := range due {
			if _, busy := inflight.LoadOrStore(dl.ID, struct{}{}); busy {
				continue
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				inflight.Delete(dl.ID)
				return
			}
			launched++
			wg.Go(func() {
				defer func() { <-sem; inflight.Delete(dl.ID) }()
				d.deliver(ctx, dl)
			})
		}
		if time.Since(lastCleanup) >= cleanupEvery {
			lastCleanup = time.Now()
			d.cleanup(ctx)
		}
		if len(due) == scanMax && launched > 0 {
			continue // more are due
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-tick.C:
		}
	}
}

// RunOnce attempts every delivery due now (up to a scan's worth) and waits
// for their outcomes; it returns how many were due. Tests drive delivery
// with it, step by step, under an injected clock.
func (d *Dispatcher) RunOnce(ctx context.Context) (int, error) {
	d.init()
	due, err := d.DB.DueWebhookDeliveries(ctx, d.Now().UnixMicro(), scanMax)
	if err != nil {
		return 0, err
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, d.Concurrency)
	for _, dl := range due {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			d.deliver(ctx, dl)
		})
	}
	wg.Wait()
	return len(due), nil
}

// cleanup forgets deliveries that ended more than LogRetention ago, on one
// node at a time.
func (d *Dispatcher) cleanup(ctx context.Context) {
	ok, err := d.DB.Lease(ctx, cleanupLease, d.Holder, time.Minute)
	if err != nil || !ok {
		return
	}
	if _, err := d.DB.DeleteOldWebhookDeliveries(ctx, d.Now().Add(-LogRetention).UnixMicro(), cleanupBatchMax); err != nil && ctx.Err() == nil {
		d.Log.Warn("webhook delivery cleanup failed", "error", err)
	}
}

// Claim takes delivery dl for this node until ClaimTTL from now, with a
// versioned update: of two nodes that read the same row, one claims it.
// It returns the delivery as claimed (at its new version).
func (d *Dispatcher) Claim(ctx context.Context, dl store.WebhookDelivery) (store.WebhookDelivery, error) {
	d.init()
	now := d.Now()
	c := dl
	c.ClaimedBy, c.ClaimedUntil, c.UpdatedAt = d.Holder, now.Add(ClaimTTL).UnixMicro(), now.UnixMicro()
	if res := d.DB.Committer.Submit(ctx, &store.Unit{Updates: []store.Update{store.WebhookDeliveryUpdate(c)}}); res.Err != nil {
		return dl, res.Err
	}
	c.Version++
	return c, nil
}

// deliver claims one delivery, attempts it and records the outcome.
func (d *Dispatcher) deliver(ctx context.Context, dl store.WebhookDelivery) {
	c, err := d.Claim(ctx, dl)
	if err != nil {
		// Another node claimed it first, or it changed since the scan.
		d.Log.Debug("webhook delivery not claimed", "delivery", dl.ID, "error", agentpay.ErrorCode(err))
		return
	}
	m, err := d.DB.Merchant(ctx, c.MerchantID)
	if agentpay.ErrorKind(err) == agentpay.ENOTFOUND {
		d.end(ctx, c, "the merchant no longer exists")
		return
	}
	if err != nil {
		d.release(c, err)
		return
	}
	switch {
	case m.WebhookURL == "":
		d.end(ctx, c, "the merchant has no webhook endpoint")
		return
	case m.Webhook.DisabledAt != 0:
		d.end(ctx, c, "the webhook endpoint is disabled")
		return
	}
	ev, err := d.DB.WebhookEvent(ctx, c.EventID)
	if agentpay.ErrorKind(err) == agentpay.ENOTFOUND {
		d.end(ctx, c, "the event no longer exists")
		return
	}
	if err != nil {
		d.release(c, err)
		return
	}
	now := d.Now()
	body := Body(ev)
	secrets := []string{m.WebhookSecret}
	if m.Webhook.PreviousSecret != "" && now.UnixMicro() < m.Webhook.PreviousSecretExpiresAt {
		secrets = append(secrets, m.Webhook.PreviousSecret)
	}
	var status int
	var why string
	headers, err := Sign(ev.ID, now, body, secrets...)
	if err != nil {
		why = "the signing secret is unusable; rotate it"
	} else {
		status, err = d.Client.Post(ctx, m.WebhookURL, headers, body)
		if ctx.Err() != nil {
			d.release(c, ctx.Err())
			return
		}
		if err != nil || status < 200 || status > 299 {
			why = Describe(status, err)
		}
	}
	d.record(ctx, c, m, status, why)
}

// release gives up this node's claim after an attempt it could not finish
// (shutdown, a failed read), so the delivery is due again at once.
func (d *Dispatcher) release(c store.WebhookDelivery, cause error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c.ClaimedBy, c.ClaimedUntil = "", 0
	res := d.DB.Committer.Submit(ctx, &store.Unit{Updates: []store.Update{store.WebhookDeliveryUpdate(c)}})
	d.Log.Debug("webhook delivery released", "delivery", c.ID, "cause", cause, "error", res.Err)
}

// end marks a delivery dead without an attempt: there is nothing to send
// it to.
func (d *Dispatcher) end(ctx context.Context, c store.WebhookDelivery, why string) {
	now := d.Now().UnixMicro()
	c.Status, c.NextAttemptAt, c.LastError, c.ClaimedBy, c.ClaimedUntil, c.UpdatedAt = store.WebhookDead, 0, why, "", 0, now
	if res := d.DB.Committer.Submit(ctx, &store.Unit{Updates: []store.Update{store.WebhookDeliveryUpdate(c)}}); res.Err != nil {
		d.Log.Warn("webhook delivery not ended", "delivery", c.ID, "error", res.Err)
	}
}

// record writes the outcome of an attempt (why is "" on success) and what
// it means for the endpoint's health, in one unit.
func (d *Dispatcher) record(ctx context.Context, c store.WebhookDelivery, m store.StoredMerchant, status int, why string) {
	at := d.Now()
	ok := why == ""
	next := c
	next.Attempts++
	if next.FirstAttemptAt == 0 {
		next.FirstAttemptAt = at.UnixMicro()
	}
	next.URL, next.LastAttemptAt, next.LastStatusCode, next.LastError = m.WebhookURL, at.UnixMicro(), int64(status), why
	next.ClaimedBy, next.ClaimedUntil, next.UpdatedAt = "", 0, at.UnixMicro()
	switch retryAt, retry := nextAttempt(next.Attempts, time.UnixMicro(next.FirstAttemptAt), at); {
	case ok:
		next.Status, next.NextAttemptAt = store.WebhookSucceeded, 0
	case retry:
		next.Status, next.NextAttemptAt = store.WebhookFailed, retryAt.UnixMicro()
	default:
		next.Status, next.NextAttemptAt = store.WebhookDead, 0
	}
	for try := 1; ; try++ {
		u := &store.Unit{Updates: []store.Update{store.WebhookDeliveryUpdate(next)}}
		after := m
		disabled := health(u, &after, ok, at, why)
		res := d.DB.Committer.Submit(ctx, u)
		if res.Err == nil {
			d.Log.Debug("webhook attempt", "delivery", c.ID, "event", c.EventID, "merchant", m.ID,
				"status", next.Status, "http_status", status, "error", why, "attempts", next.Attempts)
			if disabled {
				d.Log.Warn("webhook endpoint disabled", "merchant", m.ID, "reason", after.Webhook.DisabledReason)
			}
			return
		}
		code := agentpay.ErrorCode(res.Err)
		if try == recordTries || (code != "version_conflict" && code != "already_exists") || ctx.Err() != nil {
			// The claim runs out and the delivery is attempted again.
			d.Log.Warn("webhook attempt not recorded", "delivery", c.ID, "error", res.Err)
			return
		}
		fresh, err := d.DB.Merchant(ctx, m.ID)
		if err != nil {
			d.Log.Warn("webhook attempt not recorded", "delivery", c.ID, "error", err)
			return
		}
		fresh.WebhookURL = m.WebhookURL // what the attempt was sent to
		m = fresh
	}
}

// health adds to u what an attempt's outcome changes of m's endpoint, and
// reports whether it disables it. A success ends a failing streak; the
// first failure starts one; a failure DisableAfter or more after the
// streak began disables the endpoint and writes an EndpointDisabledEvent
// for the merchant. Attempts that change nothing write nothing, so a
// healthy endpoint costs no write beyond its deliveries. m.Webhook is
// updated to what u writes.
func health(u *store.Unit, m *store.StoredMerchant, ok bool, at time.Time, why string) bool {
	ep := &m.Webhook
	ep.MerchantID = m.ID
	now := at.UnixMicro()
	disabled := false
	switch {
	case ok && ep.FailingSince == 0, !ok && ep.DisabledAt != 0:
		return false
	case ok:
		ep.FailingSince = 0
	case ep.FailingSince == 0:
		ep.FailingSince = now
	case now-ep.FailingSince >= DisableAfter.Microseconds():
		ep.DisabledAt = now
		ep.DisabledReason = fmt.Sprintf("no successful delivery since %s (%s); last attempt: %s",
			time.UnixMicro(ep.FailingSince).UTC().Format(time.RFC3339), DisableAfter, why)
		disabled = true
	default:
		return false
	}
	ep.UpdatedAt = now
	ep.AddTo(u)
	if disabled {
		data, err := json.Marshal(map[string]string{
			"merchant":      m.ID,
			"status":        "disabled",
			"reason":        ep.DisabledReason,
			"failing_since": time.UnixMicro(ep.FailingSince).UTC().Format(time.RFC3339Nano),
			"disabled_at":   at.UTC().Format(time.RFC3339Nano),
		})
		if err != nil {
			panic("webhook: encode event: " + err.Error()) // strings always encode
		}
		// The endpoint row's new version numbers the merchant's endpoint
		// events: it only grows.
		e := store.Event{ID: agentpay.NewID("evt"), ObjectID: m.ID, MerchantID: m.ID, Type: EndpointDisabledEvent,
			Seq: ep.Version + 1, Data: string(data), CreatedAt: now}
		u.Rows = append(u.Rows, e.Row())
	}
	return disabled
}
