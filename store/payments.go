package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/agentpay/agentpay"
)

// PaymentsTable holds payments; see PaymentRow for the values.
var PaymentsTable = &Table{
	Name: "payments",
	Key:  "id",
	Columns: []string{"id", "order_version", "status", "user_id", "grant_id", "agent_key_id", "merchant_id", "mandate_id", "asset",
		"order_json", "subtotal", "tax", "shipping", "fees", "tip", "total", "authorized", "captured", "refunded",
		"hold_id", "shared", "cancel_reason", "canceled_by", "decline_code", "approval_expires_at",
		"capture_expires_at", "approved_at", "created_at", "updated_at", "version"},
	Types: []ColumnType{Text, Int, Text, Text, Text, Text, Text, Text, Text, Text, Int, Int, Int, Int, Int, Int, Int, Int, Int,
		Text, Text, Text, Text, Text, Int, Int, Int, Int, Int, Int},
	Version: "version",
}

// RefundsTable holds refunds (insert only). Values: id, payment_id,
// merchant_id, amount, asset, transfer_id, reason, created_at.
var RefundsTable = &Table{
	Name:    "refunds",
	Key:     "id",
	Columns: []string{"id", "payment_id", "merchant_id", "amount", "asset", "transfer_id", "reason", "created_at"},
	Types:   []ColumnType{Text, Text, Text, Int, Text, Text, Text, Int},
}

// PaymentSharesTable holds what a user shared with a payment's merchant
// (insert only). Values: payment_id, name, email, created_at.
var PaymentSharesTable = &Table{
	Name:    "payment_shares",
	Key:     "payment_id",
	Columns: []string{"payment_id", "name", "email", "created_at"},
	Types:   []ColumnType{Text, Text, Text, Int},
}

// SpendCountersTable holds spending per period. Values: id, amount, version.
var SpendCountersTable = &Table{
	Name:    "spend_counters",
	Key:     "id",
	Columns: []string{"id", "amount", "version"},
	Types:   []ColumnType{Text, Int, Int},
	Version: "version",
}

// EventsTable is the outbox (insert only). Values: id, object_id,
// merchant_id, user_id, type, seq, data (JSON), created_at.
var EventsTable = &Table{
	Name:    "events",
	Key:     "id",
	Columns: []string{"id", "object_id", "merchant_id", "user_id", "type", "seq", "data", "created_at"},
	Types:   []ColumnType{Text, Text, Text, Text, Text, Int, Text, Int},
}

// orderJSON is what of an order is stored as JSON.
type orderJSON struct {
	Items       []agentpay.LineItem `json:"items"`
	Description string              `json:"description"`
	Purpose     string              `json:"purpose"`
}

func encodeOrder(o agentpay.Order) string {
	b, err := json.Marshal(orderJSON{Items: o.Items, Description: o.Description, Purpose: o.Purpose})
	if err != nil {
		panic(fmt.Sprintf("store: encode order: %v", err)) // plain structs always encode
	}
	return string(b)
}

// PaymentRow returns the row that inserts a new payment (row version 1).
func PaymentRow(p agentpay.Payment) Row {
	t := p.Totals
	return Row{Table: PaymentsTable, Values: []any{p.ID, p.Version, string(p.Status), p.UserID, p.GrantID, p.AgentKeyID,
		p.MerchantID, p.MandateID, p.Asset, encodeOrder(p.Order), t.Subtotal, t.Tax, t.Shipping, t.Fees, t.Tip, t.Total,
		p.Authorized, p.Captured, p.Refunded, p.HoldID, strings.Join(p.Shared, ","), p.CancelReason,
		string(p.CanceledBy), p.DeclineCode, p.ApprovalExpiresAt, p.CaptureExpiresAt, p.ApprovedAt, p.CreatedAt,
		p.UpdatedAt, int64(1)}}
}

