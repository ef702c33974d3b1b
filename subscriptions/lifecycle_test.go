package subscriptions_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/payments"
	"github.com/agentpay/agentpay/risk"
	"github.com/agentpay/agentpay/store"
	"github.com/agentpay/agentpay/subscriptions"
)

const day = 24 * time.Hour

// A failing charge is retried 1, 3 and 5 days after the first failure; the
// subscription is past_due from the first failure and canceled, its
// mandate revoked, after the last; every step is an event. A charge that
// succeeds on a retry makes it active again.
func TestDunning(t *testing.T) {
	for _, tc := range []struct {
		name    string
		code    string
		fail    func(w *world)
		recover func(w *world)
	}{
		{"insufficient funds", subscriptions.DeclineInsufficientFunds,
			func(w *world) { w.drain() }, func(w *world) { w.topUp(100_00) }},
		{"risk denies", "risk_denied",
			func(w *world) {
				w.pay.Risk = risk.NewEngine(risk.MustCompile(`no_tea deny "No." payment.amount > 0`), 1)
			},
			func(w *world) { w.pay.Risk = risk.NewEngine(risk.MustCompile(""), 0) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			engines(t, func(t *testing.T, w *world) {
				sub := w.subscribe(w.monthly(10_00))
				tc.fail(w)
				next := time.UnixMicro(sub.NextAttemptAt)
				w.clock.set(next)
				w.run()
				s := w.sub(sub.ID)
				if s.Status != subscriptions.PastDue || s.Attempts != 1 || s.DeclineCode != tc.code {
					t.Fatalf("first failure: %s %d %s", s.Status, s.Attempts, s.DeclineCode)
				}
				for i, after := range []time.Duration{day, 3 * day, 5 * day} {
					if got := time.UnixMicro(w.sub(sub.ID).NextAttemptAt); !got.Equal(next.Add(after)) {
						t.Fatalf("retry %d at %s, want %s", i+1, got, next.Add(after))
					}
					w.clock.set(next.Add(after - time.Second))
					w.run()
					if w.sub(sub.ID).Attempts != int64(i+1) {
						t.Fatalf("retried early")
					}
					w.clock.set(next.Add(after))
					w.run()
				}
				s = w.sub(sub.ID)
				if s.Status != subscriptions.Canceled || s.CanceledBy != "dunning" {
					t.Fatalf("after the last retry: %s by %s", s.Status, s.CanceledBy)
				}
				if m, _ := w.db.Mandate(w.ctx, s.MandateID); m.Status != agentpay.MandateRevoked {
					t.Fatalf("mandate %s", m.Status)
				}
				want := []string{"subscription.created", "subscription.activated", "subscription.charged",
					"subscription.charge_failed", "subscription.past_due", "subscription.charge_failed",
					"subscription.charge_failed", "subscription.charge_failed", "subscription.canceled"}
				if got := w.events(sub.ID); !slices.Equal(got, want) {
					t.Fatalf("events\n%v\nwant\n%v", got, want)
				}
				w.clock.advance(60 * day)
				w.run()
				if n := len(w.chargedDates(sub.ID)); n != 1 {
					t.Fatalf("charged %d periods", n)
				}

				// Another subscription recovers on its second retry.
				tc.recover(w)
				sub = w.subscribe(w.monthly(10_00))
				tc.fail(w)
				next = time.UnixMicro(sub.NextAttemptAt)
				for _, at := range []time.Duration{0, day} {
					w.clock.set(next.Add(at))
					w.run()
				}
				tc.recover(w)
				w.clock.set(next.Add(3 * day))
				w.run()
				s = w.sub(sub.ID)
				if s.Status != subscriptions.Active || s.Attempts != 0 || s.NextPeriod != 2 || len(w.chargedDates(sub.ID)) != 2 {
					t.Fatalf("recovered: %s attempts %d period %d", s.Status, s.Attempts, s.NextPeriod)
				}
				w.checkLedger()
			})
		})
	}
}

