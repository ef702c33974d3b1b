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

// Engine implements store.Engine for SQLite. Id lists travel as one JSON
// parameter read with json_each; bulk rows as multi-row VALUES statements of
// a few fixed sizes, prepared once when the database opens, so that a batch
// spends no time parsing SQL.
type Engine struct {
	// stmts are the prepared statements by text, and tables the tables
	// whose statements are among them. Both are written before the
	// committer starts and then by the committer alone, between
	// transactions.
	stmts       map[string]*sql.Stmt
	tables      map[*store.Table]bool
	dataVersion int64 // PRAGMA data_version last seen by the committer
}

// chunkSizes are the row counts of the prepared bulk statements; a batch's
// rows are cut greedily into chunks of these sizes.
var chunkSizes = []int{256, 64, 32, 16, 8, 4, 2, 1}

// bulkStatements lists the bulk statements the committer runs, by the
// function that builds one for a VALUES list, and the width of a row.
func bulkStatements() []struct {
	build func(string) string
	width int
} {
	return []struct {
		build func(string) string
		width int
	}{
		{insertTransfersSQL, transferWidth},
		{updateAccounts, 6},
		{updatePending, 2},
		{insertInto(idempotencyName, idempotencyColumns), 6},
		{addCounts, 4},
	}
}

// prepare prepares the bulk statements on the writer. It runs before the
// committer starts: while a transaction holds the one writer connection,
// preparing on the pool would wait for it forever.
func (e *Engine) prepare(ctx context.Context, writer *sql.DB) error {
	e.stmts = map[string]*sql.Stmt{}
	e.tables = map[*store.Table]bool{}
	for _, b := range bulkStatements() {
		for _, n := range chunkSizes {
			q := b.build(placeholders(n, b.width))
			s, err := writer.PrepareContext(ctx, q)
			if err != nil {
				return fmt.Errorf("sqlite: prepare: %w", err)
			}
			e.stmts[q] = s
		}
	}
	return nil
}

func (e *Engine) close() error {
	for _, s := range e.stmts {
		s.Close()
	}
	return nil
}

// run executes query in tx, through its prepared statement if it has one.
func (e *Engine) run(ctx context.Context, tx *sql.Tx, query string, args ...any) (int, error) {
	if s, ok := e.stmts[query]; ok {
		res, err := tx.StmtContext(ctx, s).ExecContext(ctx, args...)
		if err != nil {
			return 0, err
		}
		n, err := res.RowsAffected()
		return int(n), err
	}
	return exec(ctx, tx, query, args...)
}

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
		debits_pending, debits_posted, credits_pending, credits_posted, num, history_head
		FROM accounts WHERE id IN (SELECT value FROM json_each($1))`, p)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []agentpay.Account
	for rows.Next() {
		var num, head int64
		a, err := store.ScanAccount(withNum{rows, []any{&num, &head}})
		if err != nil {
			return nil, err
		}
		a.Num, a.HistoryHead = num, head
		out = append(out, a)
	}
	return out, rows.Err()
}

// InsertAccounts implements store.Engine.
func (e *Engine) InsertAccounts(ctx context.Context, tx *sql.Tx, accounts []agentpay.Account) (map[string]int64, error) {
	nums := make(map[string]int64, len(accounts))
	for start := 0; start < len(accounts); start += variablesMax / 6 {
		chunk := accounts[start:min(start+variablesMax/6, len(accounts))]
		args := make([]any, 0, 6*len(chunk))
		for _, a := range chunk {
			args = append(args, a.ID, string(a.Kind), a.Asset, int64(a.Flags), a.OwnerID, a.CreatedAt)
		}
		rows, err := tx.QueryContext(ctx, `INSERT INTO accounts (id, kind, asset, flags, owner_id, created_at)
			VALUES `+placeholders(len(chunk), 6)+` ON CONFLICT DO NOTHING RETURNING id, num`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id string
			var num int64
			if err := rows.Scan(&id, &num); err != nil {
				rows.Close()
				return nil, err
			}
			nums[id] = num
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return nums, nil
}

// OthersWrote implements store.Engine with PRAGMA data_version, which
// changes when another connection commits. The batch holds the write lock, so
// nobody can commit between this check and the batch's own commit.
func (e *Engine) OthersWrote(ctx context.Context, tx *sql.Tx) (bool, error) {
	var v int64
	if err := tx.QueryRowContext(ctx, `PRAGMA data_version`).Scan(&v); err != nil {
		return false, err
	}
	changed := e.dataVersion != 0 && v != e.dataVersion
	e.dataVersion = v
	return changed, nil
}

// LastTimestamp implements store.Engine: the timestamp is the row id.
func (e *Engine) LastTimestamp(ctx context.Context, tx *sql.Tx) (int64, error) {
	var ts int64
	err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(timestamp), 0) FROM transfers`).Scan(&ts)
	return ts, err
}

// ChainsHistory implements store.Engine: with one writer, every account's
// newest transfer is known, so history is a chain (see the migration).
func (e *Engine) ChainsHistory() bool { return true }

