package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/agentpay/agentpay"
)

// ClaimsTable holds users' claims on captured payments (package
// compensation), changed by versioned updates; see ClaimRow.
var ClaimsTable = &Table{
	Name: "claims",
	Key:  "id",
	Columns: []string{"id", "payment_id", "user_id", "merchant_id", "agent_key_id", "grant_id", "kind", "status",
		"amount", "asset", "description", "decision_code", "decision_note", "decided_by", "recovered", "debt",
		"reimbursement_transfer_id", "recovery_transfer_id", "evidence_json", "created_at", "decided_at", "updated_at",
		"version"},
	Types: []ColumnType{Text, Text, Text, Text, Text, Text, Text, Text, Int, Text, Text, Text, Text, Text, Int, Int,
		Text, Text, Text, Int, Int, Int, Int},
	Version: "version",
}

// ClaimSlotsTable makes "at most one claim per payment that is not denied"
// a key the committer checks (insert only): the n-th claim of a payment
// (from 0) takes the slot "payment_id:n", and is only filed when the n
// claims before it were all denied. Two filings racing for one payment
// take the same slot, so one of them fails. Values: id, claim_id,
// created_at.
var ClaimSlotsTable = &Table{
	Name:    "claim_slots",
	Key:     "id",
	Columns: []string{"id", "claim_id", "created_at"},
	Types:   []ColumnType{Text, Text, Int},
}

// Claim is a user's claim on a captured payment. Amounts are minor units
// of Asset; times are microseconds (0: not yet).
type Claim struct {
	ID, PaymentID, UserID, MerchantID, AgentKeyID, GrantID string
	Kind, Status                                           string
	Amount                                                 int64 // what the user is owed: captured − refunded at filing
	Asset                                                  string
	Description                                            string // the user's words
	DecisionCode, DecisionNote, DecidedBy                  string
	// Recovered is what the merchant paid back into the protection fund;
	// Debt what it still owes on this claim.
	Recovered, Debt                             int64
	ReimbursementTransferID, RecoveryTransferID string
	EvidenceJSON                                string // what the adjudication looked at
	CreatedAt, DecidedAt, UpdatedAt             int64
	Version                                     int64
}

// ClaimRow returns the row that inserts a new claim (version 1).
func ClaimRow(c Claim) Row {
	return Row{Table: ClaimsTable, Values: []any{c.ID, c.PaymentID, c.UserID, c.MerchantID, c.AgentKeyID, c.GrantID,
		c.Kind, c.Status, c.Amount, c.Asset, c.Description, c.DecisionCode, c.DecisionNote, c.DecidedBy, c.Recovered,
		c.Debt, c.ReimbursementTransferID, c.RecoveryTransferID, c.EvidenceJSON, c.CreatedAt, c.DecidedAt, c.UpdatedAt,
		int64(1)}}
}

// ClaimUpdate returns the versioned update that writes every mutable field
// of c over the row as read (c.Version is the version read).
func ClaimUpdate(c Claim) Update {
	return Update{Table: ClaimsTable, Key: c.ID, Version: c.Version,
		Set: []string{"status", "amount", "decision_code", "decision_note", "decided_by", "recovered", "debt",
			"reimbursement_transfer_id", "recovery_transfer_id", "evidence_json", "decided_at", "updated_at"},
		Values: []any{c.Status, c.Amount, c.DecisionCode, c.DecisionNote, c.DecidedBy, c.Recovered, c.Debt,
			c.ReimbursementTransferID, c.RecoveryTransferID, c.EvidenceJSON, c.DecidedAt, c.UpdatedAt}}
}

// ClaimSlotRow returns the row that takes the n-th claim slot of a
// payment for claimID.
func ClaimSlotRow(paymentID string, n int, claimID string, createdAt int64) Row {
	return Row{Table: ClaimSlotsTable, Values: []any{paymentID + ":" + strconv.Itoa(n), claimID, createdAt}}
}

const claimColumns = `id, payment_id, user_id, merchant_id, agent_key_id, grant_id, kind, status, amount, asset,
	description, decision_code, decision_note, decided_by, recovered, debt, reimbursement_transfer_id,
	recovery_transfer_id, evidence_json, created_at, decided_at, updated_at, version`

func scanClaim(row interface{ Scan(...any) error }) (Claim, error) {
	var c Claim
	err := row.Scan(&c.ID, &c.PaymentID, &c.UserID, &c.MerchantID, &c.AgentKeyID, &c.GrantID, &c.Kind, &c.Status,
		&c.Amount, &c.Asset, &c.Description, &c.DecisionCode, &c.DecisionNote, &c.DecidedBy, &c.Recovered, &c.Debt,
		&c.ReimbursementTransferID, &c.RecoveryTransferID, &c.EvidenceJSON, &c.CreatedAt, &c.DecidedAt, &c.UpdatedAt,
		&c.Version)
	return c, err
}

