// Package pgtest gives each test its own PostgreSQL schema, so the whole
// suite can run against one database, in parallel, and leave nothing behind.
package pgtest

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// EnvURL names the variable that points the tests at PostgreSQL.
const EnvURL = "AGENTPAY_TEST_POSTGRES_URL"

// URL returns the test database's URL, or skips the test when it is not set.
func URL(tb testing.TB) string {
	tb.Helper()
	url := os.Getenv(EnvURL)
	if url == "" {
		tb.Skip(EnvURL + " not set")
	}
	return url
}

// Schema creates a new empty schema named prefix_RANDOM and drops it, with
// everything in it, when the test ends. Cleanups run last-in first-out, so
// call it before opening anything that uses the schema.
func Schema(tb testing.TB, url, prefix string) string {
	tb.Helper()
	var b [8]byte
	_, _ = rand.Read(b[:])
	name := prefix + "_" + hex.EncodeToString(b[:])
	exec(tb, url, `CREATE SCHEMA `+pgx.Identifier{name}.Sanitize())
	tb.Cleanup(func() { exec(tb, url, `DROP SCHEMA IF EXISTS `+pgx.Identifier{name}.Sanitize()+` CASCADE`) })
	return name
}

// WithSearchPath returns url with schema as its search path, for processes
// that take only a URL.
func WithSearchPath(url, schema string) string {
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	return url + sep + "search_path=" + schema
}

func exec(tb testing.TB, url, sql string) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		tb.Fatal(err)
	}
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	if _, err := db.Exec(sql); err != nil {
		tb.Errorf("%s: %v", sql, err)
	}
}
