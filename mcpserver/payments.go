package mcpserver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/sdk"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Bounds of the payment tools' inputs.
const (
	waitDefault  = 30 // seconds wait_for_approval waits when not told
	waitMax      = 60 // the API's longest long-poll
	requestIDMax = 200
)

// ItemInput is one line of an order.
type ItemInput struct {
	Name       string `json:"name" jsonschema:"what it is, as the user will read it on the approval page"`
	Quantity   int64  `json:"quantity" jsonschema:"how many, at least 1"`
	UnitAmount int64  `json:"unit_amount" jsonschema:"the price of one, in minor units of the asset (450 is 4.50 USD)"`
	SKU        string `json:"sku,omitempty" jsonschema:"the merchant's product code, if known"`
	URL        string `json:"url,omitempty" jsonschema:"the product's page, if any"`
}

// orderInput is what create_payment and update_payment share: the order.
type orderInput struct {
	Items       []ItemInput `json:"items" jsonschema:"what is bought, one line per product; the subtotal is computed from them"`
	Tax         int64       `json:"tax,omitempty" jsonschema:"tax in minor units, if the merchant charges it on top"`
	Shipping    int64       `json:"shipping,omitempty" jsonschema:"shipping in minor units"`
	Fees        int64       `json:"fees,omitempty" jsonschema:"the merchant's other fees in minor units"`
	Tip         int64       `json:"tip,omitempty" jsonschema:"a tip in minor units, only if the user asked for one"`
	Description string      `json:"description,omitempty" jsonschema:"a note on the order, shown to the user and the merchant"`
	Purpose     string      `json:"purpose" jsonschema:"why you are buying this, in the user's own terms (e.g. the coffee the user asked for); shown to the user on the approval page and checked by risk control"`
	RequestID   string      `json:"request_id,omitempty" jsonschema:"your id for this request, e.g. a UUID: calling again with the same request_id and the same arguments (after a timeout or an error) returns the first result instead of acting twice; use a new one for each new request"`
}

// CreatePaymentInput is what create_payment takes.
type CreatePaymentInput struct {
	Merchant string `json:"merchant" jsonschema:"the merchant's id (mer_...) from list_merchants"`
	Asset    string `json:"asset,omitempty" jsonschema:"what to pay in, e.g. USD: one the merchant takes and the asset of the grant (default: the grant's)"`
	orderInput
}

// UpdatePaymentInput is what update_payment takes.
type UpdatePaymentInput struct {
	Payment string `json:"payment" jsonschema:"the payment's id (pay_...)"`
	orderInput
}

// PaymentIDInput names a payment.
type PaymentIDInput struct {
	Payment string `json:"payment" jsonschema:"the payment's id (pay_...)"`
}

// WaitInput is what wait_for_approval takes.
type WaitInput struct {
	Payment        string `json:"payment" jsonschema:"the payment's id (pay_...)"`
	TimeoutSeconds int    `json:"timeout_seconds,omitempty" jsonschema:"how long to wait for the user, 1 to 60 seconds (default 30); call again to keep waiting"`
}

// ListPaymentsInput is what list_payments takes.
type ListPaymentsInput struct {
	Limit         int    `json:"limit,omitempty" jsonschema:"how many, 1 to 100 (default 20)"`
	StartingAfter string `json:"starting_after,omitempty" jsonschema:"for the next page: next_starting_after of the previous answer"`
}

// CancelPaymentInput is what cancel_payment takes.
type CancelPaymentInput struct {
	Payment   string `json:"payment" jsonschema:"the payment's id (pay_...)"`
	Reason    string `json:"reason,omitempty" jsonschema:"why, shown to the user and the merchant"`
	RequestID string `json:"request_id,omitempty" jsonschema:"your id for this request: the same request_id again returns the first result"`
}

