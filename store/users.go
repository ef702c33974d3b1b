package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/agentpay/agentpay"
)

// UsersTable holds users. Values of a Row, in column order: id, email, phone,
// display_name, country (string), tier, verify_started_at (when the newest
// verification challenge was made; 0 before any), created_at, version
// (int64; a new row starts at 1).
var UsersTable = &Table{
	Name:    "users",
	Key:     "id",
	Columns: []string{"id", "email", "phone", "display_name", "country", "tier", "verify_started_at", "created_at", "version"},
	Types:   []ColumnType{Text, Text, Text, Text, Text, Int, Int, Int, Int},
	Version: "version",
}

// UserContactsTable makes each email address and phone number belong to one
// user: its key is "email:" or "phone:" and the normalized contact, so a
// second sign-up with it fails with already_exists on every node. Values:
// contact, user_id (string), created_at (int64).
var UserContactsTable = &Table{
	Name:    "user_contacts",
	Key:     "contact",
	Columns: []string{"contact", "user_id", "created_at"},
	Types:   []ColumnType{Text, Text, Int},
}

// ChallengesTable holds identity verification challenges. Values: id,
// user_id, kind, channel, code_hash, salt (hex), status (string),
// expires_at, attempts, created_at, version (int64; 1 when new). Note the
// column order of the Row differs from the SQL table's: it is this list.
var ChallengesTable = &Table{
	Name: "verification_challenges",
	Key:  "id",
	Columns: []string{"id", "user_id", "kind", "channel", "code_hash", "salt", "status", "expires_at", "attempts",
		"created_at", "version"},
	Types:   []ColumnType{Text, Text, Text, Text, Text, Text, Text, Int, Int, Int, Int},
	Version: "version",
}

// EvidenceTable records what each successful verification rested on. Values:
// id, user_id, challenge_id, kind, evidence_type, reference_hash, salt
// (string), tier, created_at (int64).
var EvidenceTable = &Table{
	Name:    "verification_evidence",
	Key:     "id",
	Columns: []string{"id", "user_id", "challenge_id", "kind", "evidence_type", "reference_hash", "salt", "tier", "created_at"},
	Types:   []ColumnType{Text, Text, Text, Text, Text, Text, Text, Int, Int},
}

// UserRow returns the row that inserts a new user (version 1).
func UserRow(u agentpay.User) Row {
	return Row{Table: UsersTable, Values: []any{u.ID, u.Email, u.Phone, u.DisplayName, u.Country, int64(u.Tier),
		int64(0), u.CreatedAt, int64(1)}}
}

// UserContactRow returns the row that claims a contact ("email:…" or
// "phone:…") for a user.
func UserContactRow(contact, userID string, createdAt int64) Row {
	return Row{Table: UserContactsTable, Values: []any{contact, userID, createdAt}}
}

// StoredUser is a user row with the time of its newest verification
// challenge. Its Version is the one to update it at.
type StoredUser struct {
	agentpay.User
	VerifyStartedAt int64
}

// User returns a user; an unknown id is not_found (user_not_found).
func (db *DB) User(ctx context.Context, id string) (StoredUser, error) {
	var u StoredUser
	var tier int64
	err := db.reader.QueryRowContext(ctx, `SELECT id, email, phone, display_name, country, tier, verify_started_at, created_at, version
		FROM users WHERE id = $1`, id).Scan(&u.ID, &u.Email, &u.Phone, &u.DisplayName, &u.Country, &tier,
		&u.VerifyStartedAt, &u.CreatedAt, &u.Version)
	u.Tier = agentpay.Tier(tier)
	if errors.Is(err, sql.ErrNoRows) {
		return u, agentpay.Errorf(agentpay.ENOTFOUND, "user_not_found", "user %s not found", id)
	}
	if err != nil {
		return u, fmt.Errorf("store: user: %w", err)
	}
	return u, nil
}

