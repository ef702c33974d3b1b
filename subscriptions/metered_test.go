package subscriptions_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/subscriptions"
)

// metered is a monthly metered plan: a base fee and usage, at most max a
// month.
func (w *world) metered(base, max int64) subscriptions.CreateRequest {
	req := w.monthly(base)
	req.Plan, req.MaxAmount = "API calls", max
	return req
}

// usage reports amount of usage of sub and commits it.
func (w *world) usage(id string, amount int64) (subscriptions.Usage, error) {
	sub, err := w.svc.ForMerchant(w.ctx, w.merchant.ID, id)
	if err != nil {
		return subscriptions.Usage{}, err
	}
	u, unit, err := w.svc.PrepareUsage(w.ctx, sub, amount)
	if err == nil {
		err = w.db.Committer.Submit(w.ctx, unit).Err
	}
	return u, err
}

func (w *world) mustUsage(id string, amount int64) subscriptions.Usage {
	w.t.Helper()
	u, err := w.usage(id, amount)
	if err != nil {
		w.t.Fatal(err)
	}
	return u
}

// A metered plan is charged at each period's end (after the grace) for its
// base fee and the usage reported in the period, never above its maximum:
// usage that would pass it is refused, a period without usage is charged
// the base fee, and one with nothing to charge closes without a payment.
func TestMeteredCharges(t *testing.T) {
	engines(t, func(t *testing.T, w *world) {
		sub := w.subscribe(w.metered(5_00, 50_00))
		if sub.Status != subscriptions.Active {
			t.Fatalf("status %s", sub.Status)
		}
		if w.merchantBalance() != 0 {
			t.Fatalf("a metered plan charged at its start: %d", w.merchantBalance())
		}
		m, err := w.db.Mandate(w.ctx, sub.MandateID)
		if err != nil {
			t.Fatal(err)
		}
		if m.PerPaymentMax != 50_00 || m.Budget != 50_00 {
			t.Fatalf("mandate allows %d per charge, %d per period; want the plan's max", m.PerPaymentMax, m.Budget)
		}
		w.clock.advance(3 * day)
		w.mustUsage(sub.ID, 12_00)
		u := w.mustUsage(sub.ID, 3_00)
		if u.Period != 0 || u.PeriodTotal != 15_00 || u.MaxAmount != 50_00 || u.Base != 5_00 {
			t.Fatalf("usage %+v", u)
		}
		_, err = w.usage(sub.ID, 30_01) // 5 + 15 + 30.01 > 50
		wantCode(t, "usage over the max", err, "usage_over_max")
		w.mustUsage(sub.ID, 30_00) // exactly the max

		end := time.Date(2024, time.February, 29, 9, 0, 0, 0, time.UTC) // Jan 31 + 1 month, a leap year
		w.clock.set(end.Add(subscriptions.UsageGrace - time.Second))
		w.run()
		if w.merchantBalance() != 0 {
			t.Fatal("charged before the grace passed")
		}
		// Usage now belongs to the next period.
		if u := w.mustUsage(sub.ID, 1_00); u.Period != 1 {
			t.Fatalf("usage after the end went to period %d", u.Period)
		}
		w.clock.set(end.Add(subscriptions.UsageGrace))
		w.run()
		if got := w.merchantBalance(); got != 50_00 {
			t.Fatalf("period 0 charged %d, want 50_00", got)
		}
		w.run() // nothing more is due
		if got := w.merchantBalance(); got != 50_00 {
			t.Fatalf("charged twice: %d", got)
		}
		s := w.sub(sub.ID)
		if s.NextPeriod != 1 || s.Status != subscriptions.Active {
			t.Fatalf("after the charge: period %d, %s", s.NextPeriod, s.Status)
		}
		// Period 1: the base fee and the 1.00 reported.
		w.clock.set(time.Date(2024, time.March, 31, 9, 0, 0, 0, time.UTC).Add(subscriptions.UsageGrace))
		w.run()
		if got := w.merchantBalance(); got != 56_00 {
			t.Fatalf("after period 1: %d, want 56_00", got)
		}
		w.checkLedger()
	})
}

// A metered plan without a base fee closes a period without usage with no
// payment at all.
func TestMeteredEmptyPeriod(t *testing.T) {
	engines(t, func(t *testing.T, w *world) {
		sub := w.subscribe(w.metered(0, 20_00))
		w.clock.set(time.Date(2024, time.February, 29, 9, 0, 0, 0, time.UTC).Add(subscriptions.UsageGrace))
		w.run()
		s := w.sub(sub.ID)
		if s.NextPeriod != 1 || w.merchantBalance() != 0 {
			t.Fatalf("period %d, balance %d", s.NextPeriod, w.merchantBalance())
		}
		if ev := w.events(sub.ID); !slices.Contains(ev, "subscription.period_closed") || slices.Contains(ev, "subscription.charged") {
			t.Fatalf("events %v", ev)
		}
	})
}

