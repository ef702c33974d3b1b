package risk

import (
	"slices"
	"testing"
	"time"
)

// benchSignals are a normal payment and a few that match rules, so the
// benchmarks pay for building reasons too.
func benchSignals() []Signals {
	normal := normalSignals()
	first := normalSignals()
	first.Merchant.FirstPayment = true
	unusual := normalSignals()
	unusual.Payment.Amount = 50000
	burst := normalSignals()
	burst.Velocity.Grant.M1.Count = 12
	burst.Intent.Mismatch = true
	return []Signals{normal, normal, normal, normal, first, unusual, burst}
}

func BenchmarkEvaluateDefault(b *testing.B) {
	e := NewEngine(MustCompile(DefaultRules), 1)
	signals := benchSignals()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		e.Evaluate(signals[i%len(signals)])
		i++
	}
}

func BenchmarkEvaluateDefaultParallel(b *testing.B) {
	e := NewEngine(MustCompile(DefaultRules), 1)
	signals := benchSignals()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			e.Evaluate(signals[i%len(signals)])
			i++
		}
	})
}

// BenchmarkEvaluateLatency times every decision and reports the median and
// the 99th percentile: the engine must add under 1 ms p99 to a payment.
func BenchmarkEvaluateLatency(b *testing.B) {
	e := NewEngine(MustCompile(DefaultRules), 1)
	signals := benchSignals()
	durations := make([]time.Duration, 0, 1<<20)
	i := 0
	for b.Loop() {
		start := time.Now()
		e.Evaluate(signals[i%len(signals)])
		durations = append(durations, time.Since(start))
		i++
	}
	slices.Sort(durations)
	at := func(q float64) float64 { return float64(durations[int(q*float64(len(durations)-1))].Nanoseconds()) }
	b.ReportMetric(at(0.50), "p50-ns")
	b.ReportMetric(at(0.99), "p99-ns")
	b.ReportMetric(at(0.999), "p999-ns")
	if p99 := at(0.99); p99 >= float64(time.Millisecond) {
		b.Errorf("p99 %v is over the 1 ms budget", time.Duration(p99))
	}
}

func BenchmarkCompileDefault(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		MustCompile(DefaultRules)
	}
}

func BenchmarkIntentOverlap(b *testing.B) {
	b.ReportAllocs()
	items := []string{"USB-C charger 65W", "Braided USB-C cable 2 m"}
	for b.Loop() {
		IntentOverlap("buy a USB-C charger for my laptop", "ElectroShop", items)
	}
}
