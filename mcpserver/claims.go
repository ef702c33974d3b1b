package mcpserver

import (
	"context"
	"fmt"

	"github.com/agentpay/agentpay/sdk"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// FileClaimInput is what file_claim takes.
type FileClaimInput struct {
	Payment     string `json:"payment" jsonschema:"the captured payment's id (pay_...)"`
	Kind        string `json:"kind" jsonschema:"not_received: paid but nothing arrived; duplicate: the same order was paid twice; agent_error: what was bought differs from what the user approved; unauthorized: the user never approved it"`
	Description string `json:"description" jsonschema:"what went wrong, in words the user and an operator will read (at most 2000 bytes)"`
	RequestID   string `json:"request_id,omitempty" jsonschema:"your id for this request: the same request_id again returns the first claim"`
}

// ClaimOutput is a claim as file_claim shows it.
type ClaimOutput struct {
	ID           string `json:"id"`
	Payment      string `json:"payment"`
	Kind         string `json:"kind"`
	Status       string `json:"status" jsonschema:"approved (the user was reimbursed), in_review (an operator decides), open (decided shortly) or denied"`
	Amount       Money  `json:"amount" jsonschema:"what the user is, or would be, reimbursed"`
	DecisionCode string `json:"decision_code,omitempty" jsonschema:"why it was decided so, e.g. merchant_dispute, duplicate_payment, approval_on_record"`
	Description  string `json:"description"`
}

func (s *Server) addClaimTools() {
	mcp.AddTool(s.mcp, &mcp.Tool{
		Name:  "file_claim",
		Title: "Report a problem with a captured payment",
		Description: "File a claim with agentpay's protection program for the user, on one of this agent's captured " +
			"payments (up to 90 days after capture): it is decided from the evidence at once where it can be (the user is " +
			"reimbursed from the protection fund) or reviewed by an operator. One open claim per payment. Use it only " +
			"for what the user reports or agrees to.",
		InputSchema: inputSchema[FileClaimInput](func(p props) {
			p["kind"].Enum = []any{sdk.ClaimNotReceived, sdk.ClaimDuplicate, sdk.ClaimAgentError, sdk.ClaimUnauthorized}
			p["description"].MinLength, p["description"].MaxLength = ptr(1), ptr(2000)
			p["request_id"].MaxLength = ptr(requestIDMax)
		}),
		Annotations: &mcp.ToolAnnotations{Title: "File claim", DestructiveHint: ptr(false)},
	}, s.fileClaim)
}

func (s *Server) fileClaim(ctx context.Context, _ *mcp.CallToolRequest, in FileClaimInput) (*mcp.CallToolResult, ClaimOutput, error) {
	kctx, err := keyed(ctx, "file_claim", in.RequestID)
	if err != nil {
		return nil, ClaimOutput{}, err
	}
	c, err := s.agent.FileClaim(kctx, sdk.ClaimRequest{Payment: in.Payment, Kind: in.Kind, Description: in.Description})
	if err != nil {
		return nil, ClaimOutput{}, s.apiError(ctx, err)
	}
	out := ClaimOutput{ID: c.ID, Payment: c.Payment, Kind: c.Kind, Status: c.Status, Amount: money(c.Amount, c.Asset),
		DecisionCode: c.DecisionCode, Description: c.Description}
	var text string
	switch c.Status {
	case sdk.ClaimApproved:
		text = fmt.Sprintf("Claim %s approved (%s): the user was reimbursed %s from agentpay's protection fund.", c.ID, c.DecisionCode, out.Amount.Display)
	case sdk.ClaimInReview:
		text = fmt.Sprintf("Claim %s filed for %s; an operator will review it (%s). The user can follow it on their agentpay account page.",
			c.ID, out.Amount.Display, c.DecisionCode)
	case sdk.ClaimDenied:
		text = fmt.Sprintf("Claim %s was denied (%s).", c.ID, c.DecisionCode)
	default:
		text = fmt.Sprintf("Claim %s filed for %s; it will be decided within a minute. The user can follow it on their agentpay account page.",
			c.ID, out.Amount.Display)
	}
	return textResult(text), out, nil
}
