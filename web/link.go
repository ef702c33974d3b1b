package web

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/linking"
)

// Limits of the linking page. A user code has 20^8 values and lives 15
// minutes; counting wrong codes per user and per address keeps guessing
// hopeless (RFC 8628 §5.1) on every node, since the counters are shared.
const (
	LinkGuessWindow       = time.Hour
	LinkGuessesPerUserMax = 10
	LinkGuessesPerIPMax   = 30
	// LinkBodyBytesMax bounds the JSON of a link decision.
	LinkBodyBytesMax = 4 << 10
)

// scopeDescriptions say, in the user's words, what each scope lets an
// agent do.
var scopeDescriptions = map[agentpay.Scope]string{
	agentpay.ScopePaymentsCreate: "ask you to approve payments",
	agentpay.ScopePaymentsRead:   "see the payments it made",
	agentpay.ScopeTips:           "send tips: each asks you, except those within the tip limits below",
	agentpay.ScopeSubscriptions:  "set up subscriptions that you approve",
}

func (h *Handler) linkRoutes() {
	h.handle("GET /link", h.linkPage)
	h.handle("POST /link/approve/begin", h.linkApproveBegin)
	h.handle("POST /link/approve/finish", h.linkApproveFinish)
	h.handle("POST /link/deny", h.linkDeny)
}

type scopeView struct {
	Name        string
	Description string
}

// linkView is a link as the page shows it.
type linkView struct {
	UserCode                     string // XXXX-XXXX
	State                        string // pending, approved, denied, expired
	Mine                         bool   // decided by this user
	AgentName, SoftwareID        string // as the agent stated them: unverified
	Fingerprint                  string
	RequestIP, RequestUserAgent  string
	RequestedAt, ExpiresAt       string
	Scopes                       []scopeView
	Asset                        string
	PerPayment, PerDay, PerMonth string // requested, in major units
	CapPerPayment, CapPerDay     string // what the user's tier allows
	CapPerMonth                  string
	Tier                         agentpay.Tier
	GrantID                      string
	// Tips shows the tip limits, in major units, when the agent asks for
	// the tips scope.
	Tips                         bool
	TipAutoApproveMax, TipBudget string
}

func remoteIP(r *http.Request) string {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return ip
}

// loginRedirect sends a visitor without a session to log in and come back.
func loginRedirect(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
}

// decimal formats minor units for an input field: no asset, "" when the
// asset is unknown.
func decimal(amount int64, asset string) string {
	s, err := agentpay.FormatAmount(amount, asset)
	if err != nil {
		return ""
	}
	return s
}

// guessKeys are the rate counters a wrong user code counts against.
func guessKeys(userID, ip string) [2]string {
	return [2]string{"link_guess:user:" + userID, "link_guess:ip:" + ip}
}

// guessingRefused says whether the user or their address used up their
// wrong codes for now.
func (h *Handler) guessingRefused(r *http.Request, userID string) (bool, error) {
	now := time.Now()
	keys := guessKeys(userID, remoteIP(r))
	for i, max := range [2]int{LinkGuessesPerUserMax, LinkGuessesPerIPMax} {
		n, err := h.Links.DB.Attempts(r.Context(), keys[i], LinkGuessWindow, now, max)
		if err != nil || n >= max {
			return err == nil, err
		}
	}
	return false, nil
}

func (h *Handler) countGuess(r *http.Request, userID string) error {
	keys := guessKeys(userID, remoteIP(r))
	return h.Links.DB.CountAttempt(r.Context(), time.Now(), keys[:]...)
}

