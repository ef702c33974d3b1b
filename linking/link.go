// Package linking links agent installations to users with an RFC 8628
// style device authorization flow, and makes the grants that result.
//
// An agent starts a link with its public key and what it asks for (Start)
// and gets a secret device code and a short user code. It polls with the
// device code (Poll) while the user, on the linking page, looks the request
// up by user code (Lookup) and approves it, possibly with lower limits and
// fewer scopes (Approve), or denies it (Deny). Every write goes through a
// unit of work; decisions are versioned updates of the link, so of an
// approval, a denial and an expiry racing each other exactly one wins.
//
// It is a package of its own rather than part of agentauth because it
// writes through the store, which agentauth (agentpay only) must not import.
package linking

import (
	"context"
	"crypto/ed25519"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/agentauth"
	"github.com/agentpay/agentpay/store"
)

// RFC 8628 §3.5 error codes Poll answers with, as agentpay.EINVALID errors
// (HTTP 400, as OAuth token endpoints answer).
const (
	CodeAuthorizationPending = "authorization_pending"
	CodeSlowDown             = "slow_down"
	CodeAccessDenied         = "access_denied"
	CodeExpiredToken         = "expired_token"
	CodeInvalidGrant         = "invalid_grant" // an unknown device code
)

// userCodeAttemptsMax bounds how often Start draws a new user code after a
// collision; with 20^8 codes, more than one retry means something is wrong.
const userCodeAttemptsMax = 5

// GrantTTL is how long a grant lasts unless the user says otherwise.
const GrantTTL = 365 * 24 * time.Hour

// Service runs agent linking over a store.
type Service struct {
	DB *store.DB
	// Now is the clock; nil means time.Now. Tests set it.
	Now func() time.Time
	// Limits are the tier limits no grant may exceed; nil means
	// agentpay.DefaultTierLimits().
	Limits agentpay.Limits
}

func (s *Service) limits() agentpay.Limits {
	if s.Limits != nil {
		return s.Limits
	}
	return agentpay.DefaultTierLimits()
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// StartRequest is what an agent asks for.
type StartRequest struct {
	PublicKeyJWK []byte // the agent's public key as a JWK
	AgentName    string
	SoftwareID   string
	Scopes       []agentpay.Scope
	Limits       agentpay.GrantLimits
	// Tips are the tip terms asked for with the tips scope: tips up to
	// AutoApproveMax each and BudgetPerDay a day given without a tap, if
	// the user keeps them.
	Tips TipTerms
}

// RequestMeta is where a request came from, as the server saw it.
type RequestMeta struct {
	RemoteIP  string
	UserAgent string
}

// Started is a new link and its device code, which is shown only here.
type Started struct {
	Link       agentpay.AgentLink
	DeviceCode string
}

// Validate checks a start request and returns the agent's public key.
func (r StartRequest) Validate() (agentpay.AgentLink, error) {
	key, err := ParsePublicKey(r.PublicKeyJWK)
	if err != nil {
		return agentpay.AgentLink{}, err
	}
	if err := agentpay.ValidateAgentText("agent_name", r.AgentName); err != nil {
		return agentpay.AgentLink{}, err
	}
	if err := agentpay.ValidateAgentText("software_id", r.SoftwareID); err != nil {
		return agentpay.AgentLink{}, err
	}
	if err := agentpay.ValidateScopes("scopes", r.Scopes); err != nil {
		return agentpay.AgentLink{}, err
	}
	if err := r.Limits.Validate("limits"); err != nil {
		return agentpay.AgentLink{}, err
	}
	if err := r.Tips.Validate(r.Scopes, r.Limits); err != nil {
		return agentpay.AgentLink{}, err
	}
	return agentpay.AgentLink{PublicKeyJWK: string(agentauth.JWK(key)), KeyID: agentauth.Thumbprint(key),
		AgentName: r.AgentName, SoftwareID: r.SoftwareID, RequestedScopes: r.Scopes, RequestedLimits: r.Limits,
		RequestedTipAutoApproveMax: r.Tips.AutoApproveMax, RequestedTipBudgetPerDay: r.Tips.BudgetPerDay}, nil
}

// ParsePublicKey parses an agent's public key as sent in the field
// public_key: a bad or private JWK is invalid, its param under public_key.
func ParsePublicKey(jwk []byte) (ed25519.PublicKey, error) {
	key, err := agentauth.ParseJWK(jwk)
	if err != nil {
		if e, ok := err.(*agentpay.Error); ok {
			c := *e
			c.Kind = agentpay.EINVALID
			if c.Param == "" {
				c.Param = "public_key"
			} else {
				c.Param = "public_key." + c.Param
			}
			return nil, &c
		}
		return nil, err
	}
	return key, nil
}

// Prepare validates a start request and returns the new link, its device
// code and the unit that records it, for callers that add to the unit (the
// HTTP API adds its idempotency record). It draws user codes until one is
// not in use; a code taken by another node between this read and the
// commit fails the unit with already_exists (odds about 2^-34 per link in
// flight), which Start retries.
func (s *Service) Prepare(ctx context.Context, req StartRequest, meta RequestMeta) (Started, *store.Unit, error) {
	link, err := req.Validate()
	if err != nil {
		return Started{}, nil, err
	}
	now := s.now()
	link.ID = agentpay.NewID("lnk")
	link.RequestIP = clean(meta.RemoteIP, 64)
	link.RequestUserAgent = clean(meta.UserAgent, agentpay.UserAgentLengthMax)
	link.Status = agentpay.AgentLinkPending
	link.CreatedAt = now.UnixMicro()
	link.ExpiresAt = now.Add(agentpay.AgentLinkTTL).UnixMicro()
	link.Interval = agentpay.AgentLinkInterval
	link.Version = 1
	deviceCode := agentpay.NewDeviceCode()
	link.DeviceCodeHash = agentpay.HashDeviceCode(deviceCode)
	for attempt := 0; ; attempt++ {
		link.UserCode = agentpay.NewUserCode()
		_, err := s.DB.AgentLinkByUserCode(ctx, link.UserCode)
		if agentpay.ErrorKind(err) == agentpay.ENOTFOUND {
			break
		}
		if err != nil {
			return Started{}, nil, err
		}
		if attempt+1 >= userCodeAttemptsMax {
			return Started{}, nil, agentpay.Errorf(agentpay.EUNAVAILABLE, "user_code_exhausted", "no free user code was found; retry")
		}
	}
	return Started{Link: link, DeviceCode: deviceCode}, &store.Unit{Rows: []store.Row{store.AgentLinkRow(link)}}, nil
}

// Start records a new pending link. A user code already in use is drawn
// again.
func (s *Service) Start(ctx context.Context, req StartRequest, meta RequestMeta) (Started, error) {
	for attempt := 0; ; attempt++ {
		started, unit, err := s.Prepare(ctx, req, meta)
		if err != nil {
			return Started{}, err
		}
		res := s.DB.Committer.Submit(ctx, unit)
		if res.Err == nil {
			return started, nil
		}
		if agentpay.ErrorCode(res.Err) != "already_exists" || attempt+1 >= userCodeAttemptsMax {
			return Started{}, res.Err
		}
	}
}

// clean keeps what a client sent for display: printable ASCII (others
// become '?'), at most n bytes.
func clean(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	b := []byte(s)
	for i, c := range b {
		if c < ' ' || c > '~' {
			b[i] = '?'
		}
	}
	return string(b)
}
