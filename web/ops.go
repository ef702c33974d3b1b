package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/compensation"
	"github.com/agentpay/agentpay/risk"
	"github.com/agentpay/agentpay/store"
)

// The operator's review page, /ops: the payments risk control holds and the
// claims the evidence did not decide, each with what it was decided on,
// and the buttons that decide it. Operators sign in with the operator
// token; the page's cookie is an expiry signed with a key derived from the
// token's hash, so every node accepts it and changing the token ends every
// operator session.

// OpsCookie names the operator page's session cookie.
const OpsCookie = "agentpay_ops"

// Limits of the operator page.
const (
	OpsSessionTTL = 8 * time.Hour
	OpsListMax    = 100 // held payments, and claims, shown at once
)

func (h *Handler) opsRoutes() {
	h.handle("GET /ops", h.opsPage)
	h.handle("POST /ops/login", h.opsLogin)
	h.handle("POST /ops/logout", h.opsLogout)
	h.handle("POST /ops/payments/{id}/{decision}", h.opsDecidePayment)
	h.handle("POST /ops/claims/{id}/{decision}", h.opsDecideClaim)
}

// opsKey signs the operator's cookie and CSRF token.
func (h *Handler) opsKey(purpose string) []byte {
	m := hmac.New(sha256.New, h.OperatorTokenSHA256[:])
	m.Write([]byte("agentpay ops " + purpose))
	return m.Sum(nil)
}

func (h *Handler) opsSign(purpose, value string) string {
	m := hmac.New(sha256.New, h.opsKey(purpose))
	m.Write([]byte(value))
	return hex.EncodeToString(m.Sum(nil))
}

// opsSession returns the expiry of the request's operator session, and its
// CSRF token; ok is false without a valid one.
func (h *Handler) opsSession(r *http.Request) (csrf string, ok bool) {
	if h.OperatorTokenSHA256 == ([32]byte{}) {
		return "", false
	}
	c, err := r.Cookie(OpsCookie)
	if err != nil {
		return "", false
	}
	expiry, mac, found := strings.Cut(c.Value, ".")
	if !found || !hmac.Equal([]byte(mac), []byte(h.opsSign("session", expiry))) {
		return "", false
	}
	until, err := strconv.ParseInt(expiry, 10, 64)
	if err != nil || time.Now().Unix() >= until {
		return "", false
	}
	return h.opsSign("csrf", expiry), true
}

// opsCheck lets through a state-changing request of a signed-in operator
// with the session's CSRF token.
func (h *Handler) opsCheck(w http.ResponseWriter, r *http.Request) bool {
	csrf, ok := h.opsSession(r)
	if !ok {
		http.Redirect(w, r, "/ops", http.StatusSeeOther)
		return false
	}
	if !hmac.Equal([]byte(r.PostFormValue("csrf_token")), []byte(csrf)) {
		h.writeError(w, r, agentpay.Errorf(agentpay.EFORBIDDEN, "csrf_failed", "the form's CSRF token is missing or wrong; reload the page"))
		return false
	}
	return true
}

func (h *Handler) opsLogin(w http.ResponseWriter, r *http.Request) {
	if h.OperatorTokenSHA256 == ([32]byte{}) {
		h.writeError(w, r, agentpay.Errorf(agentpay.ENOTFOUND, "route_not_found", "no operator page on this server"))
		return
	}
	if err := checkAnon(r); err != nil {
		h.writeError(w, r, err)
		return
	}
	sum := sha256.Sum256([]byte(r.PostFormValue("token")))
	if subtle.ConstantTimeCompare(sum[:], h.OperatorTokenSHA256[:]) != 1 {
		renderPage(w, http.StatusUnauthorized, "ops-login", opsView{Title: "Operator sign-in", CSRF: h.anonCSRF(w, r),
			Error: "That is not the operator token."})
		return
	}
	expiry := strconv.FormatInt(time.Now().Add(OpsSessionTTL).Unix(), 10)
	http.SetCookie(w, &http.Cookie{Name: OpsCookie, Value: expiry + "." + h.opsSign("session", expiry), Path: "/ops",
		HttpOnly: true, Secure: h.Sessions.Secure, SameSite: http.SameSiteStrictMode, MaxAge: int(OpsSessionTTL / time.Second)})
	http.Redirect(w, r, "/ops", http.StatusSeeOther)
}

