package x402

import (
	"errors"
	"fmt"
)

// Reasons are the machine-readable error strings of x402. The general ones
// are the spec's (specs/x402-specification-v2.md §9 in
// x402-foundation/x402); clients and facilitators written against the
// reference implementation branch on them, so they are spelled exactly so.
const (
	ReasonInsufficientFunds          = "insufficient_funds"
	ReasonInvalidNetwork             = "invalid_network"
	ReasonInvalidPayload             = "invalid_payload"
	ReasonInvalidPaymentRequirements = "invalid_payment_requirements"
	ReasonInvalidScheme              = "invalid_scheme"
	ReasonUnsupportedScheme          = "unsupported_scheme"
	ReasonInvalidX402Version         = "invalid_x402_version"
	ReasonInvalidTransactionState    = "invalid_transaction_state"
	ReasonUnexpectedVerifyError      = "unexpected_verify_error"
	ReasonUnexpectedSettleError      = "unexpected_settle_error"
)

// Reasons of the agentpay ledger scheme. They follow the spec's pattern for
// scheme-specific reasons (invalid_exact_evm_payload_signature, ...), with
// "agentpay" as the network family. The exact and upto schemes share one
// authorization format, so they share these reasons.
const (
	ReasonLedgerAuthorization        = "invalid_agentpay_payload_authorization"
	ReasonLedgerSignature            = "invalid_agentpay_payload_signature"
	ReasonLedgerPayer                = "invalid_agentpay_payload_payer"
	ReasonLedgerValidAfter           = "invalid_agentpay_payload_authorization_valid_after"
	ReasonLedgerValidBefore          = "invalid_agentpay_payload_authorization_valid_before"
	ReasonLedgerValueMismatch        = "invalid_agentpay_payload_authorization_value_mismatch"
	ReasonLedgerRecipientMismatch    = "invalid_agentpay_payload_recipient_mismatch"
	ReasonLedgerAssetMismatch        = "invalid_agentpay_payload_asset_mismatch"
	ReasonLedgerNetworkMismatch      = "invalid_agentpay_payload_network_mismatch"
	ReasonLedgerSchemeMismatch       = "invalid_agentpay_payload_scheme_mismatch"
	ReasonLedgerResourceMismatch     = "invalid_agentpay_payload_resource_mismatch"
	ReasonLedgerSettleAmountExceeded = "invalid_agentpay_settle_amount_exceeds_authorization"
)

// Error is a refusal with one of the Reason* strings, which is what goes on
// the wire (error, invalidReason, errorReason); Message is for people.
type Error struct {
	Reason  string
	Message string
}

func (e *Error) Error() string {
	return "x402: " + e.Reason + ": " + e.Message
}

func errorf(reason, format string, args ...any) *Error {
	return &Error{Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// ReasonOf returns the reason of err if it is (or wraps) an *Error, and
// fallback otherwise.
func ReasonOf(err error, fallback string) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return fallback
}
