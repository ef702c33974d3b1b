package store_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
	"github.com/agentpay/agentpay/store/storetest"
)

// engines runs f against every engine (storetest.Engines).
func engines(t *testing.T, f func(t *testing.T, open func() *store.DB)) {
	storetest.Engines(t, "store", f)
}

// fixture is a ledger with a funded wallet and a merchant.
type fixture struct {
	t        *testing.T
	db       *store.DB
	ctx      context.Context
	funding  string
	wallet   string
	merchant string
}

func newFixture(t *testing.T, db *store.DB, asset string, funds int64) *fixture {
	t.Helper()
	f := &fixture{t: t, db: db, ctx: context.Background()}
	var err error
	f.funding, err = db.EnsureSystemAccount(f.ctx, agentpay.AccountFunding, asset)
	if err != nil {
		t.Fatal(err)
	}
	f.wallet = f.account(agentpay.AccountUserWallet, asset)
	f.merchant = f.account(agentpay.AccountMerchant, asset)
	if funds > 0 {
		f.mustTransfer(agentpay.Transfer{ID: agentpay.NewID("trf"), DebitAccountID: f.funding, CreditAccountID: f.wallet, Amount: funds, Asset: asset, Code: "topup"})
	}
	return f
}

func (f *fixture) account(kind agentpay.AccountKind, asset string) string {
	f.t.Helper()
	id := agentpay.NewID("acc")
	res := f.db.Committer.Submit(f.ctx, &store.Unit{Accounts: []agentpay.Account{{ID: id, Kind: kind, Asset: asset, Flags: kind.DefaultFlags()}}})
	if res.Err != nil {
		f.t.Fatal(res.Err)
	}
	return id
}

func (f *fixture) submit(ts ...agentpay.Transfer) store.Result {
	return f.db.Committer.Submit(f.ctx, &store.Unit{Transfers: ts})
}

func (f *fixture) mustTransfer(ts ...agentpay.Transfer) []agentpay.Transfer {
	f.t.Helper()
	res := f.submit(ts...)
	if res.Err != nil {
		f.t.Fatalf("transfer: %v", res.Err)
	}
	return res.Transfers
}

func (f *fixture) balance(id string) agentpay.Account {
	f.t.Helper()
	a, err := f.db.Account(f.ctx, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return a
}

func (f *fixture) check() {
	f.t.Helper()
	if err := f.db.CheckLedger(f.ctx); err != nil {
		f.t.Fatalf("ledger.Check: %v", err)
	}
}

// count returns the rows of a table, to prove a rejection wrote nothing.
func count(t *testing.T, db *sql.DB, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
