package store_test

import (
	"testing"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
)

func TestTransfersMoveMoney(t *testing.T) {
	engines(t, func(t *testing.T, open func() *store.DB) {
		f := newFixture(t, open(), "USD", 10_000)
		got := f.mustTransfer(agentpay.Transfer{ID: "trf_pay1", DebitAccountID: f.wallet, CreditAccountID: f.merchant, Amount: 2_500, Asset: "USD"})
		if got[0].Timestamp == 0 || got[0].Result != "" {
			t.Fatalf("applied transfer = %+v", got[0])
		}
		if w := f.balance(f.wallet); w.Balance() != 7_500 || w.DebitsPosted != 2_500 {
			t.Fatalf("wallet = %+v", w)
		}
		if m := f.balance(f.merchant); m.Balance() != 2_500 {
			t.Fatalf("merchant = %+v", m)
		}
		if fu := f.balance(f.funding); fu.Balance() != -10_000 {
			t.Fatalf("funding = %+v", fu)
		}
		stored, err := f.db.Transfer(f.ctx, "trf_pay1")
		if err != nil || stored.Amount != 2_500 || stored.Timestamp != got[0].Timestamp {
			t.Fatalf("stored = %+v, %v", stored, err)
		}
		f.check()
	})
}

func TestRejectionsChangeNothing(t *testing.T) {
	engines(t, func(t *testing.T, open func() *store.DB) {
		db := open()
		f := newFixture(t, db, "USD", 1_000)
		eur := f.account(agentpay.AccountMerchant, "EUR")
		pending := f.mustTransfer(agentpay.Transfer{ID: "trf_hold", DebitAccountID: f.wallet, CreditAccountID: f.merchant, Amount: 300, Asset: "USD", Flags: agentpay.TransferPending})[0]
		f.mustTransfer(agentpay.Transfer{ID: "trf_void", PendingID: pending.ID, Flags: agentpay.TransferVoidPending})
		posted := f.mustTransfer(agentpay.Transfer{ID: "trf_hold2", DebitAccountID: f.wallet, CreditAccountID: f.merchant, Amount: 200, Asset: "USD", Flags: agentpay.TransferPending})[0]
		f.mustTransfer(agentpay.Transfer{ID: "trf_post2", PendingID: posted.ID, Flags: agentpay.TransferPostPending})
		open3 := f.mustTransfer(agentpay.Transfer{ID: "trf_hold3", DebitAccountID: f.wallet, CreditAccountID: f.merchant, Amount: 100, Asset: "USD", Flags: agentpay.TransferPending})[0]

		cases := []struct {
			name string
			t    agentpay.Transfer
			code string
			kind string
		}{
			{"unknown debit account", agentpay.Transfer{DebitAccountID: "acc_nope", CreditAccountID: f.merchant, Amount: 1, Asset: "USD"}, "debit_account_not_found", agentpay.ENOTFOUND},
			{"unknown credit account", agentpay.Transfer{DebitAccountID: f.wallet, CreditAccountID: "acc_nope", Amount: 1, Asset: "USD"}, "credit_account_not_found", agentpay.ENOTFOUND},
			{"asset mismatch between accounts", agentpay.Transfer{DebitAccountID: f.wallet, CreditAccountID: eur, Amount: 1, Asset: "USD"}, "asset_mismatch", agentpay.EINVALID},
			{"asset mismatch with transfer", agentpay.Transfer{DebitAccountID: f.wallet, CreditAccountID: f.merchant, Amount: 1, Asset: "EUR"}, "asset_mismatch", agentpay.EINVALID},
			{"zero amount", agentpay.Transfer{DebitAccountID: f.wallet, CreditAccountID: f.merchant, Amount: 0, Asset: "USD"}, "invalid_amount", agentpay.EINVALID},
			{"negative amount", agentpay.Transfer{DebitAccountID: f.wallet, CreditAccountID: f.merchant, Amount: -5, Asset: "USD"}, "invalid_amount", agentpay.EINVALID},
			{"overflowing amount", agentpay.Transfer{DebitAccountID: f.funding, CreditAccountID: f.merchant, Amount: 1<<63 - 1, Asset: "USD"}, "overflow", agentpay.ECONFLICT},
			{"debit beyond balance", agentpay.Transfer{DebitAccountID: f.wallet, CreditAccountID: f.merchant, Amount: 701, Asset: "USD"}, "exceeds_credits", agentpay.ECONFLICT},
			{"same account", agentpay.Transfer{DebitAccountID: f.wallet, CreditAccountID: f.wallet, Amount: 1, Asset: "USD"}, "accounts_must_be_different", agentpay.EINVALID},
			{"post a voided transfer", agentpay.Transfer{PendingID: pending.ID, Flags: agentpay.TransferPostPending}, "pending_transfer_already_voided", agentpay.ECONFLICT},
			{"post an already posted transfer", agentpay.Transfer{PendingID: posted.ID, Flags: agentpay.TransferPostPending}, "pending_transfer_already_posted", agentpay.ECONFLICT},
			{"void an already posted transfer", agentpay.Transfer{PendingID: posted.ID, Flags: agentpay.TransferVoidPending}, "pending_transfer_already_posted", agentpay.ECONFLICT},
			{"post more than pending", agentpay.Transfer{PendingID: open3.ID, Amount: 101, Flags: agentpay.TransferPostPending}, "exceeds_pending_transfer_amount", agentpay.ECONFLICT},
			{"post unknown pending", agentpay.Transfer{PendingID: "trf_nope", Flags: agentpay.TransferPostPending}, "pending_transfer_not_found", agentpay.ENOTFOUND},
			{"post a single-phase transfer", agentpay.Transfer{PendingID: "trf_post2", Flags: agentpay.TransferPostPending}, "pending_transfer_not_pending", agentpay.ECONFLICT},
			{"reused id with different fields", agentpay.Transfer{ID: "trf_post2", DebitAccountID: f.wallet, CreditAccountID: f.merchant, Amount: 1, Asset: "USD"}, "exists_with_different_fields", agentpay.EINVALID},
			{"timeout on single-phase", agentpay.Transfer{DebitAccountID: f.wallet, CreditAccountID: f.merchant, Amount: 1, Asset: "USD", TimeoutSeconds: 5}, "invalid_timeout", agentpay.EINVALID},
			{"bad id", agentpay.Transfer{ID: "trf bad", DebitAccountID: f.wallet, CreditAccountID: f.merchant, Amount: 1, Asset: "USD"}, "invalid_id", agentpay.EINVALID},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				before := map[string]agentpay.Account{}
				for _, id := range []string{f.wallet, f.merchant, f.funding, eur} {
					before[id] = f.balance(id)
				}
				transfersBefore := count(t, db.Reader(), "transfers WHERE result = ''")
				if tc.t.ID == "" {
					tc.t.ID = agentpay.NewID("trf")
				}
				res := f.submit(tc.t)
				if agentpay.ErrorCode(res.Err) != tc.code || agentpay.ErrorKind(res.Err) != tc.kind {
					t.Fatalf("error = %v, want %s (%s)", res.Err, tc.code, tc.kind)
				}
				for id, a := range before {
					if got := f.balance(id); got != a {
						t.Fatalf("account %s changed: %+v -> %+v", id, a, got)
					}
				}
				if n := count(t, db.Reader(), "transfers WHERE result = ''"); n != transfersBefore {
					t.Fatalf("transfers %d -> %d", transfersBefore, n)
				}
				// A retry of the same request gets the same answer.
				if again := f.submit(tc.t); agentpay.ErrorCode(again.Err) != tc.code {
					t.Fatalf("retry error = %v, want %s", again.Err, tc.code)
				}
			})
		}
		f.check()
	})
}

