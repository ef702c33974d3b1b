package payments_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store/sqlite"
)

// BenchmarkRiskAssess measures what risk control adds to a payment on the
// request path: gathering its signals (the counters by id in one query, the
// user's amount histogram by a key range) and evaluating the built-in
// rules, over SQLite, for a user with 60 authorized payments spread over
// the histogram. The counters' writes ride in the payment's own unit of
// work and show in the end-to-end numbers instead. Each iteration is one
// payment's two decisions, at creation and at approval; reported besides
// ns/op: p50 and p99 per payment.
func BenchmarkRiskAssess(b *testing.B) {
	db, err := sqlite.Open(context.Background(), b.TempDir()+"/bench.db", sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	w := newWorld(b, db)
	for i := range 60 {
		it := agentpay.LineItem{Name: "Green tea", Quantity: 1, UnitAmount: int64(100 + 13*i)}
		p := w.create(order(it))
		if _, err := w.approve(p); err != nil {
			b.Fatal(err)
		}
		w.clock.advance(10 * time.Minute)
	}
	p := w.create(order(tea))
	m, err := db.Merchant(w.ctx, p.MerchantID)
	if err != nil {
		b.Fatal(err)
	}
	tier := w.ids.TierLimits().For(agentpay.TierContact, "USD")
	durations := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		for _, approval := range []bool{false, true} {
			d, err := w.svc.Assess(w.ctx, approval, p, w.grant, m, tier, w.clock.Now())
			if err != nil || d.Outcome == "" || d.Signals.User.HistoryCount != 60 {
				b.Fatalf("assess: %+v, %v", d, err)
			}
		}
		durations = append(durations, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(durations)
	b.ReportMetric(float64(durations[len(durations)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(durations[len(durations)*99/100].Microseconds()), "p99-µs")
}
