package webhook_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentpay/agentpay/sdk"
	"github.com/agentpay/agentpay/store"
	"github.com/agentpay/agentpay/store/storetest"
	"github.com/agentpay/agentpay/webhook"
)

func TestEnqueue(t *testing.T) {
	storetest.Engines(t, "webhook_enqueue", func(t *testing.T, open func() *store.DB) {
		db := open()
		now := time.Now()
		e := store.Event{ID: "evt_1", ObjectID: "pay_1", Type: "payment.authorized", Seq: 1}
		tests := []struct {
			name string
			m    store.StoredMerchant
			want int
		}{
			{"no endpoint", newMerchant(t, db, ""), 0},
			{"enabled", newMerchant(t, db, "https://acme.example/hooks"), 1},
			{"disabled", func() store.StoredMerchant {
				m := newMerchant(t, db, "https://acme.example/hooks")
				m.Webhook.DisabledAt = now.UnixMicro()
				return m
			}(), 0},
		}
		for _, tt := range tests {
			u := &store.Unit{}
			webhook.Enqueue(u, e, tt.m, now)
			if len(u.Rows) != tt.want || (tt.want > 0) != strings.Contains(strings.Join(u.Notify, " "), webhook.Topic) {
				t.Errorf("%s: %d rows, notify %v", tt.name, len(u.Rows), u.Notify)
			}
		}
	})
}

// TestDeliverySucceeds: events reach an httptest endpoint (allowed by
// AllowLoopback), signed so that sdk.VerifyWebhook accepts them, with the
// event id as webhook-id and the per-object seq in the body.
func TestDeliverySucceeds(t *testing.T) {
	storetest.Engines(t, "webhook_ok", func(t *testing.T, open func() *store.DB) {
		db := open()
		c := newClock()
		rc := newReceiver(t)
		m := newMerchant(t, db, rc.URL+"/hooks")
		e1 := emit(t, db, m, "pay_1", 1, c.Now())
		e2 := emit(t, db, m, "pay_1", 2, c.Now())
		d := dispatcher(db, c, "node_a")
		if n := runOnce(t, d); n != 2 {
			t.Fatalf("%d due, want 2", n)
		}
		got := rc.requests()
		if len(got) != 2 {
			t.Fatalf("%d requests", len(got))
		}
		verifier := sdk.WebhookVerifier{Secrets: []string{m.WebhookSecret}, Now: c.Now}
		seqs := map[string]int64{}
		for _, r := range got {
			if err := verifier.Verify(r.Header, r.Body); err != nil {
				t.Fatalf("verify: %v", err)
			}
			if ct := r.Header.Get("Content-Type"); ct != "application/json" {
				t.Fatalf("content type %q", ct)
			}
			var p sdk.WebhookEvent
			if err := json.Unmarshal(r.Body, &p); err != nil {
				t.Fatal(err)
			}
			if p.ID != r.Header.Get("webhook-id") || p.ObjectID != "pay_1" || p.Type != "payment.captured" ||
				!p.CreatedAt.Equal(c.Now()) || !strings.Contains(string(p.Data), `"amount":500`) {
				t.Fatalf("payload %s", r.Body)
			}
			seqs[p.ID] = p.Seq
		}
		if seqs[e1.ID] != 1 || seqs[e2.ID] != 2 {
			t.Fatalf("seqs %v", seqs)
		}
		for _, dl := range deliveries(t, db, m.ID) {
			if dl.Status != store.WebhookSucceeded || dl.Attempts != 1 || dl.LastStatusCode != 200 || dl.LastError != "" ||
				dl.ClaimedUntil != 0 || dl.EventType != "payment.captured" {
				t.Fatalf("delivery %+v", dl)
			}
		}
		if n := runOnce(t, d); n != 0 {
			t.Fatalf("%d due after success", n)
		}
	})
}

