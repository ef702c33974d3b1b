package mcpserver

import (
	"context"
	"fmt"

	"github.com/agentpay/agentpay/sdk"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// tipNoteMax is the API's bound on a tip's note, in bytes.
const tipNoteMax = 280

// TipInput is what tip takes.
type TipInput struct {
	Merchant  string `json:"merchant" jsonschema:"the creator's or merchant's id (mer_...) from list_merchants"`
	Amount    int64  `json:"amount" jsonschema:"the tip in minor units of the asset (150 is 1.50 USD)"`
	Asset     string `json:"asset,omitempty" jsonschema:"what to tip in, e.g. USD (default: the grant's asset)"`
	Note      string `json:"note,omitempty" jsonschema:"a short note shown to the user and the payee, e.g. great article (at most 280 bytes)"`
	RequestID string `json:"request_id,omitempty" jsonschema:"your id for this request: the same request_id again returns the first tip instead of tipping twice"`
}

// TipOutput is a tip as the tool shows it: its payment, and whether it was
// given at once under the user's tips mandate.
type TipOutput struct {
	PaymentOutput
	AutoApproved bool   `json:"auto_approved" jsonschema:"true: given at once within the user's tips mandate, no approval needed"`
	Mandate      string `json:"mandate,omitempty" jsonschema:"the user's tips mandate (man_...) it was given under"`
}

func (s *Server) addTipTools() {
	mcp.AddTool(s.mcp, &mcp.Tool{
		Name:  "tip",
		Title: "Tip a creator or merchant",
		Description: "Give a creator or merchant a small tip with a note, for the user. Within the amount the user " +
			"lets this agent tip without asking and the daily tip budget they approved (a tips mandate), the tip is " +
			"paid at once; otherwise it becomes a payment the user approves with their passkey at approval_url, like " +
			"create_payment. Risk control still applies: many tips in a short time are held. Tip only when the user " +
			"asked for it or agreed. Pass a request_id and reuse it if you retry.",
		InputSchema: inputSchema[TipInput](func(p props) {
			p["amount"].Minimum = ptr(1.0)
			p["note"].MaxLength = ptr(tipNoteMax)
			p["request_id"].MaxLength = ptr(requestIDMax)
		}),
		Annotations: &mcp.ToolAnnotations{Title: "Tip", DestructiveHint: ptr(false)},
	}, s.tip)
}

func (s *Server) tip(ctx context.Context, _ *mcp.CallToolRequest, in TipInput) (*mcp.CallToolResult, TipOutput, error) {
	kctx, err := keyed(ctx, "tip", in.RequestID)
	if err != nil {
		return nil, TipOutput{}, err
	}
	p, err := s.agent.Tip(kctx, in.Merchant, in.Amount, in.Asset, in.Note)
	if err != nil {
		return nil, TipOutput{}, s.apiError(ctx, err)
	}
	out := TipOutput{PaymentOutput: s.paymentOutput(ctx, &p.Payment), AutoApproved: p.Tip.AutoApproved, Mandate: p.Tip.Mandate}
	return textResult(s.tipText(ctx, out)), out, nil
}

// tipText is what a model relays about a tip.
func (s *Server) tipText(ctx context.Context, p TipOutput) string {
	switch p.Status {
	case sdk.PaymentCaptured:
		return fmt.Sprintf("Tipped %s to %s.", p.Total.Display, p.MerchantName)
	case sdk.PaymentRequiresApproval:
		return fmt.Sprintf("Ask the user to approve the tip of %s to %s at %s with their passkey. Then call wait_for_approval "+
			"with payment %s.", p.Total.Display, p.MerchantName, p.ApprovalURL, p.ID)
	}
	return "Not tipped yet. " + s.paymentText(ctx, p.PaymentOutput, "")
}
