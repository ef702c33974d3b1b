// Package postgres is agentpay's engine for PostgreSQL, for several
// agentpay nodes sharing one database. Debitable accounts are locked in id
// order; credits to accounts nobody needs to lock are written as deltas, so a
// hot merchant never serializes the nodes; bulk writes use unnest arrays.
package postgres

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/agentpay/agentpay/store"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/prometheus/client_golang/prometheus"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Options configure Open.
type Options struct {
	Log      *slog.Logger
	Registry prometheus.Registerer
	Bus      *store.Bus
	// Schema, if set, is created if missing and used as the search path:
	// tests give each test its own.
	Schema string
}

// channelPrefix starts the LISTEN/NOTIFY channel of the wake-up bus. The
// channel is named after the schema too: NOTIFY reaches every listener of the
// database, and deployments (or tests) in other schemas must not wake ours.
const channelPrefix = "agentpay_"

// listenTimeout bounds how long Open waits for the listener to be listening,
// so that no wake-up after Open returns is missed.
const listenTimeout = 10 * time.Second

// Open connects to url, applies the migrations, listens for wake-ups and
// starts the committer.
func Open(ctx context.Context, url string, opts Options) (*store.DB, error) {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if opts.Schema != "" {
		admin := stdlib.OpenDB(*cfg)
		_, err := admin.ExecContext(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{opts.Schema}.Sanitize())
		admin.Close()
		if err != nil {
			return nil, fmt.Errorf("postgres: create schema: %w", err)
		}
		cfg.RuntimeParams["search_path"] = opts.Schema
	}
	// The committer's statements are prepared once per connection, often
	// while the tables are still empty; a generic plan chosen then (a
	// sequential scan) would stay as they grow. Plan each execution.
	cfg.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(32)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		db.Close()
		return nil, err
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: migrate: %w", err)
	}
	var schema string
	if err := db.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	channel := channelFor(schema)
	bus := opts.Bus
	if bus == nil {
		bus = store.NewBus()
	}
	lctx, stop := context.WithCancel(context.Background())
	done, listening := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		listen(lctx, cfg, channel, bus, opts.Log, listening)
	}()
	select {
	case <-listening:
	case <-time.After(listenTimeout):
		stop()
		<-done
		db.Close()
		return nil, fmt.Errorf("postgres: LISTEN %s did not start within %s", channel, listenTimeout)
	}
	return store.New(store.Config{
		Engine: &Engine{channel: channel}, Writer: db, Reader: db, Bus: bus, Log: opts.Log, Registry: opts.Registry,
		Closers: []func() error{func() error { stop(); <-done; return nil }, db.Close},
	}), nil
}

// listen relays notifications to the local bus until ctx ends, reconnecting
// after failures. A wake-up lost while reconnecting costs a long-poll its
// early return, never correctness: waiters re-read on timeout.
// It closes listening once it first listens.
func listen(ctx context.Context, cfg *pgx.ConnConfig, channel string, bus *store.Bus, log *slog.Logger, listening chan struct{}) {
	for ctx.Err() == nil {
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err == nil {
			_, err = conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize())
			if err == nil && listening != nil {
				close(listening)
				listening = nil
			}
			for err == nil {
				var n *pgconnNotification
				n, err = waitNotification(ctx, conn)
				if err == nil {
					bus.Publish(n.Payload)
				}
			}
			conn.Close(context.Background())
		}
		if ctx.Err() != nil {
			return
		}
		log.Warn("postgres listener reconnecting", "error", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// channelFor returns the wake-up channel of a schema. Channel names are
// identifiers of at most 63 bytes, so a long schema name is hashed.
func channelFor(schema string) string {
	if len(channelPrefix)+len(schema) <= 63 {
		return channelPrefix + schema
	}
	sum := sha256.Sum256([]byte(schema))
	return channelPrefix + hex.EncodeToString(sum[:16])
}
