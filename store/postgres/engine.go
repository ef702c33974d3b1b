package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
	"github.com/jackc/pgx/v5/pgconn"
)

// Engine implements store.Engine for PostgreSQL.
type Engine struct {
	channel string // the wake-up bus's NOTIFY channel
}

// Name implements store.Engine.
func (e *Engine) Name() string { return "postgres" }

// Locking implements store.Engine: several nodes may write.
func (e *Engine) Locking() bool { return true }

// Prepare implements store.Engine: pgx caches each connection's prepared
// statements itself.
func (e *Engine) Prepare(context.Context, *sql.DB, []*store.Table) {}

// GroupsUpdates implements store.Engine: every statement is a round trip.
func (e *Engine) GroupsUpdates() bool { return true }

// Retryable implements store.Engine.
func (e *Engine) Retryable(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "40001" || pg.Code == "40P01" // serialization failure, deadlock
	}
	return false
}

// Now implements store.Engine.
func (e *Engine) Now(ctx context.Context, tx *sql.Tx) (int64, error) {
	var now int64
	err := tx.QueryRowContext(ctx, `SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint`).Scan(&now)
	return now, err
}

// LoadTransfers implements store.Engine: pending transfers about to be
// resolved are locked, so a post and an expiry on two nodes serialize.
func (e *Engine) LoadTransfers(ctx context.Context, tx *sql.Tx, ids, lock []string) ([]agentpay.Transfer, error) {
	if len(lock) > 0 {
		if _, err := tx.ExecContext(ctx, `SELECT id FROM transfers WHERE id = ANY($1) ORDER BY id FOR UPDATE`, lock); err != nil {
			return nil, err
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+store.TransferColumns+` FROM transfers WHERE id = ANY($1)`, ids)
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

// LoadAccounts implements store.Engine: the locked accounts are locked in id
// order first (no deadlocks between nodes), then all are read with their
// deltas, so a locked account's balance is exact.
func (e *Engine) LoadAccounts(ctx context.Context, tx *sql.Tx, ids, lock []string) ([]agentpay.Account, error) {
	if len(lock) > 0 {
		if _, err := tx.ExecContext(ctx, `SELECT id FROM accounts WHERE id = ANY($1) ORDER BY id FOR UPDATE`, lock); err != nil {
			return nil, err
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := tx.QueryContext(ctx, store.AccountQuery("WHERE account_id = ANY($1)", "WHERE a.id = ANY($1)"), ids)
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

func exec(ctx context.Context, tx *sql.Tx, q string, args ...any) (int, error) {
	res, err := tx.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// InsertAccounts implements store.Engine. PostgreSQL indexes by id, so Num
// stays 0.
func (e *Engine) InsertAccounts(ctx context.Context, tx *sql.Tx, accounts []agentpay.Account) (map[string]int64, error) {
	n := len(accounts)
	id, kind, asset, owner := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	flags, created := make([]int64, n), make([]int64, n)
	for i, a := range accounts {
		id[i], kind[i], asset[i], owner[i], flags[i], created[i] = a.ID, string(a.Kind), a.Asset, a.OwnerID, int64(a.Flags), a.CreatedAt
	}
	rows, err := tx.QueryContext(ctx, `INSERT INTO accounts (id, kind, asset, owner_id, flags, created_at)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[])
		ON CONFLICT (id) DO NOTHING RETURNING id`, id, kind, asset, owner, flags, created)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	nums := map[string]int64{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		nums[id] = 0
	}
	return nums, rows.Err()
}

// OthersWrote implements store.Engine: the committer caches nothing on
// PostgreSQL.
func (e *Engine) OthersWrote(context.Context, *sql.Tx) (bool, error) { return false, nil }

// LastTimestamp implements store.Engine: timestamps need not be unique
// across nodes, so nothing is read.
func (e *Engine) LastTimestamp(context.Context, *sql.Tx) (int64, error) { return 0, nil }

// ChainsHistory implements store.Engine: with several writers an account's
// newest transfer is not known without locking it, so history is indexed.
func (e *Engine) ChainsHistory() bool { return false }

// HistoryQuery implements store.Engine: two index range scans, one per side,
// merged (a transfer never has one account on both sides). "timestamp <= $2"
// lets each scan seek to the cursor; the rest breaks ties, as timestamps of
// two nodes may be equal.
func (e *Engine) HistoryQuery() string {
	side := func(name string) string {
		return `SELECT ` + store.TransferColumns + ` FROM transfers WHERE ` + name + `_account_id = $1 AND result = ''
			AND timestamp <= $2 AND (timestamp < $2 OR id < $3) ORDER BY timestamp DESC, id DESC LIMIT $4`
	}
	return `SELECT * FROM (` + side("debit") + `) dr UNION ALL SELECT * FROM (` + side("credit") + `) cr
	ORDER BY timestamp DESC, id DESC LIMIT $4`
}

func deltaArrays(deltas []agentpay.Account) (id []string, dp, dpo, cp, cpo []int64) {
	n := len(deltas)
	id, dp, dpo, cp, cpo = make([]string, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	for i, d := range deltas {
		id[i], dp[i], dpo[i], cp[i], cpo[i] = d.ID, d.DebitsPending, d.DebitsPosted, d.CreditsPending, d.CreditsPosted
	}
	return
}

// WriteLedger implements store.Engine in one statement, so a batch costs
// one round trip for all its ledger rows: data-modifying WITH clauses all run,
// on one snapshot. The pending statuses updated are of transfers stored
// before the batch, never of those it inserts.
func (e *Engine) WriteLedger(ctx context.Context, tx *sql.Tx, w *store.LedgerWrites) error {
	n := len(w.Transfers)
	texts := make([][]string, 9) // id, debit, credit, asset, pending_id, reference, code, pending_status, result
	ints := make([][]int64, 5)   // amount, flags, timeout, timestamp, expires_at
	for i := range texts {
		texts[i] = make([]string, n)
	}
	for i := range ints {
		ints[i] = make([]int64, n)
	}
	for i, t := range w.Transfers {
		texts[0][i], texts[1][i], texts[2][i], texts[3][i], texts[4][i] = t.ID, t.DebitAccountID, t.CreditAccountID, t.Asset, t.PendingID
		texts[5][i], texts[6][i], texts[7][i], texts[8][i] = t.Reference, t.Code, string(t.PendingStatus), t.Result
		ints[0][i], ints[1][i], ints[2][i], ints[3][i], ints[4][i] = t.Amount, int64(t.Flags), t.TimeoutSeconds, t.Timestamp, t.ExpiresAt
	}
	pendingIDs, pendingStatus := make([]string, len(w.Pendings)), make([]string, len(w.Pendings))
	for i, t := range w.Pendings {
		pendingIDs[i], pendingStatus[i] = t.ID, string(t.PendingStatus)
	}
	rID, rDP, rDPo, rCP, rCPo := deltaArrays(w.Rows)
	dID, dDP, dDPo, dCP, dCPo := deltaArrays(w.Deltas)
	var inserted, pendings, rows int
	err := tx.QueryRowContext(ctx, `WITH ins AS (
			INSERT INTO transfers (`+store.TransferColumns+`)
			SELECT id, dr, cr, amount, asset, flags, pending_id, timeout, reference, code, ts, expires_at, status, result
			FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
				$10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[], $14::bigint[])
				AS t(id, dr, cr, asset, pending_id, reference, code, status, result, amount, flags, timeout, ts, expires_at)
			ON CONFLICT (id) DO NOTHING RETURNING 1
		), pend AS (
			UPDATE transfers t SET pending_status = d.status
			FROM unnest($15::text[], $16::text[]) AS d(id, status) WHERE t.id = d.id RETURNING 1
		), acc AS (
			UPDATE accounts a SET
				debits_pending = a.debits_pending + d.dp, debits_posted = a.debits_posted + d.dpo,
				credits_pending = a.credits_pending + d.cp, credits_posted = a.credits_posted + d.cpo
			FROM unnest($17::text[], $18::bigint[], $19::bigint[], $20::bigint[], $21::bigint[]) AS d(id, dp, dpo, cp, cpo)
			WHERE a.id = d.id RETURNING 1
		), del AS (
			INSERT INTO account_deltas (account_id, debits_pending, debits_posted, credits_pending, credits_posted)
			SELECT * FROM unnest($22::text[], $23::bigint[], $24::bigint[], $25::bigint[], $26::bigint[])
		)
		SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM pend), (SELECT count(*) FROM acc)`,
		texts[0], texts[1], texts[2], texts[3], texts[4], texts[5], texts[6], texts[7], texts[8],
		ints[0], ints[1], ints[2], ints[3], ints[4],
		pendingIDs, pendingStatus,
		rID, rDP, rDPo, rCP, rCPo,
		dID, dDP, dDPo, dCP, dCPo,
	).Scan(&inserted, &pendings, &rows)
	switch {
	case err != nil:
		return err
	case inserted != n:
		return store.ErrIDTaken
	case pendings != len(w.Pendings):
		return fmt.Errorf("postgres: updated %d pending transfers of %d", pendings, len(w.Pendings))
	case rows != len(w.Rows):
		return fmt.Errorf("postgres: updated %d accounts of %d", rows, len(w.Rows))
	}
	return nil
}

// Versions implements store.Engine.
func (e *Engine) Versions(ctx context.Context, tx *sql.Tx, table *store.Table, keys []string) (map[string]int64, error) {
	return store.ScanVersions(tx.QueryContext(ctx, `SELECT `+table.Key+`, `+table.Version+` FROM `+table.Name+
		` WHERE `+table.Key+` = ANY($1)`, keys))
}

// ExistingKeys implements store.Engine.
func (e *Engine) ExistingKeys(ctx context.Context, tx *sql.Tx, table *store.Table, keys []string) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+table.Key+` FROM `+table.Name+` WHERE `+table.Key+` = ANY($1)`, keys)
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
	args := make([]any, len(table.Columns))
	casts := make([]string, len(table.Columns))
	for j, typ := range table.Types {
		switch typ {
		case store.Text:
			col := make([]string, len(rows))
			for i, r := range rows {
				col[i] = r[j].(string)
			}
			args[j], casts[j] = col, fmt.Sprintf("$%d::text[]", j+1)
		case store.Int:
			col := make([]int64, len(rows))
			for i, r := range rows {
				col[i] = r[j].(int64)
			}
			args[j], casts[j] = col, fmt.Sprintf("$%d::bigint[]", j+1)
		case store.Bytes:
			col := make([][]byte, len(rows))
			for i, r := range rows {
				col[i] = r[j].([]byte)
			}
			args[j], casts[j] = col, fmt.Sprintf("$%d::bytea[]", j+1)
		}
	}
	return exec(ctx, tx, `INSERT INTO `+table.Name+` (`+strings.Join(table.Columns, ", ")+`)
		SELECT * FROM unnest(`+strings.Join(casts, ", ")+`) ON CONFLICT DO NOTHING`, args...)
}

// AddCounts implements store.Engine. The counts come summed by id and
// sorted, so one statement never touches a row twice and nodes lock the
// rows in the same order.
func (e *Engine) AddCounts(ctx context.Context, tx *sql.Tx, counts []store.Count) error {
	ids := make([]string, len(counts))
	ns := make([]int64, len(counts))
	amounts := make([]int64, len(counts))
	expiries := make([]int64, len(counts))
	for i, c := range counts {
		ids[i], ns[i], amounts[i], expiries[i] = c.ID, c.N, c.Amount, c.ExpiresAt
	}
	_, err := exec(ctx, tx, `INSERT INTO counters (id, n, amount, expires_at)
		SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[])
		ON CONFLICT (id) DO UPDATE SET n = counters.n + excluded.n, amount = counters.amount + excluded.amount,
			expires_at = GREATEST(counters.expires_at, excluded.expires_at)`, ids, ns, amounts, expiries)
	return err
}

// Notify implements store.Engine: NOTIFY is delivered when, and only if, the
// transaction commits.
func (e *Engine) Notify(ctx context.Context, tx *sql.Tx, topics []string) error {
	seen := map[string]bool{}
	uniq := topics[:0:0]
	for _, t := range topics {
		if !seen[t] {
			seen[t] = true
			uniq = append(uniq, t)
		}
	}
	_, err := tx.ExecContext(ctx, `SELECT pg_notify($1, t) FROM unnest($2::text[]) AS t`, e.channel, uniq)
	return err
}

// FoldAccountsMax bounds the accounts one fold locks.
const FoldAccountsMax = 256

// Fold moves unfolded deltas into their account rows, so that reads of a hot
// account sum few rows. It locks the accounts in id order, as the committer
// does, then deletes exactly the deltas it adds, in one statement; readers see
// the sum before or after, never both or neither. It returns how many deltas
// it folded.
func (e *Engine) Fold(ctx context.Context, db *sql.DB) (int, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer func() { _ = tx.Rollback() }()
	var ids []string
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT account_id FROM account_deltas LIMIT $1`, FoldAccountsMax)
	if err != nil {
		return 0, err
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if len(ids) == 0 {
		return 0, rows.Err()
	}
	if _, err := tx.ExecContext(ctx, `SELECT id FROM accounts WHERE id = ANY($1) ORDER BY id FOR UPDATE`, ids); err != nil {
		return 0, err
	}
	var folded int
	err = tx.QueryRowContext(ctx, `WITH moved AS (
			DELETE FROM account_deltas WHERE account_id = ANY($1) RETURNING *
		), sums AS (
			SELECT account_id, SUM(debits_pending) AS dp, SUM(debits_posted) AS dpo,
				SUM(credits_pending) AS cp, SUM(credits_posted) AS cpo, COUNT(*) AS n
			FROM moved GROUP BY account_id
		), updated AS (
			UPDATE accounts a SET debits_pending = a.debits_pending + s.dp, debits_posted = a.debits_posted + s.dpo,
				credits_pending = a.credits_pending + s.cp, credits_posted = a.credits_posted + s.cpo
			FROM sums s WHERE a.id = s.account_id RETURNING s.n
		) SELECT COALESCE(SUM(n), 0) FROM updated`, ids).Scan(&folded)
	if err != nil {
		return 0, err
	}
	return folded, tx.Commit()
}
