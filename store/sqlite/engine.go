package sqlite

import (
	"context"
	"database/sql"
	"encoding/hex"
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

func (e *Engine) exec(ctx context.Context, tx *sql.Tx, query string, args ...any) (int, error) {
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
	p, err := jsonParam(rows)
	if err != nil {
		return 0, err
	}
	return e.exec(ctx, tx, `INSERT INTO accounts (id, kind, asset, flags, owner_id, created_at)
		SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5 FROM json_each($1) WHERE true
		ON CONFLICT (id) DO NOTHING`, p)
}

// AddToAccounts implements store.Engine.
func (e *Engine) AddToAccounts(ctx context.Context, tx *sql.Tx, deltas []agentpay.Account) error {
	rows := make([][]any, len(deltas))
	for i, d := range deltas {
		rows[i] = []any{d.ID, d.DebitsPending, d.DebitsPosted, d.CreditsPending, d.CreditsPosted}
	}
	p, err := jsonParam(rows)
	if err != nil {
		return err
	}
	n, err := e.exec(ctx, tx, `UPDATE accounts SET
		debits_pending = debits_pending + d.dp, debits_posted = debits_posted + d.dpo,
		credits_pending = credits_pending + d.cp, credits_posted = credits_posted + d.cpo
		FROM (SELECT value->>0 AS id, value->>1 AS dp, value->>2 AS dpo, value->>3 AS cp, value->>4 AS cpo
			FROM json_each($1)) AS d
		WHERE accounts.id = d.id`, p)
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
	p, err := jsonParam(rows)
	if err != nil {
		return 0, err
	}
	return e.exec(ctx, tx, `INSERT INTO transfers (`+store.TransferColumns+`)
		SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6,
			value->>7, value->>8, value->>9, value->>10, value->>11, value->>12, value->>13
		FROM json_each($1) WHERE true ON CONFLICT (id) DO NOTHING`, p)
}

// UpdatePendingStatus implements store.Engine.
func (e *Engine) UpdatePendingStatus(ctx context.Context, tx *sql.Tx, transfers []*agentpay.Transfer) error {
	rows := make([][]any, len(transfers))
	for i, t := range transfers {
		rows[i] = []any{t.ID, string(t.PendingStatus)}
	}
	p, err := jsonParam(rows)
	if err != nil {
		return err
	}
	n, err := e.exec(ctx, tx, `UPDATE transfers SET pending_status = d.status
		FROM (SELECT value->>0 AS id, value->>1 AS status FROM json_each($1)) AS d WHERE transfers.id = d.id`, p)
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

// InsertRows implements store.Engine. Bytes travel as hex in the JSON.
func (e *Engine) InsertRows(ctx context.Context, tx *sql.Tx, table *store.Table, rows [][]any) (int, error) {
	enc := make([][]any, len(rows))
	for i, r := range rows {
		enc[i] = make([]any, len(r))
		for j, v := range r {
			if table.Types[j] == store.Bytes {
				v = hex.EncodeToString(v.([]byte))
			}
			enc[i][j] = v
		}
	}
	p, err := jsonParam(enc)
	if err != nil {
		return 0, err
	}
	sel := make([]string, len(table.Columns))
	for j := range table.Columns {
		sel[j] = fmt.Sprintf("value->>%d", j)
		if table.Types[j] == store.Bytes {
			sel[j] = "unhex(" + sel[j] + ")"
		}
	}
	return e.exec(ctx, tx, `INSERT INTO `+table.Name+` (`+strings.Join(table.Columns, ", ")+`)
		SELECT `+strings.Join(sel, ", ")+` FROM json_each($1) WHERE true ON CONFLICT DO NOTHING`, p)
}

// Fold implements store.Engine: SQLite writes no deltas.
func (e *Engine) Fold(context.Context, *sql.DB) (int, error) { return 0, nil }
