package httpapi

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
	"github.com/agentpay/agentpay/webhook"
)

// Limits of the delivery log.
const (
	WebhookDeliveriesDefault = 20
	WebhookDeliveriesMax     = 100
)

// webhookRoutes serves a merchant's webhook endpoint: its state, secret
// rotation, the delivery log and redelivery.
func (s *Server) webhookRoutes() {
	s.mux.Handle("GET /v1/merchant/webhook", s.merchant(s.getWebhook))
	s.mux.Handle("POST /v1/merchant/webhook/rotate-secret", s.merchant(emptyBodyIsObject(s.idempotent(s.rotateWebhookSecret))))
	s.mux.Handle("GET /v1/merchant/webhook/deliveries", s.merchant(s.listWebhookDeliveries))
	s.mux.Handle("GET /v1/merchant/webhook/deliveries/{id}", s.merchant(s.getWebhookDelivery))
	s.mux.Handle("POST /v1/merchant/webhook/deliveries/{id}/redeliver", s.merchant(emptyBodyIsObject(s.idempotent(s.redeliverWebhook))))
}

// webhookJSON is a merchant's webhook endpoint: never a secret, except the
// new one in the response that made it (Secret), shown once.
type webhookJSON struct {
	Object string `json:"object"`
	URL    string `json:"url"`
	// Status is "enabled", "disabled" or "not_set".
	Status         string  `json:"status"`
	DisabledAt     *string `json:"disabled_at"`
	DisabledReason string  `json:"disabled_reason,omitempty"`
	// FailingSince is the first failed attempt since the last success.
	FailingSince *string `json:"failing_since"`
	// PreviousSecretExpiresAt is set while a replaced secret still signs
	// beside the current one.
	PreviousSecretExpiresAt *string `json:"previous_secret_expires_at"`
	Secret                  string  `json:"secret,omitempty"`
}

func optTime(us int64) *string {
	if us == 0 {
		return nil
	}
	s := timeString(us)
	return &s
}

func toWebhookJSON(url string, ep store.WebhookEndpoint, now time.Time) webhookJSON {
	out := webhookJSON{Object: "webhook_endpoint", URL: url, Status: "enabled", DisabledAt: optTime(ep.DisabledAt),
		DisabledReason: ep.DisabledReason, FailingSince: optTime(ep.FailingSince)}
	switch {
	case url == "":
		out.Status = "not_set"
	case ep.DisabledAt != 0:
		out.Status = "disabled"
	}
	if ep.PreviousSecret != "" && ep.PreviousSecretExpiresAt > now.UnixMicro() {
		out.PreviousSecretExpiresAt = optTime(ep.PreviousSecretExpiresAt)
	}
	return out
}

func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request) {
	m := merchantOf(r).Merchant
	writeJSON(w, http.StatusOK, toWebhookJSON(m.WebhookURL, m.Webhook, time.Now()))
}

// newWebhookSecret returns the unit that gives merchant m a new signing
// secret and, when url is not nil, a new endpoint URL, and the endpoint as
// it will be. The secret it replaces keeps signing beside it for
// webhook.SecretGrace, if an endpoint was set: its receiver may still
// check with it. Setting the URL (even to the same one) re-enables the
// endpoint and clears its failing streak.
func newWebhookSecret(m store.StoredMerchant, url *string, now time.Time) (*store.Unit, webhookJSON) {
	target := m.WebhookURL
	ep := m.Webhook
	ep.MerchantID = m.ID
	if m.WebhookURL != "" {
		ep.PreviousSecret, ep.PreviousSecretExpiresAt = m.WebhookSecret, now.Add(webhook.SecretGrace).UnixMicro()
	}
	if url != nil {
		target = *url
		ep.FailingSince, ep.DisabledAt, ep.DisabledReason = 0, 0, ""
	}
	ep.UpdatedAt = now.UnixMicro()
	secret := agentpay.NewWebhookSecret()
	unit := &store.Unit{Updates: []store.Update{{Table: store.MerchantsTable, Key: m.ID, Version: m.Version,
		Set: []string{"webhook_url", "webhook_secret"}, Values: []any{target, secret}}}}
	ep.AddTo(unit)
	out := toWebhookJSON(target, ep, now)
	out.Secret = secret
	return unit, out
}

// rotateWebhookSecret is POST /v1/merchant/webhook/rotate-secret: a new
// secret, shown once; the old one signs beside it for 24 hours.
func (s *Server) rotateWebhookSecret(r *http.Request, body []byte) (*store.Unit, func(store.Result) (int, any), error) {
	if err := decode(body, &struct{}{}); err != nil {
		return nil, nil, err
	}
	m := merchantOf(r).Merchant
	if m.WebhookURL == "" {
		return nil, nil, agentpay.Errorf(agentpay.ECONFLICT, "no_webhook_endpoint", "set a webhook url before rotating its secret")
	}
	unit, out := newWebhookSecret(m, nil, time.Now())
	return unit, func(store.Result) (int, any) { return http.StatusOK, out }, nil
}

