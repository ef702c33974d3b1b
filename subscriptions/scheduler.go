package subscriptions

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/payments"
	"github.com/agentpay/agentpay/store"
)

// Background work of subscriptions.
const (
	// JobEvery is how often Job runs.
	JobEvery = 5 * time.Second
	// batchMax bounds the subscriptions one run handles per kind.
	batchMax = 200
	// waitPoll is how often a charge waiting for the user (risk control
	// challenged it) or an operator (held for review) is looked at again.
	waitPoll = time.Minute
)

// Job is the scheduler as a background job, under one lease.
func (s *Service) Job() store.Job {
	return store.Job{Name: "subscriptions", Every: JobEvery, Run: func(ctx context.Context) error {
		_, err := s.RunDue(ctx)
		return err
	}}
}

// RunDue does one run of the scheduler: it settles subscriptions whose
// mandate the user approved (or let lapse), then charges those due, and
// returns how many it handled. Each subscription is its own units, so one
// that fails does not hold up the others; their errors are returned
// together.
//
// It is safe to run on several nodes at once and after any restart: the
// charge of period n is keyed "sub_…:n" (with the dunning attempt after
// the first), so a period is charged once whoever charges it, and every
// step that follows is a versioned update of the subscription in the same
// unit as its effect (the capture, the mandate's revocation), so a node
// that lost a race fails harmlessly with version_conflict.
func (s *Service) RunDue(ctx context.Context) (int, error) {
	var errs []error
	n := 0
	step := func(sub store.Subscription, f func(context.Context, store.Subscription) error) {
		switch err := f(ctx, sub); {
		case err == nil:
			n++
		case lostRace(err):
		default:
			errs = append(errs, fmt.Errorf("subscription %s: %w", sub.ID, err))
		}
	}
	waiting, err := s.DB.WaitingSubscriptions(ctx, batchMax)
	if err != nil {
		return n, err
	}
	for _, sub := range waiting {
		step(sub, s.settleWaiting)
	}
	due, err := s.DB.DueSubscriptions(ctx, s.now().UnixMicro(), batchMax)
	if err != nil {
		return n, err
	}
	for _, sub := range due {
		step(sub, s.chargeDue)
	}
	offers, err := s.DB.ExpiredOffers(ctx, s.now().UnixMicro(), batchMax)
	if err != nil {
		return n, errors.Join(append(errs, err)...)
	}
	for _, sub := range offers {
		step(sub, s.expireOffer)
	}
	return n, errors.Join(errs...)
}

// lostRace reports whether err says another node (or request) changed the
// same rows first: payment_captured is a capture of a charge that another
// node captured after this one read it authorized.
func lostRace(err error) bool {
	switch agentpay.ErrorCode(err) {
	case "version_conflict", "already_exists", "pending_transfer_already_posted", "payment_captured":
		return true
	}
	return false
}

// chargeKey is the key sub's charge of period n at a dunning attempt is
// made once under.
func chargeKey(subID string, n, attempt int64) string {
	if attempt == 0 {
		return fmt.Sprintf("%s:%d", subID, n)
	}
	return fmt.Sprintf("%s:%d:%d", subID, n, attempt)
}

// calendar returns sub's calendar: the anchor in the subscription's zone.
func calendar(sub store.Subscription) (time.Time, *time.Location, error) {
	loc, err := agentpay.LoadLocation("time_zone", sub.TimeZone)
	if err != nil {
		return time.Time{}, nil, err
	}
	return time.UnixMicro(sub.Anchor).In(loc), loc, nil
}

// chargeDue charges sub's due period, or settles the charge made for it
// already (by this node before a restart, or by another node).
//
// A period that ended before it could be charged (the scheduler was down
// for a whole period, or dunning outlasted a short period) is not charged
// late: the mandate's budget is per period, so a late charge would take
// the budget of the period it lands in. The scheduler moves on to the
// current period instead.
func (s *Service) chargeDue(ctx context.Context, sub store.Subscription) error {
	now := s.now()
	anchor, loc, err := calendar(sub)
	if err != nil {
		return err
	}
	n := sub.NextPeriod
	if p, found, err := s.charged(ctx, sub, n); err != nil || found {
		if err != nil {
			return err
		}
		return s.settle(ctx, sub, n, p)
	}
	if sub.MaxAmount > 0 {
		return s.chargeMetered(ctx, sub, n, anchor, loc)
	}
	if end := sub.Interval.Cycle(anchor, int(n+1), loc); !now.Before(end) {
		cur, _, _, _ := sub.Interval.PeriodOf(anchor, now, loc)
		n = int64(cur)
	}
	start := sub.Interval.Cycle(anchor, int(n), loc)
	if sub.EndsAt != 0 && start.UnixMicro() >= sub.EndsAt {
		return s.end(ctx, sub, n)
	}
	if now.Before(start) {
		return nil // not due yet
	}
	o := agentpay.Order{Items: []agentpay.LineItem{{Name: sub.Plan, Quantity: 1, UnitAmount: sub.Amount}},
		Totals:      agentpay.Totals{Subtotal: sub.Amount, Total: sub.Amount},
		Description: fmt.Sprintf("%s, period %d from %s", sub.Plan, n+1, start.Format("2006-01-02")),
		Purpose:     sub.Plan} // what the user subscribed to: risk control compares it with the items
	p, err := s.Payments.Charge(ctx, payments.ChargeRequest{MandateID: sub.MandateID, MerchantID: sub.MerchantID,
		Order: o, Key: chargeKey(sub.ID, n, sub.Attempts)})
	if err != nil {
		return s.refused(ctx, sub, n, err)
	}
	return s.settle(ctx, sub, n, p)
}

