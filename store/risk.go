package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// RiskDecisionsTable holds every risk decision (insert only). Values: id,
// payment_id, payment_version, stage, outcome, reasons_json, signals_json,
// rules_version, created_at.
var RiskDecisionsTable = &Table{
	Name:    "risk_decisions",
	Key:     "id",
	Columns: []string{"id", "payment_id", "payment_version", "stage", "outcome", "reasons_json", "signals_json", "rules_version", "created_at"},
	Types:   []ColumnType{Text, Text, Int, Text, Text, Text, Text, Int, Int},
}

// RiskRulesTable holds the rule sets, one row per version (insert only).
// Its key is RiskRulesID(version), so two operators saving version n at
// once cannot both succeed.
var RiskRulesTable = &Table{
	Name:    "risk_rules",
	Key:     "id",
	Columns: []string{"id", "version", "text", "created_at"},
	Types:   []ColumnType{Text, Int, Text, Int},
}

// RiskRulesID is the key of a rule set's version.
func RiskRulesID(version int64) string { return fmt.Sprintf("rules_%012d", version) }

// RiskDecision is a stored decision; Reasons and Signals are JSON.
type RiskDecision struct {
	ID             string // "rsk_…"
	PaymentID      string
	PaymentVersion int64
	Stage          string // "create" or "approve"
	Outcome        string
	Reasons        string
	Signals        string
	RulesVersion   int64
	CreatedAt      int64
}

// Row returns the row that inserts d.
func (d RiskDecision) Row() Row {
	return Row{Table: RiskDecisionsTable, Values: []any{d.ID, d.PaymentID, d.PaymentVersion, d.Stage, d.Outcome, d.Reasons,
		d.Signals, d.RulesVersion, d.CreatedAt}}
}

// RiskDecisionsMax bounds the decisions listed for one payment.
const RiskDecisionsMax = 100

// RiskDecisions returns a payment's decisions, oldest first.
func (db *DB) RiskDecisions(ctx context.Context, paymentID string) ([]RiskDecision, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT id, payment_id, payment_version, stage, outcome, reasons_json, signals_json,
		rules_version, created_at FROM risk_decisions WHERE payment_id = $1 ORDER BY created_at, id LIMIT $2`, paymentID, RiskDecisionsMax)
	if err != nil {
		return nil, fmt.Errorf("store: risk decisions: %w", err)
	}
	defer rows.Close()
	var out []RiskDecision
	for rows.Next() {
		var d RiskDecision
		if err := rows.Scan(&d.ID, &d.PaymentID, &d.PaymentVersion, &d.Stage, &d.Outcome, &d.Reasons, &d.Signals,
			&d.RulesVersion, &d.CreatedAt); err != nil {
			return nil, fmt.Errorf("store: risk decisions: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// RiskRules is a stored rule set.
type RiskRules struct {
	Version   int64
	Text      string
	CreatedAt int64
}

// Row returns the row that inserts r.
func (r RiskRules) Row() Row {
	return Row{Table: RiskRulesTable, Values: []any{RiskRulesID(r.Version), r.Version, r.Text, r.CreatedAt}}
}

// LatestRiskRules returns the newest rule set; found is false if none was
// ever saved.
func (db *DB) LatestRiskRules(ctx context.Context) (r RiskRules, found bool, err error) {
	err = db.reader.QueryRowContext(ctx, `SELECT version, text, created_at FROM risk_rules ORDER BY version DESC LIMIT 1`).
		Scan(&r.Version, &r.Text, &r.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return r, false, nil
	}
	if err != nil {
		return r, false, fmt.Errorf("store: risk rules: %w", err)
	}
	return r, true, nil
}
