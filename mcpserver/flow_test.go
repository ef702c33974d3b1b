package mcpserver_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agentpay/agentpay/mcpserver"
	"github.com/agentpay/agentpay/sdk"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

var coffee = []map[string]any{{"name": "Latte", "quantity": 2, "unit_amount": 450}}

// Every tool is listed with a schema, a description and annotations that
// say whether it changes anything.
func TestToolsListed(t *testing.T) {
	s := newShop(t)
	cs, _ := s.connect(nil, nil)
	res, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		readOnly    bool
		destructive bool
		required    []string
	}{
		{"link_account", false, false, nil},
		{"get_grant", true, false, nil},
		{"list_merchants", true, false, nil},
		{"create_payment", false, false, []string{"items", "merchant", "purpose"}},
		{"update_payment", false, true, []string{"items", "payment", "purpose"}},
		{"wait_for_approval", true, false, []string{"payment"}},
		{"get_payment", true, false, []string{"payment"}},
		{"list_payments", true, false, nil},
		{"cancel_payment", false, true, []string{"payment"}},
		{"file_claim", false, false, []string{"description", "kind", "payment"}},
		{"tip", false, false, []string{"amount", "merchant"}},
		{"create_subscription", false, false, []string{"amount", "asset", "interval_unit", "merchant", "plan", "time_zone"}},
		{"list_subscriptions", true, false, nil},
		{"cancel_subscription", false, true, []string{"subscription"}},
		{"pause_subscription", false, false, []string{"subscription"}},
		{"search_products", true, false, nil},
	}
	if len(res.Tools) != len(tests) {
		t.Errorf("%d tools, want %d", len(res.Tools), len(tests))
	}
	byName := map[string]*mcp.Tool{}
	for _, tool := range res.Tools {
		byName[tool.Name] = tool
	}
	for _, tt := range tests {
		tool := byName[tt.name]
		if tool == nil {
			t.Errorf("%s: not listed", tt.name)
			continue
		}
		a := tool.Annotations
		if tool.Description == "" || a == nil || a.ReadOnlyHint != tt.readOnly || tool.OutputSchema == nil {
			t.Errorf("%s: %+v", tt.name, tool)
			continue
		}
		if !tt.readOnly && (a.DestructiveHint == nil || *a.DestructiveHint != tt.destructive) {
			t.Errorf("%s: destructiveHint %v, want %v", tt.name, a.DestructiveHint, tt.destructive)
		}
		schema, _ := tool.InputSchema.(map[string]any)
		var required []string
		list, _ := schema["required"].([]any)
		for _, r := range list {
			required = append(required, r.(string))
		}
		slices.Sort(required)
		if schema["type"] != "object" || !slices.Equal(required, tt.required) {
			t.Errorf("%s: input schema %v", tt.name, schema)
		}
	}
}

