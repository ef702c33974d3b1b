package store

import (
	"context"
	"fmt"
)

// ApprovalsTable holds the evidence of passkey approvals (insert only).
// Values: id, user_id, passkey_id, subject (the id of what was approved),
// object (the canonical JSON the user agreed to), challenge (base64url
// SHA-256 of object), assertion (the authenticator's response JSON),
// created_at.
var ApprovalsTable = &Table{
	Name:    "approvals",
	Key:     "id",
	Columns: []string{"id", "user_id", "passkey_id", "subject", "object", "challenge", "assertion", "created_at"},
	Types:   []ColumnType{Text, Text, Text, Text, Text, Text, Text, Int},
}

// Approval is the stored evidence of one passkey approval.
type Approval struct {
	ID        string
	UserID    string
	PasskeyID string // base64url credential id
	Subject   string
	Object    string // canonical JSON (RFC 8785)
	Challenge string // base64url SHA-256 of Object
	Assertion string // PublicKeyCredential.toJSON() of the assertion
	CreatedAt int64
}

// Row returns the approval as a row to insert.
func (a Approval) Row() Row {
	return Row{Table: ApprovalsTable, Values: []any{a.ID, a.UserID, a.PasskeyID, a.Subject, a.Object, a.Challenge,
		a.Assertion, a.CreatedAt}}
}

// approvalsPerSubjectMax bounds ApprovalsOf: a subject is approved once,
// or a few times if it is changed and approved again.
const approvalsPerSubjectMax = 100

// ApprovalsOf returns the approvals of a subject, oldest first.
func (db *DB) ApprovalsOf(ctx context.Context, subject string) ([]Approval, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT id, user_id, passkey_id, subject, object, challenge, assertion, created_at
		FROM approvals WHERE subject = $1 ORDER BY created_at, id LIMIT $2`, subject, approvalsPerSubjectMax)
	if err != nil {
		return nil, fmt.Errorf("store: approvals: %w", err)
	}
	defer rows.Close()
	var out []Approval
	for rows.Next() {
		var a Approval
		if err := rows.Scan(&a.ID, &a.UserID, &a.PasskeyID, &a.Subject, &a.Object, &a.Challenge, &a.Assertion, &a.CreatedAt); err != nil {
			return nil, fmt.Errorf("store: approvals: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}