// ContactOwner returns the id of the user a contact ("email:…" or
// "phone:…") belongs to, or "" if none.
func (db *DB) ContactOwner(ctx context.Context, contact string) (string, error) {
	var id string
	err := db.reader.QueryRowContext(ctx, `SELECT user_id FROM user_contacts WHERE contact = $1`, contact).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: contact owner: %w", err)
	}
	return id, nil
}

// Challenge is a stored verification challenge.
type Challenge struct {
	ID        string
	UserID    string
	Kind      string
	Channel   string
	CodeHash  string
	Salt      string
	Status    string
	ExpiresAt int64
	Attempts  int64
	CreatedAt int64
	Version   int64
}

// Row returns the row that inserts c (at version 1).
func (c Challenge) Row() Row {
	return Row{Table: ChallengesTable, Values: []any{c.ID, c.UserID, c.Kind, c.Channel, c.CodeHash, c.Salt, c.Status,
		c.ExpiresAt, c.Attempts, c.CreatedAt, int64(1)}}
}

// Challenge returns a verification challenge; an unknown id is not_found
// (challenge_not_found).
func (db *DB) Challenge(ctx context.Context, id string) (Challenge, error) {
	var c Challenge
	err := db.reader.QueryRowContext(ctx, `SELECT id, user_id, kind, channel, code_hash, salt, status, expires_at, attempts, created_at, version
		FROM verification_challenges WHERE id = $1`, id).Scan(&c.ID, &c.UserID, &c.Kind, &c.Channel, &c.CodeHash, &c.Salt,
		&c.Status, &c.ExpiresAt, &c.Attempts, &c.CreatedAt, &c.Version)
	if errors.Is(err, sql.ErrNoRows) {
		return c, agentpay.Errorf(agentpay.ENOTFOUND, "challenge_not_found", "verification challenge %s not found", id)
	}
	if err != nil {
		return c, fmt.Errorf("store: challenge: %w", err)
	}
	return c, nil
}

// CountChallenges returns how many challenges of a kind a user was given
// after since (microseconds).
func (db *DB) CountChallenges(ctx context.Context, userID, kind string, since int64) (int, error) {
	var n int
	err := db.reader.QueryRowContext(ctx, `SELECT COUNT(*) FROM verification_challenges
		WHERE user_id = $1 AND kind = $2 AND created_at > $3`, userID, kind, since).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: count challenges: %w", err)
	}
	return n, nil
}

// Evidence is what a successful verification rested on: never the code or
// the document reference itself, only a salted hash of the reference.
type Evidence struct {
	ID            string
	UserID        string
	ChallengeID   string
	Kind          string // "code" or "document"
	EvidenceType  string // the channel ("email", "sms") or the document type ("passport", …)
	ReferenceHash string // hex SHA-256 over salt and reference
	Salt          string
	Tier          agentpay.Tier // the tier it granted
	CreatedAt     int64
}

// Row returns the row that inserts e.
func (e Evidence) Row() Row {
	return Row{Table: EvidenceTable, Values: []any{e.ID, e.UserID, e.ChallengeID, e.Kind, e.EvidenceType,
		e.ReferenceHash, e.Salt, int64(e.Tier), e.CreatedAt}}
}

// Evidence returns a user's verification evidence, oldest first.
func (db *DB) Evidence(ctx context.Context, userID string) ([]Evidence, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT id, user_id, challenge_id, kind, evidence_type, reference_hash, salt, tier, created_at
		FROM verification_evidence WHERE user_id = $1 ORDER BY id`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: evidence: %w", err)
	}
	defer rows.Close()
	var out []Evidence
	for rows.Next() {
		var e Evidence
		var tier int64
		if err := rows.Scan(&e.ID, &e.UserID, &e.ChallengeID, &e.Kind, &e.EvidenceType, &e.ReferenceHash, &e.Salt, &tier, &e.CreatedAt); err != nil {
			return nil, fmt.Errorf("store: evidence: %w", err)
		}
		e.Tier = agentpay.Tier(tier)
		out = append(out, e)
	}
	return out, rows.Err()
}
