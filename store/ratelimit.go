package store

import (
	"context"
	"fmt"
	"time"

	"github.com/agentpay/agentpay"
)

// RateAttemptsTable holds refused attempts, one row each (insert only).
// Values: id, key (what is limited, such as a user), at (microseconds).
var RateAttemptsTable = &Table{
	Name:    "rate_attempts",
	Key:     "id",
	Columns: []string{"id", "key", "at"},
	Types:   []ColumnType{Text, Text, Int},
}

// Attempts returns how many attempts key had in the window before now,
// counting no further than max (the caller's limit).
func (db *DB) Attempts(ctx context.Context, key string, window time.Duration, now time.Time, max int) (int, error) {
	var n int
	err := db.reader.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM rate_attempts
		WHERE key = $1 AND at > $2 LIMIT $3) AS recent`, key, now.Add(-window).UnixMicro(), max).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: rate attempts: %w", err)
	}
	return n, nil
}

// CountAttempt records an attempt on each key at now, in one unit. Rows
// are never updated, so attempts on any node never conflict.
func (db *DB) CountAttempt(ctx context.Context, now time.Time, keys ...string) error {
	unit := &Unit{}
	for _, k := range keys {
		unit.Rows = append(unit.Rows, Row{Table: RateAttemptsTable, Values: []any{agentpay.NewID("att"), k, now.UnixMicro()}})
	}
	return db.Committer.Submit(ctx, unit).Err
}

// DeleteStale forgets, at most limit rows each, what no request can use any
// more: WebAuthn ceremonies and page sessions that expired before now, and
// attempts made before attemptsBefore (microseconds). It returns how many
// rows it deleted.
func (db *DB) DeleteStale(ctx context.Context, now, attemptsBefore int64, limit int) (int64, error) {
	var total int64
	for _, q := range []struct {
		sql string
		arg int64
	}{
		{`DELETE FROM webauthn_ceremonies WHERE id IN (SELECT id FROM webauthn_ceremonies WHERE expires_at < $1 LIMIT $2)`, now},
		{`DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE expires_at < $1 LIMIT $2)`, now},
		{`DELETE FROM rate_attempts WHERE id IN (SELECT id FROM rate_attempts WHERE at < $1 LIMIT $2)`, attemptsBefore},
		{`DELETE FROM counters WHERE id IN (SELECT id FROM counters WHERE expires_at < $1 LIMIT $2)`, now},
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