// HistoryQuery implements store.Engine: it walks the account's chain from its
// head, or from the transfer before the cursor, one row-id lookup per
// transfer, at most $4 of them.
func (e *Engine) HistoryQuery() string {
	return `WITH RECURSIVE
	acct(num, head) AS (SELECT num, history_head FROM accounts WHERE id = $1),
	chain(ts, n) AS (
		SELECT CASE WHEN $2 = 9223372036854775807 THEN acct.head ELSE (
			SELECT CASE WHEN t.debit_num = acct.num THEN t.debit_prev WHEN t.credit_num = acct.num THEN t.credit_prev ELSE 0 END
			FROM transfers t WHERE t.timestamp = $2 AND t.id = $3) END, 0
		FROM acct
		UNION ALL
		SELECT CASE WHEN t.debit_num = (SELECT num FROM acct) THEN t.debit_prev ELSE t.credit_prev END, chain.n + 1
		FROM chain JOIN transfers t ON t.timestamp = chain.ts
		WHERE chain.n + 1 < $4
	)
	SELECT ` + store.TransferColumns + ` FROM chain JOIN transfers ON transfers.timestamp = chain.ts
	ORDER BY transfers.timestamp DESC LIMIT $4`
}

// addToAccounts adds deltas to account rows.
func (e *Engine) addToAccounts(ctx context.Context, tx *sql.Tx, deltas []agentpay.Account) error {
	rows := make([][]any, len(deltas))
	for i, d := range deltas {
		rows[i] = []any{d.ID, d.DebitsPending, d.DebitsPosted, d.CreditsPending, d.CreditsPosted, d.HistoryHead}
	}
	n, err := e.chunked(ctx, tx, rows, updateAccounts)
	if err != nil {
		return err
	}
	if n != len(deltas) {
		return fmt.Errorf("sqlite: updated %d accounts of %d", n, len(deltas))
	}
	return nil
}

// WriteLedger implements store.Engine, one bulk statement per kind of row.
// SQLite writes no deltas: with one writer every account is written in place.
func (e *Engine) WriteLedger(ctx context.Context, tx *sql.Tx, w *store.LedgerWrites) error {
	if len(w.Deltas) > 0 {
		return fmt.Errorf("sqlite: account deltas are not used with one writer")
	}
	if n, err := e.insertTransfers(ctx, tx, w.Transfers, w.Links); err != nil {
		return err
	} else if n != len(w.Transfers) {
		return store.ErrIDTaken
	}
	if len(w.Pendings) > 0 {
		if err := e.updatePendingStatus(ctx, tx, w.Pendings); err != nil {
			return err
		}
	}
	if len(w.Rows) > 0 {
		return e.addToAccounts(ctx, tx, w.Rows)
	}
	return nil
}

// insertTransfers inserts transfers and returns how many were new.
func (e *Engine) insertTransfers(ctx context.Context, tx *sql.Tx, transfers []*agentpay.Transfer, links *store.Links) (int, error) {
	rows := make([][]any, len(transfers))
	for i, t := range transfers {
		prev := links.Prev[t.ID]
		rows[i] = append(store.TransferValues(t), links.Nums[t.DebitAccountID], links.Nums[t.CreditAccountID], prev[0], prev[1])
	}
	return e.chunked(ctx, tx, rows, insertTransfersSQL)
}

// updatePendingStatus writes the status of stored pending transfers.
func (e *Engine) updatePendingStatus(ctx context.Context, tx *sql.Tx, transfers []*agentpay.Transfer) error {
	rows := make([][]any, len(transfers))
	for i, t := range transfers {
		rows[i] = []any{t.ID, string(t.PendingStatus)}
	}
	n, err := e.chunked(ctx, tx, rows, updatePending)
	if err != nil {
		return err
	}
	if n != len(transfers) {
		return fmt.Errorf("sqlite: updated %d pending transfers of %d", n, len(transfers))
	}
	return nil
}

// Prepare implements store.Engine: a table's statements are prepared the
// first time a batch writes it.
func (e *Engine) Prepare(ctx context.Context, db *sql.DB, tables []*store.Table) {
	for _, t := range tables {
		if e.tables[t] {
			continue
		}
		e.tables[t] = true
		qs := []string{existingKeysSQL(t)}
		if t.Version != "" {
			qs = append(qs, versionsSQL(t))
		}
		insert := insertInto(t.Name, strings.Join(t.Columns, ", "))
		for _, n := range chunkSizes {
			if n*len(t.Columns) <= variablesMax {
				qs = append(qs, insert(placeholders(n, len(t.Columns))))
			}
		}
		for _, q := range qs {
			if _, ok := e.stmts[q]; ok {
				continue
			}
			if s, err := db.PrepareContext(ctx, q); err == nil {
				e.stmts[q] = s
			}
		}
	}
}

// GroupsUpdates implements store.Engine: a statement costs no round trip,
// and a prepared one per row is cheaper than parsing a long one.
func (e *Engine) GroupsUpdates() bool { return false }

