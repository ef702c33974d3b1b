package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/agentpay/agentpay"
)

// rateRetries bounds the read-modify-write loop of CountAttempt: each retry
// means another attempt on the same key landed first.
const rateRetries = 20

// RateCountersTable holds fixed-window attempt counters. Values: id (the
// counter's key), window_start (microseconds), count, version.
var RateCountersTable = &Table{
	Name:    "rate_counters",
	Key:     "id",
	Columns: []string{"id", "window_start", "count", "version"},
	Types:   []ColumnType{Text, Int, Int, Int},
	Version: "version",
}

type rateCounter struct {
	start, count, version int64
}

func (db *DB) rateCounter(ctx context.Context, key string) (rateCounter, bool, error) {
	var c rateCounter
	err := db.reader.QueryRowContext(ctx, `SELECT window_start, count, version FROM rate_counters WHERE id = $1`, key).
		Scan(&c.start, &c.count, &c.version)
	if errors.Is(err, sql.ErrNoRows) {
		return c, false, nil
	}
	if err != nil {
		return c, false, fmt.Errorf("store: rate counter: %w", err)
	}
	return c, true, nil
}

// Attempts returns how many attempts key had in its current window, which
// began at its first attempt and lasts window; 0 once the window passed.
func (db *DB) Attempts(ctx context.Context, key string, window time.Duration, now time.Time) (int64, error) {
	c, ok, err := db.rateCounter(ctx, key)
	if err != nil || !ok || now.UnixMicro()-c.start >= window.Microseconds() {
		return 0, err
	}
	return c.count, nil
}

// CountAttempt adds an attempt to key's window (starting a new window when
// the last one passed) and returns the count afterwards. The update is
// versioned, so concurrent attempts on any node are all counted.
func (db *DB) CountAttempt(ctx context.Context, key string, window time.Duration, now time.Time) (int64, error) {
	us := now.UnixMicro()
	for range rateRetries {
		c, ok, err := db.rateCounter(ctx, key)
		if err != nil {
			return 0, err
		}
		var unit Unit
		next := c.count + 1
		switch {
		case !ok:
			next = 1
			unit.Rows = []Row{{Table: RateCountersTable, Values: []any{key, us, int64(1), int64(1)}}}
		case us-c.start >= window.Microseconds():
			next = 1
			unit.Updates = []Update{{Table: RateCountersTable, Key: key, Version: c.version,
				Set: []string{"window_start", "count"}, Values: []any{us, int64(1)}}}
		default:
			unit.Updates = []Update{{Table: RateCountersTable, Key: key, Version: c.version,
				Set: []string{"count"}, Values: []any{next}}}
		}
		err = db.Committer.Submit(ctx, &unit).Err
		switch agentpay.ErrorCode(err) {
		case "version_conflict", "already_exists":
			continue
		}
		if err != nil {
			return 0, err
		}
		return next, nil
	}
	return 0, agentpay.Errorf(agentpay.EUNAVAILABLE, "busy", "too many concurrent attempts; retry")
}

// DeleteStale forgets, at most limit rows each, what no request can use any
// more: WebAuthn ceremonies and page sessions that expired before now, and
// rate counters whose window began before windowsBefore (microseconds). It
// returns how many rows it deleted.
func (db *DB) DeleteStale(ctx context.Context, now, windowsBefore int64, limit int) (int64, error) {
	var total int64
	for _, q := range []struct {
		sql string
		arg int64
	}{
		{`DELETE FROM webauthn_ceremonies WHERE id IN (SELECT id FROM webauthn_ceremonies WHERE expires_at < $1 LIMIT $2)`, now},
		{`DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE expires_at < $1 LIMIT $2)`, now},
		{`DELETE FROM rate_counters WHERE id IN (SELECT id FROM rate_counters WHERE window_start < $1 LIMIT $2)`, windowsBefore},
	} {
		res, err := db.writer.ExecContext(ctx, q.sql, q.arg, limit)
		if err != nil {
			return total, fmt.Errorf("store: delete stale rows: %w", err)
		}
		n, _ := res.RowsAffected()
		total += n
	}
	return total, nil
}
