package mcpserver

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/agentpay/agentpay/sdk"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// What link_account asks for when the model does not say: payments the
// user approves one by one, in USD, the limits of agentpay's own examples.
// The user sees them on the linking page and may lower them (never raise).
const (
	defaultLinkAsset      = "USD"
	defaultLinkPerPayment = 50_00
	defaultLinkPerDay     = 100_00
	defaultLinkPerMonth   = 500_00
	softwareID            = "agentpay-mcp"
	// linkPollMax bounds a link's background poll: links expire after 15
	// minutes.
	linkPollMax = 16 * time.Minute
)

// LinkAccountInput is what link_account takes.
type LinkAccountInput struct {
	AgentName  string `json:"agent_name,omitempty" jsonschema:"the name the user will see for you on the linking page, e.g. Claude Code; default: your MCP client's name"`
	Asset      string `json:"asset,omitempty" jsonschema:"the asset of the limits, e.g. USD (default USD); payments are only possible in this asset"`
	PerPayment int64  `json:"per_payment,omitempty" jsonschema:"the most one payment may be, in minor units (in USD the default is 5000 = 50.00 USD); the user may lower it on the linking page"`
	PerDay     int64  `json:"per_day,omitempty" jsonschema:"the most per UTC day, in minor units (USD default 10000)"`
	PerMonth   int64  `json:"per_month,omitempty" jsonschema:"the most per UTC month, in minor units (USD default 50000)"`
	Relink     bool   `json:"relink,omitempty" jsonschema:"start a new link even though one is active (to change limits or scopes); the old one ends when the user approves the new one"`
	// Tips without a tap: asking for either adds the tips scope.
	TipAutoApproveMax int64 `json:"tip_auto_approve_max,omitempty" jsonschema:"ask to give tips without the user's tap: each tip up to this, in minor units (at most per_payment); tips above it ask the user"`
	TipBudgetPerDay   int64 `json:"tip_budget_per_day,omitempty" jsonschema:"with tip_auto_approve_max: the most tips given without a tap may add up to in a day, in minor units (at least tip_auto_approve_max, at most per_day); the user may lower it, or set 0 so that every tip asks them"`
}

// LinkAccountOutput is what link_account answers.
type LinkAccountOutput struct {
	Status                  string       `json:"status" jsonschema:"linked: the account is linked and payments can be asked for; pending: the user must approve the link"`
	UserCode                string       `json:"user_code,omitempty" jsonschema:"the code the user checks (or types) on the linking page"`
	VerificationURI         string       `json:"verification_uri,omitempty" jsonschema:"the linking page"`
	VerificationURIComplete string       `json:"verification_uri_complete,omitempty" jsonschema:"the linking page with the code filled in: the link to give the user"`
	ExpiresAt               string       `json:"expires_at,omitempty" jsonschema:"when the pending link expires (RFC 3339)"`
	KeyFingerprint          string       `json:"key_fingerprint" jsonschema:"this agent's key fingerprint, which the linking page shows too"`
	Grant                   *GrantOutput `json:"grant,omitempty" jsonschema:"the grant, when linked"`
}

func (s *Server) addLinkTools() {
	mcp.AddTool(s.mcp, &mcp.Tool{
		Name:  "link_account",
		Title: "Link the user's agentpay account",
		Description: "Link this agent to the user's agentpay account, once, before any payment. " +
			"Returns a link and a code: show both to the user and ask them to open the link and approve with their passkey " +
			"(they may lower the limits there). Until they do, the other tools answer that the agent is not linked. " +
			"If the account is already linked it says so and returns the grant. Limits are in minor units of asset. " +
			"To tip without asking the user each time, ask for tip_auto_approve_max and tip_budget_per_day.",
		Annotations: &mcp.ToolAnnotations{Title: "Link agentpay account", IdempotentHint: true, DestructiveHint: ptr(false),
			OpenWorldHint: ptr(false)},
	}, s.linkAccount)
	mcp.AddTool(s.mcp, &mcp.Tool{
		Name:  "get_grant",
		Title: "What the user allows this agent to pay",
		Description: "Read the grant the user gave this agent: the asset, the limits per payment, per day and per month, " +
			"what was spent today and this month (UTC), and what a payment may still take. Check it before asking for a " +
			"payment that may not fit.",
		Annotations: &mcp.ToolAnnotations{Title: "Get grant and remaining budget", ReadOnlyHint: true, OpenWorldHint: ptr(false)},
	}, s.getGrant)
}

