package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// idempotencyTable holds the stored responses of mutating requests.
var idempotencyTable = &Table{
	Name:    "idempotency_keys",
	Key:     "id",
	Columns: []string{"id", "request_hash", "status", "body", "created_at", "expires_at"},
	Types:   []ColumnType{Text, Text, Int, Bytes, Int, Int},
}

func loadIdempotency(ctx context.Context, tx *sql.Tx, ids []string) ([]IdempotencyRecord, error) {
	var out []IdempotencyRecord
	for _, id := range ids {
		r, err := scanIdempotency(tx.QueryRowContext(ctx, idempotencySelect, id))
		if err != nil {
			return nil, fmt.Errorf("load idempotency: %w", err)
		}
		out = append(out, r)
	}
	return out, nil
}

const idempotencySelect = `SELECT id, request_hash, status, body, created_at, expires_at FROM idempotency_keys WHERE id = $1`

func scanIdempotency(row *sql.Row) (IdempotencyRecord, error) {
	var r IdempotencyRecord
	var status int64
	err := row.Scan(&r.ID, &r.RequestHash, &status, &r.Body, &r.CreatedAt, &r.ExpiresAt)
	r.Status = int(status)
	return r, err
}

// IdempotencyRecord returns the stored response for a scoped key, or nil.
func (db *DB) IdempotencyRecord(ctx context.Context, id string) (*IdempotencyRecord, error) {
	r, err := scanIdempotency(db.reader.QueryRowContext(ctx, idempotencySelect, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: idempotency: %w", err)
	}
	return &r, nil
}

// DeleteExpiredIdempotency forgets keys that expired before now
// (microseconds), at most limit of them; it returns how many. Idempotency
// rows are written by units only once, so deleting them outside the
// committer races with nothing.
func (db *DB) DeleteExpiredIdempotency(ctx context.Context, now int64, limit int) (int64, error) {
	res, err := db.writer.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE id IN (
		SELECT id FROM idempotency_keys WHERE expires_at < $1 LIMIT $2)`, now, limit)
	if err != nil {
		return 0, fmt.Errorf("store: expire idempotency: %w", err)
	}
	return res.RowsAffected()
}
