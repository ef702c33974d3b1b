package agentpay

import (
	"slices"
	"strings"
)

// Scope is one thing a grant lets an agent do.
type Scope string

// Scopes a grant may hold.
const (
	ScopePaymentsCreate Scope = "payments:create"
	ScopePaymentsRead   Scope = "payments:read"
	ScopeTips           Scope = "tips"
	ScopeSubscriptions  Scope = "subscriptions"
)

// Scopes lists every scope, in the order they are shown.
var Scopes = []Scope{ScopePaymentsCreate, ScopePaymentsRead, ScopeTips, ScopeSubscriptions}

// Limits of grants.
const (
	// GrantCategoriesMax bounds the merchant categories of one grant.
	GrantCategoriesMax = 50
)

// ValidateScopes checks a list of scopes: at least one, each known, none
// twice. param names the field in the error.
func ValidateScopes(param string, scopes []Scope) error {
	if len(scopes) == 0 {
		return ParamErrorf(param, "invalid_scopes", "%s must name at least one scope", param)
	}
	for i, s := range scopes {
		if !slices.Contains(Scopes, s) {
			return ParamErrorf(param, "unknown_scope", "unknown scope %q; scopes are payments:create, payments:read, tips and subscriptions", truncateForMessage(string(s)))
		}
		if slices.Contains(scopes[:i], s) {
			return ParamErrorf(param, "invalid_scopes", "scope %q is listed twice", s)
		}
	}
	return nil
}

// ScopesString joins scopes with commas, as they are stored.
func ScopesString(scopes []Scope) string {
	parts := make([]string, len(scopes))
	for i, s := range scopes {
		parts[i] = string(s)
	}
	return strings.Join(parts, ",")
}

// ParseScopes splits a stored list of scopes.
func ParseScopes(s string) []Scope {
	if s == "" {
		return nil
	}
	var out []Scope
	for _, p := range strings.Split(s, ",") {
		out = append(out, Scope(p))
	}
	return out
}

// GrantLimits bound what an agent may spend under a grant, in minor units of
// one asset.
type GrantLimits struct {
	Asset      string
	PerPayment int64
	PerDay     int64
	PerMonth   int64
}

// Validate checks the limits: a known asset, positive amounts, and
// per-payment ≤ per-day ≤ per-month. param prefixes the field in errors
// (e.g. "limits").
func (l GrantLimits) Validate(param string) error {
	if err := ValidateAssetCode(l.Asset); err != nil {
		return ParamErrorf(param+".asset", "unknown_asset", "unknown asset %q", truncateForMessage(l.Asset))
	}
	for _, f := range []struct {
		name   string
		amount int64
	}{{"per_payment", l.PerPayment}, {"per_day", l.PerDay}, {"per_month", l.PerMonth}} {
		if f.amount <= 0 {
			return ParamErrorf(param+"."+f.name, "invalid_limit", "%s.%s must be a positive amount in minor units", param, f.name)
		}
	}
	if l.PerPayment > l.PerDay {
		return ParamErrorf(param+".per_payment", "invalid_limit", "%s.per_payment must not exceed per_day", param)
	}
	if l.PerDay > l.PerMonth {
		return ParamErrorf(param+".per_day", "invalid_limit", "%s.per_day must not exceed per_month", param)
	}
	return nil
}

// Within reports whether l is no larger than max in every amount, in the
// same asset: what a user may lower a request to.
func (l GrantLimits) Within(max GrantLimits) bool {
	return l.Asset == max.Asset && l.PerPayment <= max.PerPayment && l.PerDay <= max.PerDay && l.PerMonth <= max.PerMonth
}

// GrantStatus says whether a grant can be used.
type GrantStatus string

// Grant statuses.
const (
	GrantActive  GrantStatus = "active"
	GrantRevoked GrantStatus = "revoked"
)

// Grant is what a user let one agent key do: the only way an agent acts.
type Grant struct {
	ID                string // "grt_…"
	UserID            string
	AgentKeyID        string // the RFC 7638 thumbprint of the agent's public key
	Scopes            []Scope
	Limits            GrantLimits
	Categories        []string // ISO 18245 merchant category codes; empty: any
	ExpiresAt         int64    // microseconds since the Unix epoch, UTC
	TipAutoApproveMax int64    // tips up to this many minor units need no approval; 0: none
	Status            GrantStatus
	CreatedAt         int64
	Version           int64
}

// ValidateCategories checks merchant category codes: four digits each,
// none twice, at most GrantCategoriesMax.
func ValidateCategories(param string, categories []string) error {
	if len(categories) > GrantCategoriesMax {
		return ParamErrorf(param, "invalid_categories", "%s holds at most %d categories", param, GrantCategoriesMax)
	}
	for i, c := range categories {
		if len(c) != 4 || strings.Trim(c, "0123456789") != "" {
			return ParamErrorf(param, "invalid_mcc", "%s must hold merchant category codes of exactly 4 digits", param)
		}
		if slices.Contains(categories[:i], c) {
			return ParamErrorf(param, "invalid_categories", "category %s is listed twice", c)
		}
	}
	return nil
}

// Validate checks every field of a grant.
func (g Grant) Validate() error {
	if !strings.HasPrefix(g.ID, "grt_") || !ValidID(g.ID) {
		return ParamErrorf("id", "invalid_id", "a grant id is \"grt_\" and letters or digits")
	}
	if g.UserID == "" || !ValidID(g.UserID) {
		return ParamErrorf("user_id", "invalid_id", "a grant needs the id of the user who gave it")
	}
	if len(g.AgentKeyID) != 43 || !ValidID(g.AgentKeyID) {
		return ParamErrorf("agent_key_id", "invalid_id", "agent_key_id must be a JWK thumbprint: 43 base64url characters")
	}
	if err := ValidateScopes("scopes", g.Scopes); err != nil {
		return err
	}
	if err := g.Limits.Validate("limits"); err != nil {
		return err
	}
	if err := ValidateCategories("categories", g.Categories); err != nil {
		return err
	}
	if g.ExpiresAt <= g.CreatedAt {
		return ParamErrorf("expires_at", "invalid_expiry", "a grant must expire after it is created")
	}
	if g.TipAutoApproveMax < 0 || g.TipAutoApproveMax > g.Limits.PerPayment {
		return ParamErrorf("tip_auto_approve_max", "invalid_limit", "tip_auto_approve_max must be between 0 and limits.per_payment")
	}
	if g.Status != GrantActive && g.Status != GrantRevoked {
		return ParamErrorf("status", "invalid_status", "status must be active or revoked")
	}
	return nil
}
