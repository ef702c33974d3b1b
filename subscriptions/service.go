// Package subscriptions runs recurring payments (issue 7): an agent
// proposes a subscription to a merchant's plan under its grant; the user
// approves its mandate once with a passkey; a leased scheduler then
// charges every period under that mandate (no tap), captures each charge
// for the merchant, retries failed charges on a dunning schedule, and
// ends, pauses or cancels the subscription when asked.
//
// Every change is one unit of work: the subscription's versioned update,
// its mandate's, the payment's capture and the events with their webhook
// deliveries commit together or not at all.
package subscriptions

import (
	"context"
	"encoding/json"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/payments"
	"github.com/agentpay/agentpay/store"
)

// Statuses of a subscription.
const (
	Incomplete = "incomplete" // its mandate waits for the user's passkey
	Trialing   = "trialing"   // approved; the first charge is at the trial's end
	Active     = "active"
	PastDue    = "past_due" // a charge failed; dunning retries it
	Paused     = "paused"
	Canceled   = "canceled"
	Ended      = "ended" // its last cycle was charged
)

// Limits of a subscription's terms.
const (
	PlanLengthMax = 200
	CyclesMax     = 1000
)

// Service runs subscriptions over a store.
type Service struct {
	DB       *store.DB
	Payments *payments.Service // charges and captures; its clock should be Now
	Outbox   payments.Outbox   // nil: events are only stored
	Now      func() time.Time  // nil: time.Now
	// Dunning overrides DefaultDunning.
	Dunning []time.Duration
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// Statuses of a merchant's offer, before any user took it.
const (
	Offered = "offered" // a merchant's offer, waiting for a user to accept it
)

// OfferTTL is how long a merchant's offer waits for a user to accept it.
const OfferTTL = 7 * 24 * time.Hour

// CreateRequest is a proposal of a subscription: an agent's under its
// grant, or a merchant's offer (Grant zero) that a user accepts later.
type CreateRequest struct {
	Grant      agentpay.Grant
	MerchantID string
	Plan       string
	Asset      string
	Amount     int64 // per period, in minor units; a metered plan's base fee (0 allowed)
	// MaxAmount makes the plan metered: each period is charged at its
	// end for Amount plus the usage the merchant reported, never more
	// than MaxAmount, which is what the user's mandate allows per period.
	MaxAmount int64
	Interval  agentpay.Interval
	TimeZone  string // whose calendar the periods follow
	TrialDays int    // 0: the first period starts at approval
	EndsAt    int64  // microseconds; 0: no end date
	Cycles    int    // periods charged in all; 0: until canceled (not with EndsAt)
}

// check validates a proposal's terms and returns its time zone.
func (req CreateRequest) check() (*time.Location, error) {
	if req.Plan == "" || !text(req.Plan, PlanLengthMax) {
		return nil, agentpay.ParamErrorf("plan", "invalid_plan", "plan is 1 to %d bytes of text", PlanLengthMax)
	}
	switch {
	case req.MaxAmount < 0:
		return nil, agentpay.ParamErrorf("max_amount", "invalid_amount", "max_amount must be 0 (a fixed price) or more")
	case req.MaxAmount == 0 && req.Amount <= 0:
		return nil, agentpay.ParamErrorf("amount", "invalid_amount", "amount must be more than 0")
	case req.MaxAmount > 0 && (req.Amount < 0 || req.Amount >= req.MaxAmount):
		return nil, agentpay.ParamErrorf("amount", "invalid_amount", "a metered plan's amount (its base fee) is 0 or more and less than max_amount")
	}
	if err := req.Interval.Validate("interval"); err != nil {
		return nil, err
	}
	loc, err := agentpay.LoadLocation("time_zone", req.TimeZone)
	if err != nil {
		return nil, err
	}
	if req.TrialDays < 0 || req.TrialDays > agentpay.IntervalCountMax(agentpay.IntervalDay) {
		return nil, agentpay.ParamErrorf("trial_days", "invalid_trial", "trial_days is 0 to %d",
			agentpay.IntervalCountMax(agentpay.IntervalDay))
	}
	if req.Cycles < 0 || req.Cycles > CyclesMax || (req.Cycles > 0 && req.EndsAt != 0) {
		return nil, agentpay.ParamErrorf("cycles", "invalid_cycles", "cycles is 0 to %d, and not with ends_at", CyclesMax)
	}
	return loc, nil
}

// begin sets sub's first period and end from now: periods start at the
// trial's end, in calendar days of the subscription's zone.
func (s *Service) begin(sub *store.Subscription, loc *time.Location) error {
	anchor := s.now().Truncate(time.Microsecond)
	if sub.TrialDays > 0 {
		anchor = agentpay.Interval{Unit: agentpay.IntervalDay, Count: int(sub.TrialDays)}.Cycle(anchor, 1, loc)
	}
	if sub.Cycles > 0 {
		sub.EndsAt = sub.Interval.Cycle(anchor, int(sub.Cycles), loc).UnixMicro()
	}
	if sub.EndsAt != 0 && sub.EndsAt <= anchor.UnixMicro() {
		return agentpay.ParamErrorf("ends_at", "invalid_window", "ends_at must be after the first period starts")
	}
	sub.Anchor = anchor.UnixMicro()
	sub.NextAttemptAt = sub.Anchor
	if sub.MaxAmount > 0 {
		sub.NextAttemptAt = meteredDue(*sub, 0, anchor, loc).UnixMicro()
	}
	return nil
}

// PrepareCreate checks an agent's proposal and returns the subscription,
// incomplete, with the unit that records it and its mandate (kind
// subscription, the merchant its only payee, the plan's amount per
// payment and per period, anchored at the trial's end) for the user to
// approve with a passkey.
func (s *Service) PrepareCreate(ctx context.Context, req CreateRequest) (store.Subscription, *store.Unit, error) {
	if req.Grant.ID == "" {
		return store.Subscription{}, nil, agentpay.ParamErrorf("grant", "invalid_id", "an agent's proposal names its grant")
	}
	sub, err := s.proposal(req)
	if err != nil {
		return sub, nil, err
	}
	// An unknown merchant is PrepareProposeMandate's to refuse.
	mer, err := s.DB.Merchant(ctx, req.MerchantID)
	if err != nil && agentpay.ErrorKind(err) != agentpay.ENOTFOUND {
		return sub, nil, err
	}
	sub.UserID, sub.GrantID = req.Grant.UserID, req.Grant.ID
	return s.propose(ctx, sub, mer, false, "subscription.created")
}

// proposal checks req and returns the subscription it proposes, as yet
// without user, schedule or mandate.
func (s *Service) proposal(req CreateRequest) (store.Subscription, error) {
	if _, err := req.check(); err != nil {
		return store.Subscription{}, err
	}
	us := s.now().UnixMicro()
	return store.Subscription{ID: agentpay.NewID("sub"), MerchantID: req.MerchantID, Plan: req.Plan, Asset: req.Asset,
		Amount: req.Amount, MaxAmount: req.MaxAmount, Interval: req.Interval, TimeZone: req.TimeZone,
		TrialDays: int64(req.TrialDays), Cycles: int64(req.Cycles), EndsAt: req.EndsAt,
		CreatedAt: us, UpdatedAt: us, Version: 1}, nil
}

// propose schedules sub (its user set) from now and proposes its mandate,
// returning sub incomplete with the unit that writes both: a new row, or
// an offer's versioned update. The mandate's payee and amounts checks are
// PrepareProposeMandate's (an agent's grant, the user's tier).
func (s *Service) propose(ctx context.Context, sub store.Subscription, mer store.StoredMerchant, stored bool, typ string) (store.Subscription, *store.Unit, error) {
	loc, err := agentpay.LoadLocation("time_zone", sub.TimeZone)
	if err != nil {
		return sub, nil, err
	}
	if err := s.begin(&sub, loc); err != nil {
		return sub, nil, err
	}
	m, unit, err := s.Payments.PrepareProposeMandate(ctx, mandateTerms(sub, sub.Amount, loc, mer.Name))
	if err != nil {
		return sub, nil, err
	}
	sub.MandateID, sub.WaitingMandateID, sub.Status = m.ID, m.ID, Incomplete
	if stored { // an offer accepted
		u, err := s.update(ctx, &sub, eventExtra{By: "user"}, typ)
		if err != nil {
			return sub, nil, err
		}
		return sub, merge(u, unit), nil
	}
	s.emit(unit, mer, &sub, typ, eventExtra{}) // first: it numbers the event in the row
	unit.Rows = append(unit.Rows, store.SubscriptionRow(sub))
	return sub, unit, nil
}

// mandateTerms are the terms of sub's mandate at amount per period: the
// merchant its only payee, anchored at the first period, so its budget
// periods are the subscription's. A metered plan's mandate allows its
// maximum per period, and outlives the subscription's end by the time its
// last period's charge (at the period's end) and dunning take.
func mandateTerms(sub store.Subscription, amount int64, loc *time.Location, merchant string) agentpay.Mandate {
	max, endsAt := amount, sub.EndsAt
	if sub.MaxAmount > 0 {
		max = sub.MaxAmount
		if endsAt != 0 {
			anchor := timeMicro(sub.Anchor).In(loc)
			if last, _, _, ok := sub.Interval.PeriodOf(anchor, timeMicro(endsAt-1).In(loc), loc); ok {
				endsAt = meteredDue(sub, int64(last), anchor, loc).Add(dunningSpan).UnixMicro()
			}
		}
	}
	return agentpay.Mandate{Kind: agentpay.MandateSubscription, UserID: sub.UserID, GrantID: sub.GrantID,
		MerchantID: sub.MerchantID, Asset: sub.Asset, PerPaymentMax: max, Budget: max, Period: sub.Interval,
		TimeZone: sub.TimeZone, StartsAt: sub.Anchor, EndsAt: endsAt,
		Description: describe(merchant, sub.Plan, amount, sub.MaxAmount, sub.Asset, sub.Interval)}
}

// describe is what the user reads when approving the mandate.
func describe(merchant, plan string, amount, maxAmount int64, asset string, iv agentpay.Interval) string {
	format := func(v int64) string {
		a, err := agentpay.FormatAmount(v, asset)
		if err != nil {
			return "?"
		}
		return a + " " + asset
	}
	every := string(iv.Unit)
	if iv.Count > 1 {
		every = itoa(int64(iv.Count)) + " " + every + "s"
	}
	d := "Subscription to " + plan
	if merchant != "" {
		d += " at " + merchant
	}
	if maxAmount > 0 {
		d += ": usage charged at the end of every " + every + ", at most " + format(maxAmount)
		if amount > 0 {
			d += " (a base fee of " + format(amount) + " included)"
		}
	} else {
		d += ": " + format(amount) + " every " + every
	}
	if len(d) > agentpay.MandateDescriptionLengthMax {
		d = d[:agentpay.MandateDescriptionLengthMax]
		for !utf8.ValidString(d) {
			d = d[:len(d)-1]
		}
	}
	return d
}

func text(v string, max int) bool {
	return len(v) <= max && utf8.ValidString(v) && strings.IndexFunc(v, unicode.IsControl) < 0
}

// ForUser returns a subscription of userID; another user's is not found.
func (s *Service) ForUser(ctx context.Context, userID, id string) (store.Subscription, error) {
	return s.owned(ctx, id, func(sub store.Subscription) bool { return sub.UserID == userID })
}

// ForMerchant returns a subscription with merchantID; another merchant's
// is not found.
func (s *Service) ForMerchant(ctx context.Context, merchantID, id string) (store.Subscription, error) {
	return s.owned(ctx, id, func(sub store.Subscription) bool { return sub.MerchantID == merchantID })
}

// ForGrant returns a subscription proposed under grantID; another grant's
// is not found.
func (s *Service) ForGrant(ctx context.Context, grantID, id string) (store.Subscription, error) {
	return s.owned(ctx, id, func(sub store.Subscription) bool { return sub.GrantID == grantID })
}

func (s *Service) owned(ctx context.Context, id string, mine func(store.Subscription) bool) (store.Subscription, error) {
	if !strings.HasPrefix(id, "sub_") || !agentpay.ValidID(id) {
		return store.Subscription{}, agentpay.Errorf(agentpay.ENOTFOUND, "subscription_not_found", "subscription not found")
	}
	sub, err := s.DB.Subscription(ctx, id)
	if err == nil && !mine(sub) {
		err = agentpay.Errorf(agentpay.ENOTFOUND, "subscription_not_found", "subscription not found")
	}
	return sub, err
}

// eventData is what a subscription event says: ids, amounts, statuses.
type eventData struct {
	Subscription string `json:"subscription"`
	Status       string `json:"status"`
	Plan         string `json:"plan"`
	Asset        string `json:"asset"`
	Amount       int64  `json:"amount"`
	Mandate      string `json:"mandate"`
	Period       int64  `json:"period"`
	eventExtra
}

// eventExtra is what some events add.
type eventExtra struct {
	Payment     string `json:"payment,omitempty"`
	Charged     int64  `json:"charged,omitempty"` // this charge's amount (a proration's differs from amount)
	DeclineCode string `json:"decline_code,omitempty"`
	Attempts    int64  `json:"attempts,omitempty"`
	NextAttempt string `json:"next_attempt_at,omitempty"`
	By          string `json:"by,omitempty"`
}

// emit adds an event of sub, as the unit leaves it, and its webhook
// delivery to the merchant. Events of one subscription are numbered by
// EventSeq, not by the row's version, since one unit may emit two.
func (s *Service) emit(u *store.Unit, mer store.StoredMerchant, sub *store.Subscription, typ string, x eventExtra) {
	sub.EventSeq++
	data, err := json.Marshal(eventData{Subscription: sub.ID, Status: sub.Status, Plan: sub.Plan, Asset: sub.Asset,
		Amount: sub.Amount, Mandate: sub.MandateID, Period: sub.NextPeriod, eventExtra: x})
	if err != nil {
		panic("subscriptions: encode event: " + err.Error()) // plain structs always encode
	}
	now := s.now()
	e := store.Event{ID: agentpay.NewID("evt"), ObjectID: sub.ID, MerchantID: sub.MerchantID, UserID: sub.UserID,
		Type: typ, Seq: sub.EventSeq, Data: string(data), CreatedAt: now.UnixMicro()}
	u.Rows = append(u.Rows, e.Row())
	if s.Outbox != nil && mer.ID != "" {
		s.Outbox(u, e, mer, now)
	}
	u.Notify = append(u.Notify, Topic(sub.UserID))
}

// Topic is the bus topic woken when a subscription of userID changes.
func Topic(userID string) string { return "user_subscriptions:" + userID }

// update returns a unit that writes sub over the row as read, with the
// events typs; sub.Version becomes the version written.
func (s *Service) update(ctx context.Context, sub *store.Subscription, x eventExtra, typs ...string) (*store.Unit, error) {
	mer, err := s.DB.Merchant(ctx, sub.MerchantID)
	if err != nil {
		return nil, err
	}
	sub.UpdatedAt = s.now().UnixMicro()
	u := &store.Unit{}
	for _, typ := range typs {
		s.emit(u, mer, sub, typ, x)
	}
	u.Updates = append(u.Updates, store.SubscriptionUpdate(*sub))
	sub.Version++
	return u, nil
}

// merge adds everything of src to dst: one operation, one unit.
func merge(dst, src *store.Unit) *store.Unit {
	if src == nil {
		return dst
	}
	dst.Accounts = append(dst.Accounts, src.Accounts...)
	dst.Transfers = append(dst.Transfers, src.Transfers...)
	dst.Expire = append(dst.Expire, src.Expire...)
	dst.Rows = append(dst.Rows, src.Rows...)
	dst.Guards = append(dst.Guards, src.Guards...)
	dst.Updates = append(dst.Updates, src.Updates...)
	dst.Counts = append(dst.Counts, src.Counts...)
	dst.Notify = append(dst.Notify, src.Notify...)
	return dst
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func timeMicro(us int64) time.Time { return time.UnixMicro(us).UTC() }
