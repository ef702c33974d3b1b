package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/agentpay/agentpay"
)

// AgentSuspensionsTable holds the operator's suspensions of agent keys and
// software ids. Its key is "key:" and a key's thumbprint, or "software:" and
// a software id. Values of a Row: id (string), suspended (int64: 1 or 0),
// created_at, version (int64). Rows are never deleted: resuming sets
// suspended to 0.
var AgentSuspensionsTable = &Table{
	Name:    "agent_suspensions",
	Key:     "id",
	Columns: []string{"id", "suspended", "created_at", "version"},
	Types:   []ColumnType{Text, Int, Int, Int},
	Version: "version",
}

// AgentSuspensionID is the key of a suspension: kind is "key" or "software".
func AgentSuspensionID(kind, id string) string { return kind + ":" + id }

// AgentSuspension is a stored suspension row.
type AgentSuspension struct {
	ID        string
	Suspended bool
	CreatedAt int64
	Version   int64
}

// Row returns the row that inserts s (version 1).
func (s AgentSuspension) Row() Row {
	var n int64
	if s.Suspended {
		n = 1
	}
	return Row{Table: AgentSuspensionsTable, Values: []any{s.ID, n, s.CreatedAt, int64(1)}}
}

// AgentSuspensionByID returns a suspension row; found is false if there is
// none (never suspended).
func (db *DB) AgentSuspensionByID(ctx context.Context, id string) (s AgentSuspension, found bool, err error) {
	var n int64
	err = db.reader.QueryRowContext(ctx, `SELECT id, suspended, created_at, version FROM agent_suspensions WHERE id = $1`, id).
		Scan(&s.ID, &n, &s.CreatedAt, &s.Version)
	if errors.Is(err, sql.ErrNoRows) {
		return s, false, nil
	}
	if err != nil {
		return s, false, fmt.Errorf("store: agent suspension: %w", err)
	}
	s.Suspended = n != 0
	return s, true, nil
}

// AgentSuspended reports whether the agent key keyID or the software id
// softwareID is suspended.
func (db *DB) AgentSuspended(ctx context.Context, keyID, softwareID string) (bool, error) {
	var n int
	err := db.reader.QueryRowContext(ctx, `SELECT COUNT(*) FROM agent_suspensions WHERE id IN ($1, $2) AND suspended <> 0`,
		AgentSuspensionID("key", keyID), AgentSuspensionID("software", softwareID)).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("store: agent suspended: %w", err)
	}
	return n > 0, nil
}

// ActiveGrantsByAgentKey returns the active grants of an agent key, oldest
// first. Expiry is not checked.
func (db *DB) ActiveGrantsByAgentKey(ctx context.Context, keyID string) ([]agentpay.Grant, error) {
	return db.activeGrants(ctx, "agent_key_id", keyID)
}

// ActiveGrantsByUser returns the active grants of a user, oldest first.
func (db *DB) ActiveGrantsByUser(ctx context.Context, userID string) ([]agentpay.Grant, error) {
	return db.activeGrants(ctx, "user_id", userID)
}

func (db *DB) activeGrants(ctx context.Context, column, value string) ([]agentpay.Grant, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT id, user_id, agent_key_id, scopes, limit_asset, limit_per_payment,
		limit_per_day, limit_per_month, categories, status, expires_at, tip_auto_approve_max, created_at, version
		FROM grants WHERE `+column+` = $1 AND status = 'active' ORDER BY created_at, id`, value)
	if err != nil {
		return nil, fmt.Errorf("store: active grants: %w", err)
	}
	defer rows.Close()
	var out []agentpay.Grant
	for rows.Next() {
		var g agentpay.Grant
		var scopes, categories, status string
		if err := rows.Scan(&g.ID, &g.UserID, &g.AgentKeyID, &scopes, &g.Limits.Asset, &g.Limits.PerPayment,
			&g.Limits.PerDay, &g.Limits.PerMonth, &categories, &status, &g.ExpiresAt, &g.TipAutoApproveMax,
			&g.CreatedAt, &g.Version); err != nil {
			return nil, fmt.Errorf("store: active grants: %w", err)
		}
		g.Scopes = agentpay.ParseScopes(scopes)
		if categories != "" {
			g.Categories = strings.Split(categories, ",")
		}
		g.Status = agentpay.GrantStatus(status)
		out = append(out, g)
	}
	return out, rows.Err()
}
