package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/agentpay/agentpay"
)

// MandatesTable holds mandates (versioned). Values of a Row, in order:
// id, kind, user_id, grant_id, merchant_id, categories (comma-separated),
// asset, per_payment_max, budget, period_unit, period_count, time_zone,
// starts_at, ends_at, description, status, approved_at, created_at,
// updated_at, version.
var MandatesTable = &Table{
	Name: "mandates",
	Key:  "id",
	Columns: []string{"id", "kind", "user_id", "grant_id", "merchant_id", "categories", "asset", "per_payment_max", "budget",
		"period_unit", "period_count", "time_zone", "starts_at", "ends_at", "description", "status", "approved_at", "created_at",
		"updated_at", "version"},
	Types:   []ColumnType{Text, Text, Text, Text, Text, Text, Text, Int, Int, Text, Int, Text, Int, Int, Text, Text, Int, Int, Int, Int},
	Version: "version",
}

const mandateColumns = `id, kind, user_id, grant_id, merchant_id, categories, asset, per_payment_max, budget, period_unit,
	period_count, time_zone, starts_at, ends_at, description, status, approved_at, created_at, updated_at, version`

// MandateRow returns the row that inserts a new mandate (version 1).
func MandateRow(m agentpay.Mandate) Row {
	return Row{Table: MandatesTable, Values: []any{m.ID, string(m.Kind), m.UserID, m.GrantID, m.MerchantID,
		strings.Join(m.Categories, ","), m.Asset, m.PerPaymentMax, m.Budget, string(m.Period.Unit), int64(m.Period.Count),
		m.TimeZone, m.StartsAt, m.EndsAt, m.Description, string(m.Status), m.ApprovedAt, m.CreatedAt, m.UpdatedAt, int64(1)}}
}

// MandateUpdate returns the versioned update of a mandate's status over
// the row as read (m.Row); the terms never change: new terms are a new
// mandate the user approves.
func MandateUpdate(m agentpay.Mandate) Update {
	return Update{Table: MandatesTable, Key: m.ID, Version: m.Row, Set: []string{"status", "approved_at", "updated_at"},
		Values: []any{string(m.Status), m.ApprovedAt, m.UpdatedAt}}
}

// Mandate returns a mandate; an unknown id is mandate_not_found.
func (db *DB) Mandate(ctx context.Context, id string) (agentpay.Mandate, error) {
	var m agentpay.Mandate
	var kind, categories, unit, status string
	var count int64
	err := db.reader.QueryRowContext(ctx, `SELECT `+mandateColumns+` FROM mandates WHERE id = $1`, id).Scan(&m.ID, &kind,
		&m.UserID, &m.GrantID, &m.MerchantID, &categories, &m.Asset, &m.PerPaymentMax, &m.Budget, &unit, &count, &m.TimeZone,
		&m.StartsAt, &m.EndsAt, &m.Description, &status, &m.ApprovedAt, &m.CreatedAt, &m.UpdatedAt, &m.Row)
	if errors.Is(err, sql.ErrNoRows) {
		return m, agentpay.Errorf(agentpay.ENOTFOUND, "mandate_not_found", "mandate not found")
	}
	if err != nil {
		return m, fmt.Errorf("store: mandate: %w", err)
	}
	m.Kind, m.Status = agentpay.MandateKind(kind), agentpay.MandateStatus(status)
	m.Period = agentpay.Interval{Unit: agentpay.IntervalUnit(unit), Count: int(count)}
	if categories != "" {
		m.Categories = strings.Split(categories, ",")
	}
	return m, nil
}

// MandateChargesTable records charges made once per key (insert only).
// Values: id (the key), mandate_id, payment_id, created_at.
var MandateChargesTable = &Table{
	Name:    "mandate_charges",
	Key:     "id",
	Columns: []string{"id", "mandate_id", "payment_id", "created_at"},
	Types:   []ColumnType{Text, Text, Text, Int},
}

// MandateChargeRow returns the row that records the charge of key.
func MandateChargeRow(key, mandateID, paymentID string, createdAt int64) Row {
	return Row{Table: MandateChargesTable, Values: []any{key, mandateID, paymentID, createdAt}}
}

// MandateCharge returns the payment charged under key, or "" if none was.
func (db *DB) MandateCharge(ctx context.Context, key string) (string, error) {
	var id string
	err := db.reader.QueryRowContext(ctx, `SELECT payment_id FROM mandate_charges WHERE id = $1`, key).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: mandate charge: %w", err)
	}
	return id, nil
}

// mandateEventData is what a mandate event says: ids, amounts and the
// status, never the user (the merchant knows the payer by the pseudonym of
// its charges) nor the proposer's description.
type mandateEventData struct {
	Mandate       string            `json:"mandate"`
	Kind          string            `json:"kind"`
	Status        string            `json:"status"`
	Merchant      string            `json:"merchant,omitempty"`
	Grant         string            `json:"grant,omitempty"`
	Asset         string            `json:"asset"`
	PerPaymentMax int64             `json:"per_payment_max"`
	Budget        int64             `json:"budget"`
	Period        agentpay.Interval `json:"period"`
}

// MandateEvent returns the event of a change of m to its status: object
// the mandate, seq the row's version the change writes (m.Row). Payments
// and linking, which both change mandates, write the same event.
func MandateEvent(m agentpay.Mandate, typ string, now time.Time) Event {
	data, err := json.Marshal(mandateEventData{Mandate: m.ID, Kind: string(m.Kind), Status: string(m.Status),
		Merchant: m.MerchantID, Grant: m.GrantID, Asset: m.Asset, PerPaymentMax: m.PerPaymentMax, Budget: m.Budget,
		Period: m.Period})
	if err != nil {
		panic("store: encode mandate event: " + err.Error()) // plain structs always encode
	}
	return Event{ID: agentpay.NewID("evt"), ObjectID: m.ID, MerchantID: m.MerchantID, UserID: m.UserID, Type: typ,
		Seq: m.Row, Data: string(data), CreatedAt: now.UnixMicro()}
}