// PaymentOutput is a payment as the tools show it.
type PaymentOutput struct {
	ID                string      `json:"id"`
	Version           int64       `json:"version" jsonschema:"grows with every change of the order; the user approves one version"`
	Status            string      `json:"status" jsonschema:"requires_approval (waiting for the user's passkey), in_review (held by risk control for an operator), authorized (approved, money held), captured (paid), partially_refunded, refunded, canceled, declined or expired"`
	Merchant          string      `json:"merchant"`
	MerchantName      string      `json:"merchant_name"`
	Total             Money       `json:"total"`
	Items             []ItemInput `json:"items"`
	Purpose           string      `json:"purpose,omitempty"`
	Description       string      `json:"description,omitempty"`
	Authorized        Money       `json:"authorized" jsonschema:"what the user's approval holds for the merchant"`
	Captured          Money       `json:"captured" jsonschema:"what the merchant took"`
	Refunded          Money       `json:"refunded"`
	ApprovalURL       string      `json:"approval_url,omitempty" jsonschema:"where the user approves this payment with their passkey; give it to the user"`
	ApprovalExpiresAt string      `json:"approval_expires_at,omitempty" jsonschema:"the user must decide before this (RFC 3339)"`
	DeclineCode       string      `json:"decline_code,omitempty" jsonschema:"why it was declined, e.g. grant_daily_limit, risk_denied"`
	CanceledBy        string      `json:"canceled_by,omitempty" jsonschema:"user, agent, merchant or operator"`
	CancelReason      string      `json:"cancel_reason,omitempty"`
	Summary           string      `json:"summary" jsonschema:"one sentence about the payment, to read to the user"`
	CreatedAt         string      `json:"created_at"`
	Elicitation       string      `json:"elicitation,omitempty" jsonschema:"create_payment only: how the user answered the approval link shown to them through your client: accept, decline or cancel; empty if it could not be shown"`
}

// ListPaymentsOutput is a page of the agent's payments, newest first.
type ListPaymentsOutput struct {
	Payments          []PaymentOutput `json:"payments"`
	HasMore           bool            `json:"has_more"`
	NextStartingAfter string          `json:"next_starting_after,omitempty"`
}

func (s *Server) addPaymentTools() {
	orderTweak := func(p props) {
		p["items"].Types, p["items"].Type = nil, "array" // not null
		p["items"].MinItems = ptr(1)
		item := p["items"].Items.Properties
		item["quantity"].Minimum = ptr(1.0)
		item["unit_amount"].Minimum = ptr(0.0)
		for _, f := range []string{"tax", "shipping", "fees", "tip"} {
			p[f].Minimum = ptr(0.0)
		}
		p["purpose"].MinLength = ptr(1)
		p["request_id"].MaxLength = ptr(requestIDMax)
	}
	mcp.AddTool(s.mcp, &mcp.Tool{
		Name:  "create_payment",
		Title: "Ask the user to pay a merchant",
		Description: "Ask the user to pay a merchant for an order. It creates the payment; no money moves until the user " +
			"approves it with their passkey on the approval page (approval_url), which you cannot do for them. " +
			"Amounts are integers in minor units of the asset (cents for USD); the total is computed from the items plus " +
			"tax, shipping, fees and tip. Give the user the approval_url, then call wait_for_approval. " +
			"Pass a request_id and reuse it if you retry, so a retry never asks twice. The payment may come back " +
			"in_review (risk control held it) or declined (over a limit or refused): say so to the user.",
		InputSchema: inputSchema[CreatePaymentInput](orderTweak),
		Annotations: &mcp.ToolAnnotations{Title: "Create payment", DestructiveHint: ptr(false)},
	}, s.createPayment)
	mcp.AddTool(s.mcp, &mcp.Tool{
		Name:  "update_payment",
		Title: "Change a payment still waiting for the user",
		Description: "Replace the order (items, tax, shipping, fees, tip, purpose) of a payment that still waits for the " +
			"user's approval: it becomes a new version, and the user must approve that version (an approval of the old " +
			"one no longer counts). Same amounts in minor units as create_payment.",
		InputSchema: inputSchema[UpdatePaymentInput](orderTweak),
		Annotations: &mcp.ToolAnnotations{Title: "Update payment", DestructiveHint: ptr(true)},
	}, s.updatePayment)
	mcp.AddTool(s.mcp, &mcp.Tool{
		Name:  "wait_for_approval",
		Title: "Wait for the user's decision",
		Description: "Wait (up to timeout_seconds, at most 60) until the user approves, changes or declines the payment, " +
			"or it expires, then return its status. If it still says requires_approval, the user has not decided yet: " +
			"call again or remind them of the approval_url. Also reports when an operator releases a payment in_review.",
		InputSchema: inputSchema[WaitInput](func(p props) {
			p["timeout_seconds"].Minimum, p["timeout_seconds"].Maximum = ptr(1.0), ptr(float64(waitMax))
		}),
		Annotations: &mcp.ToolAnnotations{Title: "Wait for approval", ReadOnlyHint: true, OpenWorldHint: ptr(false)},
	}, s.waitForApproval)
	mcp.AddTool(s.mcp, &mcp.Tool{
		Name:        "get_payment",
		Title:       "Read a payment",
		Description: "Read one of this agent's payments: status, amounts, approval link while it waits for the user.",
		Annotations: &mcp.ToolAnnotations{Title: "Get payment", ReadOnlyHint: true, OpenWorldHint: ptr(false)},
	}, s.getPayment)
	mcp.AddTool(s.mcp, &mcp.Tool{
		Name:        "list_payments",
		Title:       "List this agent's payments",
		Description: "List the payments this agent asked for, newest first.",
		InputSchema: inputSchema[ListPaymentsInput](func(p props) {
			p["limit"].Minimum, p["limit"].Maximum = ptr(1.0), ptr(100.0)
		}),
		Annotations: &mcp.ToolAnnotations{Title: "List payments", ReadOnlyHint: true, OpenWorldHint: ptr(false)},
	}, s.listPayments)
	mcp.AddTool(s.mcp, &mcp.Tool{
		Name:  "cancel_payment",
		Title: "Call a payment off",
		Description: "Cancel a payment before the merchant captures it: one waiting for the user, in review, or " +
			"approved (the held money goes back to the user). A captured payment cannot be canceled; see file_claim.",
		InputSchema: inputSchema[CancelPaymentInput](func(p props) { p["request_id"].MaxLength = ptr(requestIDMax) }),
		Annotations: &mcp.ToolAnnotations{Title: "Cancel payment", DestructiveHint: ptr(true), IdempotentHint: true},
	}, s.cancelPayment)
}

