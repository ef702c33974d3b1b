package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/agentpay/agentpay/store"
)

// Attempts on one key from two nodes at once are each counted, the window
// slides, and stale attempts are deleted.
func TestRateAttempts(t *testing.T) {
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
					if err := db.CountAttempt(ctx, now, "guess:usr_1", "guess:ip"); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		for _, key := range []string{"guess:usr_1", "guess:ip"} {
			if n, err := b.Attempts(ctx, key, window, now.Add(window-time.Microsecond), 1000); err != nil || n != workers*each {
				t.Fatalf("%s attempts = %d, %v; want %d", key, n, err, workers*each)
			}
		}
		if n, err := b.Attempts(ctx, "guess:usr_1", window, now, 10); err != nil || n != 10 {
			t.Fatalf("attempts counted up to the limit = %d, %v; want 10", n, err)
		}
		if n, err := a.Attempts(ctx, "guess:usr_2", window, now, 1000); err != nil || n != 0 {
			t.Fatalf("another key's attempts = %d, %v", n, err)
		}
		later := now.Add(window)
		if n, err := a.Attempts(ctx, "guess:usr_1", window, later, 1000); err != nil || n != 0 {
			t.Fatalf("attempts after the window = %d, %v", n, err)
		}
		if err := a.CountAttempt(ctx, later, "guess:usr_1"); err != nil {
			t.Fatal(err)
		}
		if n, err := a.DeleteStale(ctx, later.UnixMicro(), later.UnixMicro(), 1000); err != nil || n != 2*workers*each {
			t.Fatalf("DeleteStale = %d, %v; want %d", n, err, 2*workers*each)
		}
		if n, err := a.Attempts(ctx, "guess:usr_1", window, later, 1000); err != nil || n != 1 {
			t.Fatalf("attempts after deletion = %d, %v; want the one kept", n, err)
		}
	})
}
