package store_test

import (
	"testing"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
)

// received reports whether ch has a wake-up, without waiting.
func received(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// await fails the test unless ch receives within a generous bound.
func await(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("no wake-up for %s", what)
	}
}

// waitListening makes sure wake-ups committed through from reach to's bus.
// On PostgreSQL they travel through LISTEN, which a node starts after Open
// returns, and a wake-up sent before is lost (as the bus allows); so a
// warm-up topic is notified until one arrives.
func waitListening(t *testing.T, from, to *store.DB) {
	t.Helper()
	topic := agentpay.NewID("warmup")
	ch, stop := to.Bus.Subscribe(topic)
	defer stop()
	waitUntil(t, "the bus to carry wake-ups", func() bool {
		if res := from.Committer.Submit(t.Context(), &store.Unit{Notify: []string{topic}}); res.Err != nil {
			t.Fatal(res.Err)
		}
		select {
		case <-ch:
			return true
		case <-time.After(200 * time.Millisecond):
			return false
		}
	})
}

func TestBus(t *testing.T) {
	engines(t, func(t *testing.T, open func() *store.DB) {
		db := open()
		f := newFixture(t, db, "USD", 100)
		waitListening(t, db, db)
		// Topics are unique: on PostgreSQL, notifications reach every
		// listener of the database, whatever its schema.
		topic1, topic2, topic3, topicMarker := agentpay.NewID("pay"), agentpay.NewID("pay"), agentpay.NewID("pay"), agentpay.NewID("marker")
		paid, stopPaid := db.Bus.Subscribe(topic1)
		defer stopPaid()
		failed, stopFailed := db.Bus.Subscribe(topic2)
		defer stopFailed()
		replayed, stopReplayed := db.Bus.Subscribe(topic3)
		defer stopReplayed()

		// A committed unit wakes its topics, after its writes are visible.
		res := db.Committer.Submit(f.ctx, &store.Unit{Notify: []string{topic1},
			Transfers: []agentpay.Transfer{pay("trf_bus1", f.wallet, f.merchant, 60, "USD")}})
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		await(t, paid, "a committed unit")
		if _, err := db.Transfer(f.ctx, "trf_bus1"); err != nil {
			t.Fatalf("woken before the write is visible: %v", err)
		}

		// A failed unit and a replayed one wake nobody. Wake-ups are sent in
		// commit order, so once the marker committed after them has arrived,
		// any wake-up of theirs would have arrived too.
		if res := db.Committer.Submit(f.ctx, &store.Unit{Notify: []string{topic2},
			Transfers: []agentpay.Transfer{pay("trf_bus2", f.wallet, f.merchant, 60, "USD")}}); agentpay.ErrorCode(res.Err) != "exceeds_credits" {
			t.Fatalf("failing unit: %v", res.Err)
		}
		key := &store.Idempotency{ID: "key_bus", Render: func(store.Result) (int, []byte) { return 200, []byte("{}") }}
		if res := db.Committer.Submit(f.ctx, &store.Unit{Idempotency: key}); res.Err != nil || res.Replay != nil {
			t.Fatalf("first unit with key: %+v", res)
		}
		if res := db.Committer.Submit(f.ctx, &store.Unit{Idempotency: key, Notify: []string{topic3}}); res.Replay == nil {
			t.Fatalf("replay: %+v", res)
		}
		marker, stopMarker := db.Bus.Subscribe(topicMarker)
		defer stopMarker()
		if res := db.Committer.Submit(f.ctx, &store.Unit{Notify: []string{topicMarker}}); res.Err != nil {
			t.Fatal(res.Err)
		}
		await(t, marker, "the marker")
		if received(failed) {
			t.Fatal("a failed unit woke its topic")
		}
		if received(replayed) {
			t.Fatal("a replayed unit woke its topic")
		}
		if received(paid) {
			t.Fatal("a topic was woken by units that do not name it")
		}

		// Unsubscribed channels are not woken.
		stopPaid()
		if res := db.Committer.Submit(f.ctx, &store.Unit{Notify: []string{topic1, topicMarker}}); res.Err != nil {
			t.Fatal(res.Err)
		}
		await(t, marker, "the marker")
		if received(paid) {
			t.Fatal("an ended subscription was woken")
		}
		f.check()
	})
}