// keyed returns ctx carrying the Idempotency-Key of a model's request_id:
// the same request_id of the same tool is the same key, so a retried tool
// call is answered with the first result. The key is a hash, so any text
// the model picks fits the API's bounds.
func keyed(ctx context.Context, tool, requestID string) (context.Context, error) {
	if requestID == "" {
		return ctx, nil
	}
	if len(requestID) > requestIDMax {
		return nil, &toolError{Code: "invalid_request_id", Message: fmt.Sprintf("request_id is at most %d characters", requestIDMax)}
	}
	sum := sha256.Sum256([]byte(tool + "\x00" + requestID))
	return sdk.WithIdempotencyKey(ctx, "mcp-"+hex.EncodeToString(sum[:16])), nil
}

// order builds the SDK order, with its totals computed; amounts that do not
// fit are refused here, before they could wrap around.
func (in orderInput) order() (sdk.Order, error) {
	items := make([]sdk.LineItem, len(in.Items))
	var sub int64
	for i, it := range in.Items {
		line, err := agentpay.MulAmount(it.UnitAmount, it.Quantity)
		if err == nil {
			sub, err = agentpay.AddAmounts(sub, line)
		}
		if err != nil {
			return sdk.Order{}, &toolError{Code: "invalid_items", Message: "the items' amounts are too large"}
		}
		items[i] = sdk.LineItem{Name: it.Name, Quantity: it.Quantity, UnitAmount: it.UnitAmount, SKU: it.SKU, URL: it.URL}
	}
	total := sub
	for _, v := range []int64{in.Tax, in.Shipping, in.Fees, in.Tip} {
		var err error
		if total, err = agentpay.AddAmounts(total, v); err != nil {
			return sdk.Order{}, &toolError{Code: "invalid_amount", Message: "the total is too large"}
		}
	}
	o := sdk.NewOrder(items, in.Tax, in.Shipping, in.Fees, in.Tip)
	o.Description, o.Purpose = in.Description, strings.TrimSpace(in.Purpose)
	return o, nil
}

func (s *Server) createPayment(ctx context.Context, req *mcp.CallToolRequest, in CreatePaymentInput) (*mcp.CallToolResult, PaymentOutput, error) {
	if id, ok := approvalRound(req); ok {
		return s.afterApprovalShown(ctx, req, id)
	}
	o, err := in.order()
	if err != nil {
		return nil, PaymentOutput{}, err
	}
	kctx, err := keyed(ctx, "create_payment", in.RequestID)
	if err != nil {
		return nil, PaymentOutput{}, err
	}
	asset := in.Asset
	if asset == "" {
		g, err := s.agent.Grant(ctx)
		if err != nil {
			return nil, PaymentOutput{}, s.apiError(ctx, err)
		}
		asset = g.Limits.Asset
	}
	p, err := s.agent.CreatePayment(kctx, sdk.PaymentRequest{Merchant: in.Merchant, Asset: asset, Order: o})
	if err != nil {
		return nil, PaymentOutput{}, s.apiError(ctx, err)
	}
	out := s.paymentOutput(ctx, p)
	if p.Status == sdk.PaymentRequiresApproval {
		if round := s.showApproval(ctx, req, &out); round != nil {
			return round, PaymentOutput{}, nil
		}
	}
	return textResult(s.paymentText(ctx, out, "")), out, nil
}