// drain empties the user's wallet into the merchant's account.
func (w *world) drain() {
	w.t.Helper()
	a, err := w.db.Account(w.ctx, w.wallet)
	if err != nil {
		w.t.Fatal(err)
	}
	avail := a.CreditsPosted - a.DebitsPosted - a.DebitsPending
	if err := w.db.Committer.Submit(w.ctx, &store.Unit{Transfers: []agentpay.Transfer{{ID: agentpay.NewID("trf"),
		DebitAccountID: w.wallet, CreditAccountID: payments.MerchantAccountID(w.merchant.ID, "USD"), Amount: avail,
		Asset: "USD", Code: "test"}}}).Err; err != nil {
		w.t.Fatal(err)
	}
}

// Canceling mid-period stops every later charge at once; the period paid
// stays paid.
func TestCancelMidPeriod(t *testing.T) {
	engines(t, func(t *testing.T, w *world) {
		sub := w.subscribe(w.monthly(10_00))
		w.clock.advance(10 * day)
		s, err := w.act(sub.ID, subscriptions.ActionCancel)
		if err != nil || s.Status != subscriptions.Canceled || s.CanceledBy != "user" {
			t.Fatalf("cancel: %s %v", s.Status, err)
		}
		if m, _ := w.db.Mandate(w.ctx, sub.MandateID); m.Status != agentpay.MandateRevoked {
			t.Fatalf("mandate %s", m.Status)
		}
		_, err = w.act(sub.ID, subscriptions.ActionCancel)
		wantCode(t, "cancel twice", err, "subscription_canceled")
		_, err = w.act(sub.ID, subscriptions.ActionResume)
		wantCode(t, "resume canceled", err, "subscription_canceled")
		for range 3 {
			w.clock.advance(31 * day)
			w.run()
		}
		if got := w.chargedDates(sub.ID); len(got) != 1 || w.merchantBalance() != 10_00 {
			t.Fatalf("charged %v, merchant %d", got, w.merchantBalance())
		}
		// Another user cannot see or act on it.
		if _, err := w.svc.ForUser(w.ctx, "usr_someoneelse", sub.ID); agentpay.ErrorCode(err) != "subscription_not_found" {
			t.Fatalf("another user: %v", err)
		}
		w.checkLedger()
	})
}

// Paused, nothing is charged; resumed, the next charge is the first period
// that starts after the resumption (those begun while paused are not
// charged).
func TestPauseResume(t *testing.T) {
	engines(t, func(t *testing.T, w *world) {
		sub := w.subscribe(w.monthly(10_00)) // charged Jan 31
		w.clock.set(time.Date(2024, time.February, 10, 0, 0, 0, 0, time.UTC))
		if s, err := w.act(sub.ID, subscriptions.ActionPause); err != nil || s.Status != subscriptions.Paused {
			t.Fatalf("pause: %s %v", s.Status, err)
		}
		if m, _ := w.db.Mandate(w.ctx, sub.MandateID); m.Status != agentpay.MandatePaused {
			t.Fatalf("mandate %s", m.Status)
		}
		w.clock.set(time.Date(2024, time.March, 15, 0, 0, 0, 0, time.UTC))
		w.run()
		if got := w.chargedDates(sub.ID); len(got) != 1 {
			t.Fatalf("charged while paused: %v", got)
		}
		if s, err := w.act(sub.ID, subscriptions.ActionResume); err != nil || s.Status != subscriptions.Active {
			t.Fatalf("resume: %s %v", s.Status, err)
		}
		w.run()
		w.clock.set(time.Date(2024, time.March, 31, 9, 0, 0, 0, time.UTC))
		w.run()
		if got := w.chargedDates(sub.ID); !slices.Equal(got, []string{"2024-01-31", "2024-03-31"}) {
			t.Fatalf("charged %v", got)
		}
		want := []string{"subscription.created", "subscription.activated", "subscription.charged", "subscription.paused",
			"subscription.resumed", "subscription.charged"}
		if got := w.events(sub.ID); !slices.Equal(got, want) {
			t.Fatalf("events %v", got)
		}
		w.checkLedger()
	})
}

