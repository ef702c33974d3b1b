package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/agentpay/agentpay"
)

// AgentLinksTable holds agent linking requests. Its key is the user code, so
// the committer refuses a second link with the same code (already_exists)
// on every node, and the creator draws another. Values of a Row, in column
// order: user_code, id, device_code_hash, public_key_jwk, key_id,
// agent_name, software_id, scopes, limit_asset (string), limit_per_payment,
// limit_per_day, limit_per_month (int64), request_ip, request_user_agent,
// status (string), created_at, expires_at, poll_interval_ms, last_polled_at
// (int64), user_id, grant_id (string), version, tip_auto_approve_max,
// tip_budget_per_day (int64).
var AgentLinksTable = &Table{
	Name: "agent_links",
	Key:  "user_code",
	Columns: []string{"user_code", "id", "device_code_hash", "public_key_jwk", "key_id", "agent_name", "software_id",
		"scopes", "limit_asset", "limit_per_payment", "limit_per_day", "limit_per_month", "request_ip",
		"request_user_agent", "status", "created_at", "expires_at", "poll_interval_ms", "last_polled_at",
		"user_id", "grant_id", "version", "tip_auto_approve_max", "tip_budget_per_day"},
	Types: []ColumnType{Text, Text, Text, Text, Text, Text, Text, Text, Text, Int, Int, Int, Text, Text, Text,
		Int, Int, Int, Int, Text, Text, Int, Int, Int},
	Version: "version",
}

// GrantsTable holds grants. Values of a Row: id, user_id, agent_key_id,
// scopes, limit_asset (string), limit_per_payment, limit_per_day,
// limit_per_month (int64), categories, status (string), expires_at,
// tip_auto_approve_max, created_at, version (int64), public_key_jwk
// (string: the agent key's JWK once the grant's key was rotated; empty while
// it is the key of the link that made the grant).
var GrantsTable = &Table{
	Name: "grants",
	Key:  "id",
	Columns: []string{"id", "user_id", "agent_key_id", "scopes", "limit_asset", "limit_per_payment", "limit_per_day",
		"limit_per_month", "categories", "status", "expires_at", "tip_auto_approve_max", "created_at", "version",
		"public_key_jwk"},
	Types:   []ColumnType{Text, Text, Text, Text, Text, Int, Int, Int, Text, Text, Int, Int, Int, Int, Text},
	Version: "version",
}

// AgentLinkRow returns the row that inserts a new link (version 1).
func AgentLinkRow(l agentpay.AgentLink) Row {
	return Row{Table: AgentLinksTable, Values: []any{l.UserCode, l.ID, l.DeviceCodeHash, l.PublicKeyJWK, l.KeyID,
		l.AgentName, l.SoftwareID, agentpay.ScopesString(l.RequestedScopes), l.RequestedLimits.Asset,
		l.RequestedLimits.PerPayment, l.RequestedLimits.PerDay, l.RequestedLimits.PerMonth, l.RequestIP,
		l.RequestUserAgent, string(l.Status), l.CreatedAt, l.ExpiresAt, l.Interval.Milliseconds(), l.LastPolledAt,
		l.UserID, l.GrantID, int64(1), l.RequestedTipAutoApproveMax, l.RequestedTipBudgetPerDay}}
}

// GrantRow returns the row that inserts a new grant (version 1).
func GrantRow(g agentpay.Grant) Row {
	return Row{Table: GrantsTable, Values: []any{g.ID, g.UserID, g.AgentKeyID, agentpay.ScopesString(g.Scopes),
		g.Limits.Asset, g.Limits.PerPayment, g.Limits.PerDay, g.Limits.PerMonth, strings.Join(g.Categories, ","),
		string(g.Status), g.ExpiresAt, g.TipAutoApproveMax, g.CreatedAt, int64(1), ""}}
}

const agentLinkColumns = `user_code, id, device_code_hash, public_key_jwk, key_id, agent_name, software_id, scopes,
	limit_asset, limit_per_payment, limit_per_day, limit_per_month, request_ip, request_user_agent, status,
	created_at, expires_at, poll_interval_ms, last_polled_at, user_id, grant_id, version, tip_auto_approve_max,
	tip_budget_per_day`

func (db *DB) agentLink(ctx context.Context, where string, arg string) (agentpay.AgentLink, error) {
	var l agentpay.AgentLink
	var scopes, status string
	var intervalMS int64
	err := db.reader.QueryRowContext(ctx, `SELECT `+agentLinkColumns+` FROM agent_links WHERE `+where+` = $1`, arg).Scan(
		&l.UserCode, &l.ID, &l.DeviceCodeHash, &l.PublicKeyJWK, &l.KeyID, &l.AgentName, &l.SoftwareID, &scopes,
		&l.RequestedLimits.Asset, &l.RequestedLimits.PerPayment, &l.RequestedLimits.PerDay, &l.RequestedLimits.PerMonth,
		&l.RequestIP, &l.RequestUserAgent, &status, &l.CreatedAt, &l.ExpiresAt, &intervalMS, &l.LastPolledAt,
		&l.UserID, &l.GrantID, &l.Version, &l.RequestedTipAutoApproveMax, &l.RequestedTipBudgetPerDay)
	if errors.Is(err, sql.ErrNoRows) {
		return l, agentpay.Errorf(agentpay.ENOTFOUND, "agent_link_not_found", "no such agent link")
	}
	if err != nil {
		return l, fmt.Errorf("store: agent link: %w", err)
	}
	l.RequestedScopes = agentpay.ParseScopes(scopes)
	l.Status = agentpay.AgentLinkStatus(status)
	l.Interval = time.Duration(intervalMS) * time.Millisecond
	return l, nil
}

// AgentLinkByUserCode returns the link with this (normalized) user code; an
// unknown code is not_found (agent_link_not_found).
func (db *DB) AgentLinkByUserCode(ctx context.Context, userCode string) (agentpay.AgentLink, error) {
	return db.agentLink(ctx, "user_code", userCode)
}

// AgentLinkByDeviceCodeHash returns the link whose device code has this hex
// SHA-256; an unknown hash is not_found (agent_link_not_found).
func (db *DB) AgentLinkByDeviceCodeHash(ctx context.Context, hash string) (agentpay.AgentLink, error) {
	return db.agentLink(ctx, "device_code_hash", hash)
}

// Grant returns a grant; an unknown id is not_found (grant_not_found).
func (db *DB) Grant(ctx context.Context, id string) (agentpay.Grant, error) {
	var g agentpay.Grant
	var scopes, categories, status string
	err := db.reader.QueryRowContext(ctx, `SELECT id, user_id, agent_key_id, scopes, limit_asset, limit_per_payment,
		limit_per_day, limit_per_month, categories, status, expires_at, tip_auto_approve_max, created_at, version
		FROM grants WHERE id = $1`, id).Scan(&g.ID, &g.UserID, &g.AgentKeyID, &scopes, &g.Limits.Asset,
		&g.Limits.PerPayment, &g.Limits.PerDay, &g.Limits.PerMonth, &categories, &status, &g.ExpiresAt,
		&g.TipAutoApproveMax, &g.CreatedAt, &g.Version)
	if errors.Is(err, sql.ErrNoRows) {
		return g, agentpay.Errorf(agentpay.ENOTFOUND, "grant_not_found", "grant %s not found", id)
	}
	if err != nil {
		return g, fmt.Errorf("store: grant: %w", err)
	}
	g.Scopes = agentpay.ParseScopes(scopes)
	if categories != "" {
		g.Categories = strings.Split(categories, ",")
	}
	g.Status = agentpay.GrantStatus(status)
	return g, nil
}
