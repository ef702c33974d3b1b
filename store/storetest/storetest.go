// Package storetest runs a test against every engine: SQLite always, and
// PostgreSQL when AGENTPAY_TEST_POSTGRES_URL is set, each in a fresh database
// or schema that is removed when the test ends.
package storetest

import (
	"context"
	"testing"

	"github.com/agentpay/agentpay/store"
	"github.com/agentpay/agentpay/store/postgres"
	"github.com/agentpay/agentpay/store/postgres/pgtest"
	"github.com/agentpay/agentpay/store/sqlite"
)

// Engines runs f once per engine. open opens the test's database; calling it
// again opens a second node on the same database (a second committer), and
// every node is closed when the test ends. prefix names the PostgreSQL schema.
func Engines(t *testing.T, prefix string, f func(t *testing.T, open func() *store.DB)) {
	t.Run("sqlite", func(t *testing.T) {
		path := t.TempDir() + "/test.db"
		f(t, func() *store.DB {
			db, err := sqlite.Open(context.Background(), path, sqlite.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		})
	})
	t.Run("postgres", func(t *testing.T) {
		url := pgtest.URL(t)
		schema := pgtest.Schema(t, url, prefix)
		f(t, func() *store.DB {
			db, err := postgres.Open(context.Background(), url, postgres.Options{Schema: schema})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		})
	})
}
