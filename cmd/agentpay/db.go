package main

import (
	"context"
	"fmt"
	"log/slog"
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

// redact hides a password in a database URL before it is shown.
func redact(url string) string {
	scheme, rest, ok := strings.Cut(url, "://")
	if !ok {
		return url
	}
	userinfo, host, ok := strings.Cut(rest, "@")
	if !ok {
		return url
	}
	user, _, _ := strings.Cut(userinfo, ":")
	return scheme + "://" + user + ":***@" + host
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
