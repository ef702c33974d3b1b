package mcpserver_test

import (
	"context"
	"slices"
	"testing"

	"github.com/agentpay/agentpay/mcpserver"
)

// The limits a model leaves out are filled in (in USD), in order; the user
// approves what was asked.
func TestLinkLimits(t *testing.T) {
	s := newShop(t)
	tests := []struct {
		name                string
		args                map[string]any
		payment, day, month int64
	}{
		{"none", map[string]any{}, 50_00, 100_00, 500_00},
		{"per payment only, above the default day", map[string]any{"per_payment": 200_00}, 200_00, 200_00, 500_00},
		{"per day only, below the default payment", map[string]any{"per_day": 20_00}, 20_00, 20_00, 500_00},
		{"all", map[string]any{"per_payment": 10_00, "per_day": 15_00, "per_month": 100_00}, 10_00, 15_00, 100_00},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs, _ := s.connect(nil, nil)
			s.link(cs, tt.args)
			g, _ := ok[mcpserver.GrantOutput](t, cs, "get_grant", map[string]any{})
			if g.PerPayment.Amount != tt.payment || g.PerDay.Amount != tt.day || g.PerMonth.Amount != tt.month || g.Asset != "USD" {
				t.Fatalf("limits %+v %+v %+v", g.PerPayment, g.PerDay, g.PerMonth)
			}
		})
	}
}

// A model may ask for tips without the user's tap: link_account then asks
// for the tips scope and the tip terms, and the user's approval makes the
// grant's tips mandate.
func TestLinkAsksForTips(t *testing.T) {
	s := newShop(t)
	cs, srv := s.connect(nil, nil)
	s.link(cs, map[string]any{"tip_auto_approve_max": 2_00, "tip_budget_per_day": 5_00})
	g, _ := ok[mcpserver.GrantOutput](t, cs, "get_grant", map[string]any{})
	if !slices.Contains(g.Scopes, "tips") {
		t.Fatalf("scopes %v", g.Scopes)
	}
	key, err := s.db.AgentKey(context.Background(), srv.KeyID())
	if err != nil {
		t.Fatal(err)
	}
	m, found, err := s.srv.Links.TipsMandate(context.Background(), key.Grant)
	if err != nil || !found || m.PerPaymentMax != 2_00 || m.Budget != 5_00 || key.Grant.TipAutoApproveMax != 2_00 {
		t.Fatalf("grant %+v, tips mandate %+v %v %v", key.Grant, m, found, err)
	}

	// Without tip terms the tips scope is not asked for.
	plain, _ := s.connect(nil, nil)
	s.link(plain, map[string]any{})
	g, _ = ok[mcpserver.GrantOutput](t, plain, "get_grant", map[string]any{})
	if slices.Contains(g.Scopes, "tips") {
		t.Fatalf("scopes %v", g.Scopes)
	}
}
