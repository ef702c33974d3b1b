package store

import (
	"slices"

	"github.com/agentpay/agentpay"
)

// Unit is everything one request writes: it commits whole or not at all.
// Units are handed to the Committer, which commits many in one transaction.
type Unit struct {
	// Accounts are created with zero balances. Their ids must be new.
	Accounts []agentpay.Account
	// Transfers are applied in order, all or nothing (a linked group). They
	// may refer to Accounts of the same unit.
	Transfers []agentpay.Transfer
	// Expire lists pending transfers to void because their timeout passed.
	// Each that is not open and due by the database's clock is skipped.
	Expire []string
	// Rows are inserted into generic tables; a key that exists fails the unit.
	Rows []Row
	// Guards are rows checked before everything else and written even when
	// the unit's effects fail, like its idempotency record: a signed
	// request's nonce, which must be spent whatever the request's outcome.
	// A guard whose key exists fails the unit with nothing recorded.
	Guards []Row
	// Updates change rows of versioned tables, each only if the row is still
	// at the version the caller read (optimistic concurrency): otherwise the
	// unit fails with version_conflict and the caller reads again.
	Updates []Update
	// Counts add to counters (see Count). They never conflict and never
	// fail a unit; they are written only if the unit's effects are.
	Counts []Count
	// Notify names bus topics woken when the unit commits.
	Notify []string
	// Idempotency, when set, records the response to the request that made
	// this unit, in the same transaction. If the key already exists the unit
	// is not applied and the result carries the stored response instead.
	Idempotency *Idempotency

	done   chan struct{}
	result Result
}

// Row is one row for a Table; Values are in the order of Table.Columns.
type Row struct {
	Table  *Table
	Values []any
}

// Key returns the row's primary key.
func (r Row) Key() string { return r.Values[0].(string) }

// Update sets columns of one row of a versioned table and increments its
// version.
type Update struct {
	Table   *Table
	Key     string
	Version int64    // the version the caller read
	Set     []string // columns to set; never the key or the version
	Values  []any    // in the order of Set
}

// Result is what became of a unit.
type Result struct {
	// Err is the unit's own error; nil if it committed.
	Err error
	// Transfers are the unit's transfers as applied (or as first applied,
	// for retries of stored ids).
	Transfers []agentpay.Transfer
	// Accounts are the accounts the unit created, as created.
	Accounts []agentpay.Account
	// Expired lists the pending transfers the unit voided by expiry.
	Expired []string
	// Replay is the stored response when the unit's idempotency key was
	// already used; the unit was not applied.
	Replay *IdempotencyRecord
	// Response is the response Idempotency.Render made and the unit stored
	// with its effects, so the caller need not render it again.
	Response *IdempotencyRecord
}

// Idempotency ties a unit to the idempotency key of the request that made it.
type Idempotency struct {
	// ID is the key scoped to the caller and route.
	ID string
	// RequestHash is SHA-256 over the canonical JSON of the request body.
	RequestHash string
	// Render builds the response the request gets, from the unit's result.
	// It runs in the committer, so it must be quick and must not block.
	// Responses with status 500 or above are not stored.
	Render func(Result) (status int, body []byte)
	// ExpiresAt is when the key may be forgotten, in microseconds.
	ExpiresAt int64
}

// IdempotencyRecord is a stored response.
type IdempotencyRecord struct {
	ID          string
	RequestHash string
	Status      int
	Body        []byte
	CreatedAt   int64
	ExpiresAt   int64
}

// valid reports whether u sets only ordinary columns of a versioned table.
// Column names are written into SQL, so they must be the table's own.
func (u Update) valid() bool {
	if u.Table.Version == "" || len(u.Set) == 0 || len(u.Set) != len(u.Values) {
		return false
	}
	for _, col := range u.Set {
		if col == u.Table.Key || col == u.Table.Version || !slices.Contains(u.Table.Columns, col) {
			return false
		}
	}
	return true
}
