package mcpserver_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/agentpay/agentpay/mcpserver"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The subscription tools are listed with their schemas and annotations;
// they call the API as the linked agent, whose grant must hold the
// subscriptions scope to propose or change one.
func TestSubscriptionTools(t *testing.T) {
	s := newShop(t)
	cs, _ := s.connect(nil, nil)
	res, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*mcp.Tool{}
	for _, tool := range res.Tools {
		byName[tool.Name] = tool
	}
	for _, tt := range []struct {
		name                  string
		readOnly, destructive bool
		required              []string
	}{
		{"create_subscription", false, false, []string{"amount", "asset", "interval_unit", "merchant", "plan", "time_zone"}},
		{"list_subscriptions", true, false, nil},
		{"cancel_subscription", false, true, []string{"subscription"}},
		{"pause_subscription", false, false, []string{"subscription"}},
	} {
		tool := byName[tt.name]
		if tool == nil || tool.Description == "" || tool.OutputSchema == nil || tool.Annotations == nil ||
			tool.Annotations.ReadOnlyHint != tt.readOnly {
			t.Fatalf("%s: %+v", tt.name, tool)
		}
		if !tt.readOnly && (tool.Annotations.DestructiveHint == nil || *tool.Annotations.DestructiveHint != tt.destructive) {
			t.Errorf("%s: destructiveHint %v", tt.name, tool.Annotations.DestructiveHint)
		}
		schema, _ := tool.InputSchema.(map[string]any)
		var required []string
		list, _ := schema["required"].([]any)
		for _, r := range list {
			required = append(required, r.(string))
		}
		slices.Sort(required)
		if !slices.Equal(required, tt.required) {
			t.Errorf("%s: required %v", tt.name, required)
		}
	}

	s.link(cs, map[string]any{})
	l, text := ok[mcpserver.ListSubscriptionsOutput](t, cs, "list_subscriptions", map[string]any{})
	if len(l.Subscriptions) != 0 || text != "No subscriptions yet." {
		t.Fatalf("list: %+v %q", l, text)
	}
	// link_account asks for the subscriptions scope, so the agent may
	// propose one; it starts only once the user approves its mandate.
	sub, text := ok[mcpserver.SubscriptionOutput](t, cs, "create_subscription", map[string]any{"merchant": s.merchantID,
		"plan": "Coffee club", "amount": 900, "asset": "USD", "interval_unit": "month", "time_zone": "UTC"})
	if sub.Status != "incomplete" || !strings.Contains(text, "/mandates/") || !strings.Contains(text, "passkey") {
		t.Fatalf("create_subscription: %+v %q", sub, text)
	}
	if l, _ := ok[mcpserver.ListSubscriptionsOutput](t, cs, "list_subscriptions", map[string]any{}); len(l.Subscriptions) != 1 {
		t.Fatalf("list after create: %+v", l)
	}
	toolError(t, cs, "cancel_subscription", map[string]any{"subscription": "sub_nothere"}, "subscription_not_found")
}
