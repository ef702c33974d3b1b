package load_test

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store/postgres/pgtest"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"
)

// BenchmarkRawInsertCeiling measures what the database alone can do with
// transfer-sized rows, the same way the ledger's figures are measured, so the
// ledger's cost over it is visible: plain multi-row INSERTs of 100 rows per
// commit, durable (SQLite WAL with synchronous=FULL; PostgreSQL with
// synchronous_commit on), no indexes but the primary key, one writer. b.N is
// the number of rows.
func BenchmarkRawInsertCeiling(b *testing.B) {
	const perCommit = 100
	cols := "id TEXT PRIMARY KEY, debit_account_id TEXT NOT NULL, credit_account_id TEXT NOT NULL, amount BIGINT NOT NULL, asset TEXT NOT NULL, code TEXT NOT NULL, ts BIGINT NOT NULL"
	row := func(i int) []any {
		return []any{agentpay.NewID("trf"), "acc_01jd5x8m2v6q0c9k7r3t4w5y6z", "acc_01jd5x8m2v6q0c9k7r3t4w5y7a", int64(i%100 + 1), "USD", "load", int64(i)}
	}
	run := func(b *testing.B, db *sql.DB, placeholder func(i int) string) {
		if _, err := db.Exec("CREATE TABLE raw_transfers (" + cols + ")"); err != nil {
			b.Fatal(err)
		}
		var values []string
		for r := 0; r < perCommit; r++ {
			ph := make([]string, 7)
			for c := range ph {
				ph[c] = placeholder(r*7 + c + 1)
			}
			values = append(values, "("+strings.Join(ph, ",")+")")
		}
		stmt, err := db.Prepare("INSERT INTO raw_transfers VALUES " + strings.Join(values, ","))
		if err != nil {
			b.Fatal(err)
		}
		defer stmt.Close()
		b.ResetTimer()
		start := time.Now()
		for i := 0; i < b.N; i += perCommit {
			args := make([]any, 0, perCommit*7)
			for r := 0; r < perCommit; r++ {
				args = append(args, row(i+r)...)
			}
			tx, err := db.Begin()
			if err != nil {
				b.Fatal(err)
			}
			if _, err := tx.Stmt(stmt).Exec(args...); err != nil {
				b.Fatal(err)
			}
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "rows/s")
	}
	b.Run("sqlite", func(b *testing.B) {
		db, err := sql.Open("sqlite", "file:"+b.TempDir()+"/raw.db?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)")
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		db.SetMaxOpenConns(1)
		run(b, db, func(int) string { return "?" })
	})
	b.Run("postgres", func(b *testing.B) {
		url := pgtest.URL(b)
		cfg, err := pgx.ParseConfig(url)
		if err != nil {
			b.Fatal(err)
		}
		cfg.RuntimeParams["search_path"] = pgtest.Schema(b, url, "bench_raw")
		db := stdlib.OpenDB(*cfg)
		defer db.Close()
		run(b, db, func(i int) string { return fmt.Sprintf("$%d", i) })
	})
}
