// Package webhook delivers the outbox to merchants: every event of a
// merchant's payment goes to its endpoint at least once, signed per the
// Standard Webhooks specification (https://www.standardwebhooks.com/).
//
// Enqueue adds a delivery row to the unit of work that writes the event, so
// an event is delivered if and only if it committed. A Dispatcher on every
// node claims due deliveries (a versioned update of each row: claimed_by,
// claimed_until), posts them through a Client that refuses private,
// loopback and link-local destinations at connect time, and records the
// outcome: success, a retry with exponential backoff and jitter, or death
// after three days. An endpoint that has not had a single successful
// delivery for three days while its attempts kept failing is disabled, and
// a "webhook_endpoint.disabled" event is written for the merchant.
//
// Every attempt of one event carries the same webhook-id (the event id),
// and the body carries the event's per-object sequence number, so receivers
// can drop duplicates and put events of one object in order.
package webhook
