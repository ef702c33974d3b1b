// Package sqlite is agentpay's embedded engine: one file, one writer
// connection owned by the committer, a pool of readers beside it (WAL), and
// synchronous=FULL so that every acknowledged commit survives a crash.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

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
	dsn := func(mode string, pragmas ...string) string {
		q := url.Values{}
		for _, p := range append([]string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)", "foreign_keys(ON)",
			"cache_size(-32768)", "temp_store(MEMORY)"}, pragmas...) {
			q.Add("_pragma", p)
		}
		q.Set("_txlock", mode)
		return "file:" + path + "?" + q.Encode()
	}
	// The writer never checkpoints: a checkpoint copies the WAL into the
	// database file and syncs it, and done by the committer it would stall
	// every batch behind it. The checkpointer does it beside the writer.
	writer, err := sql.Open("sqlite", dsn("immediate", "wal_autocheckpoint(0)"))
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
	cp, err := startCheckpointer(dsn("deferred"), opts.Log)
	if err != nil {
		e.close()
		writer.Close()
		reader.Close()
		return nil, err
	}
	return store.New(store.Config{
		Engine: e, Writer: writer, Reader: reader, Bus: opts.Bus, Log: opts.Log, Registry: opts.Registry,
		Closers: []func() error{e.close, cp.stop, reader.Close, writer.Close},
	}), nil
}

// checkpointInterval is how often the checkpointer copies the WAL into the
// database file; between two runs the WAL grows by what was committed.
const checkpointInterval = 250 * time.Millisecond

type checkpointer struct {
	db   *sql.DB
	quit chan struct{}
	done chan struct{}
}

// startCheckpointer runs PASSIVE checkpoints on a connection of its own:
// they never wait for the writer or the readers, and when one completes the
// writer starts the WAL over from its beginning.
func startCheckpointer(dsn string, log *slog.Logger) (*checkpointer, error) {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	db.SetMaxOpenConns(1)
	if log == nil {
		log = slog.Default()
	}
	c := &checkpointer{db: db, quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		tick := time.NewTicker(checkpointInterval)
		defer tick.Stop()
		for {
			select {
			case <-c.quit:
				return
			case <-tick.C:
			}
			if _, err := db.Exec(`PRAGMA wal_checkpoint(PASSIVE)`); err != nil {
				log.Warn("sqlite checkpoint failed", "error", err)
			}
		}
	}()
	return c, nil
}

// stop ends the checkpointer after a last checkpoint that leaves the WAL
// empty, once the committer has stopped.
func (c *checkpointer) stop() error {
	close(c.quit)
	<-c.done
	_, err := c.db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
	return errors.Join(err, c.db.Close())
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
