package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/agentpay/agentpay/store"
	"github.com/agentpay/agentpay/store/postgres"
	"github.com/agentpay/agentpay/store/postgres/pgtest"
)

// Wake-ups on PostgreSQL reach the nodes of the same schema from the moment
// Open returns, and never the nodes of another schema sharing the database.
func TestWakeUpsStayInTheirSchema(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	open := func(schema string) *store.DB {
		db, err := postgres.Open(ctx, url, postgres.Options{Schema: schema})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	schemaA, schemaB := pgtest.Schema(t, url, "chan_a"), pgtest.Schema(t, url, "chan_b")
	a1, a2, b := open(schemaA), open(schemaA), open(schemaB)
	gotA, stopA := a2.Bus.Subscribe("topic")
	defer stopA()
	gotB, stopB := b.Bus.Subscribe("topic")
	defer stopB()
	if res := a1.Committer.Submit(ctx, &store.Unit{Notify: []string{"topic"}}); res.Err != nil {
		t.Fatal(res.Err)
	}
	select {
	case <-gotA:
	case <-time.After(10 * time.Second):
		t.Fatal("a node of the same schema was not woken")
	}
	// A marker committed afterwards in B's schema arrives after anything A
	// could have leaked to B, since B's listener reads notifications in order.
	marker, stopMarker := b.Bus.Subscribe("marker")
	defer stopMarker()
	if res := b.Committer.Submit(ctx, &store.Unit{Notify: []string{"marker"}}); res.Err != nil {
		t.Fatal(res.Err)
	}
	select {
	case <-marker:
	case <-time.After(10 * time.Second):
		t.Fatal("marker not delivered")
	}
	select {
	case <-gotB:
		t.Fatal("a wake-up crossed into another schema")
	default:
	}
}
