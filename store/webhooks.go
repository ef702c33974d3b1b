package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/agentpay/agentpay"
)

// Webhook delivery statuses.
const (
	WebhookPending   = "pending"   // not tried yet
	WebhookFailed    = "failed"    // tried and failed; retried at NextAttemptAt
	WebhookSucceeded = "succeeded" // the endpoint answered 2xx
	WebhookDead      = "dead"      // given up: retries ran out, or the endpoint is gone or disabled
)

// WebhookDeliveriesTable holds webhook deliveries; see WebhookDeliveryRow.
var WebhookDeliveriesTable = &Table{
	Name: "webhook_deliveries",
	Key:  "id",
	Columns: []string{"id", "event_id", "merchant_id", "url", "status", "attempts", "first_attempt_at",
		"next_attempt_at", "last_attempt_at", "last_status_code", "last_error", "claimed_by", "claimed_until",
		"created_at", "updated_at", "version"},
	Types:   []ColumnType{Text, Text, Text, Text, Text, Int, Int, Int, Int, Int, Text, Text, Int, Int, Int, Int},
	Version: "version",
}

// WebhookEndpointsTable holds the state of merchants' webhook endpoints
// beside the URL and secret on the merchant row; see WebhookEndpoint.
var WebhookEndpointsTable = &Table{
	Name: "webhook_endpoints",
	Key:  "merchant_id",
	Columns: []string{"merchant_id", "previous_secret", "previous_secret_expires_at", "failing_since", "disabled_at",
		"disabled_reason", "updated_at", "version"},
	Types:   []ColumnType{Text, Text, Int, Int, Int, Text, Int, Int},
	Version: "version",
}

// WebhookDelivery is one event to deliver to one merchant's endpoint.
// Times are microseconds since the Unix epoch; 0 means never.
type WebhookDelivery struct {
	ID             string // "whd_…"
	EventID        string // the webhook-id of every attempt
	MerchantID     string
	URL            string // where it was (or will first be) sent
	Status         string // WebhookPending, WebhookFailed, WebhookSucceeded or WebhookDead
	Attempts       int64
	FirstAttemptAt int64
	NextAttemptAt  int64 // when it is due, while pending or failed
	LastAttemptAt  int64
	LastStatusCode int64 // 0: no HTTP answer
	LastError      string
	ClaimedBy      string // the node delivering it, until ClaimedUntil
	ClaimedUntil   int64
	CreatedAt      int64
	UpdatedAt      int64
	Version        int64

	// Read with the delivery from its event, for the delivery log.
	EventType string
	ObjectID  string
	Seq       int64
}

// WebhookDeliveryRow returns the row that inserts a new delivery (version 1).
func WebhookDeliveryRow(d WebhookDelivery) Row {
	return Row{Table: WebhookDeliveriesTable, Values: []any{d.ID, d.EventID, d.MerchantID, d.URL, d.Status, d.Attempts,
		d.FirstAttemptAt, d.NextAttemptAt, d.LastAttemptAt, d.LastStatusCode, d.LastError, d.ClaimedBy, d.ClaimedUntil,
		d.CreatedAt, d.UpdatedAt, int64(1)}}
}

// WebhookDeliveryUpdate returns the versioned update that writes every
// mutable field of d over the row as read (d.Version).
func WebhookDeliveryUpdate(d WebhookDelivery) Update {
	return Update{Table: WebhookDeliveriesTable, Key: d.ID, Version: d.Version,
		Set: []string{"url", "status", "attempts", "first_attempt_at", "next_attempt_at", "last_attempt_at",
			"last_status_code", "last_error", "claimed_by", "claimed_until", "updated_at"},
		Values: []any{d.URL, d.Status, d.Attempts, d.FirstAttemptAt, d.NextAttemptAt, d.LastAttemptAt, d.LastStatusCode,
			d.LastError, d.ClaimedBy, d.ClaimedUntil, d.UpdatedAt}}
}

// WebhookEndpoint is the state of a merchant's webhook endpoint kept beside
// its URL and secret. Version 0 means there is no row yet: the endpoint is
// healthy, enabled and has no previous secret.
type WebhookEndpoint struct {
	MerchantID string
	// PreviousSecret still signs, beside the merchant's current secret,
	// until PreviousSecretExpiresAt: receivers switch secrets without a gap.
	PreviousSecret          string
	PreviousSecretExpiresAt int64
	FailingSince            int64 // the first failed attempt since the last success; 0: healthy
	DisabledAt              int64 // 0: enabled
	DisabledReason          string
	UpdatedAt               int64
	Version                 int64
}

// AddTo adds to u the write of e over the row as read at e.Version: an
// insert when there was no row, else a versioned update.
func (e WebhookEndpoint) AddTo(u *Unit) {
	if e.Version == 0 {
		u.Rows = append(u.Rows, Row{Table: WebhookEndpointsTable, Values: []any{e.MerchantID, e.PreviousSecret,
			e.PreviousSecretExpiresAt, e.FailingSince, e.DisabledAt, e.DisabledReason, e.UpdatedAt, int64(1)}})
		return
	}
	u.Updates = append(u.Updates, Update{Table: WebhookEndpointsTable, Key: e.MerchantID, Version: e.Version,
		Set: []string{"previous_secret", "previous_secret_expires_at", "failing_since", "disabled_at",
			"disabled_reason", "updated_at"},
		Values: []any{e.PreviousSecret, e.PreviousSecretExpiresAt, e.FailingSince, e.DisabledAt, e.DisabledReason,
			e.UpdatedAt}})
}

