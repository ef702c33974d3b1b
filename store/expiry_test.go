package store_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
)

// waitDue waits until every id is among the due pending transfers.
func waitDue(t *testing.T, f *fixture, ids ...string) {
	t.Helper()
	waitUntil(t, fmt.Sprintf("pending transfers %v to be due", ids), func() bool {
		due, err := f.db.DuePendingTransfers(f.ctx, time.Now().UnixMicro(), 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			if !slices.Contains(due, id) {
				return false
			}
		}
		return true
	})
}

func (f *fixture) pendingStatus(id string) agentpay.PendingStatus {
	f.t.Helper()
	p, err := f.db.Transfer(f.ctx, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return p.PendingStatus
}

func TestPendingTransferExpires(t *testing.T) {
	t.Parallel() // mostly waiting for a timeout to pass
	engines(t, func(t *testing.T, open func() *store.DB) {
		db := open()
		f := newFixture(t, db, "USD", 1_000)
		short := f.mustTransfer(hold("trf_short", f.wallet, f.merchant, 300, "USD", 1))[0]
		long := f.mustTransfer(hold("trf_long", f.wallet, f.merchant, 100, "USD", 3600))[0]
		if short.ExpiresAt != short.Timestamp+1_000_000 || long.ExpiresAt != long.Timestamp+3600_000_000 {
			t.Fatalf("expiry: short %+v, long %+v", short, long)
		}

		// Expiring a pending transfer that is not due yet is skipped.
		before := f.balance(f.wallet)
		res := db.Committer.Submit(f.ctx, &store.Unit{Expire: []string{long.ID}})
		if res.Err != nil || len(res.Expired) != 0 {
			t.Fatalf("early expire = %+v", res)
		}
		if s := f.pendingStatus(long.ID); s != agentpay.PendingOpen {
			t.Fatalf("status after early expire = %q", s)
		}
		if w := f.balance(f.wallet); w != before || w.DebitsPending != 400 || w.Available() != 600 {
			t.Fatalf("wallet after early expire %+v, before %+v", w, before)
		}

		waitDue(t, f, short.ID)
		res = db.Committer.Submit(f.ctx, &store.Unit{Expire: []string{short.ID, long.ID}})
		if res.Err != nil || !slices.Equal(res.Expired, []string{short.ID}) {
			t.Fatalf("expire = %+v, want only %s expired", res, short.ID)
		}
		if s := f.pendingStatus(short.ID); s != agentpay.PendingExpired {
			t.Fatalf("status = %q, want expired", s)
		}
		if s := f.pendingStatus(long.ID); s != agentpay.PendingOpen {
			t.Fatalf("long hold status = %q, want open", s)
		}
		w, m := f.balance(f.wallet), f.balance(f.merchant)
		if w.DebitsPending != 100 || w.Balance() != 1_000 || w.Available() != 900 || m.CreditsPending != 100 || m.Balance() != 0 {
			t.Fatalf("after expiry: wallet %+v merchant %+v", w, m)
		}
		due, err := db.DuePendingTransfers(f.ctx, time.Now().UnixMicro(), 10)
		if err != nil || slices.Contains(due, short.ID) {
			t.Fatalf("due after expiry = %v, %v", due, err)
		}
		f.check()

		// Nothing resolves an expired transfer, and trying changes nothing.
		for _, tr := range []agentpay.Transfer{
			post("trf_post_all", short.ID, 0),
			post("trf_post_part", short.ID, 100),
			void("trf_void", short.ID),
		} {
			t.Run(tr.ID, func(t *testing.T) {
				f := f.in(t)
				accounts := allAccounts(t, db)
				applied := count(t, db.Reader(), "transfers WHERE result = ''")
				res := f.submit(tr)
				if agentpay.ErrorCode(res.Err) != "pending_transfer_expired" || agentpay.ErrorKind(res.Err) != agentpay.ECONFLICT {
					t.Fatalf("error = %v, want pending_transfer_expired", res.Err)
				}
				if got := allAccounts(t, db); !mapsEqual(got, accounts) {
					t.Fatalf("accounts changed: %+v -> %+v", accounts, got)
				}
				if n := count(t, db.Reader(), "transfers WHERE result = ''"); n != applied {
					t.Fatalf("applied transfers %d -> %d", applied, n)
				}
				if s := f.pendingStatus(short.ID); s != agentpay.PendingExpired {
					t.Fatalf("status = %q", s)
				}
				f.check()
			})
		}
		// A second expiry of the same transfer is skipped.
		if res := db.Committer.Submit(f.ctx, &store.Unit{Expire: []string{short.ID}}); res.Err != nil || len(res.Expired) != 0 {
			t.Fatalf("second expire = %+v", res)
		}
		if w := f.balance(f.wallet); w.DebitsPending != 100 || w.Balance() != 1_000 {
			t.Fatalf("wallet after second expire %+v", w)
		}
		f.check()
	})
}

// TestPostRacingExpiry submits a post and an expiry of the same due pending
// transfer at once: the expiry always wins, since a post after the timeout
// always fails, so money is never both captured and released.
func TestPostRacingExpiry(t *testing.T) {
	t.Parallel() // mostly waiting for a timeout to pass
	engines(t, func(t *testing.T, open func() *store.DB) {
		db := open()
		f := newFixture(t, db, "USD", 10_000)
		const n = 8
		ids := make([]string, n)
		for i := range ids {
			ids[i] = f.mustTransfer(hold(fmt.Sprintf("trf_race_%d", i), f.wallet, f.merchant, 100, "USD", 1))[0].ID
		}
		waitDue(t, f, ids...)
		posts := make([]store.Result, n)
		expiries := make([]store.Result, n)
		var wg sync.WaitGroup
		for i, id := range ids {
			// Half of the pairs race in one batch, half in separate ones.
			if i%2 == 0 {
				res := submitBatch(t, db, []*store.Unit{
					{Transfers: []agentpay.Transfer{post(id+"_post", id, 0)}},
					{Expire: []string{id}},
				})
				posts[i], expiries[i] = res[0], res[1]
				continue
			}
			wg.Go(func() { posts[i] = f.submit(post(id+"_post", id, 0)) })
			wg.Go(func() { expiries[i] = db.Committer.Submit(f.ctx, &store.Unit{Expire: []string{id}}) })
		}
		wg.Wait()
		for i, id := range ids {
			status := f.pendingStatus(id)
			if posts[i].Err == nil && status == agentpay.PendingExpired {
				t.Fatalf("%s was both posted and expired", id)
			}
			if agentpay.ErrorCode(posts[i].Err) != "pending_transfer_expired" {
				t.Errorf("post of %s = %v, want pending_transfer_expired", id, posts[i].Err)
			}
			if expiries[i].Err != nil || !slices.Equal(expiries[i].Expired, []string{id}) || status != agentpay.PendingExpired {
				t.Errorf("expiry of %s = %+v, status %q", id, expiries[i], status)
			}
		}
		w, m := f.balance(f.wallet), f.balance(f.merchant)
		if w.Balance() != 10_000 || w.DebitsPending != 0 || m.Balance() != 0 || m.CreditsPending != 0 {
			t.Fatalf("wallet %+v merchant %+v: money moved", w, m)
		}
		f.check()
	})
}

func mapsEqual(a, b map[string]agentpay.Account) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
