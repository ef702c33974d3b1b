package store_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
)

// twoNodes opens two databases on the same PostgreSQL schema: two
// committers, as two server processes would have. SQLite has one writer
// process, so the tests that need two are skipped there.
func twoNodes(t *testing.T, open func() *store.DB) (a, b *store.DB) {
	t.Helper()
	a = open()
	if !isPostgres(a) {
		t.Skip("several nodes share a database only on PostgreSQL")
	}
	return a, open()
}

// on returns a fixture for another node over the same accounts.
func (f *fixture) on(db *store.DB) *fixture {
	g := *f
	g.db = db
	return &g
}

// addTo adds an applied transfer's effect to expected balances.
func addTo(accounts map[string]agentpay.Account, tr agentpay.Transfer) {
	dr, cr := accounts[tr.DebitAccountID], accounts[tr.CreditAccountID]
	switch tr.Flags {
	case 0:
		dr.DebitsPosted += tr.Amount
		cr.CreditsPosted += tr.Amount
	case agentpay.TransferPending:
		dr.DebitsPending += tr.Amount
		cr.CreditsPending += tr.Amount
	default:
		panic("addTo: only single and pending transfers")
	}
	accounts[tr.DebitAccountID], accounts[tr.CreditAccountID] = dr, cr
}

// TestNodesApplyEachTransferOnce has 8 goroutines on each of two nodes
// submit the same transfers, each in its own order: every transfer is
// applied once, and everyone who submitted it gets the same answer.
func TestNodesApplyEachTransferOnce(t *testing.T) {
	engines(t, func(t *testing.T, open func() *store.DB) {
		a, b := twoNodes(t, open)
		f := newFixture(t, a, "USD", 0)
		fees := f.account(agentpay.AccountFees, "USD")
		poor := f.account(agentpay.AccountUserWallet, "USD")
		merchants := []string{f.merchant, f.account(agentpay.AccountMerchant, "USD"), f.account(agentpay.AccountMerchant, "USD")}
		wallets := make([]string, 10)
		for i := range wallets {
			wallets[i] = f.account(agentpay.AccountUserWallet, "USD")
			f.mustTransfer(pay(fmt.Sprintf("trf_seed_%d", i), f.funding, wallets[i], 10_000, "USD"))
		}

		// Every one of these can be applied in any order, but for the doomed
		// ones, which no order can apply.
		var groups [][]agentpay.Transfer
		doomed := map[int]bool{}
		for i := range 100 {
			groups = append(groups, []agentpay.Transfer{pay(fmt.Sprintf("trf_p%03d", i), wallets[i%10], merchants[i%3], int64(10+i), "USD")})
		}
		for i := range wallets {
			groups = append(groups, []agentpay.Transfer{pay(fmt.Sprintf("trf_t%03d", i), f.funding, wallets[i], 500, "USD")})
			groups = append(groups, []agentpay.Transfer{hold(fmt.Sprintf("trf_h%03d", i), wallets[i], merchants[i%3], 20, "USD", 0)})
			groups = append(groups, []agentpay.Transfer{
				pay(fmt.Sprintf("trf_g%03d", i), wallets[i], merchants[i%3], 100, "USD"),
				pay(fmt.Sprintf("trf_gfee%03d", i), wallets[i], fees, 3, "USD"),
			})
		}
		for i := range 5 {
			doomed[len(groups)] = true
			groups = append(groups, []agentpay.Transfer{pay(fmt.Sprintf("trf_d%03d", i), poor, merchants[i%3], 1, "USD")})
		}

		before := allAccounts(t, a)
		const perNode = 8
		results := make([][]store.Result, 2*perNode) // submitter -> group -> result
		var wg sync.WaitGroup
		for s := range results {
			node := []*store.DB{a, b}[s%2]
			results[s] = make([]store.Result, len(groups))
			wg.Go(func() {
				// Submitters s and s+1, on different nodes, share an order,
				// so the two nodes keep colliding on the same new ids.
				rng := rand.New(rand.NewPCG(uint64(s/2), 42))
				for _, g := range rng.Perm(len(groups)) {
					results[s][g] = node.Committer.Submit(f.ctx, &store.Unit{Transfers: slices.Clone(groups[g])})
				}
			})
		}
		wg.Wait()

		want := before
		for g, group := range groups {
			first := results[0][g]
			for s := range results {
				r := results[s][g]
				if agentpay.ErrorCode(r.Err) != agentpay.ErrorCode(first.Err) || !slices.Equal(r.Transfers, first.Transfers) {
					t.Fatalf("%s: submitter %d got %+v, submitter 0 got %+v", group[0].ID, s, r, first)
				}
			}
			if doomed[g] {
				if agentpay.ErrorCode(first.Err) != "exceeds_credits" {
					t.Fatalf("%s: %v, want exceeds_credits", group[0].ID, first.Err)
				}
				continue
			}
			if first.Err != nil || len(first.Transfers) != len(group) {
				t.Fatalf("%s: %+v", group[0].ID, first)
			}
			for _, tr := range first.Transfers {
				for _, node := range []*store.DB{a, b} {
					if stored, err := node.Transfer(f.ctx, tr.ID); err != nil || stored != tr {
						t.Fatalf("%s: stored %+v (%v), answered %+v", tr.ID, stored, err, tr)
					}
				}
				addTo(want, tr)
			}
		}
		for _, node := range []*store.DB{a, b} {
			if got := allAccounts(t, node); !mapsEqual(got, want) {
				for id, acc := range want {
					if got[id] != acc {
						t.Errorf("%s: %+v, want %+v (each transfer applied once)", id, got[id], acc)
					}
				}
				t.FailNow()
			}
			f.on(node).check()
		}
	})
}

