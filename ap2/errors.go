package ap2

import (
	"errors"
	"fmt"

	"github.com/agentpay/agentpay"
)

// The AP2 error codes (docs/ap2/agent_authorization.md, "Errors"). Every
// error this package returns is an *agentpay.Error carrying one of them, so
// that a receipt with status Error can name it.
const (
	// CodeInvalidCredential: the mandate fails verification (signature,
	// disclosures, expiry, key binding); terminal.
	CodeInvalidCredential = "invalid_credential"
	// CodeUnresolvedConstraint: an open mandate holds a constraint agentpay
	// does not know, or one it cannot check here; the agent may fall back to
	// a directly approved closed mandate.
	CodeUnresolvedConstraint = "unresolved_constraint"
	// CodeInvalidMandate: the mandate verifies but does not approve the
	// requested action (a constraint is violated, the checkout does not
	// match); terminal.
	CodeInvalidMandate = "invalid_mandate"
	// CodeMandatesNotSupported: a mandate type or delegation depth agentpay
	// does not accept; the agent may fall back to a non-agentic flow.
	CodeMandatesNotSupported = "mandates_not_supported"
	// CodeMandateAlreadyUsed: the closed mandate, or the checkout it binds,
	// was accepted before. Only the caller, which records what was used in
	// its unit of work, can tell; this package never returns it.
	CodeMandateAlreadyUsed = "mandate_already_used"
)

func invalidCredential(format string, args ...any) *agentpay.Error {
	return &agentpay.Error{Kind: agentpay.EUNAUTHORIZED, Code: CodeInvalidCredential, Message: fmt.Sprintf(format, args...)}
}

func invalidMandate(format string, args ...any) *agentpay.Error {
	return &agentpay.Error{Kind: agentpay.EFORBIDDEN, Code: CodeInvalidMandate, Message: fmt.Sprintf(format, args...)}
}

func unresolvedConstraint(format string, args ...any) *agentpay.Error {
	return &agentpay.Error{Kind: agentpay.EUNPROCESSABLE, Code: CodeUnresolvedConstraint, Message: fmt.Sprintf(format, args...)}
}

func notSupported(format string, args ...any) *agentpay.Error {
	return &agentpay.Error{Kind: agentpay.EUNPROCESSABLE, Code: CodeMandatesNotSupported, Message: fmt.Sprintf(format, args...)}
}

// badTerms is the error of Issue, Present and the receipt signers for terms
// the caller got wrong: bad input, never a verification failure.
func badTerms(param, format string, args ...any) *agentpay.Error {
	return agentpay.ParamErrorf(param, CodeInvalidMandate, format, args...)
}

// reason is the message of err without the agentpay.Error decoration, for
// wrapping it in another error.
func reason(err error) string {
	var e *agentpay.Error
	if errors.As(err, &e) {
		if e.Param != "" {
			return e.Param + ": " + e.Message
		}
		return e.Message
	}
	return err.Error()
}
