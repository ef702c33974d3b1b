package store

import (
	"context"
	"sync"

	"github.com/agentpay/agentpay"
)

var ensured sync.Map // system account id -> struct{}: created, or found to exist

// EnsureSystemAccount creates the system account of a kind and asset (e.g.
// funding in USD) if it does not exist yet, and returns its id. The id is
// deterministic, so concurrent callers on any node agree on one account.
func (db *DB) EnsureSystemAccount(ctx context.Context, kind agentpay.AccountKind, asset string) (string, error) {
	id := agentpay.SystemAccountID(kind, asset)
	if _, ok := ensured.Load(db.key(id)); ok {
		return id, nil
	}
	if err := agentpay.ValidateAssetCode(asset); err != nil {
		return "", err
	}
	res := db.Committer.Submit(ctx, &Unit{Accounts: []agentpay.Account{{ID: id, Kind: kind, Asset: asset, Flags: kind.DefaultFlags()}}})
	if res.Err != nil && agentpay.ErrorCode(res.Err) != "account_exists" {
		return "", res.Err
	}
	ensured.Store(db.key(id), struct{}{})
	return id, nil
}

// key scopes the process-wide cache to this database.
func (db *DB) key(id string) string { return db.instance + "/" + id }
