package httpapi

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/agentauth"
	"github.com/agentpay/agentpay/store"
)

// Codes of refused agent requests beyond agentauth's own.
const (
	// codeGrantRevoked: the grant of the signing key was revoked (401).
	codeGrantRevoked = "grant_revoked"
	// codeGrantExpired: the grant of the signing key has expired (401).
	codeGrantExpired = "grant_expired"
	// codeInsufficientScope: the grant does not hold the route's scope (403).
	codeInsufficientScope = "insufficient_scope"
	// codeNonceReplayed: a mutating request's nonce was seen before (401).
	codeNonceReplayed = "nonce_replayed"
	// codeAgentSuspended: the operator suspended the signing key or its
	// software id (403).
	codeAgentSuspended = "agent_suspended"
)

type agentKey struct{}
type nonceKey struct{}

// agentAuth is what the agent middleware learned about a request.
type agentAuth struct {
	Grant    agentpay.Grant
	Verified *agentauth.Verified
}

// agentFrom returns the authentication of a signed agent request.
func agentFrom(r *http.Request) *agentAuth {
	a, _ := r.Context().Value(agentKey{}).(*agentAuth)
	return a
}

// nonceRow returns the nonce row a mutating agent request must write in its
// unit of work.
func nonceRow(r *http.Request) (store.Row, bool) {
	row, ok := r.Context().Value(nonceKey{}).(store.Row)
	return row, ok
}

// mutating reports whether method changes state, so its nonce is recorded.
func mutating(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// denyAgent writes a refused agent request: 401s say which scheme to use
// (RFC 9110 §11.6.1).
func (s *Server) denyAgent(w http.ResponseWriter, r *http.Request, err error) {
	if agentpay.ErrorKind(err) == agentpay.EUNAUTHORIZED {
		w.Header().Set("WWW-Authenticate", `Signature realm="agentpay"`)
	}
	s.writeError(w, r, err)
}

// agent lets through only requests signed per RFC 9421 by an agent key
// with an active, unexpired grant holding scope ("" for any grant). It puts
// the grant and the verified signature in the request's context, names the
// caller after the grant (so Idempotency-Keys are scoped to it), and for
// mutating methods stashes the nonce row the idempotent wrapper writes in
// the request's unit of work, so a replayed nonce is refused on every node
// (DESIGN §5).
func (s *Server) agent(scope agentpay.Scope, next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body) // bounded by ServeHTTP's MaxBytesReader
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				s.writeError(w, r, agentpay.Errorf(agentpay.ETOOLARGE, "body_too_large", "the request body exceeds %d bytes", BodyBytesMax))
				return
			}
			s.writeError(w, r, agentpay.Errorf(agentpay.EINVALID, "unreadable_body", "the request body could not be read"))
			return
		}
		base, err := url.Parse(s.baseURL())
		if err != nil {
			s.writeError(w, r, agentpay.Errorf(agentpay.EINTERNAL, "agentauth_config", "the public base URL does not parse: %v", err))
			return
		}
		var grant agentpay.Grant
		var softwareID string
		v := agentauth.Verifier{BaseURL: base, Keys: func(ctx context.Context, keyID string) (ed25519.PublicKey, error) {
			k, err := s.DB.AgentKey(ctx, keyID)
			if err != nil {
				return nil, err
			}
			key, err := s.parseKey(k.PublicKeyJWK)
			if err != nil {
				return nil, agentpay.Errorf(agentpay.EINTERNAL, "agent_key_invalid", "the stored key of grant %s does not parse: %v", k.Grant.ID, err)
			}
			grant, softwareID = k.Grant, k.SoftwareID
			return key, nil
		}}
		verified, err := v.Verify(r, body)
		if err != nil {
			s.denyAgent(w, r, err)
			return
		}
		suspended, err := s.DB.AgentSuspended(r.Context(), grant.AgentKeyID, softwareID)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		// Grant state is told only to requests its key signed.
		switch {
		case suspended:
			s.denyAgent(w, r, agentpay.Errorf(agentpay.EFORBIDDEN, codeAgentSuspended, "the operator suspended this agent key or its software"))
			return
		case grant.Status != agentpay.GrantActive:
			s.denyAgent(w, r, agentpay.Errorf(agentpay.EUNAUTHORIZED, codeGrantRevoked, "the grant of this agent key was revoked"))
			return
		case time.Now().UnixMicro() >= grant.ExpiresAt:
			s.denyAgent(w, r, agentpay.Errorf(agentpay.EUNAUTHORIZED, codeGrantExpired, "the grant of this agent key has expired; link the agent again"))
			return
		case scope != "" && !slices.Contains(grant.Scopes, scope):
			s.denyAgent(w, r, agentpay.Errorf(agentpay.EFORBIDDEN, codeInsufficientScope, "the grant does not hold scope %s", scope))
			return
		}
		ctx := context.WithValue(r.Context(), agentKey{}, &agentAuth{Grant: grant, Verified: verified})
		ctx = context.WithValue(ctx, callerKey{}, "agent:"+grant.ID)
		if mutating(r.Method) {
			ctx = context.WithValue(ctx, nonceKey{}, store.AgentNonceRow(verified.KeyID, verified.Nonce, verified.Expires.UnixMicro()))
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next(w, r.WithContext(ctx))
	})
}

