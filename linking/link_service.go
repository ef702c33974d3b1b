package linking

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/agentauth"
	"github.com/agentpay/agentpay/store"
)

// pollAttemptsMax bounds how often Poll reads the link again after a
// version conflict (a decision or another poll landed in between).
const pollAttemptsMax = 3

// deviceCodeLengthMax bounds a device code as sent; ours are 43 characters.
const deviceCodeLengthMax = 128

func pollError(code, format string, args ...any) *agentpay.Error {
	return agentpay.Errorf(agentpay.EINVALID, code, format, args...)
}

// Poll is the agent's token request: the grant once the user approved, or
// an RFC 8628 error: authorization_pending, slow_down (polled sooner than
// the interval, which grows by five seconds), access_denied, expired_token,
// or invalid_grant for an unknown device code. Returning the grant again to
// a repeated poll is harmless: it is the agent's own.
func (s *Service) Poll(ctx context.Context, deviceCode string) (agentpay.Grant, error) {
	if deviceCode == "" || len(deviceCode) > deviceCodeLengthMax {
		return agentpay.Grant{}, &agentpay.Error{Kind: agentpay.EINVALID, Code: CodeInvalidGrant, Param: "device_code",
			Message: "device_code is missing or malformed"}
	}
	hash := agentpay.HashDeviceCode(deviceCode)
	for attempt := 0; attempt < pollAttemptsMax; attempt++ {
		link, err := s.DB.AgentLinkByDeviceCodeHash(ctx, hash)
		if agentpay.ErrorKind(err) == agentpay.ENOTFOUND {
			return agentpay.Grant{}, &agentpay.Error{Kind: agentpay.EINVALID, Code: CodeInvalidGrant, Param: "device_code",
				Message: "device_code is not known"}
		}
		if err != nil {
			return agentpay.Grant{}, err
		}
		grant, err, retry := s.poll(ctx, link)
		if !retry {
			return grant, err
		}
	}
	return agentpay.Grant{}, pollError(CodeSlowDown, "polled concurrently; wait before polling again")
}

// poll answers one read of the link; retry says the link changed meanwhile.
func (s *Service) poll(ctx context.Context, link agentpay.AgentLink) (agentpay.Grant, error, bool) {
	now := s.now()
	switch link.Status {
	case agentpay.AgentLinkApproved:
		g, err := s.DB.Grant(ctx, link.GrantID)
		return g, err, false
	case agentpay.AgentLinkDenied:
		return agentpay.Grant{}, pollError(CodeAccessDenied, "the user denied the request"), false
	case agentpay.AgentLinkExpired:
		return agentpay.Grant{}, pollError(CodeExpiredToken, "the request expired; start linking again"), false
	}
	if now.UnixMicro() >= link.ExpiresAt {
		err := s.update(ctx, link, []string{"status"}, []any{string(agentpay.AgentLinkExpired)})
		if agentpay.ErrorCode(err) == "version_conflict" {
			return agentpay.Grant{}, nil, true
		}
		if err != nil {
			return agentpay.Grant{}, err, false
		}
		return agentpay.Grant{}, pollError(CodeExpiredToken, "the request expired; start linking again"), false
	}
	interval := link.Interval
	code, message := CodeAuthorizationPending, "the user has not decided yet; poll again after the interval"
	if link.LastPolledAt != 0 && now.Sub(time.UnixMicro(link.LastPolledAt)) < link.Interval {
		interval = min(interval+agentpay.AgentLinkSlowDown, agentpay.AgentLinkIntervalMax)
		code, message = CodeSlowDown, fmt.Sprintf("polled too fast; wait at least %d seconds between polls", int(interval.Seconds()))
	}
	err := s.update(ctx, link, []string{"last_polled_at", "poll_interval_ms"}, []any{now.UnixMicro(), interval.Milliseconds()})
	if agentpay.ErrorCode(err) == "version_conflict" {
		return agentpay.Grant{}, nil, true
	}
	if err != nil {
		return agentpay.Grant{}, err, false
	}
	return agentpay.Grant{}, pollError(code, "%s", message), false
}