// webhookDeliveryJSON is an entry of the delivery log.
type webhookDeliveryJSON struct {
	Object         string  `json:"object"`
	ID             string  `json:"id"`
	EventID        string  `json:"event_id"` // the webhook-id header of every attempt
	EventType      string  `json:"event_type"`
	ObjectID       string  `json:"object_id"`
	Seq            int64   `json:"seq"`
	URL            string  `json:"url"`
	Status         string  `json:"status"`
	Attempts       int64   `json:"attempts"`
	LastStatusCode *int64  `json:"last_status_code"`
	LastError      string  `json:"last_error,omitempty"`
	FirstAttemptAt *string `json:"first_attempt_at"`
	LastAttemptAt  *string `json:"last_attempt_at"`
	NextAttemptAt  *string `json:"next_attempt_at"`
	CreatedAt      string  `json:"created_at"`
}

func toWebhookDeliveryJSON(d store.WebhookDelivery) webhookDeliveryJSON {
	out := webhookDeliveryJSON{Object: "webhook_delivery", ID: d.ID, EventID: d.EventID, EventType: d.EventType,
		ObjectID: d.ObjectID, Seq: d.Seq, URL: d.URL, Status: d.Status, Attempts: d.Attempts, LastError: d.LastError,
		FirstAttemptAt: optTime(d.FirstAttemptAt), LastAttemptAt: optTime(d.LastAttemptAt), CreatedAt: timeString(d.CreatedAt)}
	if d.LastStatusCode != 0 {
		code := d.LastStatusCode
		out.LastStatusCode = &code
	}
	if d.Status == store.WebhookPending || d.Status == store.WebhookFailed {
		out.NextAttemptAt = optTime(d.NextAttemptAt)
	}
	return out
}

type webhookDeliveryListJSON struct {
	Object  string                `json:"object"`
	Data    []webhookDeliveryJSON `json:"data"`
	HasMore bool                  `json:"has_more"`
}

// listWebhookDeliveries is GET /v1/merchant/webhook/deliveries: the
// merchant's deliveries, newest first; limit (1 to 100, default 20) and
// starting_after (the last delivery id of the previous page) page through.
func (s *Server) listWebhookDeliveries(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := WebhookDeliveriesDefault
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > WebhookDeliveriesMax {
			s.writeError(w, r, agentpay.ParamErrorf("limit", "invalid_limit", "limit must be an integer from 1 to %d", WebhookDeliveriesMax))
			return
		}
		limit = n
	}
	after := q.Get("starting_after")
	if after != "" && (!strings.HasPrefix(after, "whd_") || !agentpay.ValidID(after)) {
		s.writeError(w, r, agentpay.ParamErrorf("starting_after", "invalid_cursor", "starting_after must be a webhook delivery id (whd_…)"))
		return
	}
	page, err := s.DB.WebhookDeliveries(r.Context(), merchantOf(r).Merchant.ID, after, limit+1)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := webhookDeliveryListJSON{Object: "list", Data: []webhookDeliveryJSON{}}
	if len(page) > limit {
		page, out.HasMore = page[:limit], true
	}
	for _, d := range page {
		out.Data = append(out.Data, toWebhookDeliveryJSON(d))
	}
	writeJSON(w, http.StatusOK, out)
}

// ownDelivery returns the caller's delivery the path names; another
// merchant's is not found, as is a malformed id.
func (s *Server) ownDelivery(r *http.Request) (store.WebhookDelivery, error) {
	notFound := agentpay.Errorf(agentpay.ENOTFOUND, "webhook_delivery_not_found", "webhook delivery not found")
	id := r.PathValue("id")
	if !strings.HasPrefix(id, "whd_") || !agentpay.ValidID(id) {
		return store.WebhookDelivery{}, notFound
	}
	d, err := s.DB.WebhookDelivery(r.Context(), id)
	if err != nil {
		return d, err
	}
	if d.MerchantID != merchantOf(r).Merchant.ID {
		return store.WebhookDelivery{}, notFound
	}
	return d, nil
}

func (s *Server) getWebhookDelivery(w http.ResponseWriter, r *http.Request) {
	d, err := s.ownDelivery(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toWebhookDeliveryJSON(d))
}

// redeliverWebhook is POST /v1/merchant/webhook/deliveries/{id}/redeliver:
// a new delivery of the same event (the same webhook-id) to the current
// endpoint, whatever became of the first.
func (s *Server) redeliverWebhook(r *http.Request, body []byte) (*store.Unit, func(store.Result) (int, any), error) {
	if err := decode(body, &struct{}{}); err != nil {
		return nil, nil, err
	}
	d, err := s.ownDelivery(r)
	if err != nil {
		return nil, nil, err
	}
	unit := &store.Unit{}
	nd, err := webhook.Redeliver(unit, d, merchantOf(r).Merchant, time.Now())
	if err != nil {
		return nil, nil, err
	}
	return unit, func(store.Result) (int, any) { return http.StatusCreated, toWebhookDeliveryJSON(nd) }, nil
}
