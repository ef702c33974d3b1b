package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/agentpay/agentpay/store"
	"github.com/agentpay/agentpay/store/postgres"
	"github.com/agentpay/agentpay/store/sqlite"
	"github.com/prometheus/client_golang/prometheus"
)

// defaultDB is where agentpay keeps its data when told nothing.
const defaultDB = "sqlite:./agentpay.db"

// openDB opens "sqlite:PATH" or "postgres://…" and applies the migrations.
func openDB(ctx context.Context, url string, log *slog.Logger, reg prometheus.Registerer) (*store.DB, error) {
	switch {
	case strings.HasPrefix(url, "sqlite:"):
		path := strings.TrimPrefix(url, "sqlite:")
		if path == "" {
			return nil, fmt.Errorf("--db sqlite: needs a path, e.g. sqlite:./agentpay.db")
		}
		return sqlite.Open(ctx, path, sqlite.Options{Log: log, Registry: reg})
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return postgres.Open(ctx, url, postgres.Options{Log: log, Registry: reg})
	}
	return nil, fmt.Errorf("--db must be sqlite:PATH or postgres://…, not %q", redact(url))
}

// redact hides the secrets of a database URL before it is shown (it is
// logged at start): the password of the user info, and password parameters
// in the query, which pgx reads too (…?password=x). Cutting the text at the
// first '@' missed the query and showed part of a password holding an '@'.
// A URL that does not parse is shown by its scheme alone.
func redact(raw string) string {
	scheme, _, ok := strings.Cut(raw, "://")
	if !ok {
		return raw // sqlite:PATH holds no secret
	}
	u, err := url.Parse(raw)
	if err != nil {
		return scheme + "://(unparsable URL hidden)"
	}
	q := u.Query()
	hidden := false
	for k := range q {
		if strings.Contains(strings.ToLower(k), "password") {
			q.Set(k, "xxxxx")
			hidden = true
		}
	}
	if hidden {
		u.RawQuery = q.Encode()
	}
	return u.Redacted() // the user info's password as xxxxx
}

func migrate(ctx context.Context, args []string) error {
	fs := newFlagSet("migrate")
	dbURL := fs.String("db", env("AGENTPAY_DB", defaultDB), "database: sqlite:PATH or postgres://… (AGENTPAY_DB)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, err := openDB(ctx, *dbURL, slog.Default(), nil)
	if err != nil {
		return err
	}
	fmt.Println("migrations applied to", redact(*dbURL))
	return db.Close()
}