func (s *Server) linkAccount(ctx context.Context, req *mcp.CallToolRequest, in LinkAccountInput) (*mcp.CallToolResult, LinkAccountOutput, error) {
	out := LinkAccountOutput{KeyFingerprint: s.agent.KeyID()}
	if !in.Relink {
		g, err := s.agent.Grant(ctx)
		switch {
		case err == nil:
			// A link remembered from before is decided or moot now.
			if err := s.home.setPending(nil); err != nil {
				s.log.Warn("cannot clear the pending link", "error", err)
			}
			out.Status, out.Grant = "linked", grantOutput(g)
			return textResult("Already linked to the user's agentpay account. " + out.Grant.summary() +
				" Call link_account with relink true only to change the limits."), out, nil
		case !notLinked(err):
			return nil, out, s.apiError(ctx, err)
		}
	}
	s.linkMu.Lock()
	defer s.linkMu.Unlock()
	// A link in progress is shown again rather than another started, so
	// the user sees one code; relink always asks anew.
	var p *pendingLink
	if !in.Relink {
		p = s.home.pending(s.opts.ServerURL, time.Now())
	}
	if p == nil {
		var err error
		if p, err = s.startLink(ctx, s.linkRequest(req, in)); err != nil {
			return nil, out, err
		}
	}
	out.Status, out.UserCode, out.VerificationURI = "pending", p.UserCode, p.VerificationURI
	out.VerificationURIComplete, out.ExpiresAt = p.VerificationURIComplete, p.ExpiresAt.UTC().Format(time.RFC3339)
	return textResult(fmt.Sprintf("Ask the user to open %s and approve linking this agent with their passkey "+
		"(the page shows the code %s and the key fingerprint %s; they can lower the limits there). "+
		"The link expires at %s. Once they approved, call get_grant to check.",
		p.VerificationURIComplete, p.UserCode, out.KeyFingerprint, p.ExpiresAt.UTC().Format("15:04 UTC"))), out, nil
}

// linkRequest is the link the model asked for, with defaults; the agent's
// name defaults to the MCP client's (shown to the user as unverified).
func (s *Server) linkRequest(req *mcp.CallToolRequest, in LinkAccountInput) sdk.LinkRequest {
	name := strings.TrimSpace(in.AgentName)
	if name == "" {
		name = "agentpay MCP agent"
		if ci := req.ClientInfo(); ci != nil && ci.Name != "" {
			name = ci.Name + " (agentpay MCP)"
		}
	}
	l := sdk.Limits{Asset: in.Asset, PerPayment: in.PerPayment, PerDay: in.PerDay, PerMonth: in.PerMonth}
	if l.Asset == "" {
		l.Asset = defaultLinkAsset
	}
	// Limits left out default in USD only (minor units mean different
	// amounts in other assets), kept per payment ≤ per day ≤ per month.
	if l.Asset == defaultLinkAsset {
		if l.PerPayment == 0 {
			l.PerPayment = defaultLinkPerPayment
			if l.PerDay > 0 {
				l.PerPayment = min(l.PerPayment, l.PerDay)
			}
		}
		if l.PerDay == 0 {
			l.PerDay = max(defaultLinkPerDay, l.PerPayment)
		}
		if l.PerMonth == 0 {
			l.PerMonth = max(defaultLinkPerMonth, l.PerDay)
		}
	}
	scopes := []string{"payments:create", "subscriptions"}
	if in.TipAutoApproveMax != 0 || in.TipBudgetPerDay != 0 {
		scopes = append(scopes, "tips")
	}
	return sdk.LinkRequest{AgentName: name, SoftwareID: softwareID, Scopes: scopes, Limits: l,
		TipAutoApproveMax: in.TipAutoApproveMax, TipBudgetPerDay: in.TipBudgetPerDay}
}

// startLink starts a link and returns it once the server answered with
// its code. The SDK's Link then goes on polling in the background until
// the user decides, the link expires or the server closes; the poll only
// tells this process the grant, which the server holds anyway.
func (s *Server) startLink(ctx context.Context, lr sdk.LinkRequest) (*pendingLink, error) {
	s.closedMu.Lock()
	if s.closed {
		s.closedMu.Unlock()
		return nil, &toolError{Code: "server_closing", Message: "agentpay mcp is shutting down"}
	}
	s.polls.Add(1)
	s.closedMu.Unlock()
	started := make(chan *pendingLink, 1)
	failed := make(chan error, 1)
	go func() {
		defer s.polls.Done()
		pctx, cancel := context.WithTimeout(s.bg, linkPollMax)
		defer cancel()
		var shown *pendingLink
		g, err := s.agent.Link(pctx, lr, func(p sdk.Pending) {
			shown = &pendingLink{Server: s.opts.ServerURL, UserCode: p.UserCode, VerificationURI: p.VerificationURI,
				VerificationURIComplete: p.VerificationURIComplete, ExpiresAt: time.Now().Add(p.ExpiresIn)}
			if err := s.home.setPending(shown); err != nil {
				s.log.Warn("cannot save the pending link", "error", err)
			}
			started <- shown
		})
		if shown == nil {
			failed <- err
			return
		}
		if s.bg.Err() != nil {
			// Shutting down, not decided: the next process shows the same
			// link, which the user may still approve.
			return
		}
		if err := s.home.clearPending(s.opts.ServerURL, shown.UserCode); err != nil {
			s.log.Warn("cannot clear the pending link", "error", err)
		}
		if err != nil {
			s.log.Info("link ended without a grant", "code", sdk.ErrorCode(err), "error", err)
			return
		}
		s.log.Info("linked", "grant", g.ID)
	}()
	select {
	case p := <-started:
		return p, nil
	case err := <-failed:
		return nil, s.apiError(ctx, err)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *Server) getGrant(ctx context.Context, _ *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, GrantOutput, error) {
	g, err := s.agent.Grant(ctx)
	if err != nil {
		return nil, GrantOutput{}, s.apiError(ctx, err)
	}
	out := *grantOutput(g)
	return textResult(out.summary()), out, nil
}