// agentGrantJSON is the grant as its agent reads it: with what its
// payments spent today and this month (UTC) and what a payment may still
// take, so an agent can tell before asking whether a payment fits.
type agentGrantJSON struct {
	grantJSON
	Spent        periodAmountsJSON `json:"spent"`
	Remaining    periodAmountsJSON `json:"remaining"`
	BudgetPeriod budgetPeriodJSON  `json:"budget_period"`
}

// periodAmountsJSON is an amount per budget period, in minor units of the
// grant's limits.asset.
type periodAmountsJSON struct {
	Today     int64 `json:"today"`
	ThisMonth int64 `json:"this_month"`
}

// budgetPeriodJSON names the UTC day (2006-01-02) and month (2006-01)
// counted.
type budgetPeriodJSON struct {
	Day   string `json:"day"`
	Month string `json:"month"`
}

// getAgentGrant answers GET /v1/agent/grant: the grant the request is
// signed under, with its spending (payments.Service.GrantSpending).
func (s *Server) getAgentGrant(w http.ResponseWriter, r *http.Request) {
	g := agentFrom(r).Grant
	sp, err := s.Payments.GrantSpending(r.Context(), g)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, agentGrantJSON{grantJSON: toGrantJSON(g),
		Spent:        periodAmountsJSON{Today: sp.SpentToday, ThisMonth: sp.SpentThisMonth},
		Remaining:    periodAmountsJSON{Today: sp.RemainingToday, ThisMonth: sp.RemainingThisMonth},
		BudgetPeriod: budgetPeriodJSON{Day: sp.Day, Month: sp.Month}})
}

// pingJSON answers POST /v1/agent/ping.
type pingJSON struct {
	OK      bool   `json:"ok"`
	GrantID string `json:"grant_id"`
}

// agentPing is POST /v1/agent/ping: a mutating, idempotent request with no
// effect but its nonce, written in its unit of work. It exists to prove the
// handling of nonces of mutating requests until payments arrive.
func (s *Server) agentPing(r *http.Request, body []byte) (*store.Unit, func(store.Result) (int, any), error) {
	var req struct{}
	if err := decode(body, &req); err != nil {
		return nil, nil, err
	}
	id := agentFrom(r).Grant.ID
	return &store.Unit{}, func(store.Result) (int, any) {
		return http.StatusOK, pingJSON{OK: true, GrantID: id}
	}, nil
}

// agentKeysMax bounds the cache of parsed agent keys.
const agentKeysMax = 100_000

// parseKey parses a stored agent key, once per node: a JWK's text always
// means the same key, and checking that a point is on the curve costs more
// than the rest of a signature check.
func (s *Server) parseKey(jwk string) (ed25519.PublicKey, error) {
	if k, ok := s.agentKeys.Load(jwk); ok {
		return k.(ed25519.PublicKey), nil
	}
	key, err := agentauth.ParseJWK([]byte(jwk))
	if err != nil {
		return nil, err
	}
	if s.agentKeyCount.Add(1) <= agentKeysMax {
		s.agentKeys.Store(jwk, key)
	}
	return key, nil
}
