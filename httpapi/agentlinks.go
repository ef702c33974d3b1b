package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/agentauth"
	"github.com/agentpay/agentpay/linking"
	"github.com/agentpay/agentpay/store"
)

// AgentLinkBodyBytesMax bounds the body of the agent linking endpoints,
// which are unauthenticated: a JWK, two short names, scopes and limits.
const AgentLinkBodyBytesMax = 8 << 10

// DefaultPublicBaseURL is the public base URL when none is configured.
const DefaultPublicBaseURL = "http://127.0.0.1:8080"

type startAgentLinkRequest struct {
	PublicKey         json.RawMessage `json:"public_key"`
	AgentName         string          `json:"agent_name"`
	SoftwareID        string          `json:"software_id"`
	Scopes            []string        `json:"scopes"`
	Limits            limitsJSON      `json:"limits"`
	TipAutoApproveMax int64           `json:"tip_auto_approve_max"`
	TipBudgetPerDay   int64           `json:"tip_budget_per_day"`
}

type limitsJSON struct {
	Asset      string `json:"asset"`
	PerPayment int64  `json:"per_payment"`
	PerDay     int64  `json:"per_day"`
	PerMonth   int64  `json:"per_month"`
}

// agentLinkJSON answers POST /v1/agent-links (RFC 8628 §3.2, with the
// link's id). The device code is shown here only (and in idempotent
// replays of this response, to the same key and body, for 48 hours).
type agentLinkJSON struct {
	Object                  string `json:"object"`
	ID                      string `json:"id"`
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int64  `json:"expires_in"`
	Interval                int64  `json:"interval"`
}

type grantJSON struct {
	Object            string     `json:"object"`
	ID                string     `json:"id"`
	AgentKeyID        string     `json:"agent_key_id"`
	Scopes            []string   `json:"scopes"`
	Limits            limitsJSON `json:"limits"`
	Categories        []string   `json:"categories"`
	TipAutoApproveMax int64      `json:"tip_auto_approve_max"`
	Status            string     `json:"status"`
	ExpiresAt         string     `json:"expires_at"`
	CreatedAt         string     `json:"created_at"`
}

func toGrantJSON(g agentpay.Grant) grantJSON {
	scopes := make([]string, len(g.Scopes))
	for i, s := range g.Scopes {
		scopes[i] = string(s)
	}
	categories := g.Categories
	if categories == nil {
		categories = []string{}
	}
	return grantJSON{Object: "grant", ID: g.ID, AgentKeyID: g.AgentKeyID, Scopes: scopes,
		Limits:     limitsJSON{Asset: g.Limits.Asset, PerPayment: g.Limits.PerPayment, PerDay: g.Limits.PerDay, PerMonth: g.Limits.PerMonth},
		Categories: categories, TipAutoApproveMax: g.TipAutoApproveMax, Status: string(g.Status),
		ExpiresAt: timeString(g.ExpiresAt), CreatedAt: timeString(g.CreatedAt)}
}

func (s *Server) baseURL() string {
	if s.PublicBaseURL == "" {
		return DefaultPublicBaseURL
	}
	return s.PublicBaseURL
}

// readSmallBody reads a body of at most AgentLinkBodyBytesMax bytes.
func readSmallBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, AgentLinkBodyBytesMax))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, agentpay.Errorf(agentpay.ETOOLARGE, "body_too_large", "the request body exceeds %d bytes", AgentLinkBodyBytesMax)
		}
		return nil, agentpay.Errorf(agentpay.EINVALID, "unreadable_body", "the request body could not be read")
	}
	return body, nil
}

// agentLinkCaller limits the body and names the caller of an
// unauthenticated link request after the public key it carries, so that
// Idempotency-Keys are scoped per agent key (DESIGN §4): another agent
// using the same key string never gets this agent's response.
func (s *Server) agentLinkCaller(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := readSmallBody(w, r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		caller := "agent_link:"
		var peek struct {
			PublicKey json.RawMessage `json:"public_key"`
		}
		if json.Unmarshal(body, &peek) == nil {
			if key, err := agentauth.ParseJWK(peek.PublicKey); err == nil {
				caller += agentauth.Thumbprint(key)
			}
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, caller)))
	})
}

func requestMeta(r *http.Request) linking.RequestMeta {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	return linking.RequestMeta{RemoteIP: ip, UserAgent: r.UserAgent()}
}

// startAgentLink begins RFC 8628 device authorization for an agent key.
func (s *Server) startAgentLink(r *http.Request, body []byte) (*store.Unit, func(store.Result) (int, any), error) {
	var req startAgentLinkRequest
	if err := decode(body, &req); err != nil {
		return nil, nil, err
	}
	if len(req.PublicKey) == 0 {
		return nil, nil, agentpay.ParamErrorf("public_key", "missing_public_key", "public_key must be the agent's Ed25519 public key as a JWK")
	}
	scopes := make([]agentpay.Scope, len(req.Scopes))
	for i, sc := range req.Scopes {
		scopes[i] = agentpay.Scope(sc)
	}
	started, unit, err := s.Links.Prepare(r.Context(), linking.StartRequest{PublicKeyJWK: req.PublicKey, AgentName: req.AgentName,
		SoftwareID: req.SoftwareID, Scopes: scopes, Limits: agentpay.GrantLimits{Asset: req.Limits.Asset,
			PerPayment: req.Limits.PerPayment, PerDay: req.Limits.PerDay, PerMonth: req.Limits.PerMonth},
		Tips: linking.TipTerms{AutoApproveMax: req.TipAutoApproveMax, BudgetPerDay: req.TipBudgetPerDay}}, requestMeta(r))
	if err != nil {
		return nil, nil, err
	}
	link := started.Link
	verify := s.baseURL() + "/link"
	return unit, func(store.Result) (int, any) {
		display := agentpay.FormatUserCode(link.UserCode)
		return http.StatusCreated, agentLinkJSON{Object: "agent_link", ID: link.ID, DeviceCode: started.DeviceCode,
			UserCode: display, VerificationURI: verify, VerificationURIComplete: verify + "?code=" + url.QueryEscape(display),
			ExpiresIn: int64(agentpay.AgentLinkTTL / time.Second), Interval: int64(link.Interval / time.Second)}
	}, nil
}

// pollAgentLink is the RFC 8628 §3.4 token request. It needs no
// Idempotency-Key: it decides nothing, its only write is the poll time, and
// a repeated poll is answered from the link's state, so retries are safe.
func (s *Server) pollAgentLink(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	body, err := readSmallBody(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req struct {
		DeviceCode string `json:"device_code"`
	}
	if err := decode(body, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	g, err := s.Links.Poll(r.Context(), req.DeviceCode)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := linkedGrantJSON{grantJSON: toGrantJSON(g)}
	m, ok, err := s.Links.TipsMandate(r.Context(), g)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if ok {
		out.TipBudgetPerDay, out.TipsMandate = m.Budget, m.ID
	}
	writeJSON(w, http.StatusOK, out)
}

// linkedGrantJSON answers a poll with the grant: with the tip budget the
// user kept, and the tips mandate that holds it, if they kept one.
type linkedGrantJSON struct {
	grantJSON
	TipBudgetPerDay int64  `json:"tip_budget_per_day"`
	TipsMandate     string `json:"tips_mandate,omitempty"`
}