// chargeMetered charges period n of a metered sub at its end: the base
// fee and the usage reported in it, capped at the plan's maximum. Unlike a
// fixed price, a late period is still charged: its usage is owed (and its
// charge lands in a later budget period of the mandate, which one charge
// per period leaves room for). A period with nothing to charge closes
// without a payment.
func (s *Service) chargeMetered(ctx context.Context, sub store.Subscription, n int64, anchor time.Time, loc *time.Location) error {
	start := sub.Interval.Cycle(anchor, int(n), loc)
	if sub.EndsAt != 0 && start.UnixMicro() >= sub.EndsAt {
		return s.end(ctx, sub, n)
	}
	if s.now().Before(meteredDue(sub, n, anchor, loc)) {
		return nil // not due yet
	}
	o, ok, err := s.meteredOrder(ctx, sub, n, start)
	if err != nil {
		return err
	}
	if !ok {
		return s.paid(ctx, sub, n, agentpay.Payment{}, nil)
	}
	p, err := s.Payments.Charge(ctx, payments.ChargeRequest{MandateID: sub.MandateID, MerchantID: sub.MerchantID,
		Order: o, Key: chargeKey(sub.ID, n, sub.Attempts)})
	if err != nil {
		return s.refused(ctx, sub, n, err)
	}
	return s.settle(ctx, sub, n, p)
}

// charged returns the payment charged for period n at sub's current
// attempt, if any.
func (s *Service) charged(ctx context.Context, sub store.Subscription, n int64) (agentpay.Payment, bool, error) {
	id, err := s.DB.MandateCharge(ctx, chargeKey(sub.ID, n, sub.Attempts))
	if err != nil || id == "" {
		return agentpay.Payment{}, false, err
	}
	p, err := s.DB.Payment(ctx, id)
	return p, err == nil, err
}

// refused handles a charge that recorded nothing: the wallet could not
// hold it, the mandate was paused or revoked elsewhere, or a rule refused
// it (a revoked grant, a suspended merchant, a tier limit).
func (s *Service) refused(ctx context.Context, sub store.Subscription, n int64, err error) error {
	code := agentpay.ErrorCode(err)
	switch {
	case code == "exceeds_credits":
		return s.failed(ctx, sub, n, DeclineInsufficientFunds, "")
	case code == "mandate_paused":
		// Paused on the mandate's own page: the subscription follows.
		sub.Status = Paused
		u, err := s.update(ctx, &sub, eventExtra{By: "user"}, "subscription.paused")
		if err != nil {
			return err
		}
		return s.DB.Committer.Submit(ctx, u).Err
	case code == "mandate_revoked", code == "mandate_expired":
		sub.Status, sub.CanceledBy = Canceled, "mandate"
		revoke, err := s.revokeMandates(ctx, &sub) // a price change's mandate still waiting
		if err != nil {
			return err
		}
		u, err := s.update(ctx, &sub, eventExtra{DeclineCode: code}, "subscription.canceled")
		if err != nil {
			return err
		}
		return s.DB.Committer.Submit(ctx, merge(u, revoke)).Err
	case lostRace(err):
		return err
	}
	switch agentpay.ErrorKind(err) {
	case agentpay.EINVALID, agentpay.EFORBIDDEN, agentpay.ECONFLICT, agentpay.ENOTFOUND:
		return s.failed(ctx, sub, n, code, "")
	}
	return err // the database or a bug: tried again next run
}

// settle acts on the payment charged for period n: an authorization is
// captured for the merchant in the same unit that advances the
// subscription; a payment waiting for the user or an operator is looked
// at again later; a declined or lapsed one is a failed charge.
func (s *Service) settle(ctx context.Context, sub store.Subscription, n int64, p agentpay.Payment) error {
	switch p.Status {
	case agentpay.PaymentAuthorized:
		p, cu, err := s.Payments.PrepareCapture(ctx, sub.MerchantID, p.ID, 0)
		if err != nil {
			// authorization_expired and the like: the payments job
			// expires it, and the next run sees it failed.
			return err
		}
		return s.paid(ctx, sub, n, p, cu)
	case agentpay.PaymentCaptured, agentpay.PaymentPartiallyRefunded, agentpay.PaymentRefunded:
		return s.paid(ctx, sub, n, p, nil) // the merchant captured it itself
	case agentpay.PaymentRequiresApproval, agentpay.PaymentInReview:
		sub.NextPeriod, sub.NextAttemptAt, sub.UpdatedAt = n, s.now().Add(waitPoll).UnixMicro(), s.now().UnixMicro()
		u := &store.Unit{Updates: []store.Update{store.SubscriptionUpdate(sub)}}
		return s.DB.Committer.Submit(ctx, u).Err
	}
	code := p.DeclineCode
	if code == "" {
		code = "payment_" + string(p.Status)
	}
	return s.failed(ctx, sub, n, code, p.ID)
}

