package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/agentpay/agentpay"
)

// PasskeysTable holds users' passkeys (WebAuthn credentials). Values: id (the
// credential id, base64url), user_id, public_key (base64url), sign_count,
// aaguid (hex), transports (comma-separated), flags (go-webauthn's
// credential flags byte), cloned (1 once a counter went backwards),
// created_at, last_used_at, version.
var PasskeysTable = &Table{
	Name: "passkeys",
	Key:  "id",
	Columns: []string{"id", "user_id", "public_key", "sign_count", "aaguid", "transports", "flags", "cloned",
		"created_at", "last_used_at", "version"},
	Types:   []ColumnType{Text, Text, Text, Int, Text, Text, Int, Int, Int, Int, Int},
	Version: "version",
}

// CeremoniesTable holds the server-side state of WebAuthn ceremonies between
// begin and finish. Values: id, kind ("register" or "login"), user_id ("" for
// a discoverable login), data (go-webauthn's session data as JSON), status
// ("open" or "used"), expires_at, created_at, version.
var CeremoniesTable = &Table{
	Name:    "webauthn_ceremonies",
	Key:     "id",
	Columns: []string{"id", "kind", "user_id", "data", "status", "expires_at", "created_at", "version"},
	Types:   []ColumnType{Text, Text, Text, Text, Text, Int, Int, Int},
	Version: "version",
}

// SessionsTable holds page sessions. Values: id (hex SHA-256 of the cookie's
// token), user_id, csrf_token, created_at, expires_at, version.
var SessionsTable = &Table{
	Name:    "sessions",
	Key:     "id",
	Columns: []string{"id", "user_id", "csrf_token", "created_at", "expires_at", "version"},
	Types:   []ColumnType{Text, Text, Text, Int, Int, Int},
	Version: "version",
}

// Passkey is a stored passkey.
type Passkey struct {
	ID         string // base64url credential id
	UserID     string
	PublicKey  string // base64url COSE key
	SignCount  int64
	AAGUID     string // hex
	Transports string // comma-separated
	Flags      int64
	Cloned     bool
	CreatedAt  int64
	LastUsedAt int64
	Version    int64
}

// Row returns the row that inserts p (at version 1).
func (p Passkey) Row() Row {
	cloned := int64(0)
	if p.Cloned {
		cloned = 1
	}
	return Row{Table: PasskeysTable, Values: []any{p.ID, p.UserID, p.PublicKey, p.SignCount, p.AAGUID, p.Transports,
		p.Flags, cloned, p.CreatedAt, p.LastUsedAt, int64(1)}}
}

const passkeyColumns = `id, user_id, public_key, sign_count, aaguid, transports, flags, cloned, created_at, last_used_at, version`

func scanPasskey(sc interface{ Scan(...any) error }) (Passkey, error) {
	var p Passkey
	var cloned int64
	err := sc.Scan(&p.ID, &p.UserID, &p.PublicKey, &p.SignCount, &p.AAGUID, &p.Transports, &p.Flags, &cloned,
		&p.CreatedAt, &p.LastUsedAt, &p.Version)
	p.Cloned = cloned != 0
	return p, err
}

// Passkey returns a passkey; an unknown id is not_found (passkey_not_found).
func (db *DB) Passkey(ctx context.Context, id string) (Passkey, error) {
	p, err := scanPasskey(db.reader.QueryRowContext(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return p, agentpay.Errorf(agentpay.ENOTFOUND, "passkey_not_found", "passkey not found")
	}
	if err != nil {
		return p, fmt.Errorf("store: passkey: %w", err)
	}
	return p, nil
}

// UserPasskeys returns a user's passkeys, oldest first.
func (db *DB) UserPasskeys(ctx context.Context, userID string) ([]Passkey, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE user_id = $1 ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: passkeys: %w", err)
	}
	defer rows.Close()
	var out []Passkey
	for rows.Next() {
		p, err := scanPasskey(rows)
		if err != nil {
			return nil, fmt.Errorf("store: passkeys: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: passkeys: %w", err)
	}
	return out, nil
}

// Ceremony is the stored state of a WebAuthn ceremony.
type Ceremony struct {
	ID        string
	Kind      string
	UserID    string
	Data      string
	Status    string
	ExpiresAt int64
	CreatedAt int64
	Version   int64
}

// Row returns the row that inserts c (at version 1).
func (c Ceremony) Row() Row {
	return Row{Table: CeremoniesTable, Values: []any{c.ID, c.Kind, c.UserID, c.Data, c.Status, c.ExpiresAt, c.CreatedAt, int64(1)}}
}

// Ceremony returns a ceremony; an unknown id is not_found (ceremony_not_found).
func (db *DB) Ceremony(ctx context.Context, id string) (Ceremony, error) {
	var c Ceremony
	err := db.reader.QueryRowContext(ctx, `SELECT id, kind, user_id, data, status, expires_at, created_at, version
		FROM webauthn_ceremonies WHERE id = $1`, id).Scan(&c.ID, &c.Kind, &c.UserID, &c.Data, &c.Status, &c.ExpiresAt, &c.CreatedAt, &c.Version)
	if errors.Is(err, sql.ErrNoRows) {
		return c, agentpay.Errorf(agentpay.ENOTFOUND, "ceremony_not_found", "ceremony not found")
	}
	if err != nil {
		return c, fmt.Errorf("store: ceremony: %w", err)
	}
	return c, nil
}

// Session is a stored page session.
type Session struct {
	ID        string // hex SHA-256 of the cookie's token
	UserID    string
	CSRFToken string
	CreatedAt int64
	ExpiresAt int64
	Version   int64
}

// Row returns the row that inserts s (at version 1).
func (s Session) Row() Row {
	return Row{Table: SessionsTable, Values: []any{s.ID, s.UserID, s.CSRFToken, s.CreatedAt, s.ExpiresAt, int64(1)}}
}

// Session returns a session; an unknown id is not_found (session_not_found).
func (db *DB) Session(ctx context.Context, id string) (Session, error) {
	var s Session
	err := db.reader.QueryRowContext(ctx, `SELECT id, user_id, csrf_token, created_at, expires_at, version
		FROM sessions WHERE id = $1`, id).Scan(&s.ID, &s.UserID, &s.CSRFToken, &s.CreatedAt, &s.ExpiresAt, &s.Version)
	if errors.Is(err, sql.ErrNoRows) {
		return s, agentpay.Errorf(agentpay.ENOTFOUND, "session_not_found", "session not found")
	}
	if err != nil {
		return s, fmt.Errorf("store: session: %w", err)
	}
	return s, nil
}