// PaymentUpdate returns the versioned update that writes every mutable
// field of p over the row as read (p.Row is the version read).
func PaymentUpdate(p agentpay.Payment) Update {
	t := p.Totals
	return Update{Table: PaymentsTable, Key: p.ID, Version: p.Row,
		Set: []string{"order_version", "status", "order_json", "subtotal", "tax", "shipping", "fees", "tip", "total",
			"authorized", "captured", "refunded", "hold_id", "shared", "cancel_reason", "canceled_by", "decline_code",
			"approval_expires_at", "capture_expires_at", "approved_at", "updated_at"},
		Values: []any{p.Version, string(p.Status), encodeOrder(p.Order), t.Subtotal, t.Tax, t.Shipping, t.Fees, t.Tip,
			t.Total, p.Authorized, p.Captured, p.Refunded, p.HoldID, strings.Join(p.Shared, ","), p.CancelReason,
			string(p.CanceledBy), p.DeclineCode, p.ApprovalExpiresAt, p.CaptureExpiresAt, p.ApprovedAt, p.UpdatedAt}}
}

const paymentColumns = `id, order_version, status, user_id, grant_id, agent_key_id, merchant_id, mandate_id, asset, order_json,
	subtotal, tax, shipping, fees, tip, total, authorized, captured, refunded, hold_id, shared, cancel_reason,
	canceled_by, decline_code, approval_expires_at, capture_expires_at, approved_at, created_at, updated_at, version`

func scanPayment(row interface{ Scan(...any) error }) (agentpay.Payment, error) {
	var p agentpay.Payment
	var status, order, shared, canceledBy string
	t := &p.Totals
	err := row.Scan(&p.ID, &p.Version, &status, &p.UserID, &p.GrantID, &p.AgentKeyID, &p.MerchantID, &p.MandateID, &p.Asset, &order,
		&t.Subtotal, &t.Tax, &t.Shipping, &t.Fees, &t.Tip, &t.Total, &p.Authorized, &p.Captured, &p.Refunded,
		&p.HoldID, &shared, &p.CancelReason, &canceledBy, &p.DeclineCode, &p.ApprovalExpiresAt, &p.CaptureExpiresAt,
		&p.ApprovedAt, &p.CreatedAt, &p.UpdatedAt, &p.Row)
	if err != nil {
		return p, err
	}
	var o orderJSON
	if err := json.Unmarshal([]byte(order), &o); err != nil {
		return p, fmt.Errorf("store: payment %s order: %w", p.ID, err)
	}
	p.Items, p.Description, p.Purpose = o.Items, o.Description, o.Purpose
	p.Status, p.CanceledBy = agentpay.PaymentStatus(status), agentpay.Actor(canceledBy)
	if shared != "" {
		p.Shared = strings.Split(shared, ",")
	}
	return p, nil
}