// TestNodesResolvePendingOnce posts a pending transfer on one node while the
// other voids it: exactly one of them succeeds.
func TestNodesResolvePendingOnce(t *testing.T) {
	engines(t, func(t *testing.T, open func() *store.DB) {
		a, b := twoNodes(t, open)
		f := newFixture(t, a, "USD", 10_000)
		const n = 20
		posts, voids := make([]store.Result, n), make([]store.Result, n)
		var wg sync.WaitGroup
		for i := range n {
			id := f.mustTransfer(hold(fmt.Sprintf("trf_hold_%d", i), f.wallet, f.merchant, int64(100+i), "USD", 0))[0].ID
			poster, voider := a, b
			if i%2 == 1 {
				poster, voider = b, a
			}
			wg.Go(func() { posts[i] = f.on(poster).submit(post(id+"_post", id, 0)) })
			wg.Go(func() { voids[i] = f.on(voider).submit(void(id+"_void", id)) })
		}
		wg.Wait()
		var posted int64
		for i := range n {
			id := fmt.Sprintf("trf_hold_%d", i)
			status := f.pendingStatus(id)
			switch {
			case posts[i].Err == nil && agentpay.ErrorCode(voids[i].Err) == "pending_transfer_already_posted" && status == agentpay.PendingPosted:
				posted += int64(100 + i)
			case voids[i].Err == nil && agentpay.ErrorCode(posts[i].Err) == "pending_transfer_already_voided" && status == agentpay.PendingVoided:
			default:
				t.Fatalf("%s: post %v, void %v, status %q: want exactly one to succeed", id, posts[i].Err, voids[i].Err, status)
			}
		}
		w, m := f.balance(f.wallet), f.balance(f.merchant)
		if w.Balance() != 10_000-posted || w.DebitsPending != 0 || m.Balance() != posted || m.CreditsPending != 0 {
			t.Fatalf("wallet %+v merchant %+v, posted %d", w, m, posted)
		}
		f.check()
		f.on(b).check()
	})
}

// TestNodesNeverOverdraw pays from one wallet on both nodes at once, single
// payments on one node and holds then posts on the other.
func TestNodesNeverOverdraw(t *testing.T) {
	engines(t, func(t *testing.T, open func() *store.DB) {
		a, b := twoNodes(t, open)
		const funds, amount = 5_000, 25 // 200 payments' worth, of 640 attempted
		f := newFixture(t, a, "USD", funds)
		var accepted, rejected atomic.Int64
		var wg sync.WaitGroup
		for g := range 32 {
			node := f.on([]*store.DB{a, b}[g%2])
			wg.Go(func() {
				for i := range 20 {
					id := fmt.Sprintf("trf_%d_%d", g, i)
					tr := pay(id, f.wallet, f.merchant, amount, "USD")
					if g%2 == 1 {
						tr = hold(id, f.wallet, f.merchant, amount, "USD", 0)
					}
					res := node.submit(tr)
					if agentpay.ErrorCode(res.Err) == "exceeds_credits" {
						rejected.Add(1)
						continue
					}
					if res.Err != nil {
						t.Errorf("%s: %v", id, res.Err)
						return
					}
					if g%2 == 1 {
						if res := node.submit(post(id+"_post", id, 0)); res.Err != nil {
							t.Errorf("%s: %v", id, res.Err)
							return
						}
					}
					accepted.Add(1)
				}
			})
		}
		wg.Wait()
		// Payments are refused only when less than one payment is left, and
		// there were more than enough: the wallet is spent exactly.
		if accepted.Load() != funds/amount || rejected.Load() != 640-funds/amount {
			t.Fatalf("accepted %d, rejected %d", accepted.Load(), rejected.Load())
		}
		for _, node := range []*store.DB{a, b} {
			w, m := f.on(node).balance(f.wallet), f.on(node).balance(f.merchant)
			if w.Balance() != 0 || w.DebitsPosted != funds || w.DebitsPending != 0 || m.Balance() != funds {
				t.Fatalf("wallet %+v merchant %+v", w, m)
			}
			f.on(node).check()
		}
	})
}

