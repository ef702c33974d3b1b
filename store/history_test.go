package store_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
)

// page reads an account's whole history, pageSize at a time, and returns
// the pages.
func pages(t *testing.T, f *fixture, account string, pageSize int) [][]agentpay.Transfer {
	t.Helper()
	var out [][]agentpay.Transfer
	var after *store.Cursor
	for range 100 {
		page, err := f.db.AccountTransfers(f.ctx, account, after, pageSize)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > pageSize {
			t.Fatalf("page of %d, limit %d", len(page), pageSize)
		}
		if len(page) == 0 {
			return out
		}
		out = append(out, page)
		last := page[len(page)-1]
		after = &store.Cursor{Timestamp: last.Timestamp, ID: last.ID}
	}
	t.Fatal("history does not end")
	return nil
}

func TestAccountHistory(t *testing.T) {
	engines(t, func(t *testing.T, open func() *store.DB) {
		db := open()
		f := newFixture(t, db, "USD", 10_000)
		other := f.account(agentpay.AccountMerchant, "USD")
		topup, err := db.AccountTransfers(f.ctx, f.wallet, nil, 10)
		if err != nil || len(topup) != 1 {
			t.Fatalf("history of a new wallet = %+v, %v", topup, err)
		}
		// The wallet's transfers in order of application: debits, credits, a
		// hold and its post, with refusals in between that must not show.
		applied := []string{topup[0].ID}
		var rejected []string
		for i := range 25 {
			var tr agentpay.Transfer
			switch i % 5 {
			case 0, 1:
				tr = pay(fmt.Sprintf("trf_h%02d", i), f.wallet, f.merchant, int64(100+i), "USD")
			case 2:
				tr = pay(fmt.Sprintf("trf_h%02d", i), f.funding, f.wallet, 50, "USD")
			case 3:
				tr = hold(fmt.Sprintf("trf_h%02d", i), f.wallet, f.merchant, 40, "USD", 0)
			case 4:
				tr = post(fmt.Sprintf("trf_h%02d", i), fmt.Sprintf("trf_h%02d", i-1), 30)
			}
			applied = append(applied, f.mustTransfer(tr)[0].ID)
			if i%6 == 0 {
				id := fmt.Sprintf("trf_no%02d", i)
				if res := f.submit(pay(id, f.wallet, f.merchant, 1_000_000, "USD")); agentpay.ErrorCode(res.Err) != "exceeds_credits" {
					t.Fatalf("refusal: %v", res.Err)
				}
				rejected = append(rejected, id)
			}
			// A transfer the wallet has no part in.
			f.mustTransfer(pay(fmt.Sprintf("trf_x%02d", i), f.funding, other, 1, "USD"))
		}
		slices.Reverse(applied) // newest first

		ps := pages(t, f, f.wallet, 10)
		if len(ps) != 3 || len(ps[0]) != 10 || len(ps[1]) != 10 || len(ps[2]) != 6 {
			t.Fatalf("page sizes: %d pages", len(ps))
		}
		var got []string
		seen := map[string]bool{}
		for _, p := range ps {
			for _, tr := range p {
				if seen[tr.ID] {
					t.Fatalf("%s on two pages", tr.ID)
				}
				seen[tr.ID] = true
				if tr.DebitAccountID != f.wallet && tr.CreditAccountID != f.wallet {
					t.Fatalf("%s does not involve the wallet", tr.ID)
				}
				if tr.Result != "" || tr.Timestamp == 0 {
					t.Fatalf("%s: %+v", tr.ID, tr)
				}
				got = append(got, tr.ID)
			}
		}
		if !slices.Equal(got, applied) {
			t.Fatalf("history\n%v\nwant\n%v", got, applied)
		}
		all := slices.Concat(ps...)
		for i := 1; i < len(all); i++ {
			a, b := all[i-1], all[i]
			if a.Timestamp < b.Timestamp || (a.Timestamp == b.Timestamp && a.ID <= b.ID) {
				t.Fatalf("not newest first: %s (%d) before %s (%d)", a.ID, a.Timestamp, b.ID, b.Timestamp)
			}
		}
		for _, id := range rejected {
			if seen[id] {
				t.Fatalf("refused transfer %s in the history", id)
			}
		}
		// The stored form: the hold is posted, the post carries the accounts.
		for _, tr := range all {
			if want, _ := db.Transfer(f.ctx, tr.ID); tr != want {
				t.Fatalf("history has %+v, stored %+v", tr, want)
			}
		}
		// One page holding everything equals the pages joined.
		if one, err := db.AccountTransfers(f.ctx, f.wallet, nil, store.HistoryLimitMax); err != nil || !slices.Equal(one, all) {
			t.Fatalf("one page of %d: %v", len(one), err)
		}
		// The other merchant saw only its own 25 credits.
		if ps := pages(t, f, other, 10); len(slices.Concat(ps...)) != 25 {
			t.Fatalf("other merchant's history: %d pages", len(ps))
		}
		for _, limit := range []int{0, -1, store.HistoryLimitMax + 1} {
			_, err := db.AccountTransfers(f.ctx, f.wallet, nil, limit)
			if agentpay.ErrorKind(err) != agentpay.EINVALID || agentpay.ErrorCode(err) != "invalid_limit" {
				t.Errorf("limit %d: %v, want invalid_limit", limit, err)
			}
		}
		f.check()
	})
}