const webhookDeliveryColumns = `d.id, d.event_id, d.merchant_id, d.url, d.status, d.attempts, d.first_attempt_at,
	d.next_attempt_at, d.last_attempt_at, d.last_status_code, d.last_error, d.claimed_by, d.claimed_until,
	d.created_at, d.updated_at, d.version, COALESCE(e.type, ''), COALESCE(e.object_id, ''), COALESCE(e.seq, 0)`

const webhookDeliveryFrom = ` FROM webhook_deliveries d LEFT JOIN events e ON e.id = d.event_id `

func scanWebhookDelivery(row interface{ Scan(...any) error }) (WebhookDelivery, error) {
	var d WebhookDelivery
	err := row.Scan(&d.ID, &d.EventID, &d.MerchantID, &d.URL, &d.Status, &d.Attempts, &d.FirstAttemptAt,
		&d.NextAttemptAt, &d.LastAttemptAt, &d.LastStatusCode, &d.LastError, &d.ClaimedBy, &d.ClaimedUntil,
		&d.CreatedAt, &d.UpdatedAt, &d.Version, &d.EventType, &d.ObjectID, &d.Seq)
	return d, err
}

func (db *DB) webhookDeliveries(ctx context.Context, what, q string, args ...any) ([]WebhookDelivery, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT `+webhookDeliveryColumns+webhookDeliveryFrom+q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	defer rows.Close()
	var out []WebhookDelivery
	for rows.Next() {
		d, err := scanWebhookDelivery(rows)
		if err != nil {
			return nil, fmt.Errorf("store: %s: %w", what, err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// WebhookDelivery returns a delivery; an unknown id is not_found
// (webhook_delivery_not_found).
func (db *DB) WebhookDelivery(ctx context.Context, id string) (WebhookDelivery, error) {
	d, err := scanWebhookDelivery(db.reader.QueryRowContext(ctx,
		`SELECT `+webhookDeliveryColumns+webhookDeliveryFrom+`WHERE d.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return d, agentpay.Errorf(agentpay.ENOTFOUND, "webhook_delivery_not_found", "webhook delivery not found")
	}
	if err != nil {
		return d, fmt.Errorf("store: webhook delivery: %w", err)
	}
	return d, nil
}

// WebhookDeliveries returns a merchant's deliveries newest first (ids sort
// by creation), those older than the delivery id before if it is not "",
// at most limit.
func (db *DB) WebhookDeliveries(ctx context.Context, merchantID, before string, limit int) ([]WebhookDelivery, error) {
	if before == "" {
		return db.webhookDeliveries(ctx, "webhook deliveries", `WHERE d.merchant_id = $1 ORDER BY d.id DESC LIMIT $2`,
			merchantID, limit)
	}
	return db.webhookDeliveries(ctx, "webhook deliveries",
		`WHERE d.merchant_id = $1 AND d.id < $2 ORDER BY d.id DESC LIMIT $3`, merchantID, before, limit)
}

// DueWebhookDeliveries returns deliveries to attempt at now (microseconds):
// pending or failed, due, and not claimed by a node whose claim is still
// running; the longest waiting first, at most limit.
func (db *DB) DueWebhookDeliveries(ctx context.Context, now int64, limit int) ([]WebhookDelivery, error) {
	return db.webhookDeliveries(ctx, "due webhook deliveries", `WHERE d.status IN ('pending', 'failed')
		AND d.next_attempt_at <= $1 AND d.claimed_until <= $2 ORDER BY d.next_attempt_at LIMIT $3`, now, now, limit)
}

// WebhookEvent returns an event of the outbox; an unknown id is not_found
// (event_not_found).
func (db *DB) WebhookEvent(ctx context.Context, id string) (Event, error) {
	var e Event
	err := db.reader.QueryRowContext(ctx, `SELECT id, object_id, merchant_id, user_id, type, seq, data, created_at
		FROM events WHERE id = $1`, id).Scan(&e.ID, &e.ObjectID, &e.MerchantID, &e.UserID, &e.Type, &e.Seq, &e.Data,
		&e.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return e, agentpay.Errorf(agentpay.ENOTFOUND, "event_not_found", "event %s not found", id)
	}
	if err != nil {
		return e, fmt.Errorf("store: event: %w", err)
	}
	return e, nil
}

// DeleteOldWebhookDeliveries forgets deliveries that ended (succeeded or
// dead) before before (microseconds), at most limit of them; it returns
// how many. Units never touch a delivery once it has ended, so this writes
// outside the committer.
func (db *DB) DeleteOldWebhookDeliveries(ctx context.Context, before int64, limit int) (int64, error) {
	res, err := db.writer.ExecContext(ctx, `DELETE FROM webhook_deliveries WHERE id IN (
		SELECT id FROM webhook_deliveries WHERE status IN ('succeeded', 'dead') AND updated_at < $1 LIMIT $2)`,
		before, limit)
	if err != nil {
		return 0, fmt.Errorf("store: forget webhook deliveries: %w", err)
	}
	return res.RowsAffected()
}