func (s *Service) update(ctx context.Context, link agentpay.AgentLink, set []string, values []any, rows ...store.Row) error {
	return s.DB.Committer.Submit(ctx, &store.Unit{Rows: rows, Updates: []store.Update{{Table: store.AgentLinksTable,
		Key: link.UserCode, Version: link.Version, Set: set, Values: values}}}).Err
}

// Pending is a link as the linking page shows it. What the agent said about
// itself is flagged unverified; where the request came from and the key's
// fingerprint are what the server saw.
type Pending struct {
	agentpay.AgentLink
	UserCodeDisplay      string // XXXX-XXXX
	Fingerprint          string // the key's RFC 7638 thumbprint
	AgentNameVerified    bool   // always false: agents name themselves
	SoftwareIDVerified   bool   // always false
	ExpiredByClock       bool   // pending in the store, but past its expiry
	DecisionsOutstanding bool   // the user may still approve or deny
}

// Lookup returns the link a user code names, for the user to decide on. An
// unknown or malformed code is not_found.
func (s *Service) Lookup(ctx context.Context, userCode string) (Pending, error) {
	link, err := s.link(ctx, userCode)
	if err != nil {
		return Pending{}, err
	}
	expired := link.Status == agentpay.AgentLinkPending && s.now().UnixMicro() >= link.ExpiresAt
	return Pending{AgentLink: link, UserCodeDisplay: agentpay.FormatUserCode(link.UserCode), Fingerprint: link.KeyID,
		ExpiredByClock: expired, DecisionsOutstanding: link.Status == agentpay.AgentLinkPending && !expired}, nil
}

func (s *Service) link(ctx context.Context, userCode string) (agentpay.AgentLink, error) {
	code, ok := agentpay.NormalizeUserCode(userCode)
	if !ok {
		return agentpay.AgentLink{}, agentpay.Errorf(agentpay.ENOTFOUND, "agent_link_not_found", "no such agent link")
	}
	return s.DB.AgentLinkByUserCode(ctx, code)
}

// Approval is what a user decides when approving: nil Limits, Scopes and
// Tips keep what the agent asked for; they may only be lowered or
// narrowed.
type Approval struct {
	UserID     string
	Limits     *agentpay.GrantLimits
	Scopes     []agentpay.Scope
	Categories []string      // optional merchant category codes
	ExpiresIn  time.Duration // 0: GrantTTL
	// Tips are the tip terms kept (none without the tips scope). A tip
	// budget above 0 makes the grant's active tips mandate in the unit
	// that makes the grant.
	Tips *TipTerms
	// TimeZone is the IANA time zone whose days the tip budget follows;
	// "" is UTC.
	TimeZone string
	// TipAutoApproveMax, if not 0, sets the grant's tip threshold with no
	// tip budget, whatever the agent asked: for a server linking agents
	// itself (tests, the demo). It cannot go with Tips.
	TipAutoApproveMax int64
}

// Approved is what an approval makes: the grant and, if the user kept a
// tip budget, its tips mandate.
type Approved struct {
	Grant       agentpay.Grant
	TipsMandate *agentpay.Mandate
}

// pendingLink reads a link and checks that it can still be decided.
func (s *Service) pendingLink(ctx context.Context, userCode, userID string) (agentpay.AgentLink, error) {
	if !agentpay.ValidID(userID) {
		return agentpay.AgentLink{}, agentpay.ParamErrorf("user_id", "invalid_id", "a decision needs the deciding user's id")
	}
	link, err := s.link(ctx, userCode)
	if err != nil {
		return link, err
	}
	if link.Status == agentpay.AgentLinkExpired || link.Status == agentpay.AgentLinkPending && s.now().UnixMicro() >= link.ExpiresAt {
		return link, agentpay.Errorf(agentpay.ECONFLICT, CodeExpiredToken, "the linking request expired; the agent must start again")
	}
	if link.Status != agentpay.AgentLinkPending {
		return link, agentpay.Errorf(agentpay.ECONFLICT, "agent_link_decided", "the linking request was already %s", link.Status)
	}
	return link, nil
}

