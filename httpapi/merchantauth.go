package httpapi

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
)

// LastUsedInterval is how stale an API key's last_used_at may get: a key in
// use is written at most once per interval, never on every request.
const LastUsedInterval = time.Minute

// apiKeySecretLengthMax bounds what is hashed and looked up; real secrets
// are 46 bytes.
const apiKeySecretLengthMax = 128

type merchantCtxKey struct{}

// merchantAuth is the authenticated merchant of a request and the key it
// presented.
type merchantAuth struct {
	Merchant store.StoredMerchant
	Key      store.StoredAPIKey
}

func merchantOf(r *http.Request) *merchantAuth {
	m, _ := r.Context().Value(merchantCtxKey{}).(*merchantAuth)
	return m
}

// merchant lets through requests with an active API key of an active
// merchant: Authorization: Bearer sk_…. The secret is hashed (SHA-256) and
// looked up by its hash; it is never logged or kept. Idempotency keys of
// the request are scoped to the merchant.
func (s *Server) merchant(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		const prefix = "Bearer "
		deny := func(code, message string) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="agentpay"`)
			s.writeError(w, r, agentpay.Errorf(agentpay.EUNAUTHORIZED, code, "%s", message))
		}
		h := r.Header.Get("Authorization")
		if len(h) <= len(prefix) || h[:len(prefix)] != prefix {
			deny("missing_api_key", "send your API key as Authorization: Bearer sk_…")
			return
		}
		secret := h[len(prefix):]
		if !strings.HasPrefix(secret, agentpay.APIKeySecretPrefix) || len(secret) > apiKeySecretLengthMax {
			deny("invalid_api_key", "the API key is not valid")
			return
		}
		key, err := s.DB.APIKeyByHash(r.Context(), agentpay.HashAPIKey(secret))
		if agentpay.ErrorKind(err) == agentpay.ENOTFOUND {
			deny("invalid_api_key", "the API key is not valid")
			return
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if !key.Active() {
			deny("api_key_revoked", "the API key was revoked; use another key of this merchant")
			return
		}
		m, err := s.DB.Merchant(r.Context(), key.MerchantID)
		if agentpay.ErrorKind(err) == agentpay.ENOTFOUND {
			deny("invalid_api_key", "the API key is not valid")
			return
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if m.Status != agentpay.MerchantActive {
			s.writeError(w, r, agentpay.Errorf(agentpay.EFORBIDDEN, "merchant_suspended",
				"this merchant is suspended; contact the operator"))
			return
		}
		s.touchAPIKey(r, &key)
		ctx := context.WithValue(r.Context(), callerKey{}, "merchant:"+m.ID)
		ctx = context.WithValue(ctx, merchantCtxKey{}, &merchantAuth{Merchant: m, Key: key})
		next(w, r.WithContext(ctx))
	})
}

// touchAPIKey records that a key was used, through the committer, when its
// last_used_at is older than LastUsedInterval; one request per key and node
// tries at a time. A failure (another node touched it first, the key was
// just revoked) is no reason to refuse the request.
func (s *Server) touchAPIKey(r *http.Request, key *store.StoredAPIKey) {
	now := time.Now().UnixMicro()
	if now-key.LastUsedAt < LastUsedInterval.Microseconds() {
		return
	}
	if _, busy := s.touching.LoadOrStore(key.ID, struct{}{}); busy {
		return
	}
	defer s.touching.Delete(key.ID)
	res := s.DB.Committer.Submit(r.Context(), &store.Unit{Updates: []store.Update{{Table: store.APIKeysTable,
		Key: key.ID, Version: key.Version, Set: []string{"last_used_at"}, Values: []any{now}}}})
	if res.Err != nil {
		s.log(r).Debug("last_used_at not recorded", "api_key", key.ID, "error", agentpay.ErrorCode(res.Err))
		return
	}
	key.LastUsedAt, key.Version = now, key.Version+1
}

// emptyBodyIsObject lets POSTs that take no parameters be sent without a
// body: an empty body is read as {}, which is also what is hashed for
// idempotency.
func emptyBodyIsObject(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		var rest io.Reader = bytes.NewReader(body)
		if err != nil {
			rest = io.MultiReader(rest, errReader{err}) // the idempotent wrapper reports it as usual
		} else if len(bytes.TrimSpace(body)) == 0 {
			rest = strings.NewReader("{}")
		}
		r.Body = io.NopCloser(rest)
		next(w, r)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
