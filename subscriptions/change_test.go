package subscriptions_test

import (
	"math"
	"testing"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/subscriptions"
)

func TestProrate(t *testing.T) {
	for _, tc := range []struct{ diff, remaining, length, want int64 }{
		{100, 1, 2, 50},
		{1, 1, 2, 1}, // half rounds up
		{3, 1, 2, 2},
		{1, 1, 3, 0},
		{2, 1, 3, 1},
		{4_00, 1_803_600, 2_678_400, 2_69}, // 269.35…
		{5_00, 5, 5, 5_00},
		{5_00, 9, 5, 5_00}, // never more than the difference
		{math.MaxInt64, 31_622_400_000_000, 31_622_400_000_000, math.MaxInt64}, // 128-bit product
		{1e15, 15_811_200_000_000, 31_622_400_000_000, 5e14},
		{0, 1, 2, 0}, {-1, 1, 2, 0}, {1, 0, 2, 0}, {1, 1, 0, 0},
	} {
		if got := subscriptions.Prorate(tc.diff, tc.remaining, tc.length); got != tc.want {
			t.Errorf("Prorate(%d, %d, %d) = %d, want %d", tc.diff, tc.remaining, tc.length, got, tc.want)
		}
	}
}

// A lower price applies from the next charge and credits nothing; a
// higher one waits for the user's approval of a new mandate, then charges
// the difference for the rest of the period and the new price after.
func TestPriceChange(t *testing.T) {
	engines(t, func(t *testing.T, w *world) {
		sub := w.subscribe(w.monthly(10_00)) // Jan 31: 10.00
		change := func(amount int64) (agentpay.Mandate, error) {
			s, err := w.svc.ForGrant(w.ctx, w.grant.ID, sub.ID)
			if err != nil {
				t.Fatal(err)
			}
			s, u, err := w.svc.PrepareChange(w.ctx, s, amount, "agent")
			if err == nil {
				err = w.db.Committer.Submit(w.ctx, u).Err
			}
			if err != nil || s.WaitingMandateID == "" {
				return agentpay.Mandate{}, err
			}
			return w.db.Mandate(w.ctx, s.WaitingMandateID)
		}
		w.clock.set(time.Date(2024, time.February, 10, 0, 0, 0, 0, time.UTC))
		if _, err := change(8_00); err != nil {
			t.Fatal(err)
		}
		before := w.merchantBalance()
		w.run()
		if w.merchantBalance() != before || w.sub(sub.ID).Amount != 8_00 {
			t.Fatalf("a decrease credited or charged something: %d → %d", before, w.merchantBalance())
		}
		w.clock.set(time.Date(2024, time.February, 29, 9, 0, 0, 0, time.UTC))
		w.run() // Feb 29: 8.00
		_, err := change(8_00)
		wantCode(t, "same amount", err, "amount_unchanged")

		w.clock.set(time.Date(2024, time.March, 10, 12, 0, 0, 0, time.UTC))
		m, err := change(12_00)
		if err != nil || m.Status != agentpay.MandateRequiresApproval || m.PerPaymentMax != 12_00 {
			t.Fatalf("increase: %+v %v", m, err)
		}
		_, err = change(15_00)
		wantCode(t, "a second change", err, "subscription_change_pending")
		w.run()
		if s := w.sub(sub.ID); s.Amount != 8_00 || s.MandateID == m.ID {
			t.Fatalf("applied before approval: %d", s.Amount)
		}
		w.approve(m.ID)
		old := w.sub(sub.ID).MandateID
		w.run()
		w.run()
		s := w.sub(sub.ID)
		if s.Amount != 12_00 || s.MandateID != m.ID || s.WaitingMandateID != "" {
			t.Fatalf("after approval: %d %s", s.Amount, s.MandateID)
		}
		if o, _ := w.db.Mandate(w.ctx, old); o.Status != agentpay.MandateRevoked {
			t.Fatalf("old mandate %s", o.Status)
		}
		// 4.00 × (Mar 31 09:00 − Mar 10 12:00) / (Mar 31 09:00 − Feb 29 09:00)
		// = 4.00 × 1,803,600 s / 2,678,400 s = 2.6935 → 2.69.
		if got := w.merchantBalance(); got != 10_00+8_00+2_69 {
			t.Fatalf("merchant has %d, want %d", got, 10_00+8_00+2_69)
		}
		w.clock.set(time.Date(2024, time.March, 31, 9, 0, 0, 0, time.UTC))
		w.run()
		if got := w.merchantBalance(); got != 10_00+8_00+2_69+12_00 {
			t.Fatalf("merchant has %d after the new price", got)
		}
		if ev := w.events(sub.ID); len(ev) != 9 || ev[5] != "subscription.change_requested" || ev[6] != "subscription.updated" {
			t.Fatalf("events %v", ev)
		}
		w.checkLedger()
	})
}
