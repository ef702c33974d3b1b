package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Lease claims the named background job for holder until ttl from now, if
// no other holder has an unexpired lease on it, and reports whether holder
// has it. Holders renew by calling Lease again before it expires. Two nodes
// never both hold a lease: the row is claimed with FOR UPDATE SKIP LOCKED on
// PostgreSQL (a node that finds it locked simply does not get it), and SQLite
// has one writer.
//
// Leases save duplicate work; they are not what keeps money right. Work done
// under a lease still goes through the committer, which re-checks everything
// with the database's clock.
func (db *DB) Lease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	tx, err := db.writer.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("store: lease: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	now, err := db.Engine.Now(ctx, tx)
	if err != nil {
		return false, fmt.Errorf("store: lease: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO leases (name, holder, expires_at) VALUES ($1, '', 0)
		ON CONFLICT (name) DO NOTHING`, name); err != nil {
		return false, fmt.Errorf("store: lease: %w", err)
	}
	q := `SELECT holder FROM leases WHERE name = $1 AND (holder = $2 OR expires_at <= $3)`
	if db.Engine.Locking() {
		q += ` FOR UPDATE SKIP LOCKED`
	}
	var current string
	if err := tx.QueryRowContext(ctx, q, name, holder, now).Scan(&current); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return false, nil // held by another, or being claimed by another right now
		}
		return false, fmt.Errorf("store: lease: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE leases SET holder = $1, expires_at = $2 WHERE name = $3`,
		holder, now+ttl.Microseconds(), name); err != nil {
		return false, fmt.Errorf("store: lease: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("store: lease: %w", err)
	}
	return true, nil
}

// ReleaseLease gives up holder's lease on name, so another node can take the
// job at once (at shutdown).
func (db *DB) ReleaseLease(ctx context.Context, name, holder string) error {
	_, err := db.writer.ExecContext(ctx, `UPDATE leases SET expires_at = 0 WHERE name = $1 AND holder = $2`, name, holder)
	if err != nil {
		return fmt.Errorf("store: release lease: %w", err)
	}
	return nil
}
