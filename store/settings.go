package store

import (
	"context"
	"fmt"
)

// InitSetting stores value under name unless a value is already there, and
// returns the stored value and whether this call stored it. Every node that
// starts at once agrees on the first value written.
func (db *DB) InitSetting(ctx context.Context, name, value string) (string, bool, error) {
	res, err := db.writer.ExecContext(ctx, `INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, value)
	if err != nil {
		return "", false, fmt.Errorf("store: setting: %w", err)
	}
	n, _ := res.RowsAffected()
	var stored string
	if err := db.reader.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = $1`, name).Scan(&stored); err != nil {
		return "", false, fmt.Errorf("store: setting: %w", err)
	}
	return stored, n == 1, nil
}

// SetSetting stores value under name, replacing what was there.
func (db *DB) SetSetting(ctx context.Context, name, value string) error {
	_, err := db.writer.ExecContext(ctx, `INSERT INTO settings (name, value) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value`, name, value)
	if err != nil {
		return fmt.Errorf("store: setting: %w", err)
	}
	return nil
}
