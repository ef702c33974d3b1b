package store_test

import (
	"context"
	"testing"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
)

// A guard row (a signed request's nonce) is spent even when the unit's
// effects fail, and a spent guard refuses a later unit with nothing of that
// unit recorded, its idempotency record included.
func TestGuardsAreSpentWhateverTheOutcome(t *testing.T) {
	engines(t, func(t *testing.T, open func() *store.DB) {
		db := open()
		createCounters(t, db)
		f := newFixture(t, db, "USD", 10)
		ctx := context.Background()
		guard := store.Row{Table: counters, Values: []any{"nonce-1", int64(0), int64(1)}}
		render := func(res store.Result) (int, []byte) {
			if res.Err != nil {
				return 409, []byte(agentpay.ErrorCode(res.Err))
			}
			return 201, []byte("ok")
		}
		over := agentpay.Transfer{ID: "trf_guarded", DebitAccountID: f.wallet, CreditAccountID: f.merchant, Amount: 50, Asset: "USD"}
		res := db.Committer.Submit(ctx, &store.Unit{Guards: []store.Row{guard}, Transfers: []agentpay.Transfer{over},
			Idempotency: &store.Idempotency{ID: "idem-guard-1", RequestHash: "h", Render: render}})
		if agentpay.ErrorCode(res.Err) != "exceeds_credits" {
			t.Fatalf("first unit = %v", res.Err)
		}
		if n := count(t, db.Reader(), "test_counters WHERE id = 'nonce-1'"); n != 1 {
			t.Fatalf("guard of a failed unit written %d times, want once", n)
		}
		// The same guard under another idempotency key: refused, nothing recorded.
		res = db.Committer.Submit(ctx, &store.Unit{Guards: []store.Row{guard},
			Transfers:   []agentpay.Transfer{{ID: "trf_guarded_2", DebitAccountID: f.wallet, CreditAccountID: f.merchant, Amount: 1, Asset: "USD"}},
			Idempotency: &store.Idempotency{ID: "idem-guard-2", RequestHash: "h", Render: render}})
		if !store.IsDuplicateRow(res.Err, guard) {
			t.Fatalf("replayed guard = %v", res.Err)
		}
		if rec, err := db.IdempotencyRecord(ctx, "idem-guard-2"); err != nil || rec != nil {
			t.Fatalf("refused unit stored a response: %+v, %v", rec, err)
		}
		if _, err := db.Transfer(ctx, "trf_guarded_2"); agentpay.ErrorKind(err) != agentpay.ENOTFOUND {
			t.Fatalf("refused unit moved money: %v", err)
		}
		// The first key still replays its first answer.
		res = db.Committer.Submit(ctx, &store.Unit{Guards: []store.Row{guard}, Transfers: []agentpay.Transfer{over},
			Idempotency: &store.Idempotency{ID: "idem-guard-1", RequestHash: "h", Render: render}})
		if res.Replay == nil || string(res.Replay.Body) != "exceeds_credits" {
			t.Fatalf("retry under the first key = %+v", res)
		}
		f.check()
	})
}
