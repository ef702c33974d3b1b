// Package httpapi serves agentpay's REST API: JSON errors, idempotency,
// authentication and the handlers. It alone maps domain errors to HTTP.
package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/agentpay/agentpay"
)

// errorBody is the one error shape of the API.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Type    string `json:"type"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Param   string `json:"param,omitempty"`
}

// statusOf maps an error kind to its HTTP status and error type.
func statusOf(kind string) (int, string) {
	switch kind {
	case agentpay.EINVALID:
		return http.StatusBadRequest, "invalid_request_error"
	case agentpay.EUNAUTHORIZED:
		return http.StatusUnauthorized, "authentication_error"
	case agentpay.EFORBIDDEN:
		return http.StatusForbidden, "permission_error"
	case agentpay.ENOTFOUND:
		return http.StatusNotFound, "not_found_error"
	case agentpay.ECONFLICT:
		return http.StatusConflict, "conflict_error"
	case agentpay.ETOOLARGE:
		return http.StatusRequestEntityTooLarge, "invalid_request_error"
	case agentpay.EUNPROCESSABLE:
		return http.StatusUnprocessableEntity, "idempotency_error"
	case agentpay.EUNAVAILABLE:
		return http.StatusServiceUnavailable, "api_error"
	}
	return http.StatusInternalServerError, "api_error"
}

// errorResponse renders err. Internal errors are logged and never shown.
func errorResponse(log *slog.Logger, err error) (int, []byte) {
	var e *agentpay.Error
	if !errors.As(err, &e) || e.Kind == agentpay.EINTERNAL {
		log.Error("internal error", "error", err)
		e = &agentpay.Error{Kind: agentpay.EINTERNAL, Code: "internal_error", Message: "something went wrong on our side; the request had no effect or can be retried safely with the same Idempotency-Key"}
	}
	status, typ := statusOf(e.Kind)
	body, _ := json.Marshal(errorBody{Error: errorDetail{Type: typ, Code: e.Code, Message: e.Message, Param: e.Param}})
	return status, body
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, body := errorResponse(s.log(r), err)
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	writeRaw(w, status, body)
}

func writeRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
	_, _ = w.Write([]byte("\n"))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		panic(err) // our own response types always marshal
	}
	writeRaw(w, status, body)
}
