package store_test

import (
	"context"
	"sync"
	"testing"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
)

// History must hold every applied transfer of an account exactly once,
// newest first, however the transfers were batched: on SQLite it is a chain
// through the transfers table, built batch by batch, and a hold voided in
// the batch that made it changes no balance but still moves the chain.
func TestHistoryAcrossBatches(t *testing.T) {
	engines(t, func(t *testing.T, open func() *store.DB) {
		db := open()
		f := newFixture(t, db, "USD", 1_000_000)
		other := f.account(agentpay.AccountMerchant, "USD")
		var want []string // transfer ids touching the wallet, in no order
		var mu sync.Mutex
		var wg sync.WaitGroup
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				for i := 0; i < 20; i++ {
					to := f.merchant
					if (g+i)%3 == 0 {
						to = other
					}
					hold := agentpay.NewID("trf")
					void := agentpay.NewID("trf")
					pay := agentpay.NewID("trf")
					// A hold and its void in one unit: no net balance change.
					res := db.Committer.Submit(context.Background(), &store.Unit{Transfers: []agentpay.Transfer{
						{ID: hold, DebitAccountID: f.wallet, CreditAccountID: to, Amount: 5, Asset: "USD", Flags: agentpay.TransferPending},
						{ID: void, PendingID: hold, Flags: agentpay.TransferVoidPending},
					}})
					if res.Err != nil {
						t.Error(res.Err)
						return
					}
					res = db.Committer.Submit(context.Background(), &store.Unit{Transfers: []agentpay.Transfer{
						{ID: pay, DebitAccountID: f.wallet, CreditAccountID: to, Amount: 7, Asset: "USD"},
					}})
					if res.Err != nil {
						t.Error(res.Err)
						return
					}
					mu.Lock()
					want = append(want, hold, void, pay)
					mu.Unlock()
				}
			}(g)
		}
		wg.Wait()
		want = append(want, "") // the top-up, whose id the fixture chose
		var got []agentpay.Transfer
		var after *store.Cursor
		for {
			page, err := db.AccountTransfers(f.ctx, f.wallet, after, 7)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, page...)
			if len(page) < 7 {
				break
			}
			last := page[len(page)-1]
			after = &store.Cursor{Timestamp: last.Timestamp, ID: last.ID}
		}
		if len(got) != len(want) {
			t.Fatalf("history has %d transfers, want %d", len(got), len(want))
		}
		seen := map[string]bool{}
		for i, tr := range got {
			if seen[tr.ID] {
				t.Fatalf("transfer %s twice in history", tr.ID)
			}
			seen[tr.ID] = true
			if i > 0 && tr.Timestamp >= got[i-1].Timestamp {
				t.Fatalf("history not newest first at %d", i)
			}
		}
		for _, id := range want[:len(want)-1] {
			if !seen[id] {
				t.Fatalf("transfer %s missing from history", id)
			}
		}
		f.check()
	})
}
