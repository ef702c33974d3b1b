package web

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
)

// AccountGrantsMax bounds the linked agents the account page lists; the
// "Revoke all agents" button still revokes every one of them.
const AccountGrantsMax = 100

// accountPage is what the account page shows.
type accountPage struct {
	Title    string
	CSRF     string
	Error    string
	Notice   string
	User     agentpay.User
	Passkeys []passkeyView
	// Linking is false when the handler has no linking service: the page
	// then has no agents section.
	Linking    bool
	Grants     []grantView
	MoreGrants bool // more than AccountGrantsMax are active
	Tiers      []tierView
	// CanVerifyCode and CanVerifyDocument offer the next verification.
	CanVerifyCode, CanVerifyDocument bool
	// Money is the user's payments, wallets and development top-up.
	Money accountPayments
	// Tips are the user's newest tips (account_tips.go).
	Tips []tipRow
	// Subscriptions are the user's newest subscriptions
	// (account_subscriptions.go).
	Subscriptions []subscriptionRow
}

// grantView is a linked agent as the page shows it. AgentName and
// SoftwareID are what the agent claimed, shown as unverified.
type grantView struct {
	ID, AgentName, SoftwareID, Fingerprint string
	Scopes                                 string
	Asset, PerPayment, PerDay, PerMonth    string
	Expires, Created                       string
	Expired                                bool
}

// tierView is one tier and what agents may pay at it.
type tierView struct {
	Tier    agentpay.Tier
	Current bool
	Allows  string // for tier 0
	Limits  []limitView
}

type limitView struct{ Asset, PerPayment, PerDay, PerMonth string }

// Confirmations shown after a redirect to /account. The query names one of
// these, so a crafted link cannot put text of its own on the page.
var notices = map[string]string{
	"revoked":             "The agent's access was revoked. Its next request will be refused.",
	"revoked_none":        "No agent had access: nothing to revoke.",
	"verified_contact":    "Your contact details are verified.",
	"verified_document":   "Your identity document is verified.",
	"topped_up":           "Your wallet was topped up.",
	"claim_approved":      "Your claim was approved: the amount is back in your wallet.",
	"claim_in_review":     "Your claim was filed. A person will review it; its status shows below.",
	"claim_open":          "Your claim was filed. Its status shows below.",
	"claim_denied":        "Your claim was closed: see why below.",
	"mandate_pause":       "The mandate is paused: nothing can be charged under it until you resume it.",
	"mandate_resume":      "The mandate is active again.",
	"mandate_revoke":      "The mandate is revoked: nothing more can be charged under it.",
	"subscription_pause":  "The subscription is paused: nothing is charged until you resume it.",
	"subscription_resume": "The subscription is active again. Periods that began while it was paused are not charged.",
	"subscription_cancel": "The subscription is canceled: nothing more will be charged for it.",
}

// money formats minor units in their asset, or shows the raw units for an
// asset the table does not know (never an error on a page).
func money(amount int64, asset string) string {
	s, err := agentpay.FormatAmount(amount, asset)
	if err != nil {
		return strconv.FormatInt(amount, 10) + " (minor units)"
	}
	return s + " " + asset
}

func tierViews(ls agentpay.Limits, current agentpay.Tier) []tierView {
	out := []tierView{{Tier: agentpay.TierUnverified, Current: current == agentpay.TierUnverified,
		Allows: "Agents may not pay."}}
	for _, t := range []agentpay.Tier{agentpay.TierContact, agentpay.TierDocument} {
		v := tierView{Tier: t, Current: current == t}
		assets := make([]string, 0, len(ls[t]))
		for a := range ls[t] {
			assets = append(assets, a)
		}
		slices.Sort(assets)
		for _, a := range assets {
			l := ls.For(t, a)
			v.Limits = append(v.Limits, limitView{Asset: a, PerPayment: money(l.PerPayment, a),
				PerDay: money(l.PerDay, a), PerMonth: money(l.PerMonth, a)})
		}
		if len(v.Limits) == 0 {
			v.Allows = "No limits are configured: agents may not pay."
		}
		out = append(out, v)
	}
	return out
}

func toGrantView(ug store.UserGrant, now time.Time) grantView {
	g := ug.Grant
	scopes := make([]string, len(g.Scopes))
	for i, s := range g.Scopes {
		scopes[i] = string(s)
	}
	return grantView{ID: g.ID, AgentName: ug.AgentName, SoftwareID: ug.SoftwareID, Fingerprint: g.AgentKeyID,
		Scopes: strings.Join(scopes, ", "), Asset: g.Limits.Asset,
		PerPayment: money(g.Limits.PerPayment, g.Limits.Asset), PerDay: money(g.Limits.PerDay, g.Limits.Asset),
		PerMonth: money(g.Limits.PerMonth, g.Limits.Asset), Expires: formatTime(g.ExpiresAt),
		Created: formatTime(g.CreatedAt), Expired: now.UnixMicro() >= g.ExpiresAt}
}

