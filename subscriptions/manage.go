package subscriptions

import (
	"context"
	"fmt"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/payments"
	"github.com/agentpay/agentpay/store"
)

// Actions on a subscription by its user or its agent.
const (
	ActionPause  = "pause"
	ActionResume = "resume"
	ActionCancel = "cancel"
)

// PrepareAction pauses, resumes or cancels sub (read by the caller, who
// checked it is theirs) at once, by by ("user" or "agent"), and returns it
// with the unit that changes it and its mandate together: pausing pauses
// the mandate, resuming resumes it, canceling revokes it (and a price
// change's mandate still waiting). A charge prepared before commits only
// if the mandate is still as it read it, so none lands after the unit.
//
// Resuming does not charge the periods that began while paused: the next
// charge is the first period that starts from now on.
func (s *Service) PrepareAction(ctx context.Context, sub store.Subscription, action, by string) (store.Subscription, *store.Unit, error) {
	u := &store.Unit{}
	var typ string
	switch action {
	case ActionPause:
		if sub.Status != Trialing && sub.Status != Active && sub.Status != PastDue {
			return sub, nil, notNow(sub, action)
		}
		if err := s.mandateTo(ctx, u, sub.UserID, sub.MandateID, agentpay.MandatePaused); err != nil {
			return sub, nil, err
		}
		sub.Status, typ = Paused, "subscription.paused"
	case ActionResume:
		if sub.Status != Paused {
			return sub, nil, notNow(sub, action)
		}
		if err := s.mandateTo(ctx, u, sub.UserID, sub.MandateID, agentpay.MandateActive); err != nil {
			return sub, nil, err
		}
		anchor, loc, err := calendar(sub)
		if err != nil {
			return sub, nil, err
		}
		now := s.now()
		next := int64(0)
		if k, start, _, ok := sub.Interval.PeriodOf(anchor, now, loc); ok {
			next = int64(k) + 1
			if start.Equal(now) || sub.MaxAmount > 0 {
				// A metered period is charged at its end, for the usage
				// in it: the one under way is charged as usual.
				next = int64(k)
			}
		}
		sub.NextPeriod = max(sub.NextPeriod, next)
		sub.NextAttemptAt = sub.Interval.Cycle(anchor, int(sub.NextPeriod), loc).UnixMicro()
		if sub.MaxAmount > 0 {
			sub.NextAttemptAt = meteredDue(sub, sub.NextPeriod, anchor, loc).UnixMicro()
		}
		sub.Attempts, sub.DunningSince, sub.DeclineCode, sub.Status = 0, 0, "", Active
		if now.UnixMicro() < sub.Anchor {
			sub.Status = Trialing
		}
		typ = "subscription.resumed"
	case ActionCancel:
		if sub.Status == Canceled || sub.Status == Ended {
			return sub, nil, notNow(sub, action)
		}
		revoke, err := s.revokeMandates(ctx, &sub)
		if err != nil {
			return sub, nil, err
		}
		merge(u, revoke)
		sub.Status, sub.CanceledBy, typ = Canceled, by, "subscription.canceled"
	default:
		return sub, nil, agentpay.ParamErrorf("action", "invalid_action", "action is pause, resume or cancel")
	}
	su, err := s.update(ctx, &sub, eventExtra{By: by}, typ)
	if err != nil {
		return sub, nil, err
	}
	return sub, merge(su, u), nil
}

func notNow(sub store.Subscription, action string) error {
	return agentpay.Errorf(agentpay.ECONFLICT, "subscription_"+sub.Status, "a %s subscription cannot %s", sub.Status, action)
}