// TestNodesBus wakes subscribers on both nodes when a unit commits on one.
func TestNodesBus(t *testing.T) {
	engines(t, func(t *testing.T, open func() *store.DB) {
		a, b := twoNodes(t, open)
		f := newFixture(t, a, "USD", 100)
		waitListening(t, a, b)
		waitListening(t, a, a)
		topic := agentpay.NewID("pay")
		onA, stopA := a.Bus.Subscribe(topic)
		defer stopA()
		onB, stopB := b.Bus.Subscribe(topic)
		defer stopB()
		res := a.Committer.Submit(f.ctx, &store.Unit{Notify: []string{topic},
			Transfers: []agentpay.Transfer{pay("trf_bus", f.wallet, f.merchant, 10, "USD")}})
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		await(t, onB, "node B")
		if tr, err := b.Transfer(f.ctx, "trf_bus"); err != nil || tr != res.Transfers[0] {
			t.Fatalf("node B woken, reads %+v, %v", tr, err)
		}
		await(t, onA, "node A")
		f.check()
	})
}

// TestNodesCreditDeltasFold credits a merchant from many wallets on both
// nodes: the merchant is never locked, its credits are written as deltas,
// and folding them in changes no balance.
func TestNodesCreditDeltasFold(t *testing.T) {
	engines(t, func(t *testing.T, open func() *store.DB) {
		a, b := twoNodes(t, open)
		f := newFixture(t, a, "USD", 0)
		wallets := make([]string, 40)
		for i := range wallets {
			wallets[i] = f.account(agentpay.AccountUserWallet, "USD")
			f.mustTransfer(pay(fmt.Sprintf("trf_seed_%d", i), f.funding, wallets[i], 1_000, "USD"))
		}
		fold := func() int {
			t.Helper()
			total := 0
			for {
				n, err := a.Engine.Fold(f.ctx, a.Writer())
				if err != nil {
					t.Fatal(err)
				}
				if n == 0 {
					return total
				}
				total += n
			}
		}
		var paid atomic.Int64
		credit := func(round int) {
			var wg sync.WaitGroup
			for i, w := range wallets {
				node := f.on([]*store.DB{a, b}[i%2])
				wg.Go(func() {
					for k := range 5 {
						res := node.submit(pay(fmt.Sprintf("trf_r%d_%d_%d", round, i, k), w, f.merchant, int64(10+k), "USD"))
						if res.Err != nil {
							t.Errorf("payment: %v", res.Err)
							return
						}
						paid.Add(int64(10 + k))
					}
				})
			}
			wg.Wait()
		}

		credit(0)
		deltas := count(t, a.Reader(), "account_deltas")
		if !exists(t, a.Reader(), "account_deltas", "account_id = $1", f.merchant) {
			t.Fatalf("no deltas for the merchant (%d in all)", deltas)
		}
		before := allAccounts(t, a)
		if m := before[f.merchant]; m.Balance() != paid.Load() {
			t.Fatalf("merchant %+v with deltas, want %d", m, paid.Load())
		}
		if n := fold(); n != deltas {
			t.Fatalf("folded %d of %d deltas", n, deltas)
		}
		if n := count(t, a.Reader(), "account_deltas"); n != 0 {
			t.Fatalf("%d deltas left after folding", n)
		}
		if after := allAccounts(t, a); !mapsEqual(after, before) {
			t.Fatalf("folding changed balances")
		}
		var folded int64
		if err := a.Reader().QueryRow(`SELECT credits_posted FROM accounts WHERE id = $1`, f.merchant).Scan(&folded); err != nil || folded != paid.Load() {
			t.Fatalf("merchant row holds %d, %v; want %d", folded, err, paid.Load())
		}
		f.check()

		// Folding while both nodes credit loses and doubles nothing.
		stop := make(chan struct{})
		var folder sync.WaitGroup
		folder.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := b.Engine.Fold(f.ctx, b.Writer()); err != nil {
					t.Errorf("fold: %v", err)
					return
				}
			}
		})
		credit(1)
		close(stop)
		folder.Wait()
		for _, node := range []*store.DB{a, b} {
			if m := f.on(node).balance(f.merchant); m.Balance() != paid.Load() {
				t.Fatalf("merchant %+v, want %d", m, paid.Load())
			}
			f.on(node).check()
		}
		fold()
		if m := f.balance(f.merchant); m.Balance() != paid.Load() || count(t, a.Reader(), "account_deltas") != 0 {
			t.Fatalf("merchant %+v after the last fold, want %d", m, paid.Load())
		}
		f.check()
	})
}
