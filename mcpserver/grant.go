package mcpserver

import (
	"fmt"
	"strings"
	"time"

	"github.com/agentpay/agentpay/sdk"
)

// GrantOutput is the grant as get_grant shows it: what the user allows and
// what is left of it.
type GrantOutput struct {
	ID                 string   `json:"id"`
	Status             string   `json:"status" jsonschema:"active, revoked or expired"`
	Scopes             []string `json:"scopes" jsonschema:"what the agent may do: payments:create asks for payments (and reads them)"`
	Asset              string   `json:"asset" jsonschema:"the only asset payments may be in"`
	PerPayment         Money    `json:"per_payment" jsonschema:"the most one payment may be"`
	PerDay             Money    `json:"per_day"`
	PerMonth           Money    `json:"per_month"`
	SpentToday         Money    `json:"spent_today" jsonschema:"approved today (UTC) through this grant"`
	SpentThisMonth     Money    `json:"spent_this_month"`
	RemainingToday     Money    `json:"remaining_today" jsonschema:"the most a payment may still take today without being declined (the user's own tier limits included)"`
	RemainingThisMonth Money    `json:"remaining_this_month"`
	Categories         []string `json:"categories" jsonschema:"merchant category codes allowed; empty: any"`
	ExpiresAt          string   `json:"expires_at" jsonschema:"when the grant ends (RFC 3339); the user can revoke it any time"`
}

func grantOutput(g *sdk.Grant) *GrantOutput {
	a := g.Limits.Asset
	out := &GrantOutput{ID: g.ID, Status: g.Status, Scopes: g.Scopes, Asset: a, PerPayment: money(g.Limits.PerPayment, a),
		PerDay: money(g.Limits.PerDay, a), PerMonth: money(g.Limits.PerMonth, a), Categories: g.Categories,
		ExpiresAt: g.ExpiresAt.UTC().Format(time.RFC3339)}
	if out.Scopes == nil {
		out.Scopes = []string{}
	}
	if out.Categories == nil {
		out.Categories = []string{}
	}
	var spent, left sdk.Spending
	if g.Spent != nil {
		spent = *g.Spent
	}
	if g.Remaining != nil {
		left = *g.Remaining
	}
	out.SpentToday, out.SpentThisMonth = money(spent.Today, a), money(spent.ThisMonth, a)
	out.RemainingToday, out.RemainingThisMonth = money(left.Today, a), money(left.ThisMonth, a)
	return out
}

// summary says in a sentence or two what the agent may still pay.
func (g *GrantOutput) summary() string {
	s := fmt.Sprintf("Grant %s (%s): payments in %s up to %s each; today %s spent, %s left; this month %s spent, %s left.",
		g.ID, g.Status, g.Asset, g.PerPayment.Display, g.SpentToday.Display, g.RemainingToday.Display,
		g.SpentThisMonth.Display, g.RemainingThisMonth.Display)
	if len(g.Categories) > 0 {
		s += " Only merchant categories " + strings.Join(g.Categories, ", ") + "."
	}
	return s
}
