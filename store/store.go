// Package store keeps agentpay's state in a SQL database: the committer that
// writes units of work in batches, the queries that read them back, leases
// for background work and the wake-up bus. What differs between SQLite and
// PostgreSQL lives in store/sqlite and store/postgres behind Engine.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/ledger"
	"github.com/prometheus/client_golang/prometheus"
)

// DB is an open agentpay database.
type DB struct {
	Engine    Engine
	Committer *Committer
	Bus       *Bus

	instance string    // distinguishes databases opened by one process
	writer   *sql.DB   // the committer's connection(s)
	reader   *readPool // queries; on SQLite a separate pool, so reads never wait for the writer
	closers  []func() error
}

// Config is what an engine hands to New.
type Config struct {
	Engine   Engine
	Writer   *sql.DB
	Reader   *sql.DB
	Bus      *Bus // nil: a new in-process bus
	Log      *slog.Logger
	Registry prometheus.Registerer // nil: metrics are not registered
	Closers  []func() error        // run by Close after the committer stops, in order
}

// New starts a committer over an engine's connections.
func New(cfg Config) *DB {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Bus == nil {
		cfg.Bus = NewBus()
	}
	if cfg.Reader == nil {
		cfg.Reader = cfg.Writer
	}
	return &DB{
		Engine:    cfg.Engine,
		Bus:       cfg.Bus,
		Committer: NewCommitter(cfg.Writer, cfg.Engine, cfg.Bus, cfg.Log, NewStats(cfg.Registry)),
		instance:  agentpay.NewID("db"),
		writer:    cfg.Writer,
		reader:    &readPool{DB: cfg.Reader},
		closers:   cfg.Closers,
	}
}

// Close commits what is queued, then closes the connections.
func (db *DB) Close() error {
	db.Committer.Close()
	db.reader.close()
	var errs []error
	for _, c := range db.closers {
		errs = append(errs, c())
	}
	return errors.Join(errs...)
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.reader.PingContext(ctx) }

// Reader returns the pool for queries.
func (db *DB) Reader() *sql.DB { return db.reader.DB }

// Writer returns the pool the committer writes with. Only data no unit
// touches (leases, folding deltas) is written outside the committer.
func (db *DB) Writer() *sql.DB { return db.writer }

const accountColumns = `a.id, a.kind, a.asset, a.flags, a.owner_id, a.created_at,
	a.debits_pending + COALESCE(d.debits_pending, 0), a.debits_posted + COALESCE(d.debits_posted, 0),
	a.credits_pending + COALESCE(d.credits_pending, 0), a.credits_posted + COALESCE(d.credits_posted, 0)`

// AccountQuery selects accounts with their unfolded deltas summed in; the
// caller appends a WHERE clause on a and a matching one for the deltas.
func AccountQuery(deltaFilter, where string) string {
	return `SELECT ` + accountColumns + ` FROM accounts a LEFT JOIN (
	SELECT account_id, SUM(debits_pending) AS debits_pending, SUM(debits_posted) AS debits_posted,
		SUM(credits_pending) AS credits_pending, SUM(credits_posted) AS credits_posted
	FROM account_deltas ` + deltaFilter + ` GROUP BY account_id) d ON d.account_id = a.id ` + where
}

// ScanAccount scans a row of AccountQuery.
func ScanAccount(rows interface{ Scan(...any) error }) (agentpay.Account, error) {
	var a agentpay.Account
	var kind string
	var flags int64
	err := rows.Scan(&a.ID, &kind, &a.Asset, &flags, &a.OwnerID, &a.CreatedAt,
		&a.DebitsPending, &a.DebitsPosted, &a.CreditsPending, &a.CreditsPosted)
	a.Kind = agentpay.AccountKind(kind)
	a.Flags = agentpay.AccountFlags(flags)
	return a, err
}

// TransferColumns lists the transfers table's columns in the order
// ScanTransfer reads and engines write them.
const TransferColumns = `id, debit_account_id, credit_account_id, amount, asset, flags, pending_id,
	timeout_seconds, reference, code, timestamp, expires_at, pending_status, result`

// ScanTransfer scans a row of TransferColumns.
func ScanTransfer(rows interface{ Scan(...any) error }) (agentpay.Transfer, error) {
	var t agentpay.Transfer
	var flags int64
	var status string
	err := rows.Scan(&t.ID, &t.DebitAccountID, &t.CreditAccountID, &t.Amount, &t.Asset, &flags, &t.PendingID,
		&t.TimeoutSeconds, &t.Reference, &t.Code, &t.Timestamp, &t.ExpiresAt, &status, &t.Result)
	t.Flags = agentpay.TransferFlags(flags)
	t.PendingStatus = agentpay.PendingStatus(status)
	return t, err
}

