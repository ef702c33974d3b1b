package agentpay_test

import (
	"strings"
	"testing"

	"github.com/agentpay/agentpay"
)

func TestGrantLimitsValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		limits agentpay.GrantLimits
		param  string
	}{
		{"ok", agentpay.GrantLimits{Asset: "USD", PerPayment: 100, PerDay: 100, PerMonth: 1000}, ""},
		{"unknown asset", agentpay.GrantLimits{Asset: "XXQ", PerPayment: 1, PerDay: 1, PerMonth: 1}, "limits.asset"},
		{"zero per payment", agentpay.GrantLimits{Asset: "USD", PerPayment: 0, PerDay: 1, PerMonth: 1}, "limits.per_payment"},
		{"negative per day", agentpay.GrantLimits{Asset: "USD", PerPayment: 1, PerDay: -1, PerMonth: 1}, "limits.per_day"},
		{"zero per month", agentpay.GrantLimits{Asset: "USD", PerPayment: 1, PerDay: 1, PerMonth: 0}, "limits.per_month"},
		{"payment above day", agentpay.GrantLimits{Asset: "USD", PerPayment: 2, PerDay: 1, PerMonth: 5}, "limits.per_payment"},
		{"day above month", agentpay.GrantLimits{Asset: "USD", PerPayment: 1, PerDay: 6, PerMonth: 5}, "limits.per_day"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.limits.Validate("limits")
			if tc.param == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var e *agentpay.Error
			if err == nil || !grantAsError(err, &e) || e.Param != tc.param || e.Kind != agentpay.EINVALID {
				t.Fatalf("got %v, want param %s", err, tc.param)
			}
		})
	}
}

func grantAsError(err error, e **agentpay.Error) bool {
	x, ok := err.(*agentpay.Error)
	*e = x
	return ok
}

func TestScopesAndCategories(t *testing.T) {
	for _, tc := range []struct {
		scopes []agentpay.Scope
		code   string
	}{
		{[]agentpay.Scope{"payments:create", "tips"}, ""},
		{agentpay.Scopes, ""},
		{nil, "invalid_scopes"},
		{[]agentpay.Scope{"admin"}, "unknown_scope"},
		{[]agentpay.Scope{"tips", "tips"}, "invalid_scopes"},
	} {
		if got := agentpay.ErrorCode(agentpay.ValidateScopes("scopes", tc.scopes)); tc.code != "" && got != tc.code || tc.code == "" && agentpay.ValidateScopes("scopes", tc.scopes) != nil {
			t.Errorf("%v: got %s, want %q", tc.scopes, got, tc.code)
		}
	}
	for _, tc := range []struct {
		cats []string
		ok   bool
	}{{nil, true}, {[]string{"5411", "5812"}, true}, {[]string{"541"}, false}, {[]string{"54a1"}, false}, {[]string{"5411", "5411"}, false}} {
		if err := agentpay.ValidateCategories("categories", tc.cats); (err == nil) != tc.ok {
			t.Errorf("%v: %v", tc.cats, err)
		}
	}
}

func TestGrantValidate(t *testing.T) {
	good := agentpay.Grant{ID: "grt_1", UserID: "usr_1", AgentKeyID: strings.Repeat("a", 43),
		Scopes: []agentpay.Scope{agentpay.ScopeTips}, Limits: agentpay.GrantLimits{Asset: "USD", PerPayment: 10, PerDay: 20, PerMonth: 30},
		ExpiresAt: 2, CreatedAt: 1, Status: agentpay.GrantActive}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		param string
		edit  func(*agentpay.Grant)
	}{
		{"id", func(g *agentpay.Grant) { g.ID = "usr_1" }},
		{"user_id", func(g *agentpay.Grant) { g.UserID = "" }},
		{"agent_key_id", func(g *agentpay.Grant) { g.AgentKeyID = "short" }},
		{"scopes", func(g *agentpay.Grant) { g.Scopes = []agentpay.Scope{"x"} }},
		{"limits.asset", func(g *agentpay.Grant) { g.Limits.Asset = "" }},
		{"categories", func(g *agentpay.Grant) { g.Categories = []string{"1"} }},
		{"expires_at", func(g *agentpay.Grant) { g.ExpiresAt = 1 }},
		{"tip_auto_approve_max", func(g *agentpay.Grant) { g.TipAutoApproveMax = 11 }},
		{"status", func(g *agentpay.Grant) { g.Status = "gone" }},
	} {
		g := good
		tc.edit(&g)
		var e *agentpay.Error
		if err := g.Validate(); err == nil || !grantAsError(err, &e) || e.Param != tc.param {
			t.Errorf("%s: got %v", tc.param, err)
		}
	}
}

func TestUserCodes(t *testing.T) {
	for i := 0; i < 200; i++ {
		c := agentpay.NewUserCode()
		if len(c) != agentpay.UserCodeLength || strings.Trim(c, agentpay.UserCodeAlphabet) != "" {
			t.Fatalf("bad user code %q", c)
		}
		shown := agentpay.FormatUserCode(c)
		if len(shown) != 9 || shown[4] != '-' {
			t.Fatalf("bad display %q", shown)
		}
		if n, ok := agentpay.NormalizeUserCode(strings.ToLower(shown)); !ok || n != c {
			t.Fatalf("normalize %q = %q %v", shown, n, ok)
		}
	}
	for _, bad := range []string{"", "BCDF-GHJ", "BCDF-GHJA", "BCDFGHJKL", strings.Repeat("B", 100)} {
		if _, ok := agentpay.NormalizeUserCode(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
	for _, tc := range []struct {
		s  string
		ok bool
	}{{"Claude Desktop", true}, {"", false}, {strings.Repeat("a", 101), false}, {"bad\nname", false}, {"naïve", false}} {
		if err := agentpay.ValidateAgentText("agent_name", tc.s); (err == nil) != tc.ok {
			t.Errorf("%q: %v", tc.s, err)
		}
	}
}