// A model links the account, finds the merchant, asks for a payment the
// user approves with their passkey, waits for it, reads it, cancels
// another, and files a claim after the capture — all through the tools.
// Risk control is on, as it is by default: the flow stays under its
// burst limits.
func TestPaymentFlowThroughTools(t *testing.T) {
	s := newShop(t)
	ctx := context.Background()
	cs, srv := s.connect(nil, nil)

	// Not linked: every tool says how to link.
	msg := toolError(t, cs, "get_grant", map[string]any{}, "unknown_key")
	if !strings.Contains(msg, "call link_account") {
		t.Fatalf("not linked: %s", msg)
	}
	toolError(t, cs, "list_merchants", map[string]any{}, "unknown_key")

	// Linking: the code and the page, the same again until decided.
	l, linkText := ok[mcpserver.LinkAccountOutput](t, cs, "link_account", map[string]any{})
	if l.Status != "pending" || l.UserCode == "" || l.VerificationURIComplete != s.url+"/link?code="+l.UserCode ||
		l.KeyFingerprint != srv.KeyID() || !strings.Contains(linkText, l.VerificationURIComplete) || !strings.Contains(linkText, l.UserCode) {
		t.Fatalf("link_account: %+v\n%s", l, linkText)
	}
	if again, _ := ok[mcpserver.LinkAccountOutput](t, cs, "link_account", map[string]any{}); again.UserCode != l.UserCode {
		t.Fatalf("a second link_account started another link: %+v", again)
	}
	s.approveLink(l.UserCode)

	g, grantText := ok[mcpserver.GrantOutput](t, cs, "get_grant", map[string]any{})
	if g.Status != "active" || g.Asset != "USD" || g.PerPayment.Display != "50.00 USD" || g.RemainingToday.Amount != 100_00 ||
		!slices.Equal(g.Scopes, []string{"payments:create", "subscriptions"}) || !strings.Contains(grantText, "100.00 USD left") {
		t.Fatalf("get_grant: %+v\n%s", g, grantText)
	}
	if linked, _ := ok[mcpserver.LinkAccountOutput](t, cs, "link_account", map[string]any{}); linked.Status != "linked" || linked.Grant.ID != g.ID {
		t.Fatalf("link_account once linked: %+v", linked)
	}

	ms, _ := ok[mcpserver.ListMerchantsOutput](t, cs, "list_merchants", map[string]any{"query": "corner"})
	if len(ms.Merchants) != 1 || ms.Merchants[0].ID != s.merchantID || ms.Merchants[0].Name != "Corner Coffee" ||
		!slices.Equal(ms.Merchants[0].Assets, []string{"USD"}) || ms.Merchants[0].Category != "5814" {
		t.Fatalf("list_merchants: %+v", ms)
	}
	if none, _ := ok[mcpserver.ListMerchantsOutput](t, cs, "list_merchants", map[string]any{"query": "bakery"}); len(none.Merchants) != 0 {
		t.Fatalf("list_merchants bakery: %+v", none)
	}

	// Asking: the user is told what to approve, and where.
	order := map[string]any{"merchant": s.merchantID, "items": coffee, "tax": 72,
		"purpose": "the coffee the user asked for", "request_id": "coffee-1"}
	p, payText := ok[mcpserver.PaymentOutput](t, cs, "create_payment", order)
	if p.Status != sdk.PaymentRequiresApproval || p.Total.Display != "9.72 USD" || p.Total.Amount != 972 || p.MerchantName != "Corner Coffee" ||
		p.ApprovalURL != s.url+"/pay/"+p.ID || p.Elicitation != "" || len(p.Items) != 1 {
		t.Fatalf("create_payment: %+v", p)
	}
	if want := "Ask the user to approve 9.72 USD to Corner Coffee at " + p.ApprovalURL + " with their passkey"; !strings.HasPrefix(payText, want) {
		t.Fatalf("create_payment text %q, want it to start %q", payText, want)
	}
	// The model retries the same call: the same payment, not a second one.
	if retry, _ := ok[mcpserver.PaymentOutput](t, cs, "create_payment", order); retry.ID != p.ID {
		t.Fatalf("a retry with the same request_id made %s besides %s", retry.ID, p.ID)
	}
	other := map[string]any{"merchant": s.merchantID, "items": coffee, "purpose": "more coffee", "request_id": "coffee-1"}
	if msg := toolError(t, cs, "create_payment", other, "idempotency_conflict"); !strings.Contains(msg, "new request_id") {
		t.Fatalf("reused request_id: %s", msg)
	}

	// The user approves while the model waits.
	waited := make(chan mcpserver.PaymentOutput, 1)
	go func() {
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "wait_for_approval", Arguments: map[string]any{"payment": p.ID, "timeout_seconds": 30}})
		var out mcpserver.PaymentOutput
		if err == nil && !res.IsError {
			out.Status = res.StructuredContent.(map[string]any)["status"].(string)
		}
		waited <- out
	}()
	time.Sleep(50 * time.Millisecond)
	if err := s.approvePayment(p.ID); err != nil {
		t.Fatal(err)
	}
	if got := <-waited; got.Status != sdk.PaymentAuthorized {
		t.Fatalf("wait_for_approval: %+v", got)
	}
	if _, err := s.merchant.Capture(ctx, p.ID, 0); err != nil {
		t.Fatal(err)
	}
	got, gotText := ok[mcpserver.PaymentOutput](t, cs, "get_payment", map[string]any{"payment": p.ID})
	if got.Status != sdk.PaymentCaptured || got.Captured.Display != "9.72 USD" || !strings.HasPrefix(gotText, "Paid") || got.ApprovalURL != "" {
		t.Fatalf("get_payment: %+v\n%s", got, gotText)
	}
	if g, _ := ok[mcpserver.GrantOutput](t, cs, "get_grant", map[string]any{}); g.SpentToday.Amount != 972 || g.RemainingToday.Amount != 100_00-972 {
		t.Fatalf("get_grant after paying: %+v", g)
	}

	// Another payment, changed, then called off.
	second, _ := ok[mcpserver.PaymentOutput](t, cs, "create_payment", map[string]any{"merchant": s.merchantID,
		"items": []map[string]any{{"name": "Espresso", "quantity": 1, "unit_amount": 300}}, "purpose": "an espresso for the user"})
	changed, changedText := ok[mcpserver.PaymentOutput](t, cs, "update_payment", map[string]any{"payment": second.ID,
		"items": []map[string]any{{"name": "Espresso", "quantity": 2, "unit_amount": 300}}, "purpose": "two espressos for the user"})
	if changed.Version != 2 || changed.Total.Amount != 600 || !strings.Contains(changedText, "version 2") {
		t.Fatalf("update_payment: %+v\n%s", changed, changedText)
	}
	canceled, cancelText := ok[mcpserver.PaymentOutput](t, cs, "cancel_payment", map[string]any{"payment": second.ID, "reason": "the user changed their mind"})
	if canceled.Status != sdk.PaymentCanceled || canceled.CanceledBy != "agent" || !strings.Contains(cancelText, "the user changed their mind") {
		t.Fatalf("cancel_payment: %+v\n%s", canceled, cancelText)
	}

	list, _ := ok[mcpserver.ListPaymentsOutput](t, cs, "list_payments", map[string]any{})
	if len(list.Payments) != 2 || list.Payments[0].ID != second.ID || list.Payments[1].ID != p.ID || list.HasMore {
		t.Fatalf("list_payments: %+v", list)
	}
	page, _ := ok[mcpserver.ListPaymentsOutput](t, cs, "list_payments", map[string]any{"limit": 1})
	if len(page.Payments) != 1 || !page.HasMore || page.NextStartingAfter != second.ID {
		t.Fatalf("list_payments limit 1: %+v", page)
	}

	// A claim on the captured payment, for the user.
	claim, claimText := ok[mcpserver.ClaimOutput](t, cs, "file_claim", map[string]any{"payment": p.ID, "kind": "not_received",
		"description": "the coffee never came", "request_id": "claim-1"})
	if claim.Status != sdk.ClaimInReview || claim.DecisionCode != "merchant_dispute" || claim.Amount.Display != "9.72 USD" ||
		!strings.Contains(claimText, "operator") {
		t.Fatalf("file_claim: %+v\n%s", claim, claimText)
	}
	if again, _ := ok[mcpserver.ClaimOutput](t, cs, "file_claim", map[string]any{"payment": p.ID, "kind": "not_received",
		"description": "the coffee never came", "request_id": "claim-1"}); again.ID != claim.ID {
		t.Fatalf("file_claim retried: %+v", again)
	}
	toolError(t, cs, "file_claim", map[string]any{"payment": p.ID, "kind": "duplicate", "description": "twice"}, "claim_exists")
	toolError(t, cs, "file_claim", map[string]any{"payment": second.ID, "kind": "not_received", "description": "x"}, "payment_not_captured")
}