func scanClaims(rows *sql.Rows, err error) ([]Claim, error) {
	if err != nil {
		return nil, fmt.Errorf("store: claims: %w", err)
	}
	defer rows.Close()
	var out []Claim
	for rows.Next() {
		c, err := scanClaim(rows)
		if err != nil {
			return nil, fmt.Errorf("store: claims: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Claim returns a claim; an unknown id is not_found (claim_not_found).
func (db *DB) Claim(ctx context.Context, id string) (Claim, error) {
	c, err := scanClaim(db.reader.QueryRowContext(ctx, `SELECT `+claimColumns+` FROM claims WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, agentpay.Errorf(agentpay.ENOTFOUND, "claim_not_found", "claim not found")
	}
	if err != nil {
		return c, fmt.Errorf("store: claim: %w", err)
	}
	return c, nil
}

// ClaimsPerPaymentMax bounds the claims of one payment: each but the last
// was denied, so a few at most.
const ClaimsPerPaymentMax = 100

// ClaimsOfPayment returns a payment's claims, oldest first.
func (db *DB) ClaimsOfPayment(ctx context.Context, paymentID string) ([]Claim, error) {
	return scanClaims(db.reader.QueryContext(ctx, `SELECT `+claimColumns+` FROM claims WHERE payment_id = $1
		ORDER BY created_at, id LIMIT $2`, paymentID, ClaimsPerPaymentMax))
}

// ClaimPage selects claims newest first: those whose Owner column
// (user_id, merchant_id, payment_id or status) is ID, after the claim
// StartingAfter ("" for the newest), at most Limit.
type ClaimPage struct {
	Owner         string
	ID            string
	StartingAfter string
	Limit         int
}

// Claims lists claims by ClaimPage. A StartingAfter claim that does not
// exist or is not in the list is invalid_cursor.
func (db *DB) Claims(ctx context.Context, q ClaimPage) ([]Claim, error) {
	switch q.Owner {
	case "user_id", "merchant_id", "payment_id", "status":
	default:
		return nil, fmt.Errorf("store: claims by %q", q.Owner)
	}
	query := `SELECT ` + claimColumns + ` FROM claims WHERE ` + q.Owner + ` = $1`
	args := []any{q.ID}
	if q.StartingAfter != "" {
		// Ordered by (created_at, id), as the indexes are: the cursor
		// claim's own creation time continues the list. The cursor must
		// be of the list, except in a status list (the operators'), which
		// a claim leaves when it is decided while the list is paged.
		var createdAt int64
		cursor, cursorArgs := `SELECT created_at FROM claims WHERE id = $1 AND `+q.Owner+` = $2`, []any{q.StartingAfter, q.ID}
		if q.Owner == "status" {
			cursor, cursorArgs = `SELECT created_at FROM claims WHERE id = $1`, []any{q.StartingAfter}
		}
		err := db.reader.QueryRowContext(ctx, cursor, cursorArgs...).Scan(&createdAt)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, agentpay.ParamErrorf("starting_after", "invalid_cursor", "starting_after names no claim of this list")
		}
		if err != nil {
			return nil, fmt.Errorf("store: claims: %w", err)
		}
		query += ` AND (created_at < $2 OR (created_at = $2 AND id < $3))`
		args = append(args, createdAt, q.StartingAfter)
	}
	query += ` ORDER BY created_at DESC, id DESC LIMIT $` + strconv.Itoa(len(args)+1)
	args = append(args, q.Limit)
	return scanClaims(db.reader.QueryContext(ctx, query, args...))
}

// OpenClaims returns up to limit claims still open (filed, not yet
// adjudicated) that were filed at or before before, oldest first.
func (db *DB) OpenClaims(ctx context.Context, before int64, limit int) ([]Claim, error) {
	return scanClaims(db.reader.QueryContext(ctx, `SELECT `+claimColumns+` FROM claims WHERE status = 'open'
		AND created_at <= $1 ORDER BY created_at, id LIMIT $2`, before, limit))
}

// ClaimsWithDebt returns up to limit approved claims on which a merchant
// still owes the protection fund, oldest first.
func (db *DB) ClaimsWithDebt(ctx context.Context, limit int) ([]Claim, error) {
	return scanClaims(db.reader.QueryContext(ctx, `SELECT `+claimColumns+` FROM claims WHERE debt > 0
		ORDER BY created_at, id LIMIT $1`, limit))
}

// SimilarPayments returns up to limit other payments of p's user to p's
// merchant, in p's asset and of p's total, created from since up to p's
// own creation, newest first: the candidates of which p may be a
// duplicate.
func (db *DB) SimilarPayments(ctx context.Context, p agentpay.Payment, since int64, limit int) ([]agentpay.Payment, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT `+paymentColumns+` FROM payments WHERE user_id = $1
		AND created_at >= $2 AND created_at <= $3 AND merchant_id = $4 AND asset = $5 AND total = $6 AND id <> $7
		ORDER BY created_at DESC, id DESC LIMIT $8`, p.UserID, since, p.CreatedAt, p.MerchantID, p.Asset, p.Totals.Total,
		p.ID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: similar payments: %w", err)
	}
	defer rows.Close()
	var out []agentpay.Payment
	for rows.Next() {
		q, err := scanPayment(rows)
		if err != nil {
			return nil, fmt.Errorf("store: similar payments: %w", err)
		}
		out = append(out, q)
	}
	return out, rows.Err()
}
