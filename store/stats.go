package store

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Stats are the committer's Prometheus metrics.
type Stats struct {
	batches    prometheus.Counter
	units      prometheus.Counter
	batchSize  prometheus.Histogram
	batchTime  prometheus.Histogram
	retries    prometheus.Counter
	bisections prometheus.Counter
}

// NewStats registers the committer's metrics with reg (nil: not registered).
func NewStats(reg prometheus.Registerer) *Stats {
	s := &Stats{
		batches: prometheus.NewCounter(prometheus.CounterOpts{Name: "agentpay_committer_batches_total",
			Help: "Batches committed."}),
		units: prometheus.NewCounter(prometheus.CounterOpts{Name: "agentpay_committer_units_total",
			Help: "Units of work answered by committed batches."}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "agentpay_committer_batch_units",
			Help: "Units per committed batch.", Buckets: prometheus.ExponentialBuckets(1, 2, 13)}),
		batchTime: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "agentpay_committer_batch_seconds",
			Help: "Time from a batch's start to its commit.", Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16)}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{Name: "agentpay_committer_retries_total",
			Help: "Batches retried after a transient conflict between writers."}),
		bisections: prometheus.NewCounter(prometheus.CounterOpts{Name: "agentpay_committer_bisections_total",
			Help: "Batches split because the database refused them."}),
	}
	if reg != nil {
		reg.MustRegister(s.batches, s.units, s.batchSize, s.batchTime, s.retries, s.bisections)
	}
	return s
}

func (s *Stats) observeBatch(units int, d time.Duration) {
	s.batches.Inc()
	s.units.Add(float64(units))
	s.batchSize.Observe(float64(units))
	s.batchTime.Observe(d.Seconds())
}