// TestRetriesUntilDead: a failing endpoint is retried with growing,
// jittered delays for three days; the attempt at the end of the window is
// the last, then the delivery is dead. The endpoint, failing all along, is
// disabled at that attempt, a webhook_endpoint.disabled event is written,
// and new events are no longer enqueued until the URL is set again.
func TestRetriesUntilDead(t *testing.T) {
	storetest.Engines(t, "webhook_retry", func(t *testing.T, open func() *store.DB) {
		db := open()
		c := newClock()
		rc := newReceiver(t)
		rc.answer(http.StatusInternalServerError)
		m := newMerchant(t, db, rc.URL)
		emit(t, db, m, "pay_1", 1, c.Now())
		d := dispatcher(db, c, "node_a")
		start := c.Now()
		var prev time.Duration
		for attempt := int64(1); ; attempt++ {
			if n := runOnce(t, d); n != 1 {
				t.Fatalf("attempt %d: %d due", attempt, n)
			}
			dl := only(t, db, m.ID)
			if dl.Attempts != attempt || dl.LastStatusCode != 500 || dl.LastError != "HTTP 500" {
				t.Fatalf("attempt %d: %+v", attempt, dl)
			}
			if dl.Status == store.WebhookDead {
				if !c.Now().Equal(start.Add(webhook.RetryWindow)) {
					t.Fatalf("dead at %s, want at the end of the window %s", c.Now(), start.Add(webhook.RetryWindow))
				}
				break
			}
			if dl.Status != store.WebhookFailed {
				t.Fatalf("attempt %d: status %s", attempt, dl.Status)
			}
			delay := time.UnixMicro(dl.NextAttemptAt).Sub(c.Now())
			base := webhook.Delay(attempt)
			clamped := time.UnixMicro(dl.NextAttemptAt).Equal(start.Add(webhook.RetryWindow))
			if !clamped && (delay < base*8/10 || delay > base*12/10) {
				t.Fatalf("attempt %d: delay %s, want %s ± 20 %%", attempt, delay, base)
			}
			if attempt <= 7 && delay <= prev {
				t.Fatalf("attempt %d: delay %s not above %s", attempt, delay, prev)
			}
			prev = delay
			// Not due a moment before, due at the time.
			c.Set(time.UnixMicro(dl.NextAttemptAt).Add(-time.Millisecond))
			if n := runOnce(t, d); n != 0 {
				t.Fatalf("attempt %d: ran early", attempt)
			}
			c.Set(time.UnixMicro(dl.NextAttemptAt))
			if attempt > 40 {
				t.Fatal("never dead")
			}
		}
		if got := len(rc.requests()); got < 15 || got > 25 {
			t.Fatalf("%d attempts in three days", got)
		}
		m = merchant(t, db, m.ID)
		if m.Webhook.DisabledAt != c.Now().UnixMicro() || !strings.Contains(m.Webhook.DisabledReason, "HTTP 500") ||
			m.Webhook.FailingSince != start.UnixMicro() {
			t.Fatalf("endpoint %+v", m.Webhook)
		}
		events, err := db.EventsOf(context.Background(), m.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(events) != 1 || events[0].Type != webhook.EndpointDisabledEvent || events[0].MerchantID != m.ID ||
			!strings.Contains(events[0].Data, `"status":"disabled"`) {
			t.Fatalf("events %+v", events)
		}
		emit(t, db, m, "pay_2", 1, c.Now())
		if n := len(deliveries(t, db, m.ID)); n != 1 {
			t.Fatalf("%d deliveries: an event was enqueued to a disabled endpoint", n)
		}
	})
}

// TestHealthStreak: a success ends a failing streak, so only failures
// without a success for DisableAfter disable an endpoint; a delivery
// enqueued before the endpoint was disabled is ended without being sent.
func TestHealthStreak(t *testing.T) {
	storetest.Engines(t, "webhook_health", func(t *testing.T, open func() *store.DB) {
		db := open()
		c := newClock()
		rc := newReceiver(t)
		m := newMerchant(t, db, rc.URL)
		d := dispatcher(db, c, "node_a")
		rc.answer(503)
		emit(t, db, m, "pay_1", 1, c.Now())
		runOnce(t, d)
		start := c.Now()
		if got := merchant(t, db, m.ID).Webhook; got.FailingSince != start.UnixMicro() || got.DisabledAt != 0 {
			t.Fatalf("after a failure %+v", got)
		}
		c.Add(48 * time.Hour)
		rc.answer(204)
		runOnce(t, d)
		if got := merchant(t, db, m.ID).Webhook; got.FailingSince != 0 {
			t.Fatalf("after a success %+v", got)
		}
		// A new streak: 71 h of failures do not disable, 72 h do.
		rc.answer(404)
		emit(t, db, merchant(t, db, m.ID), "pay_2", 1, c.Now())
		runOnce(t, d)
		streak := c.Now()
		c.Set(streak.Add(71 * time.Hour))
		emit(t, db, merchant(t, db, m.ID), "pay_3", 1, c.Now())
		runOnce(t, d)
		if got := merchant(t, db, m.ID).Webhook; got.DisabledAt != 0 {
			t.Fatalf("disabled after 71 h: %+v", got)
		}
		before := merchant(t, db, m.ID)
		emit(t, db, before, "pay_4", 1, c.Now()) // read while enabled, sent after the disable
		c.Set(streak.Add(72 * time.Hour))
		runOnce(t, d)
		if got := merchant(t, db, m.ID).Webhook; got.DisabledAt == 0 {
			t.Fatalf("not disabled after 72 h: %+v", got)
		}
		sent := len(rc.requests())
		c.Add(time.Hour)
		runOnce(t, d)
		if len(rc.requests()) != sent {
			t.Fatal("a delivery went to a disabled endpoint")
		}
		for _, dl := range deliveries(t, db, m.ID) {
			if dl.ObjectID == "pay_4" && (dl.Status != store.WebhookDead || dl.LastError != "the webhook endpoint is disabled") {
				t.Fatalf("delivery to the disabled endpoint %+v", dl)
			}
		}
	})
}

// TestRedirectIsAFailure: a 3xx answer is recorded as a failed attempt and
// its Location is not fetched.
func TestRedirectIsAFailure(t *testing.T) {
	storetest.Engines(t, "webhook_3xx", func(t *testing.T, open func() *store.DB) {
		db := open()
		c := newClock()
		rc := newReceiver(t)
		rc.answer(http.StatusTemporaryRedirect)
		m := newMerchant(t, db, rc.URL+"/hooks")
		emit(t, db, m, "pay_1", 1, c.Now())
		runOnce(t, dispatcher(db, c, "node_a"))
		dl := only(t, db, m.ID)
		if dl.Status != store.WebhookFailed || dl.LastStatusCode != 307 || !strings.Contains(dl.LastError, "redirects are not followed") {
			t.Fatalf("%+v", dl)
		}
		if got := rc.requests(); len(got) != 1 {
			t.Fatalf("%d requests: the redirect was followed", len(got))
		}
	})
}

// TestRotationGrace: while a replaced secret is in its grace period, both
// secrets sign every attempt; after it, only the current one.
func TestRotationGrace(t *testing.T) {
	storetest.Engines(t, "webhook_rotate", func(t *testing.T, open func() *store.DB) {
		db := open()
		c := newClock()
		rc := newReceiver(t)
		m := newMerchant(t, db, rc.URL)
		oldSecret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		u := &store.Unit{}
		store.WebhookEndpoint{MerchantID: m.ID, PreviousSecret: oldSecret,
			PreviousSecretExpiresAt: c.Now().Add(webhook.SecretGrace).UnixMicro()}.AddTo(u)
		submit(t, db, u)
		m = merchant(t, db, m.ID)
		d := dispatcher(db, c, "node_a")
		emit(t, db, m, "pay_1", 1, c.Now())
		runOnce(t, d)
		c.Add(webhook.SecretGrace)
		emit(t, db, m, "pay_1", 2, c.Now())
		runOnce(t, d)
		got := rc.requests()
		if len(got) != 2 {
			t.Fatalf("%d requests", len(got))
		}
		verify := func(r received, secret string) error {
			return sdk.WebhookVerifier{Secrets: []string{secret}, Now: c.Now, Tolerance: 48 * time.Hour}.Verify(r.Header, r.Body)
		}
		if n := len(strings.Fields(got[0].Header.Get("webhook-signature"))); n != 2 {
			t.Fatalf("in the grace period: %d signatures", n)
		}
		if verify(got[0], oldSecret) != nil || verify(got[0], m.WebhookSecret) != nil {
			t.Fatal("in the grace period, a secret does not verify")
		}
		if n := len(strings.Fields(got[1].Header.Get("webhook-signature"))); n != 1 {
			t.Fatalf("after the grace period: %d signatures", n)
		}
		if verify(got[1], oldSecret) == nil || verify(got[1], m.WebhookSecret) != nil {
			t.Fatal("after the grace period, the old secret still verifies or the new one does not")
		}
	})
}

// TestRedeliveryKeepsWebhookID: a redelivery is a new delivery of the same
// event: the same webhook-id and body, a new delivery id.
func TestRedeliveryKeepsWebhookID(t *testing.T) {
	storetest.Engines(t, "webhook_redeliver", func(t *testing.T, open func() *store.DB) {
		db := open()
		c := newClock()
		rc := newReceiver(t)
		m := newMerchant(t, db, rc.URL)
		e := emit(t, db, m, "pay_1", 1, c.Now())
		d := dispatcher(db, c, "node_a")
		runOnce(t, d)
		first := only(t, db, m.ID)
		u := &store.Unit{}
		nd, err := webhook.Redeliver(u, first, m, c.Now())
		if err != nil {
			t.Fatal(err)
		}
		submit(t, db, u)
		if n := runOnce(t, d); n != 1 {
			t.Fatalf("%d due", n)
		}
		got := rc.requests()
		if len(got) != 2 || got[0].Header.Get("webhook-id") != e.ID || got[1].Header.Get("webhook-id") != e.ID ||
			string(got[0].Body) != string(got[1].Body) || nd.ID == first.ID {
			t.Fatalf("redelivery: %d requests, ids %q %q", len(got), got[0].Header.Get("webhook-id"), got[len(got)-1].Header.Get("webhook-id"))
		}
		disabled := m
		disabled.Webhook.DisabledAt = 1
		if _, err := webhook.Redeliver(&store.Unit{}, first, disabled, c.Now()); err == nil {
			t.Fatal("redelivered to a disabled endpoint")
		}
	})
}

// TestClaims: of two nodes attempting the same due deliveries at once,
// one sends each; a delivery claimed by a node that then died is sent by
// another once the claim expires.
func TestClaims(t *testing.T) {
	storetest.Engines(t, "webhook_claims", func(t *testing.T, open func() *store.DB) {
		dbA, dbB := open(), open()
		c := newClock()
		rc := newReceiver(t)
		m := newMerchant(t, dbA, rc.URL)
		for i := range 20 {
			emit(t, dbA, m, "pay_"+string(rune('a'+i)), 1, c.Now())
		}
		a, b := dispatcher(dbA, c, "node_a"), dispatcher(dbB, c, "node_b")
		var wg sync.WaitGroup
		wg.Go(func() { _, _ = a.RunOnce(context.Background()) })
		wg.Go(func() { _, _ = b.RunOnce(context.Background()) })
		wg.Wait()
		seen := map[string]int{}
		for _, r := range rc.requests() {
			seen[r.Header.Get("webhook-id")]++
		}
		if len(seen) != 20 {
			t.Fatalf("%d events delivered, want 20", len(seen))
		}
		for id, n := range seen {
			if n != 1 {
				t.Fatalf("%s sent %d times", id, n)
			}
		}

		// Node A claims a delivery and dies before sending it.
		e := emit(t, dbA, m, "pay_z", 1, c.Now())
		var pending store.WebhookDelivery
		for _, dl := range deliveries(t, dbA, m.ID) {
			if dl.EventID == e.ID {
				pending = dl
			}
		}
		if _, err := a.Claim(context.Background(), pending); err != nil {
			t.Fatal(err)
		}
		if n := runOnce(t, b); n != 0 {
			t.Fatalf("node B saw %d due while node A's claim runs", n)
		}
		c.Add(webhook.ClaimTTL)
		if n := runOnce(t, b); n != 1 {
			t.Fatalf("node B saw %d due after the claim expired", n)
		}
		got := rc.requests()
		if last := got[len(got)-1]; last.Header.Get("webhook-id") != e.ID {
			t.Fatal("the abandoned delivery was not sent")
		}
		for _, dl := range deliveries(t, dbA, m.ID) {
			if dl.Status != store.WebhookSucceeded {
				t.Fatalf("%+v", dl)
			}
		}
	})
}

// TestRunDeliversOnCommit: the running dispatcher is woken by the unit
// that enqueues a delivery, and stops when its context ends.
func TestRunDeliversOnCommit(t *testing.T) {
	storetest.Engines(t, "webhook_run", func(t *testing.T, open func() *store.DB) {
		db := open()
		rc := newReceiver(t)
		m := newMerchant(t, db, rc.URL)
		d := &webhook.Dispatcher{DB: db, Client: webhook.NewClient(true), Log: quietLog(), Poll: time.Hour}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { d.Run(ctx); close(done) }()
		e := emit(t, db, m, "pay_1", 1, time.Now())
		for deadline := time.Now().Add(30 * time.Second); len(rc.requests()) == 0; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("not delivered")
			}
		}
		cancel()
		<-done
		if got := rc.requests(); got[0].Header.Get("webhook-id") != e.ID {
			t.Fatalf("delivered %q", got[0].Header.Get("webhook-id"))
		}
	})
}
