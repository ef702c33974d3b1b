package mcpserver

import (
	"context"
	"errors"
	"fmt"

	"github.com/agentpay/agentpay/sdk"
)

// toolError is a failed call as the model reads it: the agentpay error
// code, the server's message, and what to do next. Handlers return it as
// their error, which the MCP SDK sends as a tool error (isError), not a
// protocol error, so the model sees it and can act.
type toolError struct {
	Code    string
	Message string
}

func (e *toolError) Error() string { return e.Code + ": " + e.Message }

// Codes that mean the key is not (or no longer) linked to a user.
var notLinkedCodes = map[string]bool{"unknown_key": true, "grant_revoked": true, "grant_expired": true}

// budgetCodes are refusals about how much the agent may pay; their message
// gets what the grant may still spend.
var budgetCodes = map[string]bool{"exceeds_grant_limit": true, "exceeds_tier_limit": true,
	"asset_not_allowed_for_tier": true, "tier_unverified": true}

// hints say what a model can do about an error, beyond the server's words.
var hints = map[string]string{
	"insufficient_scope":            "The user did not allow this when linking; call link_account with relink true and ask them to approve it.",
	"agent_suspended":               "An operator suspended this agent; tell the user, who can contact the agentpay operator.",
	"signature_invalid":             "The server URL agentpay mcp signs for must be the server's public URL exactly (its --public-url, e.g. http://localhost:8080, not 127.0.0.1): restart agentpay mcp with --server set to it.",
	"merchant_not_found":            "Call list_merchants for the ids of merchants you can pay.",
	"merchant_suspended":            "This merchant cannot take payments now; choose another with list_merchants.",
	"asset_not_supported":           "Pay in one of the assets list_merchants shows for this merchant.",
	"asset_not_in_grant":            "Pay in the asset of the grant's limits (get_grant).",
	"payment_not_found":             "Check the payment id with list_payments.",
	"payment_changed":               "The payment changed meanwhile; call get_payment for its current version.",
	"idempotency_conflict":          "This request_id was already used for a different request: give a new request_id for a new purchase, or the same arguments to retry the first one.",
	"idempotency_in_flight":         "The same request is still being processed; call again in a moment with the same request_id.",
	"claim_exists":                  "This payment already has a claim; the user can follow it on their account page.",
	"payment_not_captured":          "Only a captured payment can be claimed; cancel_payment calls off one that is not captured yet.",
	"claim_window_passed":           "Too late to claim; the user can contact the merchant.",
	"nothing_to_claim":              "The payment was refunded in full already.",
	"merchant_category_not_allowed": "The user's grant does not allow this kind of merchant; ask the user, who may link again with other categories.",
}

// apiError returns err as a tool error for the model: an API refusal with
// its code and a hint; for budget refusals, what the grant may still
// spend; for an unlinked key, how to link.
func (s *Server) apiError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var e *sdk.Error
	if !errors.As(err, &e) {
		return &toolError{Code: "agentpay_unreachable", Message: fmt.Sprintf(
			"cannot reach agentpay at %s (%v). Tell the user; agentpay serve must be running there (agentpay mcp --server sets the URL).",
			s.opts.ServerURL, err)}
	}
	msg := e.Message
	if msg == "" {
		msg = "refused with HTTP status " + fmt.Sprint(e.Status)
	}
	if e.Param != "" {
		msg += " (" + e.Param + ")"
	}
	switch {
	case notLinkedCodes[e.Code]:
		msg += ". This agent is not linked to the user's agentpay account: call link_account and show the user the link and code it returns."
	case budgetCodes[e.Code]:
		if b := s.budgetText(ctx); b != "" {
			msg += ". " + b
		}
	case hints[e.Code] != "":
		msg += ". " + hints[e.Code]
	}
	return &toolError{Code: e.Code, Message: msg}
}

// notLinked reports whether err says the agent key has no active grant.
func notLinked(err error) bool { return notLinkedCodes[sdk.ErrorCode(err)] }

// budgetText says what the grant may still spend, or "" if it cannot be
// read.
func (s *Server) budgetText(ctx context.Context) string {
	g, err := s.agent.Grant(ctx)
	if err != nil || g.Remaining == nil {
		return ""
	}
	a := g.Limits.Asset
	return fmt.Sprintf("Limits: up to %s per payment; remaining today %s, this month %s.",
		money(g.Limits.PerPayment, a).Display, money(g.Remaining.Today, a).Display, money(g.Remaining.ThisMonth, a).Display)
}
