package mcpserver

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/agentpay/agentpay/sdk"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// CreateSubscriptionInput is what create_subscription takes.
type CreateSubscriptionInput struct {
	Merchant      string `json:"merchant" jsonschema:"the merchant's id (mer_...) from list_merchants"`
	Plan          string `json:"plan" jsonschema:"the plan's name as the merchant calls it, e.g. Tea box monthly"`
	Amount        int64  `json:"amount" jsonschema:"the price per period in minor units of the asset (999 is 9.99 USD); for a metered plan its base fee, may be 0"`
	MaxAmount     int64  `json:"max_amount,omitempty" jsonschema:"only for metered plans (billed by usage at each period's end): the most charged per period, in minor units"`
	Asset         string `json:"asset" jsonschema:"the currency, e.g. USD"`
	IntervalUnit  string `json:"interval_unit" jsonschema:"day, week, month or year"`
	IntervalCount int    `json:"interval_count,omitempty" jsonschema:"every how many units (default 1)"`
	TimeZone      string `json:"time_zone" jsonschema:"the user's IANA time zone, e.g. Europe/Paris: billing days follow its calendar"`
	TrialDays     int    `json:"trial_days,omitempty" jsonschema:"free days before the first charge"`
	Cycles        int    `json:"cycles,omitempty" jsonschema:"how many periods in all (0: until canceled)"`
	RequestID     string `json:"request_id,omitempty" jsonschema:"your id for this request: the same request_id again returns the first subscription instead of proposing a second"`
}

// SubscriptionIDInput names a subscription.
type SubscriptionIDInput struct {
	Subscription string `json:"subscription" jsonschema:"the subscription's id (sub_...)"`
	RequestID    string `json:"request_id,omitempty" jsonschema:"your id for this request: the same request_id again returns the first result"`
}

// SubscriptionOutput is a subscription as the tools show it.
type SubscriptionOutput struct {
	ID           string `json:"id"`
	Status       string `json:"status" jsonschema:"incomplete (waiting for the user's passkey at approval_url), trialing, active, past_due (a charge failed and is retried), paused, canceled or ended"`
	Plan         string `json:"plan"`
	Merchant     string `json:"merchant"`
	MerchantName string `json:"merchant_name"`
	Price        Money  `json:"price" jsonschema:"charged every period"`
	Every        string `json:"every" jsonschema:"the period, e.g. 1 month"`
	ApprovalURL  string `json:"approval_url,omitempty" jsonschema:"where the user approves the subscription with their passkey; give it to the user"`
	NextChargeAt string `json:"next_charge_at,omitempty" jsonschema:"when the next charge is made (RFC 3339)"`
	DeclineCode  string `json:"decline_code,omitempty" jsonschema:"why the last charge failed"`
}

// ListSubscriptionsOutput is a page of subscriptions.
type ListSubscriptionsOutput struct {
	Subscriptions     []SubscriptionOutput `json:"subscriptions"`
	HasMore           bool                 `json:"has_more"`
	NextStartingAfter string               `json:"next_starting_after,omitempty"`
}

func (s *Server) addSubscriptionTools() {
	mcp.AddTool(s.mcp, &mcp.Tool{
		Name:  "create_subscription",
		Title: "Subscribe the user to a merchant's plan",
		Description: "Propose a subscription for the user: a merchant's plan charged every period. The user approves it " +
			"once with their passkey at approval_url; agentpay then charges each period itself, with no further " +
			"approval, and retries failed charges. Subscribe only when the user asked for it. Pass a request_id and " +
			"reuse it if you retry. Needs the subscriptions scope on the link.",
		InputSchema: inputSchema[CreateSubscriptionInput](func(p props) {
			p["amount"].Minimum = ptr(1.0)
			p["interval_unit"].Enum = []any{"day", "week", "month", "year"}
			p["interval_count"].Minimum = ptr(1.0)
			p["trial_days"].Minimum = ptr(0.0)
			p["cycles"].Minimum = ptr(0.0)
			p["request_id"].MaxLength = ptr(requestIDMax)
		}),
		Annotations: &mcp.ToolAnnotations{Title: "Create subscription", DestructiveHint: ptr(false)},
	}, s.createSubscription)
	mcp.AddTool(s.mcp, &mcp.Tool{
		Name:        "list_subscriptions",
		Title:       "List this agent's subscriptions",
		Description: "List the subscriptions this agent proposed, newest first, with their status and next charge.",
		InputSchema: inputSchema[ListPaymentsInput](func(p props) {
			p["limit"].Minimum, p["limit"].Maximum = ptr(1.0), ptr(100.0)
		}),
		Annotations: &mcp.ToolAnnotations{Title: "List subscriptions", ReadOnlyHint: true, OpenWorldHint: ptr(false)},
	}, s.listSubscriptions)
	mcp.AddTool(s.mcp, &mcp.Tool{
		Name:  "cancel_subscription",
		Title: "Cancel a subscription",
		Description: "Cancel a subscription at once: nothing more is charged and its mandate is revoked. What was " +
			"charged for the current period stays charged. Cancel only when the user asked for it.",
		InputSchema: inputSchema[SubscriptionIDInput](func(p props) { p["request_id"].MaxLength = ptr(requestIDMax) }),
		Annotations: &mcp.ToolAnnotations{Title: "Cancel subscription", DestructiveHint: ptr(true), IdempotentHint: true},
	}, s.subscriptionAction("cancel_subscription", (*sdk.Agent).CancelSubscription))
	mcp.AddTool(s.mcp, &mcp.Tool{
		Name:  "pause_subscription",
		Title: "Pause a subscription",
		Description: "Pause a subscription at once: nothing is charged until the user resumes it (on their account " +
			"page); periods that begin while paused are not charged.",
		InputSchema: inputSchema[SubscriptionIDInput](func(p props) { p["request_id"].MaxLength = ptr(requestIDMax) }),
		Annotations: &mcp.ToolAnnotations{Title: "Pause subscription", DestructiveHint: ptr(false), IdempotentHint: true},
	}, s.subscriptionAction("pause_subscription", (*sdk.Agent).PauseSubscription))
}