// linkPage asks for a user code, or shows the link a code names with what
// the agent asks for, for the user to approve (with a passkey) or deny.
func (h *Handler) linkPage(w http.ResponseWriter, r *http.Request) {
	sess, err := h.Sessions.Lookup(r.Context(), r)
	if agentpay.ErrorKind(err) == agentpay.EUNAUTHORIZED {
		loginRedirect(w, r)
		return
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	d := pageData{Title: "Link an agent", CSRF: sess.CSRFToken}
	code := r.URL.Query().Get("code")
	if code == "" {
		render(w, http.StatusOK, "link_enter", d)
		return
	}
	refused, err := h.guessingRefused(r, sess.UserID)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if refused {
		d.Error = "Too many wrong codes. Wait an hour, then enter the code your agent shows."
		render(w, http.StatusTooManyRequests, "link_enter", d)
		return
	}
	p, err := h.Links.Lookup(r.Context(), code)
	if agentpay.ErrorKind(err) == agentpay.ENOTFOUND {
		if err := h.countGuess(r, sess.UserID); err != nil {
			h.writeError(w, r, err)
			return
		}
		d.Error = "No agent asked to link with that code. Check the code your agent shows; it is valid for fifteen minutes."
		render(w, http.StatusNotFound, "link_enter", d)
		return
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	u, err := h.Identity.User(r.Context(), sess.UserID)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	d.User = u
	d.Link = h.linkView(p, u)
	render(w, http.StatusOK, "link", d)
}

func (h *Handler) linkView(p linking.Pending, u agentpay.User) *linkView {
	v := &linkView{UserCode: p.UserCodeDisplay, State: string(p.Status), Mine: p.UserID == u.ID, Tier: u.Tier}
	if p.ExpiredByClock {
		v.State = string(agentpay.AgentLinkExpired)
	}
	if v.State != string(agentpay.AgentLinkPending) && !v.Mine {
		return v // a decided link shows nothing to anyone else
	}
	l := p.RequestedLimits
	caps := h.Identity.TierLimits().For(u.Tier, l.Asset)
	v.AgentName, v.SoftwareID, v.Fingerprint = p.AgentName, p.SoftwareID, p.Fingerprint
	v.RequestIP, v.RequestUserAgent = p.RequestIP, p.RequestUserAgent
	v.RequestedAt, v.ExpiresAt = formatTime(p.CreatedAt), formatTime(p.ExpiresAt)
	v.Asset = l.Asset
	v.PerPayment, v.PerDay, v.PerMonth = decimal(min(l.PerPayment, caps.PerPayment), l.Asset),
		decimal(min(l.PerDay, caps.PerDay), l.Asset), decimal(min(l.PerMonth, caps.PerMonth), l.Asset)
	v.CapPerPayment, v.CapPerDay, v.CapPerMonth = money(caps.PerPayment, l.Asset), money(caps.PerDay, l.Asset), money(caps.PerMonth, l.Asset)
	for _, s := range p.RequestedScopes {
		v.Scopes = append(v.Scopes, scopeView{Name: string(s), Description: scopeDescriptions[s]})
		v.Tips = v.Tips || s == agentpay.ScopeTips
	}
	// Offered no higher than the per-payment and per-day limits offered,
	// which the approval would otherwise refuse.
	v.TipAutoApproveMax = decimal(min(p.RequestedTipAutoApproveMax, l.PerPayment, caps.PerPayment), l.Asset)
	v.TipBudget = decimal(min(p.RequestedTipBudgetPerDay, l.PerDay, caps.PerDay), l.Asset)
	v.GrantID = p.GrantID
	return v
}

// linkDecision is what the page sends to approve: the scopes kept and the
// limits, in major units of the link's asset, no higher than requested;
// the tip limits likewise ("" is 0), and the browser's time zone, whose
// days the tip budget follows (UTC if it names none the server knows).
type linkDecision struct {
	UserCode string           `json:"user_code"`
	Scopes   []agentpay.Scope `json:"scopes"`
	Limits   struct {
		PerPayment string `json:"per_payment"`
		PerDay     string `json:"per_day"`
		PerMonth   string `json:"per_month"`
	} `json:"limits"`
	TipAutoApproveMax string `json:"tip_auto_approve_max"`
	TipBudgetPerDay   string `json:"tip_budget_per_day"`
	TimeZone          string `json:"time_zone"`
}

// linkApproval is the object a user signs with their passkey to link an
// agent: everything the page showed them and they decided.
type linkApproval struct {
	Type        string           `json:"type"` // "agent_link"
	LinkID      string           `json:"link_id"`
	UserCode    string           `json:"user_code"`
	KeyID       string           `json:"key_id"`
	AgentName   string           `json:"agent_name"`
	SoftwareID  string           `json:"software_id"`
	RequestIP   string           `json:"request_ip"`
	Scopes      []agentpay.Scope `json:"scopes"`
	Limits      approvedLimits   `json:"limits"`
	GrantTTLSec int64            `json:"grant_ttl_seconds"`
	// The tip terms, in minor units: tips up to TipAutoApproveMax each and
	// TipBudgetPerDay a day in all given without a tap, the days those of
	// TipTimeZone. The tips mandate is made from exactly these.
	TipAutoApproveMax int64  `json:"tip_auto_approve_max"`
	TipBudgetPerDay   int64  `json:"tip_budget_per_day"`
	TipTimeZone       string `json:"tip_time_zone,omitempty"`
}

// approvedLimits are grant limits as signed, in minor units.
type approvedLimits struct {
	Asset      string `json:"asset"`
	PerPayment int64  `json:"per_payment"`
	PerDay     int64  `json:"per_day"`
	PerMonth   int64  `json:"per_month"`
}

func readJSON(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, LinkBodyBytesMax+1))
	if err != nil || len(b) > LinkBodyBytesMax {
		return agentpay.Errorf(agentpay.EINVALID, "invalid_body", "the request body is missing or too large")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return agentpay.Errorf(agentpay.EINVALID, "invalid_json", "the request body is not the expected JSON: %v", err)
	}
	return nil
}

