package agentpay

import (
	"errors"
	"fmt"
)

// Error codes. Each is stable: clients branch on them, and httpapi alone maps
// them to HTTP status codes.
const (
	EINVALID       = "invalid"       // the request is malformed or breaks a rule of the domain
	ENOTFOUND      = "not_found"     // the object does not exist, or is not the caller's
	ECONFLICT      = "conflict"      // the request conflicts with the current state
	EUNAUTHORIZED  = "unauthorized"  // the caller is not authenticated
	EFORBIDDEN     = "forbidden"     // the caller may not do this
	EUNAVAILABLE   = "unavailable"   // the service is overloaded or shutting down; retry later
	EINTERNAL      = "internal"      // a bug or an infrastructure failure; never caused by input
	ETOOLARGE      = "too_large"     // the request exceeds an explicit limit
	EUNPROCESSABLE = "unprocessable" // well-formed, but refused in its current form (e.g. idempotency conflict)
)

// Error is the one error type of the domain. Kind is one of the E* constants
// above; Code is a finer, stable machine-readable reason such as
// "exceeds_credits"; Param names the offending input field, if any.
type Error struct {
	Kind    string
	Code    string
	Message string
	Param   string
}

func (e *Error) Error() string {
	if e.Param != "" {
		return fmt.Sprintf("agentpay: %s (%s, param %s): %s", e.Code, e.Kind, e.Param, e.Message)
	}
	return fmt.Sprintf("agentpay: %s (%s): %s", e.Code, e.Kind, e.Message)
}

// Errorf returns an *Error of the given kind and code.
func Errorf(kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

// ParamErrorf returns an *Error of kind EINVALID that names the offending field.
func ParamErrorf(param, code, format string, args ...any) *Error {
	return &Error{Kind: EINVALID, Code: code, Param: param, Message: fmt.Sprintf(format, args...)}
}

// ErrorKind returns the kind of err if it is (or wraps) an *Error, and
// EINTERNAL otherwise.
func ErrorKind(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return EINTERNAL
}

// ErrorCode returns the code of err if it is (or wraps) an *Error, and
// "internal_error" otherwise.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return "internal_error"
}
