package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/agentpay/agentpay"
)

// TipsTable marks the payments that are tips (insert only). Values of a
// Row, in order: id (the payment's id), grant_id, user_id, merchant_id,
// amount, asset, note, auto_approved (0 or 1), mandate_id, created_at.
var TipsTable = &Table{
	Name:    "tips",
	Key:     "id",
	Columns: []string{"id", "grant_id", "user_id", "merchant_id", "amount", "asset", "note", "auto_approved", "mandate_id", "created_at"},
	Types:   []ColumnType{Text, Text, Text, Text, Int, Text, Text, Int, Text, Int},
}

// Tip is a tip an agent gave: a payment (PaymentID) with its note. Status
// is the payment's status as read with it.
type Tip struct {
	PaymentID    string
	GrantID      string
	UserID       string
	MerchantID   string
	Amount       int64
	Asset        string
	Note         string
	AutoApproved bool   // charged under MandateID without a tap
	MandateID    string // the tips mandate it was charged under; "" for an ordinary approval request
	CreatedAt    int64
	Status       agentpay.PaymentStatus
}

// TipRow returns the row that records t; the payments row is the
// payment's own, written in the same unit.
func TipRow(t Tip) Row {
	auto := int64(0)
	if t.AutoApproved {
		auto = 1
	}
	return Row{Table: TipsTable, Values: []any{t.PaymentID, t.GrantID, t.UserID, t.MerchantID, t.Amount, t.Asset, t.Note,
		auto, t.MandateID, t.CreatedAt}}
}

const tipColumns = `t.id, t.grant_id, t.user_id, t.merchant_id, t.amount, t.asset, t.note, t.auto_approved, t.mandate_id,
	t.created_at, p.status`

func scanTip(row interface{ Scan(...any) error }) (Tip, error) {
	var t Tip
	var auto int64
	var status string
	err := row.Scan(&t.PaymentID, &t.GrantID, &t.UserID, &t.MerchantID, &t.Amount, &t.Asset, &t.Note, &auto, &t.MandateID,
		&t.CreatedAt, &status)
	t.AutoApproved, t.Status = auto == 1, agentpay.PaymentStatus(status)
	return t, err
}

// Tip returns the tip of a payment; found is false if the payment is not
// a tip.
func (db *DB) Tip(ctx context.Context, paymentID string) (t Tip, found bool, err error) {
	t, err = scanTip(db.reader.QueryRowContext(ctx, `SELECT `+tipColumns+` FROM tips t JOIN payments p ON p.id = t.id
		WHERE t.id = $1`, paymentID))
	if errors.Is(err, sql.ErrNoRows) {
		return t, false, nil
	}
	if err != nil {
		return t, false, fmt.Errorf("store: tip: %w", err)
	}
	return t, true, nil
}

// TipPage selects tips newest first: those whose Owner column (grant_id,
// user_id or merchant_id) is ID, older than the payment Before ("" for
// the newest), at most Limit.
type TipPage struct {
	Owner  string
	ID     string
	Before string
	Limit  int
}

// Tips lists tips by TipPage, each with its payment's status.
func (db *DB) Tips(ctx context.Context, q TipPage) ([]Tip, error) {
	switch q.Owner {
	case "grant_id", "user_id", "merchant_id":
	default:
		return nil, fmt.Errorf("store: tips by %q", q.Owner)
	}
	query := `SELECT ` + tipColumns + ` FROM tips t JOIN payments p ON p.id = t.id WHERE t.` + q.Owner + ` = $1`
	args := []any{q.ID}
	if q.Before != "" {
		// Ids sort by creation time (agentpay.NewID), so the id alone pages.
		query += ` AND t.id < $2 ORDER BY t.id DESC LIMIT $3`
		args = append(args, q.Before, q.Limit)
	} else {
		query += ` ORDER BY t.id DESC LIMIT $2`
		args = append(args, q.Limit)
	}
	rows, err := db.reader.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: tips: %w", err)
	}
	defer rows.Close()
	var out []Tip
	for rows.Next() {
		t, err := scanTip(rows)
		if err != nil {
			return nil, fmt.Errorf("store: tips: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// ActiveTipsMandates returns the active tips mandates userID approved for
// grantID, newest first, at most limit. Status is checked again by the
// charge's unit (the mandate's version), so one paused after this read
// still cannot be charged.
func (db *DB) ActiveTipsMandates(ctx context.Context, userID, grantID string, limit int) ([]agentpay.Mandate, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT id FROM mandates WHERE grant_id = $1 AND user_id = $2 AND kind = $3
		AND status = $4 ORDER BY created_at DESC, id DESC LIMIT $5`,
		grantID, userID, string(agentpay.MandateTips), string(agentpay.MandateActive), limit)
	if err != nil {
		return nil, fmt.Errorf("store: tips mandates: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: tips mandates: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: tips mandates: %w", err)
	}
	// Read one by one after the list is closed: a few rows, and the
	// mandate's reading stays in one place (Mandate).
	out := make([]agentpay.Mandate, 0, len(ids))
	for _, id := range ids {
		m, err := db.Mandate(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}
