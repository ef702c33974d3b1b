package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
)

// Counts from many concurrent units, several per unit and several units
// per batch on the same counter, add up exactly; a unit whose effects fail
// adds nothing; the latest expiry wins.
func TestCountsAddUpUnderConcurrency(t *testing.T) {
	engines(t, func(t *testing.T, open func() *store.DB) {
		db := open()
		f := newFixture(t, db, "USD", 100)
		ctx := context.Background()
		const units = 300
		var us []*store.Unit
		for i := range units {
			us = append(us, &store.Unit{Counts: []store.Count{
				{ID: "hot", N: 1, Amount: int64(i), ExpiresAt: int64(i)},
				{ID: "hot", N: 1, Amount: 1, ExpiresAt: 5},
				{ID: fmt.Sprintf("cold:%03d", i%7), N: 1, Amount: 2, ExpiresAt: 9},
			}})
		}
		// This unit overdraws the wallet: its counts must not be written.
		us = append(us, &store.Unit{Transfers: []agentpay.Transfer{pay(agentpay.NewID("trf"), f.wallet, f.merchant, 1_000_000, "USD")},
			Counts: []store.Count{{ID: "hot", N: 1000, Amount: 1000, ExpiresAt: 1}, {ID: "never", N: 1, ExpiresAt: 1}}})
		results := submitConcurrently(db, us)
		for i, r := range results[:units] {
			if r.Err != nil {
				t.Fatalf("unit %d: %v", i, r.Err)
			}
		}
		if results[units].Err == nil {
			t.Fatal("the overdraft was accepted")
		}
		got, err := db.Counters(ctx, "hot", "never", "cold:000", "cold:006")
		if err != nil {
			t.Fatal(err)
		}
		wantHot := store.Count{ID: "hot", N: 2 * units, Amount: units*(units-1)/2 + units, ExpiresAt: units - 1}
		if got["hot"] != wantHot {
			t.Errorf("hot = %+v, want %+v", got["hot"], wantHot)
		}
		if _, ok := got["never"]; ok {
			t.Errorf("a failed unit's count was written: %+v", got["never"])
		}
		if got["cold:000"].N != 43 || got["cold:006"].N != 42 {
			t.Errorf("cold counters = %+v, %+v; want 43 and 42", got["cold:000"], got["cold:006"])
		}
		family, err := db.CountersWithPrefix(ctx, "cold:", 100)
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		for _, c := range family {
			n += c.N
		}
		if len(family) != 7 || n != units || family[0].ID != "cold:000" || family[6].ID != "cold:006" {
			t.Errorf("prefix read = %d counters summing to %d: %+v", len(family), n, family)
		}
		if some, err := db.CountersWithPrefix(ctx, "cold:", 3); err != nil || len(some) != 3 {
			t.Errorf("limited prefix read = %d, %v; want 3", len(some), err)
		}
		// Expired counters are forgotten by the cleanup.
		if _, err := db.DeleteStale(ctx, 100, 0, 1000); err != nil {
			t.Fatal(err)
		}
		got, err = db.Counters(ctx, "hot", "cold:000")
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := got["cold:000"]; ok {
			t.Error("an expired counter survived the cleanup")
		}
		if got["hot"].N != 2*units {
			t.Errorf("a live counter was cleaned up: %+v", got["hot"])
		}
	})
}