// Usage reports never conflict, and however they race, a period's charge
// stays within the plan's maximum.
func TestMeteredConcurrentUsage(t *testing.T) {
	engines(t, func(t *testing.T, w *world) {
		sub := w.subscribe(w.metered(0, 50_00))
		var wg sync.WaitGroup
		errs := make([]error, 20)
		for i := range errs {
			wg.Go(func() { _, errs[i] = w.usage(sub.ID, 5_00) })
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case agentpay.ErrorCode(err) != "usage_over_max":
				t.Fatalf("usage: %v", err)
			}
		}
		if ok < 10 {
			t.Fatalf("only %d of 20 reports of 5.00 fit a max of 50.00", ok)
		}
		w.clock.set(time.Date(2024, time.February, 29, 9, 0, 0, 0, time.UTC).Add(subscriptions.UsageGrace))
		w.run()
		if got := w.merchantBalance(); got != 50_00 {
			t.Fatalf("charged %d, want the max 50_00", got)
		}
		w.checkLedger()
	})
}

// Usage is refused, with nothing recorded, where it could not be charged.
func TestUsageRefused(t *testing.T) {
	engines(t, func(t *testing.T, w *world) {
		fixed := w.subscribe(w.monthly(10_00))
		_, err := w.usage(fixed.ID, 1_00)
		wantCode(t, "fixed price", err, "subscription_not_metered")

		trial := w.metered(0, 20_00)
		trial.TrialDays = 7
		tr := w.subscribe(trial)
		_, err = w.usage(tr.ID, 1_00)
		wantCode(t, "trialing", err, "subscription_trialing")

		sub := w.subscribe(w.metered(0, 20_00))
		for _, amount := range []int64{0, -1, 20_01} {
			_, err = w.usage(sub.ID, amount)
			wantCode(t, "amount", err, "invalid_amount")
		}
		if _, err := w.act(sub.ID, subscriptions.ActionPause); err != nil {
			t.Fatal(err)
		}
		_, err = w.usage(sub.ID, 1_00)
		wantCode(t, "paused", err, "subscription_paused")
		if _, err := w.act(sub.ID, subscriptions.ActionCancel); err != nil {
			t.Fatal(err)
		}
		_, err = w.usage(sub.ID, 1_00)
		wantCode(t, "canceled", err, "subscription_canceled")

		other := w.newMerchant("Other", "5499", "USD")
		if _, err := w.svc.ForMerchant(w.ctx, other.ID, sub.ID); agentpay.ErrorCode(err) != "subscription_not_found" {
			t.Fatalf("another merchant's subscription: %v", err)
		}
		counters, err := w.db.Counters(w.ctx, subscriptions.UsageCounterID(sub.ID, 0), subscriptions.UsageCounterID(tr.ID, 0))
		if err != nil {
			t.Fatal(err)
		}
		if len(counters) != 0 {
			t.Fatalf("refused usage was recorded: %v", counters)
		}
		_, _, err = w.svc.PrepareCreate(w.ctx, w.metered(20_00, 20_00))
		wantCode(t, "base not below max", err, "invalid_amount")
		_, u, err := w.svc.PrepareChange(w.ctx, w.sub(tr.ID), 30_00, "agent")
		if u != nil {
			t.Fatal("a unit for a refused change")
		}
		wantCode(t, "change of a metered plan", err, "subscription_metered")
	})
}

// Resuming a metered plan mid-period keeps that period: it is charged at
// its end for the usage in it.
func TestMeteredResume(t *testing.T) {
	engines(t, func(t *testing.T, w *world) {
		sub := w.subscribe(w.metered(0, 20_00))
		w.mustUsage(sub.ID, 4_00)
		if _, err := w.act(sub.ID, subscriptions.ActionPause); err != nil {
			t.Fatal(err)
		}
		w.clock.advance(2 * day)
		s, err := w.act(sub.ID, subscriptions.ActionResume)
		if err != nil {
			t.Fatal(err)
		}
		if s.NextPeriod != 0 {
			t.Fatalf("resumed at period %d, want 0", s.NextPeriod)
		}
		w.clock.set(time.Date(2024, time.February, 29, 9, 0, 0, 0, time.UTC).Add(subscriptions.UsageGrace))
		w.run()
		if got := w.merchantBalance(); got != 4_00 {
			t.Fatalf("charged %d, want 4_00", got)
		}
	})
}
