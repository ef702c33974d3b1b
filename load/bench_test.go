package load_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/agentpay/agentpay/load"
	"github.com/agentpay/agentpay/store"
	"github.com/agentpay/agentpay/store/postgres"
	"github.com/agentpay/agentpay/store/postgres/pgtest"
	"github.com/agentpay/agentpay/store/sqlite"
)

// BenchmarkLedger measures durable single-transfer units through the
// committer: 1,000 wallets paying 50 merchants, 10% to one hot merchant,
// 384 in flight. b.N is the number of transfers.
func BenchmarkLedger(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		db, err := sqlite.Open(context.Background(), b.TempDir()+"/bench.db", sqlite.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		benchLedger(b, db)
	})
	b.Run("postgres", func(b *testing.B) {
		url := pgtest.URL(b)
		db, err := postgres.Open(context.Background(), url, postgres.Options{Schema: pgtest.Schema(b, url, "bench")})
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		benchLedger(b, db)
	})
}

func benchLedger(b *testing.B, db *store.DB) {
	// The background jobs run as in the server: folding deltas matters to
	// PostgreSQL's throughput.
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { db.RunBackground(ctx, "bench", slog.New(slog.DiscardHandler)); close(done) }()
	defer func() { stop(); <-done }()
	w, err := load.Prepare(context.Background(), load.StoreDriver{DB: db}, load.Config{
		Accounts: 1000, Merchants: 50, Transfers: b.N, Concurrency: 384, HotRatio: 0.1, Asset: "USD"})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	r, err := w.Run(context.Background())
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(r.TransfersPerSecond, "transfers/s")
	b.ReportMetric(r.P99ms, "p99_ms")
}

// BenchmarkPaymentsHTTP measures whole payments over HTTP against a server
// on a loopback port: an agent's signed create, the user's approval with a
// software passkey (begin and finish on the approval page's endpoints) and
// the merchant's capture. b.N is the number of payments; 64 users, 32 in
// flight.
func BenchmarkPaymentsHTTP(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		db, err := sqlite.Open(context.Background(), b.TempDir()+"/bench.db", sqlite.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		benchPayments(b, db)
	})
	b.Run("postgres", func(b *testing.B) {
		url := pgtest.URL(b)
		db, err := postgres.Open(context.Background(), url, postgres.Options{Schema: pgtest.Schema(b, url, "benchpay")})
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		benchPayments(b, db)
	})
}

func benchPayments(b *testing.B, db *store.DB) {
	api, stop, err := load.Serve(db, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer stop()
	w, err := load.PreparePayments(context.Background(), db, api.PublicBaseURL, load.PaymentsConfig{
		Users: 64, Merchants: 8, Payments: b.N, Concurrency: 32, Asset: "USD"})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	r, err := w.Run(context.Background())
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(r.PaymentsPerSecond, "payments/s")
	b.ReportMetric(r.PaymentP99ms, "payment_p99_ms")
	b.ReportMetric(r.RequestP99ms, "request_p99_ms")
}