func (h *Handler) opsLogout(w http.ResponseWriter, r *http.Request) {
	if !h.opsCheck(w, r) {
		return
	}
	http.SetCookie(w, &http.Cookie{Name: OpsCookie, Value: "", Path: "/ops", HttpOnly: true, Secure: h.Sessions.Secure,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
	http.Redirect(w, r, "/ops", http.StatusSeeOther)
}

// opsView is the operator page.
type opsView struct {
	Title, CSRF, Error, Notice string
	Payments                   []heldPaymentView
	Claims                     []reviewClaimView
}

type heldPaymentView struct {
	ID, Created, Expires, Merchant, MCC, Total, Purpose, AgentKey, Items string
	Reasons                                                              []risk.Reason
	Signals                                                              []signalView
}

type signalView struct{ Name, Value string }

type reviewClaimView struct {
	ID, Filed, PaymentID, Kind, Amount, Description, Decision, Evidence string
}

func (h *Handler) opsPage(w http.ResponseWriter, r *http.Request) {
	if h.OperatorTokenSHA256 == ([32]byte{}) {
		h.writeError(w, r, agentpay.Errorf(agentpay.ENOTFOUND, "route_not_found", "no operator page on this server"))
		return
	}
	csrf, ok := h.opsSession(r)
	if !ok {
		renderPage(w, http.StatusOK, "ops-login", opsView{Title: "Operator sign-in", CSRF: h.anonCSRF(w, r)})
		return
	}
	h.renderOps(w, r, csrf, http.StatusOK, "", r.URL.Query().Get("notice"))
}

func (h *Handler) renderOps(w http.ResponseWriter, r *http.Request, csrf string, status int, errMsg, notice string) {
	v := opsView{Title: "Reviews", CSRF: csrf, Error: errMsg, Notice: notice}
	ctx := r.Context()
	held, err := h.Payments.DB.Payments(ctx, store.PaymentPage{Owner: "status", ID: string(agentpay.PaymentInReview), Limit: OpsListMax})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	for _, p := range held {
		pv, err := h.heldPayment(ctx, p)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		v.Payments = append(v.Payments, pv)
	}
	claims, err := h.Payments.DB.Claims(ctx, store.ClaimPage{Owner: "status", ID: compensation.StatusInReview, Limit: OpsListMax})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	for _, c := range claims {
		v.Claims = append(v.Claims, reviewClaimView{ID: c.ID, Filed: formatTime(c.CreatedAt), PaymentID: c.PaymentID,
			Kind: c.Kind, Amount: money(c.Amount, c.Asset), Description: c.Description, Decision: c.DecisionCode,
			Evidence: c.EvidenceJSON})
	}
	renderPage(w, status, "ops", v)
}

// heldPayment shows a held payment with the last decision's reasons and
// the signals an operator weighs first.
func (h *Handler) heldPayment(ctx context.Context, p agentpay.Payment) (heldPaymentView, error) {
	m, err := h.Payments.DB.Merchant(ctx, p.MerchantID)
	if err != nil {
		return heldPaymentView{}, err
	}
	items := make([]string, len(p.Items))
	for i, it := range p.Items {
		items[i] = strconv.FormatInt(it.Quantity, 10) + " × " + it.Name
	}
	v := heldPaymentView{ID: p.ID, Created: formatTime(p.CreatedAt), Expires: formatTime(p.ApprovalExpiresAt),
		Merchant: m.Name, MCC: m.MCC, Total: money(p.Totals.Total, p.Asset), Purpose: p.Purpose, AgentKey: p.AgentKeyID,
		Items: strings.Join(items, ", ")}
	ds, err := h.Payments.DB.RiskDecisions(ctx, p.ID)
	if err != nil || len(ds) == 0 {
		return v, err
	}
	d := ds[len(ds)-1]
	var sig risk.Signals
	if err := json.Unmarshal([]byte(d.Reasons), &v.Reasons); err != nil {
		return v, err
	}
	if err := json.Unmarshal([]byte(d.Signals), &sig); err != nil {
		return v, err
	}
	n := func(x int64) string { return strconv.FormatInt(x, 10) }
	v.Signals = []signalView{
		{"stage", d.Stage + " (rules v" + n(d.RulesVersion) + ")"},
		{"user's payments before", n(sig.User.HistoryCount) + " (median " + money(sig.User.HistoryMedian, p.Asset) +
			", p95 " + money(sig.User.HistoryP95, p.Asset) + ")"},
		{"first payment to merchant", strconv.FormatBool(sig.Merchant.FirstPayment)},
		{"purpose matches", strconv.FormatBool(!sig.Intent.Mismatch)},
		{"user: last minute / hour / day", n(sig.Velocity.User.M1.Count) + " / " + n(sig.Velocity.User.H1.Count) + " / " + n(sig.Velocity.User.D1.Count)},
		{"grant: last minute / hour / day", n(sig.Velocity.Grant.M1.Count) + " / " + n(sig.Velocity.Grant.H1.Count) + " / " + n(sig.Velocity.Grant.D1.Count)},
		{"agent key: users this hour / day", n(sig.AgentKey.UsersH1) + " / " + n(sig.AgentKey.UsersD1)},
		{"agent key: denied of decided (24 h)", n(sig.AgentKey.Denies24h) + " of " + n(sig.AgentKey.Decisions24h)},
		{"merchant: claims of captures (30 d)", n(sig.Merchant.Claims30d) + " of " + n(sig.Merchant.Captures30d)},
	}
	return v, nil
}

func (h *Handler) opsDecidePayment(w http.ResponseWriter, r *http.Request) {
	if !h.opsCheck(w, r) {
		return
	}
	prepare := h.Payments.PrepareReject
	switch r.PathValue("decision") {
	case "release":
		prepare = h.Payments.PrepareRelease
	case "reject":
	default:
		h.writeError(w, r, agentpay.Errorf(agentpay.ENOTFOUND, "route_not_found", "no such decision"))
		return
	}
	p, u, err := prepare(r.Context(), r.PathValue("id"), r.PostFormValue("note"))
	if err == nil {
		_, err = h.Payments.Commit(r.Context(), p, u)
	}
	h.afterOps(w, r, err, "Payment "+r.PathValue("id")+": "+r.PathValue("decision")+"d.")
}

func (h *Handler) opsDecideClaim(w http.ResponseWriter, r *http.Request) {
	if !h.opsCheck(w, r) {
		return
	}
	var d compensation.Decision
	switch r.PathValue("decision") {
	case "approve":
		d.Approve, d.Recover = true, r.PostFormValue("recover") == "on"
	case "deny":
	default:
		h.writeError(w, r, agentpay.Errorf(agentpay.ENOTFOUND, "route_not_found", "no such decision"))
		return
	}
	d.Note = r.PostFormValue("note")
	_, err := h.claims().Decide(r.Context(), r.PathValue("id"), d)
	word := map[bool]string{true: "approved", false: "denied"}[d.Approve]
	h.afterOps(w, r, err, "Claim "+r.PathValue("id")+": "+word+".")
}

// afterOps goes back to the page: with a notice after a decision, with
// the refusal shown when the decision was refused (decided by someone
// else meanwhile, a note too long).
func (h *Handler) afterOps(w http.ResponseWriter, r *http.Request, err error, notice string) {
	if err == nil {
		http.Redirect(w, r, "/ops?notice="+url.QueryEscape(notice), http.StatusSeeOther)
		return
	}
	status, msg, ok := userError(err)
	if !ok {
		h.writeError(w, r, err)
		return
	}
	csrf, _ := h.opsSession(r)
	h.renderOps(w, r, csrf, status, msg, "")
}
