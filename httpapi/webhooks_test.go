package httpapi_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
	"github.com/agentpay/agentpay/webhook"
)

type webhookOut struct {
	URL                     string  `json:"url"`
	Status                  string  `json:"status"`
	DisabledAt              *string `json:"disabled_at"`
	DisabledReason          string  `json:"disabled_reason"`
	FailingSince            *string `json:"failing_since"`
	PreviousSecretExpiresAt *string `json:"previous_secret_expires_at"`
	Secret                  string  `json:"secret"`
}

type deliveryOut struct {
	ID             string  `json:"id"`
	EventID        string  `json:"event_id"`
	EventType      string  `json:"event_type"`
	ObjectID       string  `json:"object_id"`
	Seq            int64   `json:"seq"`
	Status         string  `json:"status"`
	Attempts       int64   `json:"attempts"`
	LastStatusCode *int64  `json:"last_status_code"`
	NextAttemptAt  *string `json:"next_attempt_at"`
}

type deliveryListOut struct {
	Data    []deliveryOut `json:"data"`
	HasMore bool          `json:"has_more"`
}

// emitEvent writes a payment event of merchant id with its delivery, as
// the payments service does.
func (a *api) emitEvent(merchantID, paymentID string, seq int64) store.Event {
	a.t.Helper()
	m, err := a.db.Merchant(context.Background(), merchantID)
	if err != nil {
		a.t.Fatal(err)
	}
	e := store.Event{ID: agentpay.NewID("evt"), ObjectID: paymentID, MerchantID: merchantID, UserID: "usr_1",
		Type: "payment.authorized", Seq: seq, Data: `{"payment":"` + paymentID + `"}`, CreatedAt: time.Now().UnixMicro()}
	u := &store.Unit{Rows: []store.Row{e.Row()}}
	webhook.Enqueue(u, e, m, time.Now())
	if res := a.db.Committer.Submit(context.Background(), u); res.Err != nil {
		a.t.Fatal(res.Err)
	}
	return e
}

func (a *api) webhook(secret string) webhookOut {
	a.t.Helper()
	r := a.as(secret, "GET", "/v1/merchant/webhook", "", "")
	mustStatus(a.t, r, http.StatusOK)
	var out webhookOut
	r.decode(a.t, &out)
	return out
}

func TestWebhookEndpointState(t *testing.T) {
	forEachDB(t, func(t *testing.T, a *api) {
		none := a.onboard(`{"name":"NoHook","mcc":"5942","country":"DE","settlement_asset":"EUR"}`)
		if w := a.webhook(none.APIKey); w.Status != "not_set" || w.URL != "" {
			t.Fatalf("%+v", w)
		}
		checkErrorShape(t, a.as(none.APIKey, "POST", "/v1/merchant/webhook/rotate-secret", "r0", ""), 409, "no_webhook_endpoint", "")

		o := a.onboard(merchantBody)
		w := a.webhook(o.APIKey)
		if w.Status != "enabled" || w.URL != "https://acme.example/hooks" || w.PreviousSecretExpiresAt != nil || w.Secret != "" {
			t.Fatalf("%+v", w)
		}
		r := a.as(o.APIKey, "POST", "/v1/merchant/webhook/rotate-secret", "r1", "")
		mustStatus(t, r, http.StatusOK)
		var rot webhookOut
		r.decode(t, &rot)
		if !strings.HasPrefix(rot.Secret, "whsec_") || rot.Secret == o.WebhookSecret || rot.PreviousSecretExpiresAt == nil {
			t.Fatalf("rotation %+v", rot)
		}
		m, err := a.db.Merchant(context.Background(), o.Merchant.ID)
		if err != nil {
			t.Fatal(err)
		}
		if m.WebhookSecret != rot.Secret || m.Webhook.PreviousSecret != o.WebhookSecret ||
			m.Webhook.PreviousSecretExpiresAt < time.Now().Add(23*time.Hour).UnixMicro() {
			t.Fatalf("stored %+v", m.Webhook)
		}
		r = a.as(o.APIKey, "GET", "/v1/merchant/webhook", "", "")
		mustNotContain(t, "GET webhook", r.Body, o.WebhookSecret, rot.Secret)
		if !bytes.Contains(r.Body, []byte(`"previous_secret_expires_at":"`)) {
			t.Fatalf("%s", r.Body)
		}

		// Disabled by the dispatcher: shown, and undone by setting the URL.
		u := &store.Unit{}
		ep := m.Webhook
		ep.FailingSince, ep.DisabledAt, ep.DisabledReason = 1, time.Now().UnixMicro(), "no successful delivery for 72h0m0s"
		ep.AddTo(u)
		if res := a.db.Committer.Submit(context.Background(), u); res.Err != nil {
			t.Fatal(res.Err)
		}
		w = a.webhook(o.APIKey)
		if w.Status != "disabled" || w.DisabledAt == nil || w.DisabledReason == "" || w.FailingSince == nil {
			t.Fatalf("disabled %+v", w)
		}
		a.emitEvent(o.Merchant.ID, "pay_1", 1)
		r = a.as(o.APIKey, "GET", "/v1/merchant/webhook/deliveries", "", "")
		mustStatus(t, r, 200)
		if !bytes.Contains(r.Body, []byte(`"data":[]`)) {
			t.Fatalf("enqueued to a disabled endpoint: %s", r.Body)
		}
		r = a.as(o.APIKey, "POST", "/v1/merchant/webhook", "s1", `{"url":"https://acme.example/hooks"}`)
		mustStatus(t, r, 200)
		var set webhookOut
		r.decode(t, &set)
		if set.Status != "enabled" || set.DisabledAt != nil || set.FailingSince != nil || set.Secret == "" {
			t.Fatalf("re-enabled %+v", set)
		}
		if w := a.webhook(o.APIKey); w.Status != "enabled" {
			t.Fatalf("%+v", w)
		}
	})
}