// query runs query in tx, through its prepared statement if it has one.
func (e *Engine) query(ctx context.Context, tx *sql.Tx, query string, args ...any) (*sql.Rows, error) {
	if s, ok := e.stmts[query]; ok {
		return tx.StmtContext(ctx, s).QueryContext(ctx, args...)
	}
	return tx.QueryContext(ctx, query, args...)
}

func versionsSQL(t *store.Table) string {
	return `SELECT ` + t.Key + `, ` + t.Version + ` FROM ` + t.Name + ` WHERE ` + t.Key + ` IN (SELECT value FROM json_each($1))`
}

func existingKeysSQL(t *store.Table) string {
	return `SELECT ` + t.Key + ` FROM ` + t.Name + ` WHERE ` + t.Key + ` IN (SELECT value FROM json_each($1))`
}

// Versions implements store.Engine.
func (e *Engine) Versions(ctx context.Context, tx *sql.Tx, table *store.Table, keys []string) (map[string]int64, error) {
	p, err := jsonParam(keys)
	if err != nil {
		return nil, err
	}
	return store.ScanVersions(e.query(ctx, tx, versionsSQL(table), p))
}

// ExistingKeys implements store.Engine.
func (e *Engine) ExistingKeys(ctx context.Context, tx *sql.Tx, table *store.Table, keys []string) ([]string, error) {
	p, err := jsonParam(keys)
	if err != nil {
		return nil, err
	}
	rows, err := e.query(ctx, tx, existingKeysSQL(table), p)
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
	return e.chunked(ctx, tx, rows, insertInto(table.Name, strings.Join(table.Columns, ", ")))
}

// AddCounts implements store.Engine.
func (e *Engine) AddCounts(ctx context.Context, tx *sql.Tx, counts []store.Count) error {
	rows := make([][]any, len(counts))
	for i, c := range counts {
		rows[i] = []any{c.ID, c.N, c.Amount, c.ExpiresAt}
	}
	_, err := e.chunked(ctx, tx, rows, addCounts)
	return err
}

func addCounts(values string) string {
	return `INSERT INTO counters (id, n, amount, expires_at) VALUES ` + values + ` ON CONFLICT (id) DO UPDATE SET
		n = counters.n + excluded.n, amount = counters.amount + excluded.amount,
		expires_at = max(counters.expires_at, excluded.expires_at)`
}

// Fold implements store.Engine: SQLite writes no deltas.
func (e *Engine) Fold(context.Context, *sql.DB) (int, error) { return 0, nil }

// variablesMax stays below SQLite's limit on bound variables (32,766).
const variablesMax = 32000

const transferWidth = 18 // store.TransferColumns, the two account numbers and the two links

func insertTransfersSQL(values string) string {
	return `INSERT INTO transfers (` + store.TransferColumns + `, debit_num, credit_num, debit_prev, credit_prev) VALUES ` +
		values + ` ON CONFLICT DO NOTHING`
}

func updateAccounts(values string) string {
	return `UPDATE accounts SET
		debits_pending = debits_pending + d.column2, debits_posted = debits_posted + d.column3,
		credits_pending = credits_pending + d.column4, credits_posted = credits_posted + d.column5,
		history_head = max(history_head, d.column6)
		FROM (VALUES ` + values + `) AS d WHERE accounts.id = d.column1`
}

func updatePending(values string) string {
	return `UPDATE transfers SET pending_status = d.column2 FROM (VALUES ` + values + `) AS d WHERE transfers.id = d.column1`
}

// The idempotency table is the one generic table every request writes to,
// so its insert is prepared too.
const (
	idempotencyName    = "idempotency_keys"
	idempotencyColumns = "id, request_hash, status, body, created_at, expires_at"
)

// insertInto returns a builder of inserts into table that ignore rows whose
// key exists.
func insertInto(table, columns string) func(string) string {
	return func(values string) string {
		return `INSERT INTO ` + table + ` (` + columns + `) VALUES ` + values + ` ON CONFLICT DO NOTHING`
	}
}

// chunked runs the statement build makes for chunks of rows of the prepared
// sizes, and returns the rows affected in all.
func (e *Engine) chunked(ctx context.Context, tx *sql.Tx, rows [][]any, build func(values string) string) (int, error) {
	if len(rows) == 0 {
		return 0, nil
	}
	width := len(rows[0])
	total := 0
	for start := 0; start < len(rows); {
		n := chunkSizes[len(chunkSizes)-1]
		for _, size := range chunkSizes {
			if size <= len(rows)-start && size*width <= variablesMax {
				n = size
				break
			}
		}
		chunk := rows[start : start+n]
		args := make([]any, 0, n*width)
		for _, r := range chunk {
			args = append(args, r...)
		}
		affected, err := e.run(ctx, tx, build(placeholders(n, width)), args...)
		if err != nil {
			return total, err
		}
		total += affected
		start += n
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

// withNum scans the columns only SQLite has (Num, HistoryHead) after
// ScanAccount's.
type withNum struct {
	rows  *sql.Rows
	extra []any
}

func (w withNum) Scan(dest ...any) error { return w.rows.Scan(append(dest, w.extra...)...) }