func TestRetryReturnsFirstResultEvenARejection(t *testing.T) {
	engines(t, func(t *testing.T, open func() *store.DB) {
		f := newFixture(t, open(), "JPY", 100)
		tr := agentpay.Transfer{ID: "trf_big", DebitAccountID: f.wallet, CreditAccountID: f.merchant, Amount: 150, Asset: "JPY"}
		if res := f.submit(tr); agentpay.ErrorCode(res.Err) != "exceeds_credits" {
			t.Fatalf("first = %v", res.Err)
		}
		// The wallet is topped up; the retry still gets the first answer.
		f.mustTransfer(agentpay.Transfer{ID: "trf_topup2", DebitAccountID: f.funding, CreditAccountID: f.wallet, Amount: 100, Asset: "JPY"})
		if res := f.submit(tr); agentpay.ErrorCode(res.Err) != "exceeds_credits" {
			t.Fatalf("retry = %v", res.Err)
		}
		ok := agentpay.Transfer{ID: "trf_ok", DebitAccountID: f.wallet, CreditAccountID: f.merchant, Amount: 50, Asset: "JPY"}
		first := f.mustTransfer(ok)[0]
		again := f.mustTransfer(ok)[0]
		if first != again {
			t.Fatalf("retry %+v != first %+v", again, first)
		}
		if w := f.balance(f.wallet); w.Balance() != 150 {
			t.Fatalf("wallet = %d, want 150 (one payment of 50)", w.Balance())
		}
		f.check()
	})
}