// Approve makes the grant and marks the link approved in one unit of work.
// The update is versioned, so if a denial, an expiry or another approval
// got there first this fails with version_conflict and nothing is written.
func (s *Service) Approve(ctx context.Context, userCode string, a Approval) (agentpay.Grant, error) {
	approved, unit, err := s.PrepareApprove(ctx, userCode, a)
	if err != nil {
		return agentpay.Grant{}, err
	}
	if err := s.DB.Committer.Submit(ctx, unit).Err; err != nil {
		return agentpay.Grant{}, err
	}
	return approved.Grant, nil
}

// PrepareApprove checks an approval and returns the grant it makes, with
// its tips mandate if the user kept a tip budget, and the unit that writes
// both, for callers that add to the unit (the linking page adds the
// passkey evidence). Nothing is written.
func (s *Service) PrepareApprove(ctx context.Context, userCode string, a Approval) (Approved, *store.Unit, error) {
	var none Approved
	link, err := s.pendingLink(ctx, userCode, a.UserID)
	if err != nil {
		return none, nil, err
	}
	limits := link.RequestedLimits
	if a.Limits != nil {
		if err := a.Limits.Validate("limits"); err != nil {
			return none, nil, err
		}
		if !a.Limits.Within(link.RequestedLimits) {
			return none, nil, agentpay.ParamErrorf("limits", "limits_raised",
				"limits may only be lowered from what the agent asked for, in the same asset")
		}
		limits = *a.Limits
	}
	scopes := link.RequestedScopes
	if a.Scopes != nil {
		if err := agentpay.ValidateScopes("scopes", a.Scopes); err != nil {
			return none, nil, err
		}
		for _, sc := range a.Scopes {
			if !slices.Contains(link.RequestedScopes, sc) {
				return none, nil, agentpay.ParamErrorf("scopes", "scope_not_requested",
					"scope %q was not requested by the agent", sc)
			}
		}
		scopes = a.Scopes
	}
	ttl := a.ExpiresIn
	if ttl == 0 {
		ttl = GrantTTL
	}
	if err := s.checkTier(ctx, a.UserID, limits); err != nil {
		return none, nil, err
	}
	tips, err := approvedTips(link, a, scopes, limits)
	if err != nil {
		return none, nil, err
	}
	now := s.now()
	g := agentpay.Grant{ID: agentpay.NewID("grt"), UserID: a.UserID, AgentKeyID: link.KeyID, Scopes: scopes,
		Limits: limits, Categories: a.Categories, ExpiresAt: now.Add(ttl).UnixMicro(), TipAutoApproveMax: tips.AutoApproveMax,
		Status: agentpay.GrantActive, CreatedAt: now.UnixMicro(), Version: 1}
	if err := g.Validate(); err != nil {
		return none, nil, err
	}
	approved := Approved{Grant: g}
	var mandate agentpay.Mandate
	if tips.BudgetPerDay > 0 {
		if mandate, err = newTipsMandate(g, tips, a.TimeZone, now); err != nil {
			return none, nil, err
		}
		approved.TipsMandate = &mandate
	}
	// Linking a key again replaces its grant: the previous active grant is
	// revoked in the same unit, so a key never has two active grants.
	previous, err := s.DB.ActiveGrantsByAgentKey(ctx, link.KeyID)
	if err != nil {
		return none, nil, err
	}
	unit := &store.Unit{Rows: []store.Row{store.GrantRow(g)}, Updates: []store.Update{{Table: store.AgentLinksTable,
		Key: link.UserCode, Version: link.Version, Set: []string{"status", "user_id", "grant_id"},
		Values: []any{string(agentpay.AgentLinkApproved), a.UserID, g.ID}}}}
	if approved.TipsMandate != nil {
		unit.Rows = append(unit.Rows, store.MandateRow(mandate))
		emitMandate(unit, mandate, eventMandateApproved, now)
	}
	for _, p := range previous {
		unit.Updates = append(unit.Updates, revokeUpdate(p))
		if err := s.revokeTipsMandates(ctx, unit, p); err != nil {
			return none, nil, err
		}
	}
	return approved, unit, nil
}