func (s *Server) updatePayment(ctx context.Context, _ *mcp.CallToolRequest, in UpdatePaymentInput) (*mcp.CallToolResult, PaymentOutput, error) {
	o, err := in.order()
	if err != nil {
		return nil, PaymentOutput{}, err
	}
	kctx, err := keyed(ctx, "update_payment", in.RequestID)
	if err != nil {
		return nil, PaymentOutput{}, err
	}
	p, err := s.agent.UpdatePayment(kctx, in.Payment, o)
	if err != nil {
		return nil, PaymentOutput{}, s.apiError(ctx, err)
	}
	out := s.paymentOutput(ctx, p)
	return textResult(s.paymentText(ctx, out, "")), out, nil
}

func (s *Server) waitForApproval(ctx context.Context, _ *mcp.CallToolRequest, in WaitInput) (*mcp.CallToolResult, PaymentOutput, error) {
	secs := in.TimeoutSeconds
	if secs <= 0 {
		secs = waitDefault
	}
	secs = min(secs, waitMax)
	p, err := s.agent.Payment(ctx, in.Payment, time.Duration(secs)*time.Second)
	if err != nil {
		return nil, PaymentOutput{}, s.apiError(ctx, err)
	}
	out := s.paymentOutput(ctx, p)
	lead := ""
	if p.Status == sdk.PaymentRequiresApproval {
		lead = "The user has not decided yet. "
	}
	return textResult(lead + s.paymentText(ctx, out, "wait_for_approval")), out, nil
}

func (s *Server) getPayment(ctx context.Context, _ *mcp.CallToolRequest, in PaymentIDInput) (*mcp.CallToolResult, PaymentOutput, error) {
	p, err := s.agent.Payment(ctx, in.Payment, 0)
	if err != nil {
		return nil, PaymentOutput{}, s.apiError(ctx, err)
	}
	out := s.paymentOutput(ctx, p)
	return textResult(s.paymentText(ctx, out, "")), out, nil
}

