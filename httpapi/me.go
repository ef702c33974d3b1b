package httpapi

import (
	"context"
	"net/http"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/consent"
	"github.com/agentpay/agentpay/store"
	"github.com/agentpay/agentpay/web"
)

// MeGrantsMax bounds the grants GET /v1/me/grants lists (newest first);
// has_more says there are more. Revoke-all revokes every one.
const MeGrantsMax = web.AccountGrantsMax

type userCtxKey struct{}

// userOf returns the session of a request the user middleware let through.
func userOf(r *http.Request) store.Session {
	s, _ := r.Context().Value(userCtxKey{}).(store.Session)
	return s
}

// meRoutes serves the user's own API: the kill switch of the account page
// as JSON, for the page's scripts and the user's own tools.
func (s *Server) meRoutes() {
	s.mux.Handle("GET /v1/me/grants", s.user(s.listMyGrants))
	s.mux.Handle("POST /v1/me/grants/{id}/revoke", s.user(emptyBodyIsObject(s.idempotent(s.revokeMyGrant))))
	s.mux.Handle("POST /v1/me/grants/revoke-all", s.user(emptyBodyIsObject(s.idempotent(s.revokeAllMyGrants))))
}

// user lets through requests with a live page session (the
// agentpay_session cookie); state-changing ones must also carry the
// session's CSRF token in X-CSRF-Token, since a browser sends the cookie on
// its own. Idempotency-Keys are scoped to the user.
func (s *Server) user(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, err := s.webHandler()
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		sess, err := h.Sessions.Lookup(r.Context(), r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if mutating(r.Method) {
			// The header only: CheckCSRF's form fallback would read a
			// form-encoded body before the idempotency wrapper does.
			if r.Header.Get("X-CSRF-Token") == "" {
				s.writeError(w, r, agentpay.Errorf(agentpay.EFORBIDDEN, "csrf_failed",
					"send the session's CSRF token in the X-CSRF-Token header"))
				return
			}
			if err := consent.CheckCSRF(r, sess.CSRFToken); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
		ctx := context.WithValue(r.Context(), callerKey{}, "user:"+sess.UserID)
		ctx = context.WithValue(ctx, userCtxKey{}, sess)
		next(w, r.WithContext(ctx))
	})
}

// myGrantJSON is a grant with what its agent said about itself when it
// linked, which nobody verified.
type myGrantJSON struct {
	grantJSON
	AgentName  string `json:"agent_name"`
	SoftwareID string `json:"software_id"`
	Verified   bool   `json:"agent_verified"` // always false: agents name themselves
}

type myGrantListJSON struct {
	Object  string        `json:"object"`
	Data    []myGrantJSON `json:"data"`
	HasMore bool          `json:"has_more"`
}

// listMyGrants is GET /v1/me/grants: the user's active grants, newest first.
func (s *Server) listMyGrants(w http.ResponseWriter, r *http.Request) {
	grants, err := s.Links.UserGrants(r.Context(), userOf(r).UserID, MeGrantsMax+1)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := myGrantListJSON{Object: "list", Data: []myGrantJSON{}}
	if len(grants) > MeGrantsMax {
		grants, out.HasMore = grants[:MeGrantsMax], true
	}
	for _, g := range grants {
		out.Data = append(out.Data, myGrantJSON{grantJSON: toGrantJSON(g.Grant), AgentName: g.AgentName, SoftwareID: g.SoftwareID})
	}
	writeJSON(w, http.StatusOK, out)
}

// revokeMyGrant is POST /v1/me/grants/{id}/revoke: the grant, revoked. A
// grant revoked already is answered as it is; another user's is 404.
func (s *Server) revokeMyGrant(r *http.Request, body []byte) (*store.Unit, func(store.Result) (int, any), error) {
	if err := decode(body, &struct{}{}); err != nil {
		return nil, nil, err
	}
	g, unit, err := s.Links.PrepareRevoke(r.Context(), r.PathValue("id"), userOf(r).UserID)
	if err != nil {
		return nil, nil, err
	}
	return unit, func(store.Result) (int, any) { return http.StatusOK, toGrantJSON(g) }, nil
}

type revokedJSON struct {
	Object  string   `json:"object"`
	Revoked int      `json:"revoked"`
	Grants  []string `json:"grants"`
}

// revokeAllMyGrants is POST /v1/me/grants/revoke-all: every active grant
// of the user, revoked in one unit; the answer says how many and which.
func (s *Server) revokeAllMyGrants(r *http.Request, body []byte) (*store.Unit, func(store.Result) (int, any), error) {
	if err := decode(body, &struct{}{}); err != nil {
		return nil, nil, err
	}
	grants, unit, err := s.Links.PrepareRevokeAll(r.Context(), userOf(r).UserID)
	if err != nil {
		return nil, nil, err
	}
	out := revokedJSON{Object: "grant_revocation", Revoked: len(grants), Grants: []string{}}
	for _, g := range grants {
		out.Grants = append(out.Grants, g.ID)
	}
	return unit, func(store.Result) (int, any) { return http.StatusOK, out }, nil
}