// checkTier refuses limits the approving user's tier does not allow: an
// unknown user is not_found, an unverified one is forbidden
// (tier_unverified), and limits above the tier's in their asset are
// forbidden (grant_exceeds_tier), never lowered silently.
func (s *Service) checkTier(ctx context.Context, userID string, l agentpay.GrantLimits) error {
	u, err := s.DB.User(ctx, userID)
	if err != nil {
		return err
	}
	if u.Tier <= agentpay.TierUnverified {
		return agentpay.Errorf(agentpay.EFORBIDDEN, "tier_unverified",
			"the user must verify their email address or phone number before approving agents")
	}
	tl := s.limits().For(u.Tier, l.Asset)
	exceeds := func(param string, limit int64) error {
		return &agentpay.Error{Kind: agentpay.EFORBIDDEN, Code: "grant_exceeds_tier", Param: param,
			Message: fmt.Sprintf("%s exceeds the tier %d limit of %d %s", param, u.Tier, limit, l.Asset)}
	}
	if tl.PerPayment <= 0 || tl.PerDay <= 0 || tl.PerMonth <= 0 {
		return &agentpay.Error{Kind: agentpay.EFORBIDDEN, Code: "grant_exceeds_tier", Param: "limits.asset",
			Message: fmt.Sprintf("no limits are configured for tier %d in %s", u.Tier, l.Asset)}
	}
	switch {
	case l.PerPayment > tl.PerPayment:
		return exceeds("limits.per_payment", tl.PerPayment)
	case l.PerDay > tl.PerDay:
		return exceeds("limits.per_day", tl.PerDay)
	case l.PerMonth > tl.PerMonth:
		return exceeds("limits.per_month", tl.PerMonth)
	}
	return nil
}

// Deny marks the link denied; the agent's next poll gets access_denied.
func (s *Service) Deny(ctx context.Context, userCode, userID string) error {
	link, err := s.pendingLink(ctx, userCode, userID)
	if err != nil {
		return err
	}
	return s.update(ctx, link, []string{"status", "user_id"}, []any{string(agentpay.AgentLinkDenied), userID})
}

// PrepareRotate returns the unit that moves grant g, signed for by its
// current key, to the agent key newJWK: the grant's key id and public key
// change in one versioned update, so the old key stops working at once.
// A key equal to the current one or not a public Ed25519 JWK is invalid; a
// key bound to another active grant is key_in_use.
func (s *Service) PrepareRotate(ctx context.Context, g agentpay.Grant, newJWK []byte) (agentpay.Grant, *store.Unit, error) {
	key, err := ParsePublicKey(newJWK)
	if err != nil {
		return g, nil, err
	}
	keyID := agentauth.Thumbprint(key)
	if keyID == g.AgentKeyID {
		return g, nil, agentpay.ParamErrorf("public_key", "key_unchanged", "the new key is the key the request is signed with")
	}
	others, err := s.DB.ActiveGrantsByAgentKey(ctx, keyID)
	if err != nil {
		return g, nil, err
	}
	if len(others) > 0 {
		return g, nil, &agentpay.Error{Kind: agentpay.ECONFLICT, Code: "key_in_use", Param: "public_key",
			Message: "the new key is bound to another active grant"}
	}
	unit := &store.Unit{Updates: []store.Update{{Table: store.GrantsTable, Key: g.ID, Version: g.Version,
		Set: []string{"agent_key_id", "public_key_jwk"}, Values: []any{keyID, string(agentauth.JWK(key))}}}}
	g.AgentKeyID = keyID
	g.Version++
	return g, unit, nil
}