// paid advances sub past period n, paid by p, in one unit with capture (if
// any): the next period is due at its start (a metered one at its end),
// and after the last one the subscription has ended. A metered period
// with nothing to charge has no p: it closes (subscription.period_closed).
func (s *Service) paid(ctx context.Context, sub store.Subscription, n int64, p agentpay.Payment, capture *store.Unit) error {
	anchor, loc, err := calendar(sub)
	if err != nil {
		return err
	}
	next := sub.Interval.Cycle(anchor, int(n+1), loc)
	sub.NextPeriod, sub.NextAttemptAt = n+1, next.UnixMicro()
	if sub.MaxAmount > 0 {
		sub.NextAttemptAt = meteredDue(sub, n+1, anchor, loc).UnixMicro()
	}
	sub.Attempts, sub.DunningSince, sub.DeclineCode, sub.Status = 0, 0, "", Active
	typs := []string{"subscription.charged"}
	if p.ID == "" {
		typs = []string{"subscription.period_closed"}
	}
	if sub.EndsAt != 0 && next.UnixMicro() >= sub.EndsAt {
		sub.Status = Ended
		typs = append(typs, "subscription.ended")
	}
	u, err := s.update(ctx, &sub, eventExtra{Payment: p.ID, Charged: p.Captured}, typs...)
	if err != nil {
		return err
	}
	return s.DB.Committer.Submit(ctx, merge(u, capture)).Err
}

// end marks sub ended: its next period starts at or after its end.
func (s *Service) end(ctx context.Context, sub store.Subscription, n int64) error {
	sub.NextPeriod, sub.Status = n, Ended
	u, err := s.update(ctx, &sub, eventExtra{}, "subscription.ended")
	if err != nil {
		return err
	}
	return s.DB.Committer.Submit(ctx, u).Err
}

// settleWaiting acts on a mandate sub waits for: approved, a new
// subscription becomes trialing or active (and a price increase takes
// effect); refused, revoked or not approved in time, a new subscription
// is canceled and a price increase dropped.
func (s *Service) settleWaiting(ctx context.Context, sub store.Subscription) error {
	m, err := s.DB.Mandate(ctx, sub.WaitingMandateID)
	if err != nil {
		return err
	}
	now := s.now()
	if m.Status == agentpay.MandateRequiresApproval && now.UnixMicro() < m.CreatedAt+agentpay.MandateApprovalTTL.Microseconds() {
		return nil // the user may still approve it
	}
	approved := m.Status == agentpay.MandateActive || m.Status == agentpay.MandatePaused
	if sub.Status == Incomplete {
		if !approved {
			sub.Status, sub.CanceledBy, sub.DeclineCode = Canceled, "system", "mandate_not_approved"
			revoke, err := s.revokeMandates(ctx, &sub)
			if err != nil {
				return err
			}
			u, err := s.update(ctx, &sub, eventExtra{DeclineCode: sub.DeclineCode}, "subscription.canceled")
			if err != nil {
				return err
			}
			return s.DB.Committer.Submit(ctx, merge(u, revoke)).Err
		}
		sub.WaitingMandateID, sub.Status = "", Active
		if now.UnixMicro() < sub.Anchor {
			sub.Status = Trialing
		}
		typs := []string{"subscription.activated"}
		if m.Status == agentpay.MandatePaused { // paused on its page before the scheduler saw it approved
			sub.Status = Paused
			typs = append(typs, "subscription.paused")
		}
		u, err := s.update(ctx, &sub, eventExtra{}, typs...)
		if err != nil {
			return err
		}
		return s.DB.Committer.Submit(ctx, u).Err
	}
	if !approved {
		u := &store.Unit{}
		if err := s.mandateTo(ctx, u, sub.UserID, sub.WaitingMandateID, agentpay.MandateRevoked); err != nil {
			return err
		}
		sub.WaitingMandateID, sub.WaitingAmount = "", 0
		su, err := s.update(ctx, &sub, eventExtra{DeclineCode: "mandate_not_approved"}, "subscription.change_lapsed")
		if err != nil {
			return err
		}
		return s.DB.Committer.Submit(ctx, merge(su, u)).Err
	}
	return s.applyIncrease(ctx, sub, m)
}
