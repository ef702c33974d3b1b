package subscriptions

import (
	"context"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
)

// DefaultDunning is when failed charges are retried, counted from the
// first failure: after 1, 3 and 5 days. A failure after the last retry
// cancels the subscription. Retries stay inside a weekly or longer period;
// see chargeDue for shorter ones.
var DefaultDunning = []time.Duration{24 * time.Hour, 72 * time.Hour, 120 * time.Hour}

// DeclineInsufficientFunds is the decline code of a charge the wallet
// could not hold (the ledger's exceeds_credits).
const DeclineInsufficientFunds = "insufficient_funds"

func (s *Service) dunning() []time.Duration {
	if s.Dunning != nil {
		return s.Dunning
	}
	return DefaultDunning
}

// failed records a failed charge of period n (code says why, payment
// names the declined payment if one was recorded) in one unit: the first
// failure makes the subscription past_due, each schedules the next retry,
// and one after the last retry cancels it and revokes its mandate, so
// nothing is charged under it again.
func (s *Service) failed(ctx context.Context, sub store.Subscription, n int64, code, payment string) error {
	now := s.now()
	sub.NextPeriod, sub.DeclineCode = n, code
	sub.Attempts++
	if sub.Attempts == 1 {
		sub.DunningSince = now.UnixMicro()
	}
	x := eventExtra{Payment: payment, DeclineCode: code, Attempts: sub.Attempts}
	schedule := s.dunning()
	if int(sub.Attempts) > len(schedule) {
		sub.Status, sub.CanceledBy = Canceled, "dunning"
		revoke, err := s.revokeMandates(ctx, &sub)
		if err != nil {
			return err
		}
		u, err := s.update(ctx, &sub, x, "subscription.charge_failed", "subscription.canceled")
		if err != nil {
			return err
		}
		return s.DB.Committer.Submit(ctx, merge(u, revoke)).Err
	}
	next := time.UnixMicro(sub.DunningSince).Add(schedule[sub.Attempts-1])
	sub.NextAttemptAt = next.UnixMicro()
	x.NextAttempt = next.UTC().Format(time.RFC3339)
	typs := []string{"subscription.charge_failed"}
	if sub.Status != PastDue {
		sub.Status = PastDue
		typs = append(typs, "subscription.past_due")
	}
	u, err := s.update(ctx, &sub, x, typs...)
	if err != nil {
		return err
	}
	return s.DB.Committer.Submit(ctx, u).Err
}

// revokeMandates returns the unit that revokes sub's mandate and the one
// of a price change waiting for approval, and clears the latter.
func (s *Service) revokeMandates(ctx context.Context, sub *store.Subscription) (*store.Unit, error) {
	u := &store.Unit{}
	var ids []string
	if sub.MandateID != "" { // an offer nobody accepted has none
		ids = append(ids, sub.MandateID)
	}
	if sub.WaitingMandateID != "" && sub.WaitingMandateID != sub.MandateID {
		ids = append(ids, sub.WaitingMandateID)
	}
	for _, id := range ids {
		if err := s.mandateTo(ctx, u, sub.UserID, id, agentpay.MandateRevoked); err != nil {
			return nil, err
		}
	}
	sub.WaitingMandateID, sub.WaitingAmount = "", 0
	return u, nil
}

// mandateTo adds to u the change of a mandate to status to, when it is in
// a status that can change to it; a mandate that already is (or ended)
// adds nothing.
func (s *Service) mandateTo(ctx context.Context, u *store.Unit, userID, id string, to agentpay.MandateStatus) error {
	m, err := s.DB.Mandate(ctx, id)
	if err != nil {
		return err
	}
	switch {
	case m.Status == to, m.Status == agentpay.MandateRevoked, m.Status == agentpay.MandateExpired:
		return nil
	case to == agentpay.MandatePaused && m.Status != agentpay.MandateActive:
		return nil
	case to == agentpay.MandateActive && m.Status != agentpay.MandatePaused:
		return nil
	}
	_, mu, err := s.Payments.PrepareMandateStatus(ctx, userID, id, to)
	if err != nil {
		return err
	}
	merge(u, mu)
	return nil
}
