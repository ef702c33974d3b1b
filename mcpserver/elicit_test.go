package mcpserver_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/agentpay/agentpay/mcpserver"
	"github.com/agentpay/agentpay/sdk"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// elicitations records what a client was asked and answers with action.
type elicitations struct {
	mu     sync.Mutex
	asked  []*mcp.ElicitParams
	action string
}

func (e *elicitations) handle(_ context.Context, req *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.asked = append(e.asked, req.Params)
	res := &mcp.ElicitResult{Action: e.action}
	if e.action == "accept" && req.Params.Mode != "url" {
		res.Content = map[string]any{"will_review": true}
	}
	return res, nil
}

// create_payment shows the approval link through elicitation where the
// client supports it — a form, or a URL the client offers to open — on the
// current protocol (the answer comes back in a second round of the same
// call) and on older ones (the server asks during the call); where it does
// not, it skips it. Either way the payment is made once and the link is in
// the result.
func TestApprovalLinkElicited(t *testing.T) {
	s := newShop(t)
	s.noRisk() // one payment per case, in a burst
	legacy := &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"}
	urlOnly := &mcp.ClientCapabilities{Elicitation: &mcp.ElicitationCapabilities{URL: &mcp.URLElicitationCapabilities{}}}
	tests := []struct {
		name     string
		supports bool
		caps     *mcp.ClientCapabilities
		session  *mcp.ClientSessionOptions
		action   string
		wantMode string
	}{
		{"no elicitation", false, nil, nil, "", ""},
		{"no elicitation, older protocol", false, nil, legacy, "", ""},
		{"form", true, nil, nil, "accept", "form"},
		{"form, older protocol", true, nil, legacy, "accept", "form"},
		{"form declined", true, nil, nil, "decline", "form"},
		{"url", true, urlOnly, nil, "accept", "url"},
		{"url, older protocol", true, urlOnly, legacy, "cancel", "url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &elicitations{action: tt.action}
			opts := &mcp.ClientOptions{Capabilities: tt.caps}
			if tt.supports {
				opts.ElicitationHandler = e.handle
			}
			cs, _ := s.connect(opts, tt.session)
			want := "2026-07-28" // multi round trip: the elicitation comes back in a second round of the call
			if tt.session != nil {
				want = tt.session.ProtocolVersion // the server sends it during the call
			}
			if got := cs.InitializeResult().ProtocolVersion; got != want {
				t.Fatalf("protocol %s, want %s", got, want)
			}
			s.link(cs, nil)
			p, msg := ok[mcpserver.PaymentOutput](t, cs, "create_payment", map[string]any{"merchant": s.merchantID,
				"items": coffee, "purpose": "the coffee the user asked for"})
			if p.Status != sdk.PaymentRequiresApproval || p.Elicitation != tt.action || !strings.Contains(msg, p.ApprovalURL) {
				t.Fatalf("create_payment: %+v\n%s", p, msg)
			}
			if list, _ := ok[mcpserver.ListPaymentsOutput](t, cs, "list_payments", map[string]any{}); len(list.Payments) != 1 {
				t.Fatalf("%d payments made, want 1", len(list.Payments))
			}
			e.mu.Lock()
			defer e.mu.Unlock()
			if tt.wantMode == "" {
				if len(e.asked) != 0 {
					t.Fatalf("elicited without support: %+v", e.asked)
				}
				return
			}
			if len(e.asked) != 1 {
				t.Fatalf("%d elicitations, want 1", len(e.asked))
			}
			got := e.asked[0]
			switch tt.wantMode {
			case "form":
				if got.Mode != "form" || !strings.Contains(got.Message, p.ApprovalURL) || !strings.Contains(got.Message, "9.00 USD to Corner Coffee") ||
					!strings.Contains(got.Message, "passkey") || got.URL != "" {
					t.Fatalf("form elicitation: %+v", got)
				}
			case "url":
				if got.Mode != "url" || got.URL != p.ApprovalURL || got.ElicitationID == "" || !strings.Contains(got.Message, "passkey") {
					t.Fatalf("url elicitation: %+v", got)
				}
			}
		})
	}
}
