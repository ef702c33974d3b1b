package store_test

import (
	"context"
	"testing"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store/sqlite"
)

// Two processes on one SQLite file (a server and the load tool, say) each
// have a committer that caches accounts. A write by one must make the
// other's cache start over, or it would overdraw a wallet.
func TestSQLiteTwoWritersShareOneFile(t *testing.T) {
	path := t.TempDir() + "/shared.db"
	ctx := context.Background()
	a, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	fa := newFixture(t, a, "USD", 100)
	fb := &fixture{t: t, db: b, ctx: ctx, funding: fa.funding, wallet: fa.wallet, merchant: fa.merchant}
	// b caches the wallet at 100 available.
	fb.mustTransfer(agentpay.Transfer{ID: "trf_b1", DebitAccountID: fb.wallet, CreditAccountID: fb.merchant, Amount: 10, Asset: "USD"})
	// a spends the rest behind b's back.
	fa.mustTransfer(agentpay.Transfer{ID: "trf_a1", DebitAccountID: fa.wallet, CreditAccountID: fa.merchant, Amount: 90, Asset: "USD"})
	// b must see the wallet empty now.
	if res := fb.submit(agentpay.Transfer{ID: "trf_b2", DebitAccountID: fb.wallet, CreditAccountID: fb.merchant, Amount: 50, Asset: "USD"}); agentpay.ErrorCode(res.Err) != "exceeds_credits" {
		t.Fatalf("stale cache: second writer's transfer = %v, want exceeds_credits", res.Err)
	}
	// And its timestamps continue after a's, so nothing collides.
	fb.mustTransfer(agentpay.Transfer{ID: "trf_b3", DebitAccountID: fb.funding, CreditAccountID: fb.wallet, Amount: 5, Asset: "USD"})
	if w := fa.balance(fa.wallet); w.Balance() != 5 {
		t.Fatalf("wallet = %d, want 5", w.Balance())
	}
	fa.check()
}