func (h *Handler) account(w http.ResponseWriter, r *http.Request) {
	sess, err := h.Sessions.Lookup(r.Context(), r)
	if agentpay.ErrorKind(err) == agentpay.EUNAUTHORIZED {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	notice := notices[r.URL.Query().Get("notice")]
	if n, err := strconv.Atoi(r.URL.Query().Get("revoked")); err == nil && n > 0 {
		notice = "Revoked " + strconv.Itoa(n) + " agents' access. Their next requests will be refused."
		if n == 1 {
			notice = notices["revoked"]
		}
	}
	h.renderAccount(w, r, sess, http.StatusOK, "", notice)
}

// renderAccount renders the account page of the session's user with status
// and an error or a confirmation.
func (h *Handler) renderAccount(w http.ResponseWriter, r *http.Request, sess store.Session, status int, errMsg, notice string) {
	ctx := r.Context()
	u, err := h.Identity.User(ctx, sess.UserID)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	keys, err := h.Passkeys.Passkeys(ctx, sess.UserID)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	d := accountPage{Title: "Your account", CSRF: sess.CSRFToken, Error: errMsg, Notice: notice, User: u,
		Tiers:             tierViews(h.Identity.TierLimits(), u.Tier),
		CanVerifyCode:     h.Code != nil && u.Tier < agentpay.TierContact,
		CanVerifyDocument: h.Document != nil && u.Tier == agentpay.TierContact}
	for _, k := range keys {
		d.Passkeys = append(d.Passkeys, passkeyView{Added: formatTime(k.CreatedAt), LastUsed: formatTime(k.LastUsedAt), Cloned: k.Cloned})
	}
	if h.Links != nil {
		d.Linking = true
		grants, err := h.Links.UserGrants(ctx, sess.UserID, AccountGrantsMax+1)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		if len(grants) > AccountGrantsMax {
			grants, d.MoreGrants = grants[:AccountGrantsMax], true
		}
		now := time.Now()
		for _, g := range grants {
			d.Grants = append(d.Grants, toGrantView(g, now))
		}
	}
	if d.Money, err = h.accountPaymentsOf(ctx, sess.UserID); err != nil {
		h.writeError(w, r, err)
		return
	}
	if d.Tips, err = h.accountTips(ctx, sess.UserID, d.Money.Claims); err != nil {
		h.writeError(w, r, err)
		return
	}
	if d.Subscriptions, err = h.accountSubscriptions(ctx, sess.UserID); err != nil {
		h.writeError(w, r, err)
		return
	}
	renderPage(w, status, "account", d)
}

// renderPage is render for pages with data of their own.
func renderPage(w http.ResponseWriter, status int, name string, d any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = pages.ExecuteTemplate(w, name, d)
}

// userError reports whether err is one the user can act on (shown on the
// page with its status) rather than a server fault, and returns its status
// and message.
func userError(err error) (int, string, bool) {
	var e *agentpay.Error
	if !errors.As(err, &e) {
		return 0, "", false
	}
	switch e.Kind {
	case agentpay.EINVALID:
		return http.StatusBadRequest, e.Message, true
	case agentpay.EFORBIDDEN:
		return http.StatusForbidden, e.Message, true
	case agentpay.ENOTFOUND:
		return http.StatusNotFound, e.Message, true
	case agentpay.ECONFLICT:
		return http.StatusConflict, e.Message, true
	case agentpay.EUNAVAILABLE:
		return http.StatusServiceUnavailable, e.Message, true
	}
	return 0, "", false
}

// postSession is what every POST of the account pages starts with: the
// session and its CSRF token. A request that fails either is answered here
// and gets ok false.
func (h *Handler) postSession(w http.ResponseWriter, r *http.Request) (store.Session, bool) {
	sess, err := h.session(r)
	if err != nil {
		h.writeError(w, r, err)
		return sess, false
	}
	return sess, true
}

// revokeGrant is POST /account/grants/{id}/revoke.
func (h *Handler) revokeGrant(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.postSession(w, r)
	if !ok {
		return
	}
	if h.Links == nil {
		h.writeError(w, r, agentpay.Errorf(agentpay.ENOTFOUND, "grant_not_found", "grant not found"))
		return
	}
	if err := h.Links.Revoke(r.Context(), r.PathValue("id"), sess.UserID); err != nil {
		h.accountError(w, r, sess, err)
		return
	}
	http.Redirect(w, r, "/account?notice=revoked", http.StatusSeeOther)
}

// revokeAllGrants is POST /account/grants/revoke-all.
func (h *Handler) revokeAllGrants(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.postSession(w, r)
	if !ok {
		return
	}
	if h.Links == nil {
		http.Redirect(w, r, "/account?notice=revoked_none", http.StatusSeeOther)
		return
	}
	n, err := h.Links.RevokeAll(r.Context(), sess.UserID)
	if err != nil {
		h.accountError(w, r, sess, err)
		return
	}
	if n == 0 {
		http.Redirect(w, r, "/account?notice=revoked_none", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/account?"+url.Values{"revoked": {strconv.Itoa(n)}}.Encode(), http.StatusSeeOther)
}

// accountError shows err on the account page if the user can act on it,
// and otherwise answers it as a server error.
func (h *Handler) accountError(w http.ResponseWriter, r *http.Request, sess store.Session, err error) {
	status, msg, ok := userError(err)
	if !ok {
		h.writeError(w, r, err)
		return
	}
	h.renderAccount(w, r, sess, status, msg, "")
}