// PrepareChange changes sub's price to amount. A lower price applies at
// once, from the next charge (nothing is credited for the current period).
// A higher one needs the user's passkey: it proposes a new mandate for the
// new amount, which the user approves like the first; until then the old
// mandate and price stay. Once it is approved the scheduler switches the
// subscription to it, revokes the old mandate and charges the difference
// for the rest of the current period (Prorate).
func (s *Service) PrepareChange(ctx context.Context, sub store.Subscription, amount int64, by string) (store.Subscription, *store.Unit, error) {
	switch {
	case sub.Status != Trialing && sub.Status != Active && sub.Status != PastDue && sub.Status != Paused:
		return sub, nil, notNow(sub, "change")
	case sub.MaxAmount > 0:
		return sub, nil, agentpay.Errorf(agentpay.ECONFLICT, "subscription_metered",
			"a metered plan's price is its usage: cancel it and propose a new one to change its terms")
	case sub.WaitingMandateID != "":
		return sub, nil, agentpay.Errorf(agentpay.ECONFLICT, "subscription_change_pending",
			"a price change waits for the user's approval")
	case amount <= 0:
		return sub, nil, agentpay.ParamErrorf("amount", "invalid_amount", "amount must be more than 0")
	case amount == sub.Amount:
		return sub, nil, agentpay.ParamErrorf("amount", "amount_unchanged", "the subscription is at that amount already")
	}
	if amount < sub.Amount {
		sub.Amount = amount
		u, err := s.update(ctx, &sub, eventExtra{By: by}, "subscription.updated")
		return sub, u, err
	}
	old, err := s.DB.Mandate(ctx, sub.MandateID)
	if err != nil {
		return sub, nil, err
	}
	mer, err := s.DB.Merchant(ctx, sub.MerchantID)
	if err != nil {
		return sub, nil, err
	}
	// The same terms and calendar (so its budget periods are the
	// subscription's periods), at the new amount.
	_, loc, err := calendar(sub)
	if err != nil {
		return sub, nil, err
	}
	terms := mandateTerms(sub, amount, loc, mer.Name)
	terms.StartsAt, terms.EndsAt = old.StartsAt, old.EndsAt
	m, mu, err := s.Payments.PrepareProposeMandate(ctx, terms)
	if err != nil {
		return sub, nil, err
	}
	sub.WaitingMandateID, sub.WaitingAmount = m.ID, amount
	u, err := s.update(ctx, &sub, eventExtra{By: by}, "subscription.change_requested")
	if err != nil {
		return sub, nil, err
	}
	return sub, merge(u, mu), nil
}

// applyIncrease switches sub to the approved mandate m of its price
// increase, in one unit: the old mandate revoked, the new amount, and the
// capture of the proration if one is due and could be charged. The
// proration is charged once (its key names the new mandate); one that
// cannot be charged (declined, insufficient funds) is forgone, not dunned:
// the user approved the new price, not a debt.
func (s *Service) applyIncrease(ctx context.Context, sub store.Subscription, m agentpay.Mandate) error {
	u := &store.Unit{}
	if err := s.mandateTo(ctx, u, sub.UserID, sub.MandateID, agentpay.MandateRevoked); err != nil {
		return err
	}
	if sub.Status == Paused {
		if err := s.mandateTo(ctx, u, sub.UserID, m.ID, agentpay.MandatePaused); err != nil {
			return err
		}
	}
	x := eventExtra{By: "user"}
	typs := []string{"subscription.updated"}
	if amount := s.proration(sub, m); amount > 0 {
		o := agentpay.Order{Items: []agentpay.LineItem{{Name: sub.Plan + " (proration)", Quantity: 1, UnitAmount: amount}},
			Totals: agentpay.Totals{Subtotal: amount, Total: amount}, Description: sub.Plan + ": the new price for the rest of the period",
			Purpose: sub.Plan}
		p, err := s.Payments.Charge(ctx, payments.ChargeRequest{MandateID: m.ID, MerchantID: sub.MerchantID, Order: o,
			Key: fmt.Sprintf("%s:prorate:%s", sub.ID, m.ID)})
		switch {
		case err == nil && p.Status == agentpay.PaymentAuthorized:
			p, cu, err := s.Payments.PrepareCapture(ctx, sub.MerchantID, p.ID, 0)
			if err != nil {
				return err
			}
			merge(u, cu)
			x.Payment, x.Charged = p.ID, p.Captured
			typs = append(typs, "subscription.charged")
		case err != nil && agentpay.ErrorKind(err) == agentpay.EINTERNAL, lostRace(err):
			return err // tried again next run
		}
	}
	sub.MandateID, sub.Amount, sub.WaitingMandateID, sub.WaitingAmount = m.ID, sub.WaitingAmount, "", 0
	su, err := s.update(ctx, &sub, x, typs...)
	if err != nil {
		return err
	}
	return s.DB.Committer.Submit(ctx, merge(su, u)).Err
}

// proration returns what the increase to sub.WaitingAmount costs for the
// rest of the period in which the user approved m, if that period was
// charged at the old price; 0 otherwise (a trial, a period not yet paid).
func (s *Service) proration(sub store.Subscription, m agentpay.Mandate) int64 {
	if sub.Status != Active && sub.Status != PastDue {
		return 0
	}
	anchor, loc, err := calendar(sub)
	if err != nil {
		return 0
	}
	at := timeMicro(m.ApprovedAt)
	k, start, end, ok := sub.Interval.PeriodOf(anchor, at, loc)
	if !ok || sub.NextPeriod <= int64(k) {
		return 0
	}
	return Prorate(sub.WaitingAmount-sub.Amount, end.Sub(at).Microseconds(), end.Sub(start).Microseconds())
}