// Two schedulers (two services; on PostgreSQL two database handles, i.e.
// two nodes) racing over the same due subscriptions charge each period
// exactly once; a new scheduler after a crash between charge and capture
// captures that charge and does not charge the period again.
func TestSchedulersRace(t *testing.T) {
	engines(t, func(t *testing.T, w *world) {
		var subs []store.Subscription
		for range 8 {
			subs = append(subs, w.subscribe(w.monthly(10_00)))
		}
		_, node2 := w.services(w.open())
		_, node3 := w.services(w.db)
		for month := range 3 {
			w.clock.set(time.UnixMicro(w.sub(subs[0].ID).NextAttemptAt))
			var wg sync.WaitGroup
			for _, node := range []*subscriptions.Service{w.svc, node2, node3} {
				for range 2 {
					wg.Go(func() {
						if _, err := node.RunDue(w.ctx); err != nil {
							t.Errorf("month %d: %v", month, err)
						}
					})
				}
			}
			wg.Wait()
		}
		for _, sub := range subs {
			if n := w.paymentsOf(sub.MandateID); n != 4 {
				t.Fatalf("%s: %d payments for 4 periods", sub.ID, n)
			}
			if s := w.sub(sub.ID); s.NextPeriod != 4 {
				t.Fatalf("%s: next period %d", sub.ID, s.NextPeriod)
			}
		}
		if w.merchantBalance() != 8*4*10_00 {
			t.Fatalf("merchant has %d", w.merchantBalance())
		}

		// A crash after the charge committed and before the capture: the
		// next scheduler finds the charge under the period's key.
		sub := w.sub(subs[0].ID)
		w.clock.set(time.UnixMicro(sub.NextAttemptAt))
		key := sub.ID + ":4"
		p, err := w.pay.Charge(w.ctx, payments.ChargeRequest{MandateID: sub.MandateID, MerchantID: w.merchant.ID, Key: key,
			Order: agentpay.Order{Items: []agentpay.LineItem{{Name: "Tea box", Quantity: 1, UnitAmount: 10_00}},
				Totals: agentpay.Totals{Subtotal: 10_00, Total: 10_00}}})
		if err != nil || p.Status != agentpay.PaymentAuthorized {
			t.Fatalf("charge: %s %v", p.Status, err)
		}
		_, restarted := w.services(w.open())
		for range 2 {
			if _, err := restarted.RunDue(w.ctx); err != nil {
				t.Fatal(err)
			}
		}
		if n := w.paymentsOf(sub.MandateID); n != 5 {
			t.Fatalf("%d payments for 5 periods", n)
		}
		if p, _ := w.db.Payment(w.ctx, p.ID); p.Status != agentpay.PaymentCaptured {
			t.Fatalf("the crashed charge is %s", p.Status)
		}
		w.checkLedger()
	})
}

// paymentsOf counts the payments charged under a mandate.
func (w *world) paymentsOf(mandateID string) int {
	w.t.Helper()
	var n int
	if err := w.db.Reader().QueryRowContext(w.ctx, `SELECT COUNT(*) FROM payments WHERE mandate_id = $1`, mandateID).Scan(&n); err != nil {
		w.t.Fatal(err)
	}
	return n
}

// A mandate revoked on its own page cancels the subscription at its next
// charge, which is refused.
func TestMandateRevokedElsewhere(t *testing.T) {
	engines(t, func(t *testing.T, w *world) {
		sub := w.subscribe(w.monthly(10_00))
		_, u, err := w.pay.PrepareMandateStatus(w.ctx, w.user.ID, sub.MandateID, agentpay.MandateRevoked)
		if err == nil {
			err = w.db.Committer.Submit(w.ctx, u).Err
		}
		if err != nil {
			t.Fatal(err)
		}
		w.clock.set(time.UnixMicro(sub.NextAttemptAt))
		w.run()
		if s := w.sub(sub.ID); s.Status != subscriptions.Canceled || s.CanceledBy != "mandate" || len(w.chargedDates(sub.ID)) != 1 {
			t.Fatalf("%s by %s", s.Status, s.CanceledBy)
		}
		w.checkLedger()
	})
}
