package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/agentpay/agentpay"
)

// Engine is what differs between database engines: the clock, locking, bulk
// writes and notifications. store/sqlite and store/postgres implement it; the
// committer and the queries in this package use it.
//
// Every method runs inside the committer's transaction.
type Engine interface {
	// Name is "sqlite" or "postgres".
	Name() string
	// Now returns the database's clock in microseconds since the Unix epoch.
	Now(ctx context.Context, tx *sql.Tx) (int64, error)
	// LoadTransfers returns the stored transfers (and stored rejections) with
	// the given ids. Those in lock are locked until the transaction ends, so
	// that two nodes cannot both resolve one pending transfer.
	LoadTransfers(ctx context.Context, tx *sql.Tx, ids, lock []string) ([]agentpay.Transfer, error)
	// LoadAccounts returns the accounts with the given ids, their balances
	// including credit deltas not yet folded in. Those in lock are locked, in
	// id order, until the transaction ends.
	LoadAccounts(ctx context.Context, tx *sql.Tx, ids, lock []string) ([]agentpay.Account, error)
	// Locking reports whether the engine has several writers, so that
	// accounts must be locked and credit-only changes written as deltas.
	Locking() bool
	// InsertAccounts inserts new accounts and returns the Num of each
	// inserted, by id (fewer than given means another writer took an id
	// first).
	InsertAccounts(ctx context.Context, tx *sql.Tx, accounts []agentpay.Account) (map[string]int64, error)
	// WriteLedger writes a batch's ledger changes (in one statement where
	// the engine can). It returns an error wrapping ErrIDTaken if a transfer
	// id was taken by another writer since the batch looked.
	WriteLedger(ctx context.Context, tx *sql.Tx, w *LedgerWrites) error
	// ChainsHistory reports whether the engine keeps an account's history as
	// a chain of transfers (Links.Prev, Account.HistoryHead) rather than in
	// an index.
	ChainsHistory() bool
	// OthersWrote reports whether a connection other than the committer's
	// has committed since the last call, so state the committer caches (the
	// accounts, the last timestamp) must be read again. Engines that cache
	// nothing return false.
	OthersWrote(ctx context.Context, tx *sql.Tx) (bool, error)
	// LastTimestamp returns the greatest transfer timestamp stored, for
	// engines whose timestamps must be unique (0 for the others).
	LastTimestamp(ctx context.Context, tx *sql.Tx) (int64, error)
	// HistoryQuery returns the query of an account's history, newest first:
	// $1 the account id, $2 and $3 the timestamp and id of the last transfer
	// seen (MaxInt64 and "" for the first page), $4 the limit. It selects
	// TransferColumns.
	HistoryQuery() string
	// ExistingKeys returns which of keys are already in the table.
	ExistingKeys(ctx context.Context, tx *sql.Tx, table *Table, keys []string) ([]string, error)
	// Versions returns the version of each of keys that is in a versioned
	// table.
	Versions(ctx context.Context, tx *sql.Tx, table *Table, keys []string) (map[string]int64, error)
	// InsertRows inserts rows into a table, ignoring keys that exist; it
	// returns how many were inserted.
	InsertRows(ctx context.Context, tx *sql.Tx, table *Table, rows [][]any) (int, error)
	// AddCounts adds counts, summed by id and sorted, to the counters
	// table, creating the counters that do not exist.
	AddCounts(ctx context.Context, tx *sql.Tx, counts []Count) error
	// Prepare prepares the statements ExistingKeys, Versions and InsertRows
	// will run for tables, on db and outside any transaction (with one
	// writer connection, preparing during one would wait forever). Engines
	// whose driver caches statements itself do nothing. A statement that
	// fails to prepare is run unprepared, where its error shows.
	Prepare(ctx context.Context, db *sql.DB, tables []*Table)
	// GroupsUpdates reports whether updates of many rows of one table should
	// be one statement: worth it where each statement is a round trip, a
	// loss where parsing a new statement costs more than running a prepared
	// one per row.
	GroupsUpdates() bool
	// Notify queues wake-ups that other nodes receive when tx commits. An
	// engine with one writer process returns nil: the committer wakes local
	// subscribers itself.
	Notify(ctx context.Context, tx *sql.Tx, topics []string) error
	// Fold moves account deltas into their rows, in its own transaction
	// (the one method that runs outside the committer), and returns how
	// many it moved.
	Fold(ctx context.Context, db *sql.DB) (int, error)
	// Retryable reports whether err is a transient conflict between writers
	// (serialization failure, deadlock) after which the same batch may succeed.
	Retryable(err error) bool
}

// ColumnType is the SQL type of a generic table's column.
type ColumnType int

// Column types.
const (
	Text ColumnType = iota
	Int
	Bytes
)

// Table describes a table that units write rows to. Key is its primary key
// column, whose uniqueness the committer checks in memory before the
// database does. A table with a Version column may also be updated, each
// update checked against the version its caller read.
type Table struct {
	Name    string
	Key     string
	Columns []string // Columns[0] must be Key
	Types   []ColumnType
	Version string // the version column (one of Columns, an Int), or "" for insert-only tables
}

// versionIndex returns the position of the version column in Columns.
func (t *Table) versionIndex() int {
	for i, c := range t.Columns {
		if c == t.Version {
			return i
		}
	}
	return -1
}

// Links are what engines that chain history store beside each transfer.
type Links struct {
	Nums map[string]int64    // account id -> Num
	Prev map[string][2]int64 // transfer id -> timestamps of the previous transfer of its debit and credit account
}

// LedgerWrites are a batch's ledger changes.
type LedgerWrites struct {
	Transfers []*agentpay.Transfer // new transfers and stored rejections
	Links     *Links
	Pendings  []*agentpay.Transfer // stored pending transfers whose status changed
	Rows      []agentpay.Account   // to add to account rows: the four balance fields, and HistoryHead as a new maximum
	Deltas    []agentpay.Account   // to record as delta rows (engines that lock)
}

// ErrIDTaken reports that another writer inserted an id first.
var ErrIDTaken = errors.New("store: id taken by another writer")
