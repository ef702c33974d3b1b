package store_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentpay/agentpay/store"
)

func TestLease(t *testing.T) {
	engines(t, func(t *testing.T, open func() *store.DB) {
		db := open()
		f := newFixture(t, db, "USD", 0)
		lease := func(name, holder string, ttl time.Duration) bool {
			t.Helper()
			ok, err := db.Lease(f.ctx, name, holder, ttl)
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		steps := []struct {
			what   string
			do     func() bool
			expect bool
		}{
			{"A takes a free lease", func() bool { return lease("expiry", "node_a", time.Hour) }, true},
			{"B cannot take it while A's is unexpired", func() bool { return lease("expiry", "node_b", time.Hour) }, false},
			{"A renews", func() bool { return lease("expiry", "node_a", time.Hour) }, true},
			{"B still cannot", func() bool { return lease("expiry", "node_b", time.Hour) }, false},
			{"B's release of A's lease does nothing", func() bool {
				if err := db.ReleaseLease(f.ctx, "expiry", "node_b"); err != nil {
					t.Fatal(err)
				}
				return lease("expiry", "node_b", time.Hour)
			}, false},
			{"after A releases, B takes it", func() bool {
				if err := db.ReleaseLease(f.ctx, "expiry", "node_a"); err != nil {
					t.Fatal(err)
				}
				return lease("expiry", "node_b", time.Hour)
			}, true},
			{"and A cannot", func() bool { return lease("expiry", "node_a", time.Hour) }, false},
			{"another name is a separate lease", func() bool { return lease("outbox", "node_a", time.Hour) }, true},
		}
		for _, s := range steps {
			if got := s.do(); got != s.expect {
				t.Fatalf("%s: got %v, want %v", s.what, got, s.expect)
			}
		}

		// An expired lease can be taken by another holder.
		if !lease("chainer", "node_a", time.Millisecond) {
			t.Fatal("A could not take a free lease")
		}
		waitUntil(t, "B to take A's expired lease", func() bool { return lease("chainer", "node_b", time.Hour) })
		if lease("chainer", "node_a", time.Hour) {
			t.Fatal("A took back a lease B holds")
		}
		f.check()
	})
}

// TestLeaseHasOneHolder lets many holders claim one free lease at once:
// exactly one gets it.
func TestLeaseHasOneHolder(t *testing.T) {
	engines(t, func(t *testing.T, open func() *store.DB) {
		db := open()
		for round := range 5 {
			name := fmt.Sprintf("job_%d", round)
			var winners atomic.Int32
			var wg sync.WaitGroup
			for h := range 16 {
				wg.Go(func() {
					ok, err := db.Lease(t.Context(), name, fmt.Sprintf("holder_%d", h), time.Hour)
					if err != nil {
						t.Error(err)
					}
					if ok {
						winners.Add(1)
					}
				})
			}
			wg.Wait()
			if n := winners.Load(); n != 1 {
				t.Fatalf("round %d: %d holders got the lease", round, n)
			}
		}
		f := &fixture{t: t, db: db, ctx: t.Context()}
		f.check()
	})
}
