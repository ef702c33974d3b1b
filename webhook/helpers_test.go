package webhook_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
	"github.com/agentpay/agentpay/webhook"
)

// clock is an injected clock that moves only when a test moves it.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *clock) Add(d time.Duration) { c.Set(c.Now().Add(d)) }

// received is one request a receiver got.
type received struct {
	Header http.Header
	Body   []byte
}

// receiver is a merchant's endpoint on loopback that answers with status.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	status int
	got    []received
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{status: http.StatusOK}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, received{Header: r.Header.Clone(), Body: body})
		status := rc.status
		rc.mu.Unlock()
		if status >= 300 && status < 400 {
			w.Header().Set("Location", rc.URL+"/elsewhere")
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) answer(status int) {
	rc.mu.Lock()
	rc.status = status
	rc.mu.Unlock()
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func submit(t *testing.T, db *store.DB, u *store.Unit) {
	t.Helper()
	if res := db.Committer.Submit(context.Background(), u); res.Err != nil {
		t.Fatal(res.Err)
	}
}

// newMerchant onboards a merchant whose webhook endpoint is url, and
// returns it as the store reads it.
func newMerchant(t *testing.T, db *store.DB, url string) store.StoredMerchant {
	t.Helper()
	m := agentpay.Merchant{ID: agentpay.NewID("mer"), Name: "Corner Shop", MCC: "5942", Country: "DE",
		SettlementAsset: "EUR", WebhookURL: url, Status: agentpay.MerchantActive, CreatedAt: time.Now().UnixMicro()}
	submit(t, db, &store.Unit{Rows: []store.Row{store.MerchantRow(m, agentpay.NewWebhookSecret())}})
	return merchant(t, db, m.ID)
}

func merchant(t *testing.T, db *store.DB, id string) store.StoredMerchant {
	t.Helper()
	m, err := db.Merchant(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// emit writes an event of object objectID with its delivery, in one unit,
// as the payments service does.
func emit(t *testing.T, db *store.DB, m store.StoredMerchant, objectID string, seq int64, now time.Time) store.Event {
	t.Helper()
	e := store.Event{ID: agentpay.NewID("evt"), ObjectID: objectID, MerchantID: m.ID, UserID: "usr_1",
		Type: "payment.captured", Seq: seq, Data: `{"payment":"` + objectID + `","amount":500,"asset":"EUR"}`,
		CreatedAt: now.UnixMicro()}
	u := &store.Unit{Rows: []store.Row{e.Row()}}
	webhook.Enqueue(u, e, m, now)
	submit(t, db, u)
	return e
}

func deliveries(t *testing.T, db *store.DB, merchantID string) []store.WebhookDelivery {
	t.Helper()
	ds, err := db.WebhookDeliveries(context.Background(), merchantID, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func only(t *testing.T, db *store.DB, merchantID string) store.WebhookDelivery {
	t.Helper()
	ds := deliveries(t, db, merchantID)
	if len(ds) != 1 {
		t.Fatalf("%d deliveries, want 1", len(ds))
	}
	return ds[0]
}

func dispatcher(db *store.DB, c *clock, holder string) *webhook.Dispatcher {
	return &webhook.Dispatcher{DB: db, Client: webhook.NewClient(true), Log: quietLog(), Now: c.Now, Holder: holder}
}

func runOnce(t *testing.T, d *webhook.Dispatcher) int {
	t.Helper()
	n, err := d.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}
