package store_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
)

// TestConcurrentPaymentsNeverOverdraw pays from one wallet with limited funds
// to several merchants from many goroutines at once, single-phase and
// two-phase mixed: the wallet never goes below zero, it loses exactly what
// the merchants received, and every refusal is exceeds_credits.
func TestConcurrentPaymentsNeverOverdraw(t *testing.T) {
	engines(t, func(t *testing.T, open func() *store.DB) {
		const (
			funds        = 100_000
			goroutines   = 64
			perGoroutine = 50
		)
		db := open()
		f := newFixture(t, db, "USD", funds)
		merchants := []string{f.merchant, f.account(agentpay.AccountMerchant, "USD"),
			f.account(agentpay.AccountMerchant, "USD"), f.account(agentpay.AccountMerchant, "USD")}

		// What each kind of operation ends up paying out of its amount.
		const (
			single      = iota // a single-phase payment
			holdPost           // a hold, then a post of all of it
			holdPartial        // a hold, then a post of half of it
			holdVoid           // a hold, then a void
			kinds
		)
		var paid [4]atomic.Int64           // per merchant
		var applied, rejected atomic.Int64 // transfers debiting the wallet, refusals
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Go(func() {
				for i := range perGoroutine {
					m := (g + i) % len(merchants)
					kind := (g*7 + i) % kinds
					amount := int64(10 + (g*perGoroutine+i)%90)
					id := fmt.Sprintf("trf_%d_%d", g, i)
					tr := pay(id, f.wallet, merchants[m], amount, "USD")
					if kind != single {
						tr = hold(id, f.wallet, merchants[m], amount, "USD", 0)
					}
					res := f.submit(tr)
					if res.Err != nil {
						if agentpay.ErrorCode(res.Err) != "exceeds_credits" || agentpay.ErrorKind(res.Err) != agentpay.ECONFLICT {
							t.Errorf("%s: %v, want exceeds_credits", id, res.Err)
							return
						}
						rejected.Add(1)
						continue
					}
					applied.Add(1)
					var out int64
					var resolve agentpay.Transfer
					switch kind {
					case single:
						out = amount
					case holdPost:
						out, resolve = amount, post(id+"_post", id, 0)
					case holdPartial:
						out, resolve = amount/2, post(id+"_post", id, amount/2)
					case holdVoid:
						resolve = void(id+"_void", id)
					}
					if kind != single {
						// Resolving a hold only ever lowers what the wallet owes.
						if res := f.submit(resolve); res.Err != nil {
							t.Errorf("%s: %v", resolve.ID, res.Err)
							return
						}
						applied.Add(1)
					}
					paid[m].Add(out)
				}
			})
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		var total int64
		for m, id := range merchants {
			a := f.balance(id)
			if a.Balance() != paid[m].Load() || a.CreditsPending != 0 {
				t.Errorf("merchant %d: %+v, want balance %d", m, a, paid[m].Load())
			}
			total += paid[m].Load()
		}
		w := f.balance(f.wallet)
		if w.Balance() != funds-total || w.DebitsPosted != total || w.DebitsPending != 0 || w.Balance() < 0 {
			t.Errorf("wallet %+v: lost %d, merchants got %d", w, w.DebitsPosted, total)
		}
		// The demand (about 110k after voids and partial posts) exceeds the
		// funds, so some payments must have been refused.
		if rejected.Load() == 0 || total == 0 {
			t.Errorf("rejected %d, paid %d: the scenario did not contend for the funds", rejected.Load(), total)
		}
		if n := count(t, db.Reader(), fmt.Sprintf("transfers WHERE debit_account_id = '%s' AND result = ''", f.wallet)); n != int(applied.Load()) {
			t.Errorf("%d transfers debit the wallet, %d were applied", n, applied.Load())
		}
		if n := count(t, db.Reader(), "transfers WHERE result = 'exceeds_credits'"); n != int(rejected.Load()) {
			t.Errorf("%d stored rejections, %d refusals", n, rejected.Load())
		}
		t.Logf("%d transfers applied, %d refused, %d paid of %d", applied.Load(), rejected.Load(), total, funds)
		f.check()
	})
}

// TestHotMerchantCreditedConcurrently credits one merchant from 200 wallets
// at once: its balance is exactly the sum of the accepted payments.
func TestHotMerchantCreditedConcurrently(t *testing.T) {
	engines(t, func(t *testing.T, open func() *store.DB) {
		const (
			wallets  = 200
			payments = 5
			funds    = 100
			amount   = 30 // each wallet can afford 3 of its 5 payments
		)
		db := open()
		f := newFixture(t, db, "EUR", 0)
		// Each wallet is created and funded in one unit, all at once.
		ids := make([]string, wallets)
		units := make([]*store.Unit, wallets)
		for w := range ids {
			ids[w] = fmt.Sprintf("acc_w%03d", w)
			units[w] = &store.Unit{
				Accounts:  []agentpay.Account{{ID: ids[w], Kind: agentpay.AccountUserWallet, Asset: "EUR", Flags: agentpay.AccountUserWallet.DefaultFlags()}},
				Transfers: []agentpay.Transfer{pay("trf_fund_"+ids[w], f.funding, ids[w], funds, "EUR")},
			}
		}
		for w, res := range submitConcurrently(db, units) {
			if res.Err != nil || len(res.Accounts) != 1 || res.Accounts[0].ID != ids[w] {
				t.Fatalf("wallet %d: %+v", w, res)
			}
		}
		var accepted [wallets]atomic.Int64
		var wg sync.WaitGroup
		for w := range wallets {
			wg.Go(func() {
				for i := range payments {
					res := f.submit(pay(fmt.Sprintf("trf_hot_%d_%d", w, i), ids[w], f.merchant, amount, "EUR"))
					switch {
					case res.Err == nil:
						accepted[w].Add(amount)
					case agentpay.ErrorCode(res.Err) != "exceeds_credits":
						t.Errorf("wallet %d payment %d: %v", w, i, res.Err)
					}
				}
			})
		}
		wg.Wait()
		var sum int64
		for w := range wallets {
			got := accepted[w].Load()
			if got != 3*amount {
				t.Errorf("wallet %d paid %d, want %d", w, got, 3*amount)
			}
			if b := f.balance(ids[w]).Balance(); b != funds-got {
				t.Errorf("wallet %d balance %d, want %d", w, b, funds-got)
			}
			sum += got
		}
		if m := f.balance(f.merchant); m.Balance() != sum || m.CreditsPosted != sum {
			t.Errorf("merchant %+v, want balance %d", m, sum)
		}
		f.check()
	})
}