func (s *Server) listPayments(ctx context.Context, _ *mcp.CallToolRequest, in ListPaymentsInput) (*mcp.CallToolResult, ListPaymentsOutput, error) {
	l, err := s.agent.Payments(ctx, in.Limit, in.StartingAfter)
	if err != nil {
		return nil, ListPaymentsOutput{}, s.apiError(ctx, err)
	}
	out := ListPaymentsOutput{Payments: []PaymentOutput{}, HasMore: l.HasMore}
	var lines []string
	for i := range l.Data {
		p := s.paymentOutput(ctx, &l.Data[i])
		out.Payments = append(out.Payments, p)
		lines = append(lines, fmt.Sprintf("- %s: %s to %s, %s", p.ID, p.Total.Display, p.MerchantName, p.Status))
	}
	if l.HasMore && len(l.Data) > 0 {
		out.NextStartingAfter = l.Data[len(l.Data)-1].ID
	}
	text := "No payments yet."
	if len(lines) > 0 {
		text = fmt.Sprintf("%d payments, newest first:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	if l.HasMore {
		text += "\nMore: call again with starting_after " + out.NextStartingAfter + "."
	}
	return textResult(text), out, nil
}

func (s *Server) cancelPayment(ctx context.Context, _ *mcp.CallToolRequest, in CancelPaymentInput) (*mcp.CallToolResult, PaymentOutput, error) {
	kctx, err := keyed(ctx, "cancel_payment", in.RequestID)
	if err != nil {
		return nil, PaymentOutput{}, err
	}
	p, err := s.agent.CancelPayment(kctx, in.Payment, in.Reason)
	if err != nil {
		return nil, PaymentOutput{}, s.apiError(ctx, err)
	}
	out := s.paymentOutput(ctx, p)
	return textResult(s.paymentText(ctx, out, "")), out, nil
}

// paymentOutput renders a payment for the model.
func (s *Server) paymentOutput(ctx context.Context, p *sdk.Payment) PaymentOutput {
	a := p.Asset
	out := PaymentOutput{ID: p.ID, Version: p.Version, Status: p.Status, Merchant: p.Merchant,
		MerchantName: s.merchantName(ctx, p.Merchant), Total: money(p.Totals.Total, a), Purpose: p.Purpose,
		Description: p.Description, Authorized: money(p.Authorized, a), Captured: money(p.Captured, a),
		Refunded: money(p.Refunded, a), ApprovalURL: p.ApprovalURL, DeclineCode: p.DeclineCode, CanceledBy: p.CanceledBy,
		CancelReason: p.CancelReason, Summary: p.Summary, CreatedAt: p.CreatedAt.UTC().Format(time.RFC3339)}
	for _, it := range p.Items {
		out.Items = append(out.Items, ItemInput{Name: it.Name, Quantity: it.Quantity, UnitAmount: it.UnitAmount, SKU: it.SKU, URL: it.URL})
	}
	if p.ApprovalExpiresAt != nil {
		out.ApprovalExpiresAt = p.ApprovalExpiresAt.UTC().Format(time.RFC3339)
	}
	return out
}

// declines explain decline codes to the model and the user.
var declines = map[string]string{
	"grant_daily_limit":   "it is over what this agent may still spend today",
	"grant_monthly_limit": "it is over what this agent may still spend this month",
	"tier_daily_limit":    "it is over what the user's verification level lets agents spend today",
	"tier_monthly_limit":  "it is over what the user's verification level lets agents spend this month",
	"risk_denied":         "agentpay's risk control refused it",
	"review_declined":     "an operator declined it after a review",
}

// paymentText is the short text a model can relay: what happened and, if
// the user must act, what and where. tool names the caller when the text
// differs for it.
func (s *Server) paymentText(ctx context.Context, p PaymentOutput, tool string) string {
	what := p.Total.Display + " to " + p.MerchantName
	switch p.Status {
	case sdk.PaymentRequiresApproval:
		t := fmt.Sprintf("Ask the user to approve %s at %s with their passkey", what, p.ApprovalURL)
		if p.Version > 1 {
			t += fmt.Sprintf(" (version %d of the order)", p.Version)
		}
		if exp, err := time.Parse(time.RFC3339, p.ApprovalExpiresAt); err == nil {
			t += " before " + exp.UTC().Format("15:04 UTC")
		}
		next := "Then call wait_for_approval with payment " + p.ID + "."
		if tool == "wait_for_approval" {
			next = "Call wait_for_approval again to keep waiting."
		}
		return t + ". " + next
	case "in_review":
		return fmt.Sprintf("agentpay's risk control held this payment (%s) for an operator to review; nothing is charged. "+
			"Tell the user. If the operator releases it, the user approves it with their passkey; wait_for_approval reports it.", what)
	case sdk.PaymentDeclined:
		why := declines[p.DeclineCode]
		if why == "" {
			why = "it was refused"
		}
		t := fmt.Sprintf("Declined (%s): %s. Nothing was charged for %s.", p.DeclineCode, why, what)
		if strings.HasPrefix(p.DeclineCode, "grant_") || strings.HasPrefix(p.DeclineCode, "tier_") {
			if b := s.budgetText(ctx); b != "" {
				t += " " + b
			}
		}
		return t
	case sdk.PaymentAuthorized:
		return fmt.Sprintf("The user approved %s; the money is held for the merchant, who captures it when it delivers.", what)
	case sdk.PaymentCaptured:
		return fmt.Sprintf("Paid: the merchant captured %s of %s.", p.Captured.Display, what)
	case sdk.PaymentPartiallyRefunded, sdk.PaymentRefunded:
		return fmt.Sprintf("%s; %s refunded to the user.", strings.ReplaceAll(p.Status, "_", " "), p.Refunded.Display) +
			fmt.Sprintf(" (The merchant captured %s of %s.)", p.Captured.Display, what)
	case sdk.PaymentCanceled:
		t := fmt.Sprintf("Canceled by the %s: %s; nothing is charged.", p.CanceledBy, what)
		if p.CancelReason != "" {
			t += " Reason: " + p.CancelReason + "."
		}
		return t
	case sdk.PaymentExpired:
		return fmt.Sprintf("Expired: %s was not approved (or not captured) in time; nothing is charged.", what)
	}
	return fmt.Sprintf("%s: %s.", p.Status, what)
}
