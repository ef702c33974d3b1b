package subscriptions

import (
	"context"
	"fmt"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
)

// Metered plans (MaxAmount > 0) are charged in arrears: the merchant
// reports usage during a period, and at the period's end (plus
// UsageGrace) the scheduler charges the base fee and that usage, never
// more than MaxAmount, which is all the user's mandate allows per period.

// Limits of usage.
const (
	// UsageGrace is how long after a metered period ends its charge waits:
	// usage a merchant reported just before the end, on a node whose clock
	// runs a little behind, still lands in the period it was meant for.
	UsageGrace = 10 * time.Minute
	// usageKeep is how long a period's usage counter outlives the period:
	// its charge may be retried by dunning for days.
	usageKeep = 90 * 24 * time.Hour
	// dunningSpan is how long a metered mandate outlives its last charge:
	// the dunning schedule's retries, and a day.
	dunningSpan = 6 * 24 * time.Hour
)

// meteredDue is when period n of a metered sub is charged: at its end,
// after UsageGrace.
func meteredDue(sub store.Subscription, n int64, anchor time.Time, loc *time.Location) time.Time {
	return sub.Interval.Cycle(anchor, int(n+1), loc).Add(UsageGrace)
}

// UsageCounterID names the counter of sub's usage in period n.
func UsageCounterID(subID string, n int64) string { return fmt.Sprintf("usage:%s:%d", subID, n) }

// Usage is usage recorded in one period of a metered subscription.
type Usage struct {
	Subscription string
	Period       int64
	PeriodStart  time.Time
	PeriodEnd    time.Time // the period's charge is at PeriodEnd plus UsageGrace
	Amount       int64     // this report's
	PeriodTotal  int64     // reported in the period so far, this report included
	Base         int64     // the plan's base fee for the period
	MaxAmount    int64     // the most charged for the period: base and usage
}

// PrepareUsage records amount of usage of the metered subscription sub
// (read by the caller, who checked it is the merchant's) in the period
// under way, and returns it with the unit that adds it. Usage that would
// take the period's charge over the plan's maximum is refused
// (usage_over_max), so the merchant learns at once what the user will not
// pay; usage is a commutative counter, so reports never conflict, and two
// racing for the last of the maximum can both pass: the charge is capped
// at the maximum all the same (chargeDue).
func (s *Service) PrepareUsage(ctx context.Context, sub store.Subscription, amount int64) (Usage, *store.Unit, error) {
	u := Usage{Subscription: sub.ID, Amount: amount, Base: sub.Amount, MaxAmount: sub.MaxAmount}
	switch {
	case sub.MaxAmount <= 0:
		return u, nil, agentpay.Errorf(agentpay.ECONFLICT, "subscription_not_metered", "the subscription has a fixed price: it takes no usage")
	case sub.Status == Trialing:
		return u, nil, agentpay.Errorf(agentpay.ECONFLICT, "subscription_trialing", "usage counts from the trial's end")
	case sub.Status != Active && sub.Status != PastDue:
		return u, nil, agentpay.Errorf(agentpay.ECONFLICT, "subscription_"+sub.Status, "a %s subscription takes no usage", sub.Status)
	case amount <= 0 || amount > sub.MaxAmount:
		return u, nil, agentpay.ParamErrorf("amount", "invalid_amount", "amount is 1 to %d minor units", sub.MaxAmount)
	}
	anchor, loc, err := calendar(sub)
	if err != nil {
		return u, nil, err
	}
	now := s.now()
	k, start, end, ok := sub.Interval.PeriodOf(anchor, now, loc)
	if !ok {
		return u, nil, agentpay.Errorf(agentpay.ECONFLICT, "subscription_trialing", "usage counts from the first period's start")
	}
	n := int64(k)
	if sub.EndsAt != 0 && start.UnixMicro() >= sub.EndsAt {
		return u, nil, agentpay.Errorf(agentpay.ECONFLICT, "subscription_ended", "the subscription's last period is over")
	}
	if n < sub.NextPeriod {
		// The period was charged already (a clock far behind the
		// scheduler's): its usage could never be.
		return u, nil, agentpay.Errorf(agentpay.ECONFLICT, "period_closed", "this period was charged; report usage in the next")
	}
	id := UsageCounterID(sub.ID, n)
	counters, err := s.DB.Counters(ctx, id)
	if err != nil {
		return u, nil, err
	}
	u.Period, u.PeriodStart, u.PeriodEnd = n, start.UTC(), end.UTC()
	u.PeriodTotal = counters[id].Amount + amount
	if room := sub.MaxAmount - sub.Amount - counters[id].Amount; amount > room {
		return u, nil, agentpay.ParamErrorf("amount", "usage_over_max",
			"the period's charge would pass the plan's max_amount: %d minor units of usage remain this period", max(room, 0))
	}
	unit := &store.Unit{Counts: []store.Count{{ID: id, N: 1, Amount: amount, ExpiresAt: end.Add(usageKeep).UnixMicro()}},
		Notify: []string{Topic(sub.UserID)}}
	return u, unit, nil
}

// meteredOrder returns the order of period n of a metered sub that began
// at start: its base fee and usage, capped at its maximum. A period with
// neither charges nothing (ok false).
func (s *Service) meteredOrder(ctx context.Context, sub store.Subscription, n int64, start time.Time) (agentpay.Order, bool, error) {
	id := UsageCounterID(sub.ID, n)
	counters, err := s.DB.Counters(ctx, id)
	if err != nil {
		return agentpay.Order{}, false, err
	}
	used := min(counters[id].Amount, sub.MaxAmount-sub.Amount)
	o := agentpay.Order{Description: fmt.Sprintf("%s, usage in period %d from %s", sub.Plan, n+1, start.Format("2006-01-02")),
		Purpose: sub.Plan}
	if sub.Amount > 0 {
		o.Items = append(o.Items, agentpay.LineItem{Name: sub.Plan, Quantity: 1, UnitAmount: sub.Amount})
	}
	if used > 0 {
		o.Items = append(o.Items, agentpay.LineItem{Name: sub.Plan + " (usage)", Quantity: 1, UnitAmount: used})
	}
	o.Totals = agentpay.Totals{Subtotal: sub.Amount + used, Total: sub.Amount + used}
	return o, o.Totals.Total > 0, nil
}
