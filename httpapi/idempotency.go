package httpapi

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
	"github.com/gowebpki/jcs"
)

// mutation turns a validated request into a unit of work and says how to
// render the unit's result. It must not write anything itself.
type mutation func(r *http.Request, body []byte) (*store.Unit, func(store.Result) (int, any), error)

// idempotent runs a mutation under the request's Idempotency-Key (DESIGN §4):
// the key is scoped to caller and route; the body is compared as canonical
// JSON (RFC 8785); the first response (a 4xx included, a 5xx never) is
// stored in the same unit of work as the effect, and a retry gets it back
// with Idempotent-Replayed: true; a different body is 422; a request still
// running is 409 with Retry-After.
func (s *Server) idempotent(m mutation) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Idempotency-Key")
		if key == "" {
			s.writeError(w, r, &agentpay.Error{Kind: agentpay.EINVALID, Code: "idempotency_key_required", Param: "Idempotency-Key",
				Message: "every mutating request needs an Idempotency-Key header; retry with the same key to get the first result"})
			return
		}
		if len(key) > IdempotencyKeyLengthMax {
			s.writeError(w, r, &agentpay.Error{Kind: agentpay.EINVALID, Code: "invalid_idempotency_key", Param: "Idempotency-Key",
				Message: "Idempotency-Key is at most 255 bytes"})
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				s.writeError(w, r, agentpay.Errorf(agentpay.ETOOLARGE, "body_too_large", "the request body exceeds %d bytes", BodyBytesMax))
				return
			}
			s.writeError(w, r, agentpay.Errorf(agentpay.EINVALID, "unreadable_body", "the request body could not be read"))
			return
		}
		canonical, err := jcs.Transform(body)
		if err != nil {
			s.writeError(w, r, agentpay.Errorf(agentpay.EINVALID, "invalid_json", "the request body is not valid JSON"))
			return
		}
		hash := sha256.Sum256(canonical)
		requestHash := hex.EncodeToString(hash[:])
		scope := sha256.Sum256([]byte(caller(r) + "\x00" + r.Method + " " + r.URL.Path + "\x00" + key))
		id := hex.EncodeToString(scope[:])

		if _, running := s.inflight.LoadOrStore(id, struct{}{}); running {
			w.Header().Set("Retry-After", "1")
			s.writeError(w, r, agentpay.Errorf(agentpay.ECONFLICT, "idempotency_in_flight",
				"a request with this Idempotency-Key is still being processed; retry after it finishes"))
			return
		}
		defer s.inflight.Delete(id)

		rec, err := s.DB.IdempotencyRecord(r.Context(), id)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if rec != nil {
			s.replay(w, r, rec, requestHash)
			return
		}
		unit, render, err := m(r, body)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		log := s.log(r)
		respond := func(res store.Result) (int, []byte) {
			if res.Err != nil {
				return errorResponse(log, res.Err)
			}
			status, v := render(res)
			b, err := marshal(v)
			if err != nil {
				return errorResponse(log, err)
			}
			return status, b
		}
		unit.Idempotency = &store.Idempotency{ID: id, RequestHash: requestHash, Render: respond,
			ExpiresAt: time.Now().Add(IdempotencyTTL).UnixMicro()}
		res := s.DB.Committer.Submit(r.Context(), unit)
		if res.Replay != nil {
			// Another node (or a request on this node that raced us) used
			// the key first.
			s.replay(w, r, res.Replay, requestHash)
			return
		}
		status, b := respond(res)
		if status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "1")
		}
		writeRaw(w, status, b)
	}
}

func (s *Server) replay(w http.ResponseWriter, r *http.Request, rec *store.IdempotencyRecord, requestHash string) {
	if rec.RequestHash != requestHash {
		s.writeError(w, r, &agentpay.Error{Kind: agentpay.EUNPROCESSABLE, Code: "idempotency_conflict", Param: "Idempotency-Key",
			Message: "this Idempotency-Key was used with a different request body; use a new key for a new request"})
		return
	}
	w.Header().Set("Idempotent-Replayed", "true")
	writeRaw(w, rec.Status, rec.Body)
}