func (s *Server) createSubscription(ctx context.Context, _ *mcp.CallToolRequest, in CreateSubscriptionInput) (*mcp.CallToolResult, SubscriptionOutput, error) {
	kctx, err := keyed(ctx, "create_subscription", in.RequestID)
	if err != nil {
		return nil, SubscriptionOutput{}, err
	}
	count := in.IntervalCount
	if count == 0 {
		count = 1
	}
	sub, err := s.agent.CreateSubscription(kctx, sdk.SubscriptionRequest{Merchant: in.Merchant, Plan: in.Plan,
		Asset: in.Asset, Amount: in.Amount, MaxAmount: in.MaxAmount, Interval: sdk.Interval{Unit: in.IntervalUnit, Count: count},
		TimeZone: in.TimeZone, TrialDays: in.TrialDays, Cycles: in.Cycles})
	if err != nil {
		return nil, SubscriptionOutput{}, s.apiError(ctx, err)
	}
	out := s.subscriptionOutput(ctx, sub)
	return textResult(subscriptionText(out)), out, nil
}

func (s *Server) listSubscriptions(ctx context.Context, _ *mcp.CallToolRequest, in ListPaymentsInput) (*mcp.CallToolResult, ListSubscriptionsOutput, error) {
	l, err := s.agent.Subscriptions(ctx, in.Limit, in.StartingAfter)
	if err != nil {
		return nil, ListSubscriptionsOutput{}, s.apiError(ctx, err)
	}
	out := ListSubscriptionsOutput{Subscriptions: []SubscriptionOutput{}, HasMore: l.HasMore}
	var lines []string
	for i := range l.Data {
		o := s.subscriptionOutput(ctx, &l.Data[i])
		out.Subscriptions = append(out.Subscriptions, o)
		lines = append(lines, fmt.Sprintf("- %s: %s at %s, %s every %s, %s", o.ID, o.Plan, o.MerchantName, o.Price.Display, o.Every, o.Status))
	}
	if l.HasMore && len(l.Data) > 0 {
		out.NextStartingAfter = l.Data[len(l.Data)-1].ID
	}
	text := "No subscriptions yet."
	if len(lines) > 0 {
		text = fmt.Sprintf("%d subscriptions, newest first:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	if l.HasMore {
		text += "\nMore: call again with starting_after " + out.NextStartingAfter + "."
	}
	return textResult(text), out, nil
}

// subscriptionAction is a tool that pauses or cancels a subscription.
func (s *Server) subscriptionAction(tool string, act func(*sdk.Agent, context.Context, string) (*sdk.Subscription, error)) mcp.ToolHandlerFor[SubscriptionIDInput, SubscriptionOutput] {
	return func(ctx context.Context, _ *mcp.CallToolRequest, in SubscriptionIDInput) (*mcp.CallToolResult, SubscriptionOutput, error) {
		kctx, err := keyed(ctx, tool, in.RequestID)
		if err != nil {
			return nil, SubscriptionOutput{}, err
		}
		sub, err := act(s.agent, kctx, in.Subscription)
		if err != nil {
			return nil, SubscriptionOutput{}, s.apiError(ctx, err)
		}
		out := s.subscriptionOutput(ctx, sub)
		return textResult(subscriptionText(out)), out, nil
	}
}

func (s *Server) subscriptionOutput(ctx context.Context, sub *sdk.Subscription) SubscriptionOutput {
	out := SubscriptionOutput{ID: sub.ID, Status: sub.Status, Plan: sub.Plan, Merchant: sub.Merchant,
		MerchantName: s.merchantName(ctx, sub.Merchant), Price: money(sub.Amount, sub.Asset),
		Every: fmt.Sprintf("%d %s", sub.Interval.Count, sub.Interval.Unit), ApprovalURL: sub.ApprovalURL,
		DeclineCode: sub.DeclineCode}
	if sub.NextChargeAt != nil {
		out.NextChargeAt = sub.NextChargeAt.UTC().Format(time.RFC3339)
	}
	return out
}

// subscriptionText is what a model relays about a subscription.
func subscriptionText(o SubscriptionOutput) string {
	what := fmt.Sprintf("%s at %s (%s every %s)", o.Plan, o.MerchantName, o.Price.Display, o.Every)
	switch o.Status {
	case sdk.SubscriptionIncomplete:
		return fmt.Sprintf("Ask the user to approve the subscription to %s at %s with their passkey; it starts once approved. "+
			"Call list_subscriptions later to see it active.", what, o.ApprovalURL)
	case sdk.SubscriptionTrialing, sdk.SubscriptionActive:
		return fmt.Sprintf("The subscription to %s is %s; the next charge is at %s.", what, o.Status, o.NextChargeAt)
	case sdk.SubscriptionPastDue:
		return fmt.Sprintf("The last charge of %s failed (%s); it is retried at %s.", what, o.DeclineCode, o.NextChargeAt)
	}
	return fmt.Sprintf("The subscription to %s is %s.", what, o.Status)
}