func TestWebhookURLSSRF(t *testing.T) {
	forEachDB(t, func(t *testing.T, a *api) {
		o := a.onboard(merchantBody)
		for i, url := range []string{"https://10.0.0.1/h", "https://169.254.169.254/latest", "https://[::1]/h",
			"https://[::ffff:127.0.0.1]/h", "http://127.0.0.1:9000/h", "https://100.64.1.1/h", "https://[fd00::1]/h"} {
			r := a.as(o.APIKey, "POST", "/v1/merchant/webhook", "ssrf"+string(rune('a'+i)), `{"url":"`+url+`"}`)
			checkErrorShape(t, r, 400, "forbidden_webhook_url", "url")
		}
		r := a.post("/v1/merchants", `{"name":"Meta","mcc":"5942","country":"DE","settlement_asset":"EUR","webhook_url":"https://169.254.169.254/h"}`)
		checkErrorShape(t, r, 400, "forbidden_webhook_url", "webhook_url")
	})
}

func TestWebhookDeliveryLog(t *testing.T) {
	forEachDB(t, func(t *testing.T, a *api) {
		o := a.onboard(merchantBody)
		other := a.onboard(merchantBody)
		var events []store.Event
		for i := range 3 {
			events = append(events, a.emitEvent(o.Merchant.ID, "pay_1", int64(i+1)))
		}
		a.emitEvent(other.Merchant.ID, "pay_9", 1)

		r := a.as(o.APIKey, "GET", "/v1/merchant/webhook/deliveries?limit=2", "", "")
		mustStatus(t, r, 200)
		var page deliveryListOut
		r.decode(t, &page)
		if len(page.Data) != 2 || !page.HasMore || page.Data[0].EventID != events[2].ID || page.Data[1].EventID != events[1].ID {
			t.Fatalf("first page %+v", page)
		}
		d := page.Data[0]
		if d.Status != "pending" || d.Attempts != 0 || d.LastStatusCode != nil || d.NextAttemptAt == nil ||
			d.EventType != "payment.authorized" || d.ObjectID != "pay_1" || d.Seq != 3 {
			t.Fatalf("delivery %+v", d)
		}
		r = a.as(o.APIKey, "GET", "/v1/merchant/webhook/deliveries?limit=2&starting_after="+page.Data[1].ID, "", "")
		mustStatus(t, r, 200)
		var rest deliveryListOut
		r.decode(t, &rest)
		if len(rest.Data) != 1 || rest.HasMore || rest.Data[0].EventID != events[0].ID {
			t.Fatalf("second page %+v", rest)
		}
		checkErrorShape(t, a.as(o.APIKey, "GET", "/v1/merchant/webhook/deliveries?limit=0", "", ""), 400, "invalid_limit", "limit")
		checkErrorShape(t, a.as(o.APIKey, "GET", "/v1/merchant/webhook/deliveries?starting_after=x", "", ""), 400, "invalid_cursor", "starting_after")

		// Redelivery: the same event (webhook-id), a new delivery; idempotent.
		path := "/v1/merchant/webhook/deliveries/" + d.ID + "/redeliver"
		r = a.as(o.APIKey, "POST", path, "rd1", "")
		mustStatus(t, r, http.StatusCreated)
		var nd deliveryOut
		r.decode(t, &nd)
		if nd.ID == d.ID || nd.EventID != d.EventID || nd.Status != "pending" || nd.Seq != 3 {
			t.Fatalf("redelivery %+v", nd)
		}
		if again := a.as(o.APIKey, "POST", path, "rd1", ""); !again.replayed() || !bytes.Equal(again.Body, r.Body) {
			t.Fatalf("replay %v", again)
		}
		r = a.as(o.APIKey, "GET", "/v1/merchant/webhook/deliveries/"+nd.ID, "", "")
		mustStatus(t, r, 200)

		// Another merchant's delivery is not found, for reading and redelivery.
		for _, rr := range []response{
			a.as(other.APIKey, "GET", "/v1/merchant/webhook/deliveries/"+d.ID, "", ""),
			a.as(other.APIKey, "POST", path, "rd2", ""),
			a.as(o.APIKey, "POST", "/v1/merchant/webhook/deliveries/whd_nope/redeliver", "rd3", ""),
		} {
			checkErrorShape(t, rr, 404, "webhook_delivery_not_found", "")
		}
		r = a.as(other.APIKey, "GET", "/v1/merchant/webhook/deliveries", "", "")
		var theirs deliveryListOut
		r.decode(t, &theirs)
		if len(theirs.Data) != 1 || theirs.Data[0].ObjectID != "pay_9" {
			t.Fatalf("other merchant's log %+v", theirs)
		}
	})
}
