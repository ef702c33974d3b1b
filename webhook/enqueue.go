package webhook

import (
	"slices"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
)

// Topic is the bus topic woken when a unit enqueues deliveries, so that
// dispatchers deliver at once instead of at their next poll.
const Topic = "webhooks"

// Enqueue adds to u, the unit of work that writes event e of merchant m,
// the delivery of e to m's webhook endpoint: nothing if m has no endpoint
// or it is disabled. It does no I/O: m is the merchant as the caller read
// it (store.DB.Merchant reads its endpoint state with it).
//
// An endpoint disabled after m was read still gets the row; the dispatcher
// finds the endpoint disabled and ends the delivery without sending it.
func Enqueue(u *store.Unit, e store.Event, m store.StoredMerchant, now time.Time) {
	if m.WebhookURL == "" || m.Webhook.DisabledAt != 0 {
		return
	}
	u.Rows = append(u.Rows, store.WebhookDeliveryRow(newDelivery(e.ID, m, now)))
	if !slices.Contains(u.Notify, Topic) {
		u.Notify = append(u.Notify, Topic)
	}
}

// Redeliver adds to u a new delivery of the event of delivery d to m's
// current endpoint: the same event, so the same webhook-id, and a fresh
// retry schedule. It returns the new delivery. An endpoint that is not set
// or disabled is a conflict: setting the URL again re-enables it.
func Redeliver(u *store.Unit, d store.WebhookDelivery, m store.StoredMerchant, now time.Time) (store.WebhookDelivery, error) {
	if m.WebhookURL == "" {
		return store.WebhookDelivery{}, agentpay.Errorf(agentpay.ECONFLICT, "no_webhook_endpoint",
			"set a webhook url before redelivering")
	}
	if m.Webhook.DisabledAt != 0 {
		return store.WebhookDelivery{}, agentpay.Errorf(agentpay.ECONFLICT, "webhook_endpoint_disabled",
			"the webhook endpoint is disabled; set its url again (POST /v1/merchant/webhook) to re-enable it")
	}
	nd := newDelivery(d.EventID, m, now)
	nd.EventType, nd.ObjectID, nd.Seq = d.EventType, d.ObjectID, d.Seq
	u.Rows = append(u.Rows, store.WebhookDeliveryRow(nd))
	u.Notify = append(u.Notify, Topic)
	return nd, nil
}

func newDelivery(eventID string, m store.StoredMerchant, now time.Time) store.WebhookDelivery {
	us := now.UnixMicro()
	return store.WebhookDelivery{ID: agentpay.NewID("whd"), EventID: eventID, MerchantID: m.ID, URL: m.WebhookURL,
		Status: store.WebhookPending, NextAttemptAt: us, CreatedAt: us, UpdatedAt: us, Version: 1}
}
