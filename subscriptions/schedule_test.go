package subscriptions_test

import (
	"slices"
	"testing"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/subscriptions"
)

// Monthly and yearly charges follow the calendar of the subscription's
// zone: a Jan 31 anchor charges on Feb 29 in a leap year, Feb 28 in others,
// and Mar 31 again; a Feb 29 anchor charges on Feb 28 in common years. The
// scheduler charges nothing a microsecond before a period starts, and a
// subscription of a number of cycles ends after its last.
func TestCalendar(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	for _, tc := range []struct {
		name     string
		start    time.Time
		zone     string
		interval agentpay.Interval
		cycles   int
		want     []string // local dates of the charges
	}{
		{"month ends", start, "UTC", agentpay.Interval{Unit: agentpay.IntervalMonth, Count: 1}, 0,
			[]string{"2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30", "2024-05-31", "2024-06-30", "2024-07-31",
				"2024-08-31", "2024-09-30", "2024-10-31", "2024-11-30", "2024-12-31", "2025-01-31", "2025-02-28", "2025-03-31"}},
		// 23:30 in New York is the next day in UTC; the days are the user's,
		// across the change to daylight saving time on 10 March.
		{"month ends in the user's zone", time.Date(2024, time.January, 31, 23, 30, 0, 0, ny), "America/New_York",
			agentpay.Interval{Unit: agentpay.IntervalMonth, Count: 1}, 0, []string{"2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30"}},
		{"leap day yearly, 3 cycles", time.Date(2024, time.February, 29, 12, 0, 0, 0, time.UTC), "UTC",
			agentpay.Interval{Unit: agentpay.IntervalYear, Count: 1}, 3, []string{"2024-02-29", "2025-02-28", "2026-02-28"}},
		{"every 2 weeks", start, "UTC", agentpay.Interval{Unit: agentpay.IntervalWeek, Count: 2}, 0,
			[]string{"2024-01-31", "2024-02-14", "2024-02-28", "2024-03-13"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			engines(t, func(t *testing.T, w *world) {
				w.clock.set(tc.start)
				req := w.monthly(10_00)
				req.Interval, req.TimeZone, req.Cycles = tc.interval, tc.zone, tc.cycles
				sub := w.create(req)
				w.run()
				if got := w.sub(sub.ID); got.Status != subscriptions.Incomplete || len(w.chargedDates(sub.ID)) != 0 {
					t.Fatalf("before approval: %s, charged %v", got.Status, w.chargedDates(sub.ID))
				}
				w.approve(sub.MandateID)
				w.run()
				loc, _ := time.LoadLocation(tc.zone)
				var got []string
				for range 40 {
					s := w.sub(sub.ID)
					got = localDates(w, sub.ID, loc)
					if s.Status == subscriptions.Ended || len(got) >= len(tc.want) {
						break
					}
					next := time.UnixMicro(s.NextAttemptAt)
					w.clock.set(next.Add(-time.Microsecond))
					w.run()
					if n := len(w.chargedDates(sub.ID)); n != len(got) {
						t.Fatalf("charged before the period started (%s)", next)
					}
					w.clock.set(next)
					w.run()
				}
				if !slices.Equal(got, tc.want) {
					t.Fatalf("charged on %v\nwant       %v", got, tc.want)
				}
				s := w.sub(sub.ID)
				if tc.cycles > 0 {
					if s.Status != subscriptions.Ended {
						t.Fatalf("after %d cycles: %s", tc.cycles, s.Status)
					}
					w.clock.advance(400 * 24 * time.Hour)
					w.run()
					if n := len(w.chargedDates(sub.ID)); n != tc.cycles {
						t.Fatalf("charged %d times after the end", n)
					}
					if ev := w.events(sub.ID); ev[len(ev)-1] != "subscription.ended" {
						t.Fatalf("events %v", ev)
					}
				}
				if w.merchantBalance() != int64(len(tc.want))*10_00 {
					t.Fatalf("merchant has %d", w.merchantBalance())
				}
				w.checkLedger()
			})
		})
	}
}

// localDates returns the dates, in loc, of the charges' payments.
func localDates(w *world, subID string, loc *time.Location) []string {
	var out []string
	for _, d := range w.paymentTimes(subID) {
		out = append(out, d.In(loc).Format("2006-01-02"))
	}
	return out
}

// A trial defers the first charge by its calendar days. The built-in
// risk rules let a subscription's charges through without a tap: the
// mandate names the merchant, and the charge says what the user subscribed
// to.
func TestTrial(t *testing.T) {
	engines(t, func(t *testing.T, w *world) {
		w.pay.Risk = nil
		req := w.monthly(10_00)
		req.TrialDays = 14
		sub := w.subscribe(req)
		if sub.Status != subscriptions.Trialing || len(w.chargedDates(sub.ID)) != 0 {
			t.Fatalf("approved: %s", sub.Status)
		}
		w.clock.advance(13 * 24 * time.Hour)
		w.run()
		if len(w.chargedDates(sub.ID)) != 0 {
			t.Fatal("charged during the trial")
		}
		w.clock.advance(24 * time.Hour)
		w.run()
		if got := w.chargedDates(sub.ID); !slices.Equal(got, []string{"2024-02-14"}) || w.sub(sub.ID).Status != subscriptions.Active {
			t.Fatalf("after the trial: %v %s", got, w.sub(sub.ID).Status)
		}
		want := []string{"subscription.created", "subscription.activated", "subscription.charged"}
		if got := w.events(sub.ID); !slices.Equal(got, want) {
			t.Fatalf("events %v", got)
		}
		w.checkLedger()
	})
}

// A mandate the user never approves lapses, and the subscription with it.
func TestNotApproved(t *testing.T) {
	engines(t, func(t *testing.T, w *world) {
		sub := w.create(w.monthly(10_00))
		w.clock.advance(agentpay.MandateApprovalTTL + time.Second)
		w.run()
		if s := w.sub(sub.ID); s.Status != subscriptions.Canceled || s.DeclineCode != "mandate_not_approved" {
			t.Fatalf("%s %s", s.Status, s.DeclineCode)
		}
		if m, _ := w.db.Mandate(w.ctx, sub.MandateID); m.Status != agentpay.MandateRevoked {
			t.Fatalf("mandate %s", m.Status)
		}
	})
}
