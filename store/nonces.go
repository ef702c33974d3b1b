package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/agentpay/agentpay"
)

// nonceBatchMax bounds the nonces one cleanup run forgets.
const nonceBatchMax = 10000

// AgentNoncesTable holds the nonces of signed mutating agent requests
// (DESIGN §5). Values of a Row: id (keyid ":" nonce, string), expires_at
// (int64 microseconds). A nonce seen before fails its unit with
// already_exists on every node.
var AgentNoncesTable = &Table{
	Name:    "agent_nonces",
	Key:     "id",
	Columns: []string{"id", "expires_at"},
	Types:   []ColumnType{Text, Int},
}

// AgentNonceID is the key of a nonce row.
func AgentNonceID(keyID, nonce string) string { return keyID + ":" + nonce }

// AgentNonceRow returns the row that records a nonce until expiresAt
// (microseconds).
func AgentNonceRow(keyID, nonce string, expiresAt int64) Row {
	return Row{Table: AgentNoncesTable, Values: []any{AgentNonceID(keyID, nonce), expiresAt}}
}

// DeleteExpiredNonces forgets nonces that expired before now
// (microseconds), at most limit of them; it returns how many. A signature
// past its expiry no longer verifies, so its nonce cannot be replayed.
func (db *DB) DeleteExpiredNonces(ctx context.Context, now int64, limit int) (int64, error) {
	res, err := db.writer.ExecContext(ctx, `DELETE FROM agent_nonces WHERE id IN (
		SELECT id FROM agent_nonces WHERE expires_at < $1 LIMIT $2)`, now, limit)
	if err != nil {
		return 0, fmt.Errorf("store: expire agent nonces: %w", err)
	}
	return res.RowsAffected()
}

// GrantByAgentKey returns the grant of the agent key keyID (its RFC 7638
// thumbprint) and the agent's public key as canonical JWK: the grant's own
// once its key was rotated, else the key of the link that made the grant.
// An active grant is preferred to a revoked one, and among those the newest
// wins; status and expiry are the caller's to check. A key with no grant is
// not_found (grant_not_found).
func (db *DB) GrantByAgentKey(ctx context.Context, keyID string) (agentpay.Grant, string, error) {
	k, err := db.AgentKey(ctx, keyID)
	return k.Grant, k.PublicKeyJWK, err
}

// AgentKeyGrant is what a signed request's key id leads to.
type AgentKeyGrant struct {
	Grant        agentpay.Grant
	PublicKeyJWK string // canonical JWK
	SoftwareID   string // what the agent called its software when it linked
}

// AgentKey is GrantByAgentKey with the software id of the grant's link.
func (db *DB) AgentKey(ctx context.Context, keyID string) (AgentKeyGrant, error) {
	var k AgentKeyGrant
	g := &k.Grant
	var scopes, categories, status string
	err := db.reader.QueryRowContext(ctx, `SELECT g.id, g.user_id, g.agent_key_id, g.scopes, g.limit_asset,
		g.limit_per_payment, g.limit_per_day, g.limit_per_month, g.categories, g.status, g.expires_at,
		g.tip_auto_approve_max, g.created_at, g.version,
		CASE WHEN g.public_key_jwk <> '' THEN g.public_key_jwk ELSE l.public_key_jwk END, l.software_id
		FROM grants g JOIN agent_links l ON l.grant_id = g.id
		WHERE g.agent_key_id = $1
		ORDER BY CASE WHEN g.status = 'active' THEN 0 ELSE 1 END, g.created_at DESC, g.id DESC LIMIT 1`, keyID).Scan(
		&g.ID, &g.UserID, &g.AgentKeyID, &scopes, &g.Limits.Asset, &g.Limits.PerPayment, &g.Limits.PerDay,
		&g.Limits.PerMonth, &categories, &status, &g.ExpiresAt, &g.TipAutoApproveMax, &g.CreatedAt, &g.Version,
		&k.PublicKeyJWK, &k.SoftwareID)
	if errors.Is(err, sql.ErrNoRows) {
		return k, agentpay.Errorf(agentpay.ENOTFOUND, "grant_not_found", "no grant for agent key %s", keyID)
	}
	if err != nil {
		return k, fmt.Errorf("store: grant by key: %w", err)
	}
	g.Scopes = agentpay.ParseScopes(scopes)
	if categories != "" {
		g.Categories = strings.Split(categories, ",")
	}
	g.Status = agentpay.GrantStatus(status)
	return k, nil
}

// duplicateRowError is the error of a unit whose row's key exists.
func duplicateRowError(r Row) *agentpay.Error {
	return agentpay.Errorf(agentpay.ECONFLICT, "already_exists", "%s %s already exists", r.Table.Name, r.Key())
}

// IsDuplicateRow reports whether err is the error of a unit that failed
// because r's key exists.
func IsDuplicateRow(err error, r Row) bool {
	var e *agentpay.Error
	if !errors.As(err, &e) || e.Code != "already_exists" {
		return false
	}
	want := duplicateRowError(r)
	return e.Message == want.Message
}