// approval turns a decision into the linking service's terms.
func (d linkDecision) approval(userID string, asset string) (linking.Approval, error) {
	var l agentpay.GrantLimits
	l.Asset = asset
	for _, f := range []struct {
		param string
		s     string
		to    *int64
	}{{"limits.per_payment", d.Limits.PerPayment, &l.PerPayment}, {"limits.per_day", d.Limits.PerDay, &l.PerDay},
		{"limits.per_month", d.Limits.PerMonth, &l.PerMonth}} {
		n, err := agentpay.ParseAmount(f.s, asset)
		if err != nil {
			return linking.Approval{}, agentpay.ParamErrorf(f.param, "invalid_amount", "%s must be an amount in %s such as 25.00", f.param, asset)
		}
		*f.to = n
	}
	if len(d.Scopes) == 0 {
		return linking.Approval{}, agentpay.ParamErrorf("scopes", "scopes_required", "keep at least one scope, or deny the request")
	}
	// Unticking tips turns tips off, whatever the tip fields still hold.
	tips := linking.TipTerms{}
	if slices.Contains(d.Scopes, agentpay.ScopeTips) {
		for _, f := range []struct {
			param string
			s     string
			to    *int64
		}{{"tip_auto_approve_max", d.TipAutoApproveMax, &tips.AutoApproveMax}, {"tip_budget_per_day", d.TipBudgetPerDay, &tips.BudgetPerDay}} {
			if f.s == "" {
				continue
			}
			n, err := agentpay.ParseAmount(f.s, asset)
			if err != nil {
				return linking.Approval{}, agentpay.ParamErrorf(f.param, "invalid_amount", "%s must be an amount in %s such as 2.00, or 0", f.param, asset)
			}
			*f.to = n
		}
	}
	tz := "UTC"
	if _, err := agentpay.LoadLocation("time_zone", d.TimeZone); err == nil {
		tz = d.TimeZone
	}
	return linking.Approval{UserID: userID, Limits: &l, Scopes: slices.Clone(d.Scopes), Tips: &tips, TimeZone: tz}, nil
}

