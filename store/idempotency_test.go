package store_test

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
)

// render stands in for httpapi: 201 with the transfer, or the error's code
// with a 4xx status (500 for internal errors, which are not stored).
func render(res store.Result) (int, []byte) {
	if res.Err != nil {
		status := 409
		switch agentpay.ErrorKind(res.Err) {
		case agentpay.EINVALID:
			status = 400
		case agentpay.ENOTFOUND:
			status = 404
		case agentpay.EINTERNAL:
			status = 500
		}
		return status, fmt.Appendf(nil, `{"error":{"code":%q}}`, agentpay.ErrorCode(res.Err))
	}
	tr := res.Transfers[0]
	return 201, fmt.Appendf(nil, `{"id":%q,"amount":%d,"timestamp":%d}`, tr.ID, tr.Amount, tr.Timestamp)
}

func idem(key string, expiresAt int64) *store.Idempotency {
	return &store.Idempotency{ID: key, RequestHash: "hash_" + key, Render: render, ExpiresAt: expiresAt}
}

func TestIdempotentUnits(t *testing.T) {
	engines(t, func(t *testing.T, open func() *store.DB) {
		db := open()
		f := newFixture(t, db, "USD", 1_000)
		later := time.Now().Add(24 * time.Hour).UnixMicro()
		unit := func(key string, ts ...agentpay.Transfer) *store.Unit {
			return &store.Unit{Transfers: ts, Idempotency: idem(key, later)}
		}
		record := func(t *testing.T, key string) *store.IdempotencyRecord {
			t.Helper()
			rec, err := db.IdempotencyRecord(f.ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			return rec
		}

		t.Run("first commits and stores its response", func(t *testing.T) {
			f := f.in(t)
			res := db.Committer.Submit(f.ctx, unit("key_1", pay("trf_i1", f.wallet, f.merchant, 100, "USD")))
			if res.Err != nil || res.Replay != nil {
				t.Fatalf("first = %+v", res)
			}
			_, body := render(res)
			rec := record(t, "key_1")
			if rec == nil || rec.Status != 201 || !bytes.Equal(rec.Body, body) || rec.RequestHash != "hash_key_1" ||
				rec.ExpiresAt != later || rec.CreatedAt == 0 {
				t.Fatalf("record = %+v, want 201 %s", rec, body)
			}
			f.check()
		})
		t.Run("second replays and applies nothing", func(t *testing.T) {
			f := f.in(t)
			first := record(t, "key_1")
			before := allAccounts(t, db)
			res := db.Committer.Submit(f.ctx, unit("key_1", pay("trf_i2", f.wallet, f.merchant, 200, "USD")))
			if res.Err != nil || res.Replay == nil || res.Transfers != nil {
				t.Fatalf("replay = %+v", res)
			}
			if res.Replay.Status != 201 || !bytes.Equal(res.Replay.Body, first.Body) {
				t.Fatalf("replayed %d %s, want 201 %s", res.Replay.Status, res.Replay.Body, first.Body)
			}
			if !mapsEqual(allAccounts(t, db), before) {
				t.Fatal("a replay moved money")
			}
			if exists(t, db.Reader(), "transfers", "id = 'trf_i2'") {
				t.Fatal("the replayed unit's transfer was stored")
			}
			if rec := record(t, "key_1"); !bytes.Equal(rec.Body, first.Body) || rec.CreatedAt != first.CreatedAt {
				t.Fatalf("record overwritten: %+v", rec)
			}
			f.check()
		})
		t.Run("a 4xx failure is stored and replayed", func(t *testing.T) {
			f := f.in(t)
			res := db.Committer.Submit(f.ctx, unit("key_2", pay("trf_i3", f.wallet, f.merchant, 5_000, "USD")))
			if agentpay.ErrorCode(res.Err) != "exceeds_credits" || res.Replay != nil {
				t.Fatalf("failed unit = %+v", res)
			}
			rec := record(t, "key_2")
			if rec == nil || rec.Status != 409 || string(rec.Body) != `{"error":{"code":"exceeds_credits"}}` {
				t.Fatalf("record = %+v", rec)
			}
			// The same key with an affordable transfer still gets the failure.
			before := f.balance(f.wallet)
			res = db.Committer.Submit(f.ctx, unit("key_2", pay("trf_i4", f.wallet, f.merchant, 1, "USD")))
			if res.Err != nil || res.Replay == nil || res.Replay.Status != 409 || !bytes.Equal(res.Replay.Body, rec.Body) {
				t.Fatalf("replay = %+v", res)
			}
			if f.balance(f.wallet) != before || exists(t, db.Reader(), "transfers", "id = 'trf_i4'") {
				t.Fatal("the replayed unit was applied")
			}
			f.check()
		})
		t.Run("a 5xx response is not stored", func(t *testing.T) {
			f := f.in(t)
			res := db.Committer.Submit(f.ctx, &store.Unit{
				Transfers: []agentpay.Transfer{pay("trf_i5", f.wallet, f.merchant, 10, "USD")},
				Idempotency: &store.Idempotency{ID: "key_3", RequestHash: "h", ExpiresAt: later,
					Render: func(store.Result) (int, []byte) { return 503, []byte(`{"error":{"code":"unavailable"}}`) }},
			})
			if res.Err != nil || res.Replay != nil {
				t.Fatalf("unit = %+v", res)
			}
			if rec := record(t, "key_3"); rec != nil {
				t.Fatalf("5xx stored: %+v", rec)
			}
			// So the key is free: the next unit with it is applied.
			res = db.Committer.Submit(f.ctx, unit("key_3", pay("trf_i6", f.wallet, f.merchant, 10, "USD")))
			if res.Err != nil || res.Replay != nil || record(t, "key_3") == nil {
				t.Fatalf("unit after 5xx = %+v", res)
			}
			f.check()
		})
		t.Run("same key twice in one batch", func(t *testing.T) {
			f := f.in(t)
			before := f.balance(f.wallet).Balance()
			results := submitBatch(t, db, []*store.Unit{
				unit("key_4", pay("trf_i7", f.wallet, f.merchant, 50, "USD")),
				unit("key_4", pay("trf_i8", f.wallet, f.merchant, 50, "USD")),
			})
			applied := slices.IndexFunc(results, func(r store.Result) bool { return r.Replay == nil })
			if applied < 0 || results[1-applied].Replay == nil || results[applied].Err != nil {
				t.Fatalf("results %+v: want one applied, one replayed", results)
			}
			_, body := render(results[applied])
			if r := results[1-applied].Replay; r.Status != 201 || !bytes.Equal(r.Body, body) {
				t.Fatalf("replayed %d %s, want 201 %s", r.Status, r.Body, body)
			}
			if got := f.balance(f.wallet).Balance(); got != before-50 {
				t.Fatalf("wallet %d -> %d: want one payment of 50", before, got)
			}
			if n := count(t, db.Reader(), "transfers WHERE id IN ('trf_i7', 'trf_i8')"); n != 1 {
				t.Fatalf("%d of the two transfers stored", n)
			}
			f.check()
		})
		t.Run("same key from many goroutines", func(t *testing.T) {
			f := f.in(t)
			before := f.balance(f.wallet).Balance()
			units := make([]*store.Unit, 16)
			for i := range units {
				units[i] = unit("key_5", pay(fmt.Sprintf("trf_many_%d", i), f.wallet, f.merchant, 7, "USD"))
			}
			applied := 0
			for _, r := range submitConcurrently(db, units) {
				if r.Err != nil {
					t.Fatal(r.Err)
				}
				if r.Replay == nil {
					applied++
				}
			}
			if applied != 1 || f.balance(f.wallet).Balance() != before-7 {
				t.Fatalf("%d applied; wallet %d -> %d", applied, before, f.balance(f.wallet).Balance())
			}
			f.check()
		})
		f.check()
	})
}

func TestDeleteExpiredIdempotency(t *testing.T) {
	engines(t, func(t *testing.T, open func() *store.DB) {
		db := open()
		f := newFixture(t, db, "USD", 0)
		now := time.Now().UnixMicro()
		keys := map[string]int64{
			"key_old1": now - 3_600_000_000,
			"key_old2": now - 1_000_000,
			"key_old3": now - 1,
			"key_new1": now + 1_000_000,
			"key_new2": now + 3_600_000_000,
		}
		var units []*store.Unit
		for key, exp := range keys {
			units = append(units, &store.Unit{Idempotency: &store.Idempotency{ID: key, ExpiresAt: exp,
				Render: func(store.Result) (int, []byte) { return 200, []byte("{}") }}})
		}
		for _, res := range submitConcurrently(db, units) {
			if res.Err != nil || res.Replay != nil {
				t.Fatalf("%+v", res)
			}
		}
		// At most limit at a time, and only expired keys.
		n, err := db.DeleteExpiredIdempotency(f.ctx, now, 2)
		if err != nil || n != 2 {
			t.Fatalf("first delete = %d, %v", n, err)
		}
		n, err = db.DeleteExpiredIdempotency(f.ctx, now, 100)
		if err != nil || n != 1 {
			t.Fatalf("second delete = %d, %v", n, err)
		}
		if n, err = db.DeleteExpiredIdempotency(f.ctx, now, 100); err != nil || n != 0 {
			t.Fatalf("third delete = %d, %v", n, err)
		}
		for key, exp := range keys {
			rec, err := db.IdempotencyRecord(f.ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			if kept := exp >= now; (rec != nil) != kept {
				t.Errorf("%s (expires %+d µs from now): record %+v, kept = %v", key, exp-now, rec, kept)
			}
		}
		// A forgotten key is free again.
		res := db.Committer.Submit(f.ctx, &store.Unit{Idempotency: &store.Idempotency{ID: "key_old1", ExpiresAt: now + 1,
			Render: func(store.Result) (int, []byte) { return 200, []byte(`{"again":true}`) }}})
		if res.Err != nil || res.Replay != nil {
			t.Fatalf("reuse of a forgotten key = %+v", res)
		}
		f.check()
	})
}
