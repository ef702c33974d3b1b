package store_test

import (
	"context"
	"sync"
	"testing"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
)

var counters = &store.Table{Name: "test_counters", Key: "id", Columns: []string{"id", "n", "version"},
	Types: []store.ColumnType{store.Text, store.Int, store.Int}, Version: "version"}

func createCounters(t *testing.T, db *store.DB) {
	t.Helper()
	if _, err := db.Writer().Exec(`CREATE TABLE test_counters (id TEXT PRIMARY KEY, n BIGINT NOT NULL, version BIGINT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
}

func readCounter(t *testing.T, db *store.DB, id string) (n, version int64) {
	t.Helper()
	if err := db.Reader().QueryRow(`SELECT n, version FROM test_counters WHERE id = $1`, id).Scan(&n, &version); err != nil {
		t.Fatal(err)
	}
	return n, version
}

func TestUpdatesCheckTheVersionRead(t *testing.T) {
	engines(t, func(t *testing.T, open func() *store.DB) {
		db := open()
		createCounters(t, db)
		f := newFixture(t, db, "USD", 100)
		ctx := context.Background()
		if res := db.Committer.Submit(ctx, &store.Unit{Rows: []store.Row{{Table: counters, Values: []any{"c1", int64(0), int64(1)}}}}); res.Err != nil {
			t.Fatal(res.Err)
		}
		set := func(version, n int64, extra ...agentpay.Transfer) store.Result {
			return db.Committer.Submit(ctx, &store.Unit{Transfers: extra,
				Updates: []store.Update{{Table: counters, Key: "c1", Version: version, Set: []string{"n"}, Values: []any{n}}}})
		}
		if res := set(1, 10); res.Err != nil {
			t.Fatal(res.Err)
		}
		if n, v := readCounter(t, db, "c1"); n != 10 || v != 2 {
			t.Fatalf("after update: n=%d version=%d", n, v)
		}
		// A stale version fails the whole unit: its transfer does not move.
		pay := agentpay.Transfer{ID: "trf_with_update", DebitAccountID: f.wallet, CreditAccountID: f.merchant, Amount: 5, Asset: "USD"}
		if res := set(1, 99, pay); agentpay.ErrorCode(res.Err) != "version_conflict" {
			t.Fatalf("stale update = %v", res.Err)
		}
		if n, v := readCounter(t, db, "c1"); n != 10 || v != 2 || f.balance(f.wallet).Balance() != 100 {
			t.Fatalf("stale update changed something: n=%d version=%d", n, v)
		}
		// A unit whose transfer fails leaves the row alone.
		over := agentpay.Transfer{ID: "trf_over", DebitAccountID: f.wallet, CreditAccountID: f.merchant, Amount: 500, Asset: "USD"}
		if res := set(2, 77, over); agentpay.ErrorCode(res.Err) != "exceeds_credits" {
			t.Fatalf("failing unit = %v", res.Err)
		}
		if n, v := readCounter(t, db, "c1"); n != 10 || v != 2 {
			t.Fatalf("failed unit changed the row: n=%d version=%d", n, v)
		}
		if res := set(2, 20, pay); res.Err != nil {
			t.Fatal(res.Err)
		}
		if n, v := readCounter(t, db, "c1"); n != 20 || v != 3 || f.balance(f.wallet).Balance() != 95 {
			t.Fatalf("after second update: n=%d version=%d", n, v)
		}
		if res := db.Committer.Submit(ctx, &store.Unit{Updates: []store.Update{{Table: counters, Key: "nope", Version: 1, Set: []string{"n"}, Values: []any{int64(1)}}}}); agentpay.ErrorCode(res.Err) != "not_found" {
			t.Fatalf("update of a missing row = %v", res.Err)
		}
		if res := db.Committer.Submit(ctx, &store.Unit{Updates: []store.Update{{Table: counters, Key: "c1", Version: 3, Set: []string{"version"}, Values: []any{int64(1)}}}}); agentpay.ErrorCode(res.Err) != "invalid_update" {
			t.Fatalf("update of the version column = %v", res.Err)
		}
		f.check()
	})
}

// Read-modify-write from many goroutines on two nodes (two committers on one
// database), retrying on version_conflict, loses no increment.
func TestUpdatesLoseNothing(t *testing.T) {
	engines(t, func(t *testing.T, open func() *store.DB) {
		nodes := []*store.DB{open(), open()}
		createCounters(t, nodes[0])
		ctx := context.Background()
		if res := nodes[0].Committer.Submit(ctx, &store.Unit{Rows: []store.Row{{Table: counters, Values: []any{"c", int64(0), int64(1)}}}}); res.Err != nil {
			t.Fatal(res.Err)
		}
		const workers, each = 8, 25
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(db *store.DB) {
				defer wg.Done()
				for done := 0; done < each; {
					n, v := readCounter(t, db, "c")
					res := db.Committer.Submit(ctx, &store.Unit{Updates: []store.Update{{Table: counters, Key: "c", Version: v, Set: []string{"n"}, Values: []any{n + 1}}}})
					if res.Err == nil {
						done++
					} else if agentpay.ErrorCode(res.Err) != "version_conflict" {
						t.Error(res.Err)
						return
					}
				}
			}(nodes[w%2])
		}
		wg.Wait()
		if n, v := readCounter(t, nodes[0], "c"); n != workers*each || v != workers*each+1 {
			t.Fatalf("n=%d version=%d, want %d and %d", n, v, workers*each, workers*each+1)
		}
	})
}