// TransferValues returns a transfer's values in the order of TransferColumns.
func TransferValues(t *agentpay.Transfer) []any {
	return []any{t.ID, t.DebitAccountID, t.CreditAccountID, t.Amount, t.Asset, int64(t.Flags), t.PendingID,
		t.TimeoutSeconds, t.Reference, t.Code, t.Timestamp, t.ExpiresAt, string(t.PendingStatus), t.Result}
}

// Account returns an account with its current balances.
func (db *DB) Account(ctx context.Context, id string) (agentpay.Account, error) {
	row := db.reader.QueryRowContext(ctx, AccountQuery("WHERE account_id = $1", "WHERE a.id = $2"), id, id)
	a, err := ScanAccount(row)
	if errors.Is(err, sql.ErrNoRows) {
		return a, agentpay.Errorf(agentpay.ENOTFOUND, "account_not_found", "account %s not found", id)
	}
	if err != nil {
		return a, fmt.Errorf("store: account: %w", err)
	}
	return a, nil
}

// Transfer returns a stored transfer; a stored rejection is not found.
func (db *DB) Transfer(ctx context.Context, id string) (agentpay.Transfer, error) {
	row := db.reader.QueryRowContext(ctx, `SELECT `+TransferColumns+` FROM transfers WHERE id = $1 AND result = ''`, id)
	t, err := ScanTransfer(row)
	if errors.Is(err, sql.ErrNoRows) {
		return t, agentpay.Errorf(agentpay.ENOTFOUND, "transfer_not_found", "transfer %s not found", id)
	}
	if err != nil {
		return t, fmt.Errorf("store: transfer: %w", err)
	}
	return t, nil
}

// Cursor is a position in an account's history: the last transfer seen.
type Cursor struct {
	Timestamp int64
	ID        string
}

// HistoryLimitMax bounds one page of an account's history.
const HistoryLimitMax = 1000

// AccountTransfers returns an account's transfers, newest first, strictly
// after cursor (nil: from the newest), at most limit of them.
func (db *DB) AccountTransfers(ctx context.Context, accountID string, after *Cursor, limit int) ([]agentpay.Transfer, error) {
	if limit <= 0 || limit > HistoryLimitMax {
		return nil, agentpay.ParamErrorf("limit", "invalid_limit", "limit must be 1 to %d", HistoryLimitMax)
	}
	ts, id := int64(1<<63-1), ""
	if after != nil {
		ts, id = after.Timestamp, after.ID
	}
	q := db.Engine.HistoryQuery()
	rows, err := db.reader.QueryContext(ctx, q, accountID, ts, id, limit)
	if err != nil {
		return nil, fmt.Errorf("store: history: %w", err)
	}
	defer rows.Close()
	var out []agentpay.Transfer
	for rows.Next() {
		t, err := ScanTransfer(rows)
		if err != nil {
			return nil, fmt.Errorf("store: history: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// CheckLedger loads every account and open pending transfer and runs
// ledger.Check over them. It reads in one transaction, so what it checks is
// one committed state.
func (db *DB) CheckLedger(ctx context.Context) error {
	tx, err := db.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead})
	if err != nil {
		tx, err = db.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
		if err != nil {
			return fmt.Errorf("store: check: %w", err)
		}
	}
	defer func() { _ = tx.Rollback() }()
	rows, err := tx.QueryContext(ctx, AccountQuery("", ""))
	if err != nil {
		return fmt.Errorf("store: check: %w", err)
	}
	var accounts []agentpay.Account
	for rows.Next() {
		a, err := ScanAccount(rows)
		if err != nil {
			rows.Close()
			return fmt.Errorf("store: check: %w", err)
		}
		accounts = append(accounts, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: check: %w", err)
	}
	rows, err = tx.QueryContext(ctx, `SELECT `+TransferColumns+` FROM transfers WHERE pending_status = 'open' AND result = ''`)
	if err != nil {
		return fmt.Errorf("store: check: %w", err)
	}
	defer rows.Close()
	var open []agentpay.Transfer
	for rows.Next() {
		t, err := ScanTransfer(rows)
		if err != nil {
			return fmt.Errorf("store: check: %w", err)
		}
		open = append(open, t)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: check: %w", err)
	}
	return ledger.Check(accounts, open)
}

// DuePendingTransfers returns up to limit ids of open pending transfers whose
// timeout has passed by now (microseconds), oldest first.
func (db *DB) DuePendingTransfers(ctx context.Context, now int64, limit int) ([]string, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT id FROM transfers
		WHERE pending_status = 'open' AND expires_at > 0 AND expires_at <= $1 ORDER BY expires_at LIMIT $2`, now, limit)
	if err != nil {
		return nil, fmt.Errorf("store: due pending: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// ScanVersions reads rows of (key, version) into a map; err is the error of
// the query that made rows.
func ScanVersions(rows *sql.Rows, err error) (map[string]int64, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var k string
		var v int64
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, rows.Err()
}
