package store_test

import (
	"context"
	"database/sql"
	"sync"
	"testing"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
	"github.com/prometheus/client_golang/prometheus"
)

// waitUntil polls cond every 50 ms until it holds and fails the test if it
// still does not after 10 s. It waits for something to happen; it asserts
// nothing about how long that took.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// in returns the fixture for a subtest, so that its helpers fail the
// subtest rather than its parent.
func (f *fixture) in(t *testing.T) *fixture {
	g := *f
	g.t = t
	return &g
}

func isPostgres(db *store.DB) bool { return db.Engine.Name() == "postgres" }

// stall blocks the committer inside a batch (in the Render of a unit that
// stores nothing) until release is called, so that units submitted meanwhile
// queue up and are committed together in the next batch.
func stall(t *testing.T, db *store.DB) (release func()) {
	t.Helper()
	entered, unblock := make(chan struct{}), make(chan struct{})
	done := make(chan store.Result, 1)
	var once sync.Once
	go func() {
		done <- db.Committer.Submit(context.Background(), &store.Unit{Idempotency: &store.Idempotency{
			ID: agentpay.NewID("stall"),
			Render: func(store.Result) (int, []byte) {
				once.Do(func() { close(entered) })
				<-unblock
				return 500, nil // not stored
			},
		}})
	}()
	<-entered
	return func() {
		close(unblock)
		if res := <-done; res.Err != nil {
			t.Errorf("stalling unit: %v", res.Err)
		}
	}
}

// submitBatch submits units concurrently, each from its own goroutine, while
// the committer is stalled, so that they are committed as one batch (up to
// store.BatchSizeMax); it returns their results in the order of units.
func submitBatch(t *testing.T, db *store.DB, units []*store.Unit) []store.Result {
	t.Helper()
	release := stall(t, db)
	results := make([]store.Result, len(units))
	var wg, started sync.WaitGroup
	started.Add(len(units))
	for i, u := range units {
		wg.Go(func() {
			started.Done()
			results[i] = db.Committer.Submit(context.Background(), u)
		})
	}
	started.Wait()
	// Let the goroutines reach the queue. Were one late, it would only be
	// committed in a later batch; no assertion depends on this pause alone.
	time.Sleep(100 * time.Millisecond)
	release()
	wg.Wait()
	return results
}

// submitConcurrently submits units from their own goroutines without
// stalling the committer and returns their results in the order of units.
func submitConcurrently(db *store.DB, units []*store.Unit) []store.Result {
	results := make([]store.Result, len(units))
	var wg sync.WaitGroup
	for i, u := range units {
		wg.Go(func() { results[i] = db.Committer.Submit(context.Background(), u) })
	}
	wg.Wait()
	return results
}

// instrumented replaces db's committer with one over the same connections
// whose metrics go to a registry the test reads. db's own committer is
// stopped (a committer may cache what it wrote, so it must be the only one);
// only the returned DB may then be used to submit units.
func instrumented(t *testing.T, db *store.DB) (*store.DB, *prometheus.Registry) {
	t.Helper()
	db.Committer.Close()
	reg := prometheus.NewRegistry()
	node := store.New(store.Config{Engine: db.Engine, Writer: db.Writer(), Reader: db.Reader(), Bus: db.Bus, Registry: reg})
	t.Cleanup(func() { node.Close() })
	return node, reg
}

// counter returns the value of a counter in reg.
func counter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range families {
		if mf.GetName() == name {
			var sum float64
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
			return sum
		}
	}
	t.Fatalf("metric %s not found", name)
	return 0
}

// allAccounts reads every account with its balances, by id.
func allAccounts(t *testing.T, db *store.DB) map[string]agentpay.Account {
	t.Helper()
	rows, err := db.Reader().Query(store.AccountQuery("", ""))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]agentpay.Account{}
	for rows.Next() {
		a, err := store.ScanAccount(rows)
		if err != nil {
			t.Fatal(err)
		}
		out[a.ID] = a
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// exists reports whether a row matching where exists.
func exists(t *testing.T, db *sql.DB, table, where string, args ...any) bool {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM `+table+` WHERE `+where, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

// pay is a single-phase transfer.
func pay(id, from, to string, amount int64, asset string) agentpay.Transfer {
	return agentpay.Transfer{ID: id, DebitAccountID: from, CreditAccountID: to, Amount: amount, Asset: asset}
}

// hold is a pending transfer.
func hold(id, from, to string, amount int64, asset string, timeout int64) agentpay.Transfer {
	return agentpay.Transfer{ID: id, DebitAccountID: from, CreditAccountID: to, Amount: amount, Asset: asset,
		Flags: agentpay.TransferPending, TimeoutSeconds: timeout}
}

// post posts amount of a pending transfer (0: all of it).
func post(id, pendingID string, amount int64) agentpay.Transfer {
	return agentpay.Transfer{ID: id, PendingID: pendingID, Amount: amount, Flags: agentpay.TransferPostPending}
}

// void releases a pending transfer.
func void(id, pendingID string) agentpay.Transfer {
	return agentpay.Transfer{ID: id, PendingID: pendingID, Flags: agentpay.TransferVoidPending}
}
