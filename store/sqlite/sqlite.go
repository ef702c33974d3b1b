// Package sqlite is agentpay's embedded engine: one file, one writer
// connection owned by the committer, a pool of readers beside it (WAL), and
// synchronous=FULL so that every acknowledged commit survives a crash.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"log/slog"
	"net/url"

	"github.com/agentpay/agentpay/store"
	"github.com/pressly/goose/v3"
	"github.com/prometheus/client_golang/prometheus"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations/*.sql
var migrations embed.FS

// Options configure Open.
type Options struct {
	Log      *slog.Logger
	Registry prometheus.Registerer
	Bus      *store.Bus
}

// ReadersMax bounds the reader pool: more readers than cores only queue.
const ReadersMax = 8

// Open opens (creating if needed) the database file at path, applies the
// migrations and starts the committer.
func Open(ctx context.Context, path string, opts Options) (*store.DB, error) {
	dsn := func(mode string) string {
		q := url.Values{}
		for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)", "foreign_keys(ON)", "cache_size(-262144)", "temp_store(MEMORY)"} {
			q.Add("_pragma", p)
		}
		q.Set("_txlock", mode)
		return "file:" + path + "?" + q.Encode()
	}
	writer, err := sql.Open("sqlite", dsn("immediate"))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	writer.SetMaxOpenConns(1) // one writer: the committer
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	if err := migrate(ctx, writer); err != nil {
		writer.Close()
		return nil, err
	}
	reader, err := sql.Open("sqlite", dsn("deferred"))
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	reader.SetMaxOpenConns(ReadersMax)
	reader.SetMaxIdleConns(ReadersMax)
	e := &Engine{}
	if err := e.prepare(ctx, writer); err != nil {
		writer.Close()
		reader.Close()
		return nil, err
	}
	return store.New(store.Config{
		Engine: e, Writer: writer, Reader: reader, Bus: opts.Bus, Log: opts.Log, Registry: opts.Registry,
		Closers: []func() error{e.close, reader.Close, writer.Close},
	}), nil
}

func migrate(ctx context.Context, db *sql.DB) error {
	p, err := goose.NewProvider(goose.DialectSQLite3, db, mustSub(migrations, "migrations"))
	if err != nil {
		return fmt.Errorf("sqlite: migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	return nil
}
