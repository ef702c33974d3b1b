package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
)

// Engine implements store.Engine for SQLite. Id lists and bulk rows travel
// as one JSON parameter read with json_each: one statement per step of a
// batch, whatever its size, and no limit on bound variables to mind.
type Engine struct{}

// Name implements store.Engine.
func (e *Engine) Name() string { return "sqlite" }

// Locking implements store.Engine: SQLite has one writer.
func (e *Engine) Locking() bool { return false }

// Retryable implements store.Engine: with one writer nothing conflicts.
func (e *Engine) Retryable(error) bool { return false }

// Notify implements store.Engine: the committer wakes local subscribers.
func (e *Engine) Notify(context.Context, *sql.Tx, []string) error { return nil }

func exec(ctx context.Context, tx *sql.Tx, query string, args ...any) (int, error) {
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

func jsonParam(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// Now implements store.Engine.
func (e *Engine) Now(ctx context.Context, tx *sql.Tx) (int64, error) {
	var now int64
	err := tx.QueryRowContext(ctx, `SELECT CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)`).Scan(&now)
	return now, err
}

// LoadTransfers implements store.Engine; with one writer nothing is locked.
func (e *Engine) LoadTransfers(ctx context.Context, tx *sql.Tx, ids, _ []string) ([]agentpay.Transfer, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	p, err := jsonParam(ids)
	if err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+store.TransferColumns+` FROM transfers WHERE id IN (SELECT value FROM json_each($1))`, p)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []agentpay.Transfer
	for rows.Next() {
		t, err := store.ScanTransfer(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// LoadAccounts implements store.Engine.
func (e *Engine) LoadAccounts(ctx context.Context, tx *sql.Tx, ids, _ []string) ([]agentpay.Account, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	p, err := jsonParam(ids)
	if err != nil {
		return nil, err
	}
	// No deltas are ever written on SQLite, so the join is skipped.
	rows, err := tx.QueryContext(ctx, `SELECT id, kind, asset, flags, owner_id, created_at,
		debits_pending, debits_posted, credits_pending, credits_posted
		FROM accounts WHERE id IN (SELECT value FROM json_each($1))`, p)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []agentpay.Account
	for rows.Next() {
		a, err := store.ScanAccount(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// InsertAccounts implements store.Engine.
func (e *Engine) InsertAccounts(ctx context.Context, tx *sql.Tx, accounts []agentpay.Account) (int, error) {
	rows := make([][]any, len(accounts))
	for i, a := range accounts {
		rows[i] = []any{a.ID, string(a.Kind), a.Asset, int64(a.Flags), a.OwnerID, a.CreatedAt}
	}
	return insertValues(ctx, tx, "accounts", "id, kind, asset, flags, owner_id, created_at", rows)
}

// AddToAccounts implements store.Engine.
func (e *Engine) AddToAccounts(ctx context.Context, tx *sql.Tx, deltas []agentpay.Account) error {
	rows := make([][]any, len(deltas))
	for i, d := range deltas {
		rows[i] = []any{d.ID, d.DebitsPending, d.DebitsPosted, d.CreditsPending, d.CreditsPosted}
	}
	n, err := chunked(ctx, tx, rows, func(values string) string {
		return `UPDATE accounts SET
		debits_pending = debits_pending + d.column2, debits_posted = debits_posted + d.column3,
		credits_pending = credits_pending + d.column4, credits_posted = credits_posted + d.column5
		FROM (VALUES ` + values + `) AS d WHERE accounts.id = d.column1`
	})
	if err != nil {
		return err
	}
	if n != len(deltas) {
		return fmt.Errorf("sqlite: updated %d accounts of %d", n, len(deltas))
	}
	return nil
}

// InsertAccountDeltas implements store.Engine; never called, as Locking is false.
func (e *Engine) InsertAccountDeltas(context.Context, *sql.Tx, []agentpay.Account) error {
	return fmt.Errorf("sqlite: account deltas are not used with one writer")
}

// InsertTransfers implements store.Engine.
func (e *Engine) InsertTransfers(ctx context.Context, tx *sql.Tx, transfers []*agentpay.Transfer) (int, error) {
	rows := make([][]any, len(transfers))
	for i, t := range transfers {
		rows[i] = store.TransferValues(t)
	}
	return insertValues(ctx, tx, "transfers", store.TransferColumns, rows)
}

// UpdatePendingStatus implements store.Engine.
func (e *Engine) UpdatePendingStatus(ctx context.Context, tx *sql.Tx, transfers []*agentpay.Transfer) error {
	rows := make([][]any, len(transfers))
	for i, t := range transfers {
		rows[i] = []any{t.ID, string(t.PendingStatus)}
	}
	n, err := chunked(ctx, tx, rows, func(values string) string {
		return `UPDATE transfers SET pending_status = d.column2 FROM (VALUES ` + values + `) AS d WHERE transfers.id = d.column1`
	})
	if err != nil {
		return err
	}
	if n != len(transfers) {
		return fmt.Errorf("sqlite: updated %d pending transfers of %d", n, len(transfers))
	}
	return nil
}

// ExistingKeys implements store.Engine.
func (e *Engine) ExistingKeys(ctx context.Context, tx *sql.Tx, table *store.Table, keys []string) ([]string, error) {
	p, err := jsonParam(keys)
	if err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+table.Key+` FROM `+table.Name+` WHERE `+table.Key+` IN (SELECT value FROM json_each($1))`, p)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// InsertRows implements store.Engine.
func (e *Engine) InsertRows(ctx context.Context, tx *sql.Tx, table *store.Table, rows [][]any) (int, error) {
	return insertValues(ctx, tx, table.Name, strings.Join(table.Columns, ", "), rows)
}

// Fold implements store.Engine: SQLite writes no deltas.
func (e *Engine) Fold(context.Context, *sql.DB) (int, error) { return 0, nil }

// variablesMax stays below SQLite's limit on bound variables (32,766).
const variablesMax = 32000

// insertValues inserts rows with multi-row VALUES statements, ignoring rows
// whose key exists, and returns how many it inserted.
func insertValues(ctx context.Context, tx *sql.Tx, table, columns string, rows [][]any) (int, error) {
	return chunked(ctx, tx, rows, func(values string) string {
		return `INSERT INTO ` + table + ` (` + columns + `) VALUES ` + values + ` ON CONFLICT DO NOTHING`
	})
}

// chunked runs the statement build makes for as many rows as fit in SQLite's
// variable limit at a time, and returns the rows affected in all.
func chunked(ctx context.Context, tx *sql.Tx, rows [][]any, build func(values string) string) (int, error) {
	if len(rows) == 0 {
		return 0, nil
	}
	width := len(rows[0])
	per := variablesMax / width
	total := 0
	for start := 0; start < len(rows); start += per {
		chunk := rows[start:min(start+per, len(rows))]
		args := make([]any, 0, len(chunk)*width)
		for _, r := range chunk {
			args = append(args, r...)
		}
		n, err := exec(ctx, tx, build(placeholders(len(chunk), width)), args...)
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}

// placeholders returns "(?,?),(?,?)" for n rows of width columns.
func placeholders(n, width int) string {
	row := "(?" + strings.Repeat(",?", width-1) + ")"
	var b strings.Builder
	b.Grow(n * (len(row) + 1))
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(row)
	}
	return b.String()
}
