package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
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
		requestHash, err := hashRequest(body)
		if err != nil {
			s.writeError(w, r, agentpay.Errorf(agentpay.EINVALID, "invalid_json", "the request body is not valid JSON"))
			return
		}
		scope := sha256.Sum256([]byte(caller(r) + "\x00" + r.Method + " " + r.URL.Path + "\x00" + key))
		// 128 bits of the hash name the key: collisions stay out of reach,
		// and the random-order key index is half the size.
		id := hex.EncodeToString(scope[:16])

		if _, running := s.inflight.LoadOrStore(id, struct{}{}); running {
			w.Header().Set("Retry-After", "1")
			s.writeError(w, r, agentpay.Errorf(agentpay.ECONFLICT, "idempotency_in_flight",
				"a request with this Idempotency-Key is still being processed; retry after it finishes"))
			return
		}
		defer s.inflight.Delete(id)

		unit, render, err := m(r, body)
		if err != nil {
			// A body refused before it reaches the committer never meets
			// the key there; if the key was used before, that is a
			// conflict (422), not a validation error (DESIGN §4). Only
			// refused requests pay for this read.
			if rec, lerr := s.DB.IdempotencyRecord(r.Context(), id); lerr == nil && rec != nil {
				s.replay(w, r, rec, requestHash)
				return
			}
			s.writeError(w, r, err)
			return
		}
		// A signed agent request's nonce guards its unit of work: a nonce
		// seen before fails the unit on every node, and a nonce is spent
		// even when the request is refused (DESIGN §5).
		nonce, signed := nonceRow(r)
		if signed {
			unit.Guards = append(unit.Guards, nonce)
		}
		log := s.log(r)
		respond := func(res store.Result) (int, []byte) {
			if signed && store.IsDuplicateRow(res.Err, nonce) {
				// Never stored: a failed guard records nothing, so a replay
				// under another key leaves that key free, and a retry under
				// the first key got the first response before the guard
				// was checked.
				return errorResponse(log, agentpay.Errorf(agentpay.EUNAUTHORIZED, codeNonceReplayed,
					"this request's signature nonce was used before; sign every request anew"))
			}
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
		// The committer looks the key up in the same transaction that
		// would write it, so a retry costs no extra read here.
		res := s.DB.Committer.Submit(r.Context(), unit)
		if res.Replay != nil {
			s.replay(w, r, res.Replay, requestHash)
			return
		}
		if res.Response != nil {
			writeRaw(w, res.Response.Status, res.Response.Body)
			return
		}
		status, b := respond(res)
		switch status {
		case http.StatusServiceUnavailable:
			w.Header().Set("Retry-After", "1")
		case http.StatusUnauthorized:
			w.Header().Set("WWW-Authenticate", `Signature realm="agentpay"`)
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

// hashRequest returns the hex SHA-256 of body as canonical JSON (RFC 8785),
// or an error if body is not JSON.
//
// RFC 8785 writes every number as an IEEE 754 double, so integers beyond
// 2^53 lose digits: 9007199254740993 canonicalizes as 9007199254740992, and a
// retry with the other amount would be replayed instead of refused as a
// conflict. Amounts are int64 minor units, and at scale 18 2^53 units is
// under 0.01 of a coin, so when the body holds such an integer the hash also
// covers the body with every number exactly as written (object keys sorted,
// so the key order still does not matter). Other bodies hash as before.
func hashRequest(body []byte) (string, error) {
	canonical, err := jcs.Transform(body)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	h.Write(canonical)
	if exact := exactNumbers(body, canonical); exact != nil {
		h.Write([]byte{0})
		h.Write(exact)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// exactNumbers returns body re-encoded with its numbers as written if it
// holds an integer of 16 digits or more (2^53 has 16), and nil otherwise.
// canonical is body after RFC 8785, which found it valid (and free of
// duplicate keys).
func exactNumbers(body, canonical []byte) []byte {
	// Quick test first: such an integer appears in RFC 8785 output as a run
	// of 16 digits, or in exponent form from 1e21 on. A false positive (a
	// long number inside a string) only costs the decoding below.
	run, maybe := 0, bytes.Contains(canonical, []byte("e+"))
	for _, c := range canonical {
		if '0' <= c && c <= '9' {
			run++
		} else {
			run = 0
		}
		maybe = maybe || run >= 16
	}
	if !maybe {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body)) // not canonical: it lost the digits
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil || !hasLongInteger(v) {
		return nil
	}
	exact, err := json.Marshal(v) // maps marshal with sorted keys, json.Number as written
	if err != nil {
		return nil
	}
	return exact
}

func hasLongInteger(v any) bool {
	switch v := v.(type) {
	case json.Number:
		digits := strings.TrimPrefix(string(v), "-")
		return len(digits) >= 16 && strings.Trim(digits, "0123456789") == ""
	case []any:
		return slices.ContainsFunc(v, hasLongInteger)
	case map[string]any:
		for _, e := range v {
			if hasLongInteger(e) {
				return true
			}
		}
	}
	return false
}
