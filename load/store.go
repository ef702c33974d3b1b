package load

import (
	"context"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
)

// StoreDriver drives a store in this process: each transfer is one unit of
// work handed to the committer.
type StoreDriver struct{ DB *store.DB }

// CreateAccount implements Driver.
func (s StoreDriver) CreateAccount(ctx context.Context, kind agentpay.AccountKind, asset string) (string, error) {
	id := agentpay.NewID("acc")
	res := s.DB.Committer.Submit(ctx, &store.Unit{Accounts: []agentpay.Account{{ID: id, Kind: kind, Asset: asset, Flags: kind.DefaultFlags()}}})
	return id, res.Err
}

// TopUp implements Driver.
func (s StoreDriver) TopUp(ctx context.Context, transferID, accountID string, amount int64, asset string) error {
	funding, err := s.DB.EnsureSystemAccount(ctx, agentpay.AccountFunding, asset)
	if err != nil {
		return err
	}
	return s.Transfer(ctx, agentpay.Transfer{ID: transferID, DebitAccountID: funding, CreditAccountID: accountID, Amount: amount, Asset: asset, Code: "topup"})
}

// Transfer implements Driver.
func (s StoreDriver) Transfer(ctx context.Context, t agentpay.Transfer) error {
	return s.DB.Committer.Submit(ctx, &store.Unit{Transfers: []agentpay.Transfer{t}}).Err
}

// Check implements Driver.
func (s StoreDriver) Check(ctx context.Context) error { return s.DB.CheckLedger(ctx) }