// Refusals come back as tool errors the model can act on: the code, the
// server's message and what to do.
func TestToolErrors(t *testing.T) {
	s := newShop(t)
	cs, _ := s.connect(nil, nil)
	s.link(cs, map[string]any{"per_payment": 10_00, "per_day": 15_00, "per_month": 100_00})

	// Someone else's payment: another agent of the same user.
	outsider := sdk.NewAgent(s.url, mustKey(t))
	outsider.Sleep = fastSleep
	if _, err := outsider.Link(context.Background(), sdk.LinkRequest{AgentName: "Other", SoftwareID: "other", Scopes: []string{"payments:create"},
		Limits: sdk.Limits{Asset: "USD", PerPayment: 50_00, PerDay: 100_00, PerMonth: 500_00}}, func(p sdk.Pending) { s.approveLink(p.UserCode) }); err != nil {
		t.Fatal(err)
	}
	theirs, err := outsider.CreatePayment(context.Background(), sdk.PaymentRequest{Merchant: s.merchantID, Asset: "USD",
		Order: sdk.NewOrder([]sdk.LineItem{{Name: "Tea", Quantity: 1, UnitAmount: 300}}, 0, 0, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, tool string
		args       map[string]any
		code       string
		says       string
	}{
		{"unknown merchant", "create_payment", map[string]any{"merchant": "mer_nobody", "items": coffee, "purpose": "coffee"},
			"merchant_not_found", "list_merchants"},
		{"over the grant per payment", "create_payment", map[string]any{"merchant": s.merchantID,
			"items": []map[string]any{{"name": "Beans", "quantity": 1, "unit_amount": 12_00}}, "purpose": "coffee beans"},
			"exceeds_grant_limit", "Limits: up to 10.00 USD per payment; remaining today 15.00 USD, this month 100.00 USD."},
		{"another agent's payment", "get_payment", map[string]any{"payment": theirs.ID}, "payment_not_found", "list_payments"},
		{"cancel another agent's payment", "cancel_payment", map[string]any{"payment": theirs.ID}, "payment_not_found", ""},
		{"an asset the merchant does not take", "create_payment", map[string]any{"merchant": s.merchantID, "asset": "EUR",
			"items": coffee, "purpose": "coffee"}, "asset_not_supported", "list_merchants"},
		{"request_id too long", "create_payment", map[string]any{"merchant": s.merchantID, "items": coffee, "purpose": "coffee",
			"request_id": strings.Repeat("x", 201)}, "", "request_id"},
	}
	for _, tt := range tests {
		res := call(t, cs, tt.tool, tt.args)
		msg := text(res)
		if !res.IsError || !strings.HasPrefix(msg, tt.code) || !strings.Contains(msg, tt.says) {
			t.Errorf("%s: %v %s", tt.name, res.IsError, msg)
		}
	}

	// A payment over what is left today is declined, and the model is
	// told what is left.
	p, _ := ok[mcpserver.PaymentOutput](t, cs, "create_payment", map[string]any{"merchant": s.merchantID,
		"items": []map[string]any{{"name": "Beans", "quantity": 1, "unit_amount": 10_00}}, "purpose": "coffee beans"})
	if err := s.approvePayment(p.ID); err != nil {
		t.Fatal(err)
	}
	declined, why := ok[mcpserver.PaymentOutput](t, cs, "create_payment", map[string]any{"merchant": s.merchantID,
		"items": []map[string]any{{"name": "Beans", "quantity": 1, "unit_amount": 6_00}}, "purpose": "more coffee beans"})
	if declined.Status != sdk.PaymentDeclined || declined.DeclineCode != "grant_daily_limit" ||
		!strings.Contains(why, "Declined (grant_daily_limit)") || !strings.Contains(why, "remaining today 5.00 USD") {
		t.Fatalf("declined: %+v\n%s", declined, why)
	}
}
