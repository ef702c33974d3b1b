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

// CreateRequest is an agent's proposal of a subscription under its grant.
type CreateRequest struct {
	Grant      agentpay.Grant
	MerchantID string
	Plan       string
	Asset      string
	Amount     int64 // per period, in minor units
	Interval   agentpay.Interval
	TimeZone   string // whose calendar the periods follow
	TrialDays  int    // 0: the first charge at approval
	EndsAt     int64  // microseconds; 0: no end date
	Cycles     int    // periods charged in all; 0: until canceled (not with EndsAt)
}

// PrepareCreate checks a proposal and returns the subscription,
// incomplete, with the unit that records it and its mandate (kind
// subscription, the merchant its only payee, the plan's amount per
// payment and per period, anchored at the trial's end) for the user to
// approve with a passkey.
func (s *Service) PrepareCreate(ctx context.Context, req CreateRequest) (store.Subscription, *store.Unit, error) {
	var sub store.Subscription
	if req.Plan == "" || !text(req.Plan, PlanLengthMax) {
		return sub, nil, agentpay.ParamErrorf("plan", "invalid_plan", "plan is 1 to %d bytes of text", PlanLengthMax)
	}
	if req.Amount <= 0 {
		return sub, nil, agentpay.ParamErrorf("amount", "invalid_amount", "amount must be more than 0")
	}
	if err := req.Interval.Validate("interval"); err != nil {
		return sub, nil, err
	}
	loc, err := agentpay.LoadLocation("time_zone", req.TimeZone)
	if err != nil {
		return sub, nil, err
	}
	if req.TrialDays < 0 || req.TrialDays > agentpay.IntervalCountMax(agentpay.IntervalDay) {
		return sub, nil, agentpay.ParamErrorf("trial_days", "invalid_trial", "trial_days is 0 to %d",
			agentpay.IntervalCountMax(agentpay.IntervalDay))
	}
	if req.Cycles < 0 || req.Cycles > CyclesMax || (req.Cycles > 0 && req.EndsAt != 0) {
		return sub, nil, agentpay.ParamErrorf("cycles", "invalid_cycles", "cycles is 0 to %d, and not with ends_at", CyclesMax)
	}
	now := s.now()
	anchor := now.Truncate(time.Microsecond)
	if req.TrialDays > 0 {
		// Calendar days in the user's zone, like the periods.
		anchor = agentpay.Interval{Unit: agentpay.IntervalDay, Count: req.TrialDays}.Cycle(anchor, 1, loc)
	}
	endsAt := req.EndsAt
	if req.Cycles > 0 {
		endsAt = req.Interval.Cycle(anchor, req.Cycles, loc).UnixMicro()
	}
	if endsAt != 0 && endsAt <= anchor.UnixMicro() {
		return sub, nil, agentpay.ParamErrorf("ends_at", "invalid_window", "ends_at must be after the first charge")
	}
	mer, err := s.DB.Merchant(ctx, req.MerchantID)
	if err != nil && agentpay.ErrorKind(err) != agentpay.ENOTFOUND {
		return sub, nil, err
	}
	m, unit, err := s.Payments.PrepareProposeMandate(ctx, agentpay.Mandate{Kind: agentpay.MandateSubscription,
		UserID: req.Grant.UserID, GrantID: req.Grant.ID, MerchantID: req.MerchantID, Asset: req.Asset,
		PerPaymentMax: req.Amount, Budget: req.Amount, Period: req.Interval, TimeZone: req.TimeZone,
		StartsAt: anchor.UnixMicro(), EndsAt: endsAt, Description: describe(mer.Name, req.Plan, req.Amount, req.Asset, req.Interval)})
	if err != nil {
		return sub, nil, err
	}
	us := now.UnixMicro()
	sub = store.Subscription{ID: agentpay.NewID("sub"), UserID: req.Grant.UserID, GrantID: req.Grant.ID,
		MerchantID: req.MerchantID, MandateID: m.ID, WaitingMandateID: m.ID, Plan: req.Plan, Asset: req.Asset,
		Amount: req.Amount, Interval: req.Interval, TimeZone: req.TimeZone, Anchor: anchor.UnixMicro(), EndsAt: endsAt,
		Status: Incomplete, NextAttemptAt: anchor.UnixMicro(), CreatedAt: us, UpdatedAt: us, Version: 1}
	s.emit(unit, mer, &sub, "subscription.created", eventExtra{}) // first: it numbers the event in the row
	unit.Rows = append(unit.Rows, store.SubscriptionRow(sub))
	return sub, unit, nil
}

// describe is what the user reads when approving the mandate.
func describe(merchant, plan string, amount int64, asset string, iv agentpay.Interval) string {
	a, err := agentpay.FormatAmount(amount, asset)
	if err != nil {
		a = "?"
	}
	every := string(iv.Unit)
	if iv.Count > 1 {
		every = itoa(int64(iv.Count)) + " " + every + "s"
	}
	d := "Subscription to " + plan
	if merchant != "" {
		d += " at " + merchant
	}
	d += ": " + a + " " + asset + " every " + every
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