// linkApproveBegin checks a decision (so a refusal shows before the
// passkey prompt) and starts the passkey approval of exactly it.
func (h *Handler) linkApproveBegin(w http.ResponseWriter, r *http.Request) {
	sess, err := h.session(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	var d linkDecision
	if err := readJSON(r, &d); err != nil {
		h.writeError(w, r, err)
		return
	}
	p, err := h.Links.Lookup(r.Context(), d.UserCode)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	a, err := d.approval(sess.UserID, p.RequestedLimits.Asset)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	approved, _, err := h.Links.PrepareApprove(r.Context(), p.UserCode, a)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	g := approved.Grant
	obj := linkApproval{Type: "agent_link", LinkID: p.ID, UserCode: p.UserCode, KeyID: p.KeyID, AgentName: p.AgentName,
		SoftwareID: p.SoftwareID, RequestIP: p.RequestIP, Scopes: g.Scopes,
		Limits:            approvedLimits(g.Limits),
		GrantTTLSec:       int64(linking.GrantTTL / time.Second),
		TipAutoApproveMax: g.TipAutoApproveMax}
	if m := approved.TipsMandate; m != nil {
		obj.TipBudgetPerDay, obj.TipTimeZone = m.Budget, m.TimeZone
	}
	id, options, err := h.Passkeys.BeginApproval(r.Context(), sess.UserID, p.ID, obj)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, map[string]any{"ceremony": id, "options": options})
}

// linkApproveFinish verifies the passkey's signature over the decision and
// makes the grant from what was signed, with the evidence in the same unit.
func (h *Handler) linkApproveFinish(w http.ResponseWriter, r *http.Request) {
	sess, err := h.session(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	body, err := readResponse(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	ev, err := h.Passkeys.FinishApproval(r.Context(), sess.UserID, r.URL.Query().Get("ceremony"), body)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	var obj linkApproval
	if err := json.Unmarshal(ev.Signed.Object, &obj); err != nil || obj.Type != "agent_link" {
		h.writeError(w, r, agentpay.Errorf(agentpay.EINVALID, "approval_mismatch", "the passkey approved something other than an agent link"))
		return
	}
	p, err := h.Links.Lookup(r.Context(), obj.UserCode)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	// The link as stored now must be the link the user saw.
	if p.ID != obj.LinkID || p.ID != ev.Signed.Subject || p.KeyID != obj.KeyID || p.AgentName != obj.AgentName ||
		p.SoftwareID != obj.SoftwareID || obj.Limits.Asset != p.RequestedLimits.Asset {
		h.writeError(w, r, agentpay.Errorf(agentpay.ECONFLICT, "approval_mismatch", "the linking request changed after you saw it; start again"))
		return
	}
	// The grant and its tips mandate are made from what was signed, and
	// checked again against the link as stored now: terms above what the
	// agent asked for are refused here as they were before the prompt.
	limits := agentpay.GrantLimits(obj.Limits)
	approved, unit, err := h.Links.PrepareApprove(r.Context(), p.UserCode, linking.Approval{UserID: sess.UserID, Limits: &limits,
		Scopes: obj.Scopes, ExpiresIn: time.Duration(obj.GrantTTLSec) * time.Second,
		Tips: &linking.TipTerms{AutoApproveMax: obj.TipAutoApproveMax, BudgetPerDay: obj.TipBudgetPerDay}, TimeZone: obj.TipTimeZone})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	ev.Add(unit)
	if err := h.Links.DB.Committer.Submit(r.Context(), unit).Err; err != nil {
		h.writeError(w, r, err)
		return
	}
	out := map[string]any{"grant": approved.Grant.ID, "redirect": "/link?code=" + url.QueryEscape(p.UserCodeDisplay)}
	if m := approved.TipsMandate; m != nil {
		out["tips_mandate"] = m.ID
	}
	writeJSON(w, out)
}

// linkDeny refuses a link; the agent's next poll gets access_denied. A
// denial moves nothing, so the session is enough.
func (h *Handler) linkDeny(w http.ResponseWriter, r *http.Request) {
	sess, err := h.session(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	code := r.PostFormValue("user_code")
	if err := h.Links.Deny(r.Context(), code, sess.UserID); err != nil {
		h.writeError(w, r, err)
		return
	}
	http.Redirect(w, r, "/link?code="+url.QueryEscape(code), http.StatusSeeOther)
}
