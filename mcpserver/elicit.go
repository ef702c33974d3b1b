package mcpserver

import (
	"context"
	"fmt"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The approval link is shown to the user through elicitation, where the
// client supports it: the client puts the link in front of the user itself,
// so it does not depend on the model relaying it. The user still approves
// on agentpay's page with their passkey; the elicitation only shows where.
const (
	// approvalInput names the elicitation among a result's input requests.
	approvalInput = "approval"
	// multiRoundTripVersion is the first MCP protocol version in which a
	// server may not send requests while serving one: it returns them as
	// input requests, and the client calls the tool again with the
	// answers (SEP-2322). Versions are dates, so they compare as strings.
	multiRoundTripVersion = "2026-07-28"
)

// showApproval shows out's approval link to the user through elicitation,
// if the client supports it. A client on a multi-round-trip protocol
// version gets back a result asking for the elicitation, to return as is:
// it calls create_payment again with the answer, and approvalRound finds
// the payment then. An older client is asked at once (for at most
// ElicitTimeout) and the answer recorded in out; showApproval returns nil.
// Any failure to show the link is ignored: the payment exists, and the
// result's text and approval_url still carry the link.
func (s *Server) showApproval(ctx context.Context, req *mcp.CallToolRequest, out *PaymentOutput) *mcp.CallToolResult {
	params := approvalElicitation(req, out)
	if params == nil {
		return nil
	}
	if req.ProtocolVersion() >= multiRoundTripVersion {
		return &mcp.CallToolResult{InputRequests: mcp.InputRequestMap{approvalInput: params}, RequestState: out.ID}
	}
	ectx, cancel := context.WithTimeout(ctx, s.opts.ElicitTimeout)
	defer cancel()
	res, err := req.Session.Elicit(ectx, params)
	if err != nil {
		s.log.Info("the approval link could not be shown through elicitation", "payment", out.ID, "error", err)
		return nil
	}
	out.Elicitation = res.Action
	return nil
}

// approvalElicitation is the elicitation that shows the approval link:
// URL mode where the client supports it (the client offers to open the
// page), else a form whose only field acknowledges the link (a client that
// names no mode supports forms); nil without elicitation.
func approvalElicitation(req *mcp.CallToolRequest, out *PaymentOutput) *mcp.ElicitParams {
	caps := req.ClientCapabilities()
	if caps == nil || caps.Elicitation == nil {
		return nil
	}
	what := fmt.Sprintf("%s to %s", out.Total.Display, out.MerchantName)
	if caps.Elicitation.URL != nil {
		return &mcp.ElicitParams{Mode: "url", URL: out.ApprovalURL, ElicitationID: fmt.Sprintf("%s.v%d", out.ID, out.Version),
			Message: fmt.Sprintf("Your agent asks you to pay %s (%s). Open agentpay's approval page to check it and approve or decline it with your passkey.",
				what, strings.TrimSuffix(out.Summary, "."))}
	}
	return &mcp.ElicitParams{Mode: "form",
		Message: fmt.Sprintf("Your agent asks you to pay %s (%s). To approve or decline it, open %s and use your passkey there; "+
			"nothing is paid from here.", what, strings.TrimSuffix(out.Summary, "."), out.ApprovalURL),
		RequestedSchema: map[string]any{"type": "object", "properties": map[string]any{
			"will_review": map[string]any{"type": "boolean", "title": "I'll open the approval page",
				"description": "Only acknowledges the link: the payment is approved on agentpay's page with your passkey.",
				"default":     true},
		}}}
}

// approvalRound reports whether req is create_payment called again with
// the answer to its approval elicitation, and the payment it made then.
func approvalRound(req *mcp.CallToolRequest) (string, bool) {
	if req.Params == nil || len(req.Params.InputResponses) == 0 || !strings.HasPrefix(req.Params.RequestState, "pay_") {
		return "", false
	}
	return req.Params.RequestState, true
}

// afterApprovalShown answers create_payment's second round: the payment
// made in the first, as it is now, with the user's answer.
func (s *Server) afterApprovalShown(ctx context.Context, req *mcp.CallToolRequest, id string) (*mcp.CallToolResult, PaymentOutput, error) {
	p, err := s.agent.Payment(ctx, id, 0)
	if err != nil {
		return nil, PaymentOutput{}, s.apiError(ctx, err)
	}
	out := s.paymentOutput(ctx, p)
	if r, ok := req.Params.InputResponses[approvalInput].(*mcp.ElicitResult); ok && r != nil {
		out.Elicitation = r.Action
	}
	return textResult(s.paymentText(ctx, out, "")), out, nil
}
