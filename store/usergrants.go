package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/agentpay/agentpay"
)

// UserGrant is an active grant as its user sees it: with what the agent
// said about itself when it linked. AgentName and SoftwareID are the
// agent's own words, never verified; they are "" for a grant without a
// link row.
type UserGrant struct {
	Grant      agentpay.Grant
	AgentName  string
	SoftwareID string
}

// UserGrants returns up to limit active grants of a user, newest first,
// each with the name and software id of the link that made it. Expiry is
// not checked: an expired grant is still listed, so it can be revoked.
func (db *DB) UserGrants(ctx context.Context, userID string, limit int) ([]UserGrant, error) {
	if limit <= 0 {
		return nil, nil
	}
	// A LEFT JOIN, so that a grant whose link row is missing is still shown
	// (and revocable) rather than hidden from the kill switch.
	rows, err := db.reader.QueryContext(ctx, `SELECT g.id, g.user_id, g.agent_key_id, g.scopes, g.limit_asset,
		g.limit_per_payment, g.limit_per_day, g.limit_per_month, g.categories, g.status, g.expires_at,
		g.tip_auto_approve_max, g.created_at, g.version, COALESCE(l.agent_name, ''), COALESCE(l.software_id, '')
		FROM grants g LEFT JOIN agent_links l ON l.grant_id = g.id
		WHERE g.user_id = $1 AND g.status = 'active'
		ORDER BY g.created_at DESC, g.id DESC LIMIT $2`, userID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: user grants: %w", err)
	}
	defer rows.Close()
	var out []UserGrant
	for rows.Next() {
		var ug UserGrant
		g := &ug.Grant
		var scopes, categories, status string
		if err := rows.Scan(&g.ID, &g.UserID, &g.AgentKeyID, &scopes, &g.Limits.Asset, &g.Limits.PerPayment,
			&g.Limits.PerDay, &g.Limits.PerMonth, &categories, &status, &g.ExpiresAt, &g.TipAutoApproveMax,
			&g.CreatedAt, &g.Version, &ug.AgentName, &ug.SoftwareID); err != nil {
			return nil, fmt.Errorf("store: user grants: %w", err)
		}
		g.Scopes = agentpay.ParseScopes(scopes)
		if categories != "" {
			g.Categories = strings.Split(categories, ",")
		}
		g.Status = agentpay.GrantStatus(status)
		out = append(out, ug)
	}
	return out, rows.Err()
}
