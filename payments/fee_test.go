package payments_test

import (
	"math"
	"testing"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/payments"
	"github.com/agentpay/agentpay/store"
)

// fundMerchant moves amount from the funding account to a merchant's
// account: money the merchant has from elsewhere.
func (w *world) fundMerchant(merchantID, asset string, amount int64) {
	w.t.Helper()
	funding, err := w.db.EnsureSystemAccount(w.ctx, agentpay.AccountFunding, asset)
	if err != nil {
		w.t.Fatal(err)
	}
	if err := w.db.Committer.Submit(w.ctx, &store.Unit{Transfers: []agentpay.Transfer{{ID: agentpay.NewID("trf"),
		DebitAccountID: funding, CreditAccountID: payments.MerchantAccountID(merchantID, asset), Amount: amount,
		Asset: asset, Code: "test"}}}).Err; err != nil {
		w.t.Fatal(err)
	}
}

func TestProtectionFee(t *testing.T) {
	for _, c := range []struct {
		name               string
		amount, bps, least int64
		want               int64
	}{
		{"default 10 bps", 2000, 0, 0, 2},
		{"10 bps exactly", 10_000, 10, 0, 10},
		{"rounds down below half", 1499, 10, 0, 1}, // 1.499
		{"rounds half up", 1500, 10, 0, 2},         // 1.5
		{"rounds up above half", 1501, 10, 0, 2},   // 1.501
		{"half a unit rounds up", 500, 10, 0, 1},   // 0.5
		{"under half a unit is nothing", 499, 10, 0, 0},
		{"capture of 1 minor unit", 1, 10, 0, 0},
		{"capture of 1 minor unit with a minimum", 1, 10, 5, 1}, // never more than captured
		{"minimum applies", 2000, 10, 30, 30},
		{"minimum below the fee", 2_000_000, 10, 30, 2000},
		{"no fee when negative", 2000, -1, 30, 0},
		{"nothing captured", 0, 10, 30, 0},
		{"100 %", 777, 10_000, 0, 777},
		{"over 100 % is capped", 777, 20_000, 0, 777},
		{"huge amount does not overflow", math.MaxInt64, 10, 0, 9_223_372_036_854_776}, // 9223372036854775.807 rounds up
		{"huge amount and rate", math.MaxInt64, math.MaxInt64, 0, math.MaxInt64},
		{"negative minimum is none", 499, 10, -5, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := payments.ProtectionFee(c.amount, c.bps, c.least); got != c.want {
				t.Fatalf("ProtectionFee(%d, %d, %d) = %d, want %d", c.amount, c.bps, c.least, got, c.want)
			}
		})
	}
}

// The fee is a transfer from the merchant to the protection fund in the
// capture's linked group: it lands with the capture or not at all, and the
// fund has no balance flag (it may go negative to make users whole).
func TestProtectionFeeLandsWithTheCapture(t *testing.T) {
	engines(t, func(t *testing.T, w *world) {
		w.svc.ProtectionFeeBPS, w.svc.ProtectionFeeMin = 25, 3
		merchantAcc := payments.MerchantAccountID(w.merchant.ID, "USD")
		fund := payments.ProtectionFundID("USD")

		p, err := w.approve(w.create(order(tea))) // 21.00
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.commit(w.svc.PrepareCapture(w.ctx, w.merchant.ID, p.ID, 0)); err != nil {
			t.Fatal(err)
		}
		fee := payments.ProtectionFee(2100, 25, 3) // 5.25 → 5
		if fee != 5 {
			t.Fatalf("fee = %d", fee)
		}
		if bal, _ := w.balance(merchantAcc); bal != 2100-fee {
			t.Fatalf("merchant = %d, want %d", bal, 2100-fee)
		}
		if bal, _ := w.balance(fund); bal != fee {
			t.Fatalf("fund = %d, want %d", bal, fee)
		}
		acc, err := w.db.Account(w.ctx, fund)
		if err != nil || acc.Flags != 0 || acc.Kind != agentpay.AccountProtectionFund {
			t.Fatalf("fund account %+v, %v: want kind protection_fund without flags", acc, err)
		}

		// A capture the ledger refuses (its hold was voided meanwhile)
		// takes no fee either.
		q, err := w.approve(w.create(order(tea)))
		if err != nil {
			t.Fatal(err)
		}
		if err := w.db.Committer.Submit(w.ctx, &store.Unit{Transfers: []agentpay.Transfer{{ID: agentpay.NewID("void"),
			PendingID: q.HoldID, Flags: agentpay.TransferVoidPending, Asset: "USD"}}}).Err; err != nil {
			t.Fatal(err)
		}
		_, err = w.commit(w.svc.PrepareCapture(w.ctx, w.merchant.ID, q.ID, 0))
		wantCode(t, "capture of a voided hold", err, "pending_transfer_already_voided")
		if bal, _ := w.balance(fund); bal != fee {
			t.Fatalf("fund after a refused capture = %d, want %d", bal, fee)
		}
		if bal, _ := w.balance(merchantAcc); bal != 2100-fee {
			t.Fatalf("merchant after a refused capture = %d", bal)
		}
		if q, err = w.db.Payment(w.ctx, q.ID); err != nil || q.Status != agentpay.PaymentAuthorized {
			t.Fatalf("payment after a refused capture: %+v, %v", q, err)
		}

		// No fee configured: nothing moves to the fund.
		w.svc.ProtectionFeeBPS, w.svc.ProtectionFeeMin = -1, 0
		r, err := w.approve(w.create(order(tea)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.commit(w.svc.PrepareCapture(w.ctx, w.merchant.ID, r.ID, 0)); err != nil {
			t.Fatal(err)
		}
		if bal, _ := w.balance(fund); bal != fee {
			t.Fatalf("fund after a capture without fee = %d", bal)
		}
		if bal, _ := w.balance(merchantAcc); bal != 2*2100-fee {
			t.Fatalf("merchant after a capture without fee = %d", bal)
		}
		w.checkLedger()
	})
}