// Payment returns a payment; an unknown id is not_found (payment_not_found).
func (db *DB) Payment(ctx context.Context, id string) (agentpay.Payment, error) {
	p, err := scanPayment(db.reader.QueryRowContext(ctx, `SELECT `+paymentColumns+` FROM payments WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return p, agentpay.Errorf(agentpay.ENOTFOUND, "payment_not_found", "payment not found")
	}
	if err != nil {
		return p, fmt.Errorf("store: payment: %w", err)
	}
	return p, nil
}

// PaymentPage selects payments newest first: of one owner column
// (grant_id, user_id or merchant_id), created before Before (a payment id
// to continue after; "" for the newest), at most Limit.
type PaymentPage struct {
	Owner  string // "grant_id", "user_id", "merchant_id" or "status"
	ID     string
	Before string
	Limit  int
}

// Payments lists payments by PaymentPage.
func (db *DB) Payments(ctx context.Context, q PaymentPage) ([]agentpay.Payment, error) {
	switch q.Owner {
	case "grant_id", "user_id", "merchant_id", "status":
	default:
		return nil, fmt.Errorf("store: payments by %q", q.Owner)
	}
	query := `SELECT ` + paymentColumns + ` FROM payments WHERE ` + q.Owner + ` = $1`
	args := []any{q.ID}
	if q.Before != "" {
		// Ids sort by creation time (agentpay.NewID), so the id alone pages.
		query += ` AND id < $2 ORDER BY id DESC LIMIT $3`
		args = append(args, q.Before, q.Limit)
	} else {
		query += ` ORDER BY id DESC LIMIT $2`
		args = append(args, q.Limit)
	}
	rows, err := db.reader.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: payments: %w", err)
	}
	defer rows.Close()
	var out []agentpay.Payment
	for rows.Next() {
		p, err := scanPayment(rows)
		if err != nil {
			return nil, fmt.Errorf("store: payments: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// DuePayments returns up to limit payments in status whose deadline column
// (approval_expires_at or capture_expires_at) is at or before now.
func (db *DB) DuePayments(ctx context.Context, status agentpay.PaymentStatus, column string, now int64, limit int) ([]agentpay.Payment, error) {
	if column != "approval_expires_at" && column != "capture_expires_at" {
		return nil, fmt.Errorf("store: due payments by %q", column)
	}
	rows, err := db.reader.QueryContext(ctx, `SELECT `+paymentColumns+` FROM payments WHERE status = $1 AND `+column+
		` <= $2 ORDER BY `+column+` LIMIT $3`, string(status), now, limit)
	if err != nil {
		return nil, fmt.Errorf("store: due payments: %w", err)
	}
	defer rows.Close()
	var out []agentpay.Payment
	for rows.Next() {
		p, err := scanPayment(rows)
		if err != nil {
			return nil, fmt.Errorf("store: due payments: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// Refund is a stored refund.
type Refund struct {
	ID, PaymentID, MerchantID string
	Amount                    int64
	Asset                     string
	TransferID, Reason        string
	CreatedAt                 int64
}

// Row returns the refund as a row to insert.
func (r Refund) Row() Row {
	return Row{Table: RefundsTable, Values: []any{r.ID, r.PaymentID, r.MerchantID, r.Amount, r.Asset, r.TransferID,
		r.Reason, r.CreatedAt}}
}

// Refunds returns a payment's refunds, oldest first (at most
// agentpay.PaymentRefundsMax exist).
func (db *DB) Refunds(ctx context.Context, paymentID string) ([]Refund, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT id, payment_id, merchant_id, amount, asset, transfer_id, reason, created_at
		FROM refunds WHERE payment_id = $1 ORDER BY created_at, id LIMIT $2`, paymentID, agentpay.PaymentRefundsMax)
	if err != nil {
		return nil, fmt.Errorf("store: refunds: %w", err)
	}
	defer rows.Close()
	var out []Refund
	for rows.Next() {
		var r Refund
		if err := rows.Scan(&r.ID, &r.PaymentID, &r.MerchantID, &r.Amount, &r.Asset, &r.TransferID, &r.Reason, &r.CreatedAt); err != nil {
			return nil, fmt.Errorf("store: refunds: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// PaymentShare is what a user shared with a payment's merchant.
type PaymentShare struct {
	PaymentID, Name, Email string
	CreatedAt              int64
}

// Row returns the share as a row to insert.
func (s PaymentShare) Row() Row {
	return Row{Table: PaymentSharesTable, Values: []any{s.PaymentID, s.Name, s.Email, s.CreatedAt}}
}

// PaymentShareOf returns what was shared for a payment; ok is false when
// nothing was.
func (db *DB) PaymentShareOf(ctx context.Context, paymentID string) (PaymentShare, bool, error) {
	var s PaymentShare
	err := db.reader.QueryRowContext(ctx, `SELECT payment_id, name, email, created_at FROM payment_shares WHERE payment_id = $1`,
		paymentID).Scan(&s.PaymentID, &s.Name, &s.Email, &s.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return s, false, nil
	}
	if err != nil {
		return s, false, fmt.Errorf("store: payment share: %w", err)
	}
	return s, true, nil
}

// SpendCounter is spending in one period, as read.
type SpendCounter struct {
	ID      string
	Amount  int64
	Version int64 // 0: no row yet
}

// SpendCounters reads counters by id, in one query; missing ones come back
// with version 0.
func (db *DB) SpendCounters(ctx context.Context, ids ...string) ([]SpendCounter, error) {
	out := make([]SpendCounter, len(ids))
	index := make(map[string]int, len(ids))
	args := make([]any, len(ids))
	marks := make([]string, len(ids))
	for i, id := range ids {
		out[i].ID = id
		index[id] = i
		args[i] = id
		marks[i] = fmt.Sprintf("$%d", i+1)
	}
	rows, err := db.reader.QueryContext(ctx, `SELECT id, amount, version FROM spend_counters WHERE id IN (`+strings.Join(marks, ", ")+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: spend counters: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c SpendCounter
		if err := rows.Scan(&c.ID, &c.Amount, &c.Version); err != nil {
			return nil, fmt.Errorf("store: spend counters: %w", err)
		}
		if i, ok := index[c.ID]; ok {
			out[i] = c
		}
	}
	return out, rows.Err()
}

// Add returns what adds amount to the counter in a unit: an insert for a
// counter without a row (a concurrent insert fails the unit with
// already_exists), else a versioned update.
func (c SpendCounter) Add(u *Unit, amount int64) {
	if c.Version == 0 {
		u.Rows = append(u.Rows, Row{Table: SpendCountersTable, Values: []any{c.ID, amount, int64(1)}})
		return
	}
	u.Updates = append(u.Updates, Update{Table: SpendCountersTable, Key: c.ID, Version: c.Version,
		Set: []string{"amount"}, Values: []any{c.Amount + amount}})
}

// Event is an outbox entry.
type Event struct {
	ID         string // "evt_…"
	ObjectID   string // the payment
	MerchantID string
	UserID     string
	Type       string // e.g. payment.authorized
	Seq        int64  // per object, increasing
	Data       string // JSON: ids, amounts, statuses; never personal data
	CreatedAt  int64
}

// Row returns the event as a row to insert.
func (e Event) Row() Row {
	return Row{Table: EventsTable, Values: []any{e.ID, e.ObjectID, e.MerchantID, e.UserID, e.Type, e.Seq, e.Data, e.CreatedAt}}
}

const eventColumns = `id, object_id, merchant_id, user_id, type, seq, data, created_at`

func scanEvents(rows *sql.Rows) ([]Event, error) {
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		if err := rows.Scan(&e.ID, &e.ObjectID, &e.MerchantID, &e.UserID, &e.Type, &e.Seq, &e.Data, &e.CreatedAt); err != nil {
			return nil, fmt.Errorf("store: events: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// EventsOf returns an object's events in order, at most limit.
func (db *DB) EventsOf(ctx context.Context, objectID string, limit int) ([]Event, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT `+eventColumns+` FROM events WHERE object_id = $1 ORDER BY seq LIMIT $2`,
		objectID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: events: %w", err)
	}
	return scanEvents(rows)
}

// Event returns one event; an unknown id is not_found (event_not_found).
func (db *DB) Event(ctx context.Context, id string) (Event, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT `+eventColumns+` FROM events WHERE id = $1`, id)
	if err != nil {
		return Event{}, fmt.Errorf("store: event: %w", err)
	}
	list, err := scanEvents(rows)
	if err != nil {
		return Event{}, err
	}
	if len(list) == 0 {
		return Event{}, agentpay.Errorf(agentpay.ENOTFOUND, "event_not_found", "event not found")
	}
	return list[0], nil
}

// AgentNameOfGrant returns the name the agent gave itself when it linked
// the grant (unverified), or "" for a grant without a link.
func (db *DB) AgentNameOfGrant(ctx context.Context, grantID string) (string, error) {
	var name string
	err := db.reader.QueryRowContext(ctx, `SELECT agent_name FROM agent_links WHERE grant_id = $1`, grantID).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: agent name: %w", err)
	}
	return name, nil
}