func TestLinkedGroupIsAllOrNothing(t *testing.T) {
	engines(t, func(t *testing.T, open func() *store.DB) {
		f := newFixture(t, open(), "USD", 1_000)
		fees := f.account(agentpay.AccountFees, "USD")
		// Payment plus fee, where the fee cannot be paid: nothing moves.
		res := f.submit(
			agentpay.Transfer{ID: "trf_g1", DebitAccountID: f.wallet, CreditAccountID: f.merchant, Amount: 900, Asset: "USD"},
			agentpay.Transfer{ID: "trf_g2", DebitAccountID: f.wallet, CreditAccountID: fees, Amount: 200, Asset: "USD"},
		)
		if agentpay.ErrorCode(res.Err) != "exceeds_credits" {
			t.Fatalf("group error = %v", res.Err)
		}
		if w := f.balance(f.wallet); w.Balance() != 1_000 {
			t.Fatalf("wallet = %d", w.Balance())
		}
		if _, err := f.db.Transfer(f.ctx, "trf_g1"); agentpay.ErrorKind(err) != agentpay.ENOTFOUND {
			t.Fatalf("first transfer of a failed group exists: %v", err)
		}
		got := f.mustTransfer(
			agentpay.Transfer{ID: "trf_g3", DebitAccountID: f.wallet, CreditAccountID: f.merchant, Amount: 900, Asset: "USD"},
			agentpay.Transfer{ID: "trf_g4", DebitAccountID: f.merchant, CreditAccountID: fees, Amount: 27, Asset: "USD"},
		)
		if len(got) != 2 || f.balance(f.merchant).Balance() != 873 || f.balance(fees).Balance() != 27 {
			t.Fatalf("group = %+v, merchant %d", got, f.balance(f.merchant).Balance())
		}
		f.check()
	})
}

func TestTwoPhase(t *testing.T) {
	engines(t, func(t *testing.T, open func() *store.DB) {
		f := newFixture(t, open(), "KWD", 5_000)
		hold := f.mustTransfer(agentpay.Transfer{ID: "trf_h", DebitAccountID: f.wallet, CreditAccountID: f.merchant, Amount: 4_000, Asset: "KWD", Flags: agentpay.TransferPending, TimeoutSeconds: 3600})[0]
		if hold.PendingStatus != agentpay.PendingOpen || hold.ExpiresAt != hold.Timestamp+3600_000_000 {
			t.Fatalf("hold = %+v", hold)
		}
		w := f.balance(f.wallet)
		if w.DebitsPending != 4_000 || w.Available() != 1_000 {
			t.Fatalf("wallet = %+v", w)
		}
		// The hold reserves: a second payment beyond what is left fails.
		if res := f.submit(agentpay.Transfer{ID: "trf_x", DebitAccountID: f.wallet, CreditAccountID: f.merchant, Amount: 1_001, Asset: "KWD"}); agentpay.ErrorCode(res.Err) != "exceeds_credits" {
			t.Fatalf("over-reserve = %v", res.Err)
		}
		f.mustTransfer(agentpay.Transfer{ID: "trf_p", PendingID: "trf_h", Amount: 2_500, Flags: agentpay.TransferPostPending})
		w, m := f.balance(f.wallet), f.balance(f.merchant)
		if w.DebitsPending != 0 || w.Balance() != 2_500 || m.Balance() != 2_500 || m.CreditsPending != 0 {
			t.Fatalf("after partial post: wallet %+v merchant %+v", w, m)
		}
		if p, _ := f.db.Transfer(f.ctx, "trf_h"); p.PendingStatus != agentpay.PendingPosted {
			t.Fatalf("pending status = %q", p.PendingStatus)
		}
		f.check()
	})
}
