package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/agentpay/agentpay/store"
)

// Attempts on one key from two nodes at once are each counted exactly once,
// a window ends after its length, and stale counters are deleted.
func TestRateCounters(t *testing.T) {
	engines(t, func(t *testing.T, open func() *store.DB) {
		a, b := open(), open()
		ctx := context.Background()
		now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
		const window = time.Hour
		const workers, each = 8, 5
		var wg sync.WaitGroup
		for i := range workers {
			db := a
			if i%2 == 1 {
				db = b
			}
			wg.Go(func() {
				for range each {
					if _, err := db.CountAttempt(ctx, "guess:usr_1", window, now); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		if n, err := b.Attempts(ctx, "guess:usr_1", window, now.Add(window-time.Microsecond)); err != nil || n != workers*each {
			t.Fatalf("attempts = %d, %v; want %d", n, err, workers*each)
		}
		if n, err := a.Attempts(ctx, "guess:usr_2", window, now); err != nil || n != 0 {
			t.Fatalf("another key's attempts = %d, %v", n, err)
		}
		later := now.Add(window)
		if n, err := a.Attempts(ctx, "guess:usr_1", window, later); err != nil || n != 0 {
			t.Fatalf("attempts after the window = %d, %v", n, err)
		}
		if n, err := a.CountAttempt(ctx, "guess:usr_1", window, later); err != nil || n != 1 {
			t.Fatalf("first attempt of a new window = %d, %v", n, err)
		}
		if n, err := a.DeleteStale(ctx, later.UnixMicro(), later.Add(time.Microsecond).UnixMicro(), 100); err != nil || n < 1 {
			t.Fatalf("DeleteStale = %d, %v", n, err)
		}
		if n, err := a.Attempts(ctx, "guess:usr_1", window, later); err != nil || n != 0 {
			t.Fatalf("attempts after deletion = %d, %v", n, err)
		}
	})
}
