package x402

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
)

// facilitatorRequestMax bounds a /verify or /settle body: a payload and a
// requirement, each well under HeaderSizeMax.
const facilitatorRequestMax = 64 << 10

// NewFacilitatorHandler serves f over HTTP as spec §7 describes:
// POST /verify, POST /settle and GET /supported, relative to where it is
// mounted (use http.StripPrefix). Bodies of either version are decoded
// strictly (DecodeFacilitatorRequest); a malformed one gets 400 with a
// VerifyResponse or SettleResponse whose reason says why, so reference
// clients read the refusal in their own format. An error from f gets 500
// with unexpected_verify_error or unexpected_settle_error; its text is not
// sent.
func NewFacilitatorHandler(f Facilitator) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /verify", func(w http.ResponseWriter, r *http.Request) {
		req, err := readFacilitatorRequest(w, r)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, VerifyResponse{InvalidReason: ReasonOf(err, ReasonInvalidPayload), InvalidMessage: message(err)})
			return
		}
		v, err := f.Verify(r.Context(), req)
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, VerifyResponse{InvalidReason: ReasonUnexpectedVerifyError})
			return
		}
		writeJSON(w, http.StatusOK, v)
	})
	mux.HandleFunc("POST /settle", func(w http.ResponseWriter, r *http.Request) {
		req, err := readFacilitatorRequest(w, r)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, SettleResponse{ErrorReason: ReasonOf(err, ReasonInvalidPayload), ErrorMessage: message(err)})
			return
		}
		s, err := f.Settle(r.Context(), req)
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, SettleResponse{ErrorReason: ReasonUnexpectedSettleError, Network: req.PaymentRequirements.Network})
			return
		}
		writeJSON(w, http.StatusOK, s)
	})
	mux.HandleFunc("GET /supported", func(w http.ResponseWriter, r *http.Request) {
		s, err := f.Supported(r.Context())
		if err != nil {
			http.Error(w, "internal server error", http.StatusInternalServerError)
			return
		}
		writeJSON(w, http.StatusOK, s)
	})
	return mux
}

func readFacilitatorRequest(w http.ResponseWriter, r *http.Request) (*FacilitatorRequest, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, facilitatorRequestMax))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, errorf(ReasonInvalidPayload, "the request is larger than %d bytes", facilitatorRequestMax)
		}
		return nil, errorf(ReasonInvalidPayload, "the request body could not be read")
	}
	return DecodeFacilitatorRequest(body)
}

// message is the human-readable part of err for a refusal.
func message(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return ""
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal server error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
