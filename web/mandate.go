package web

import (
	_ "embed"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/payments"
	"github.com/agentpay/agentpay/store"
)

// The mandate page: GET /mandates/{id} shows a proposed mandate's terms to
// its user, who approves them once with a passkey (then charges within
// them need no tap) or declines them. What the passkey signs is
// payments.MandateApprovalObject, and the page shows that object, not the
// request that proposed it.

// mandateJS is the page's script. It is embedded here rather than in the
// package's file set so that the page stays one self-contained file.
//
//go:embed mandate.js
var mandateJS []byte

func (h *Handler) mandateRoutes() {
	h.handle("GET /mandates/{id}", h.mandatePage)
	h.handle("POST /mandates/{id}/approve/begin", h.mandateApproveBegin)
	h.handle("POST /mandates/{id}/approve/finish", h.mandateApproveFinish)
	h.handle("POST /mandates/{id}/decline", h.mandateDecline)
	h.handle("POST /account/mandates/{id}/{action}", h.accountMandateAction)
	h.handle("GET /assets/mandate.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(mandateJS)
	})
}

// mandateStatusLabels say what each status means to the user.
var mandateStatusLabels = map[agentpay.MandateStatus]string{
	agentpay.MandateRequiresApproval: "waiting for your approval",
	agentpay.MandateActive:           "active: charges within these terms need no further approval",
	agentpay.MandatePaused:           "paused by you: no charges until you resume it",
	agentpay.MandateRevoked:          "revoked: no more charges",
	agentpay.MandateExpired:          "ended: no more charges",
}

func mandateStatusLabel(s agentpay.MandateStatus) string {
	if l, ok := mandateStatusLabels[s]; ok {
		return l
	}
	return string(s)
}

// mandateKinds say what each kind is for.
var mandateKinds = map[string]string{
	string(agentpay.MandateSubscription): "a subscription: recurring charges by one merchant",
	string(agentpay.MandateTips):         "tips your agent gives on your behalf",
	string(agentpay.MandateOpen):         "purchases your agent makes within limits",
}

// Confirmations shown after a redirect to a mandate page, named by the
// query so a crafted link cannot put its own text on the page.
var mandateNotices = map[string]string{
	"approved": "Approved. Charges within these terms now go through without asking you each time; pause or revoke it on your account page.",
	"declined": "Declined. Nothing can be charged under it.",
}

// PeriodWords says an interval as budgets read: "per month", "every 3
// months".
func PeriodWords(i agentpay.Interval) string {
	if i.Count == 1 {
		return "per " + string(i.Unit)
	}
	return "every " + strconv.Itoa(i.Count) + " " + string(i.Unit) + "s"
}

// MandateTerms says a mandate's amounts in words: "at most 10.00 USD per
// month, each charge at most 4.00 USD".
func MandateTerms(asset string, perPayment, budget int64, period agentpay.Interval) string {
	return fmt.Sprintf("at most %s %s, each charge at most %s", money(budget, asset), PeriodWords(period), money(perPayment, asset))
}

// MandateSummary says in one sentence what a mandate lets happen, short
// enough for a voice assistant to read out. merchantName names the
// mandate's merchant ("" for a mandate of categories).
func MandateSummary(m agentpay.Mandate, merchantName string) string {
	payee := merchantName
	if m.MerchantID == "" {
		payee = categoryPayees(m.Categories)
	}
	terms := MandateTerms(m.Asset, m.PerPaymentMax, m.Budget, m.Period)
	switch {
	case m.GrantID == "":
		return fmt.Sprintf("Let %s charge you %s.", payee, terms)
	case m.Kind == agentpay.MandateTips:
		return fmt.Sprintf("Let your agent tip %s %s.", payee, terms)
	case m.Kind == agentpay.MandateSubscription:
		return fmt.Sprintf("Let your agent keep a subscription with %s, %s.", payee, terms)
	}
	return fmt.Sprintf("Let your agent pay %s %s.", payee, terms)
}

// categoryPayees says whom a mandate without a merchant pays: merchants of
// its categories, or (a tips mandate set at linking) any merchant.
func categoryPayees(categories []string) string {
	if len(categories) == 0 {
		return "any merchant"
	}
	return "merchants of category " + strings.Join(categories, " or ")
}

// mandatePage is what the mandate page shows.
type mandatePage struct {
	Title, CSRF, Error, Notice string
	Mandate                    *mandateView
}

type categoryView struct{ Code, Name string }

// mandateView is a mandate as its user sees it: the approval object's
// terms, in words.
type mandateView struct {
	ID, Status, StatusLabel, Kind, KindLabel string
	// Open: the user may approve or decline it now.
	Open bool
	// Payee: one merchant, or the categories of merchants.
	MerchantName, MCC, Category string
	Categories                  []categoryView
	Asset, PerPayment, Budget   string
	Period, Terms               string
	TimeZone, Starts, Ends      string
	AgentName, GrantID          string
	Description                 string // the proposer's words: unverified
	Created, ApprovalDeadline   string
	ApprovedAt                  string
}

func (h *Handler) mandateNow() time.Time {
	if h.Payments != nil && h.Payments.Now != nil {
		return h.Payments.Now()
	}
	return time.Now()
}

var errMandateNotFound = agentpay.Errorf(agentpay.ENOTFOUND, "mandate_not_found", "mandate not found")

// mandate returns the mandate the path names if it is userID's.
func (h *Handler) mandate(r *http.Request, userID string) (agentpay.Mandate, error) {
	if h.Payments == nil {
		return agentpay.Mandate{}, errMandateNotFound
	}
	return h.Payments.MandateForUser(r.Context(), userID, r.PathValue("id"))
}

// mandateApprovable refuses to start approving a mandate that is not
// waiting for the user, or whose time to approve is over.
func (h *Handler) mandateApprovable(m agentpay.Mandate) error {
	if m.Status != agentpay.MandateRequiresApproval {
		return agentpay.Errorf(agentpay.ECONFLICT, "mandate_"+string(m.Status), "the mandate is %s, not waiting for approval", mandateStatusLabel(m.Status))
	}
	if h.mandateNow().UnixMicro() >= m.CreatedAt+agentpay.MandateApprovalTTL.Microseconds() {
		return agentpay.Errorf(agentpay.ECONFLICT, "mandate_expired", "the time to approve this mandate is over; ask for it again")
	}
	return nil
}

func (h *Handler) mandatePage(w http.ResponseWriter, r *http.Request) {
	sess, err := h.Sessions.Lookup(r.Context(), r)
	if agentpay.ErrorKind(err) == agentpay.EUNAUTHORIZED {
		loginRedirect(w, r)
		return
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	m, err := h.mandate(r, sess.UserID)
	if err != nil {
		h.mandateError(w, r, sess, m, err)
		return
	}
	h.renderMandate(w, r, sess, m, http.StatusOK, "", mandateNotices[r.URL.Query().Get("notice")])
}

// mandateError answers err on the mandate page: a missing mandate is the
// 404 page, an error the user can act on shows on the page of m, anything
// else is a server error.
func (h *Handler) mandateError(w http.ResponseWriter, r *http.Request, sess store.Session, m agentpay.Mandate, err error) {
	if agentpay.ErrorCode(err) == "mandate_not_found" {
		renderPage(w, http.StatusNotFound, "mandate_missing", mandatePage{Title: "Mandate not found", CSRF: sess.CSRFToken})
		return
	}
	status, msg, ok := userError(err)
	if !ok || m.ID == "" {
		h.writeError(w, r, err)
		return
	}
	if now, err := h.mandate(r, sess.UserID); err == nil {
		m = now
	}
	h.renderMandate(w, r, sess, m, status, msg, "")
}

func (h *Handler) renderMandate(w http.ResponseWriter, r *http.Request, sess store.Session, m agentpay.Mandate, status int, errMsg, notice string) {
	obj, err := h.Payments.MandateApproval(r.Context(), m)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	v := h.mandateView(m, obj)
	title := "Standing permission"
	if v.MerchantName != "" {
		title += " for " + v.MerchantName
	}
	if v.Open {
		title = "Approve a standing permission"
	}
	renderPage(w, status, "mandate", mandatePage{Title: title, CSRF: sess.CSRFToken, Error: errMsg, Notice: notice, Mandate: v})
}

// mandateView renders the approval object obj of m: the terms exactly as
// the passkey would sign them, and m's status.
func (h *Handler) mandateView(m agentpay.Mandate, obj payments.MandateApprovalObject) *mandateView {
	v := &mandateView{ID: m.ID, Status: string(m.Status), StatusLabel: mandateStatusLabel(m.Status), Kind: obj.Kind,
		KindLabel: mandateKinds[obj.Kind], Open: h.mandateApprovable(m) == nil,
		MerchantName: obj.MerchantName, MCC: obj.MCC, Category: categories[obj.MCC],
		Asset: obj.Asset, PerPayment: money(obj.PerPaymentMax, obj.Asset), Budget: money(obj.Budget, obj.Asset),
		Period: PeriodWords(obj.Period), Terms: MandateTerms(obj.Asset, obj.PerPaymentMax, obj.Budget, obj.Period),
		TimeZone: obj.TimeZone, AgentName: obj.AgentName, GrantID: obj.Grant, Description: obj.Description,
		Created: formatTime(m.CreatedAt), ApprovalDeadline: formatTime(m.CreatedAt + agentpay.MandateApprovalTTL.Microseconds()),
		ApprovedAt: formatTime(m.ApprovedAt)}
	for _, c := range obj.Categories {
		v.Categories = append(v.Categories, categoryView{Code: c, Name: categories[c]})
	}
	// Times in the mandate's own zone: its periods follow that calendar.
	loc, err := agentpay.LoadLocation("time_zone", obj.TimeZone)
	if err != nil {
		loc = time.UTC // validated when proposed; never refuse to show a mandate
	}
	at := func(us int64) string { return time.UnixMicro(us).In(loc).Format("2006-01-02 15:04 MST") }
	v.Starts = at(obj.StartsAt)
	if obj.EndsAt != 0 {
		v.Ends = at(obj.EndsAt)
	}
	if m.Status == agentpay.MandateRequiresApproval && !v.Open {
		v.StatusLabel = "expired: the time to approve it is over"
	}
	return v
}

// mandateApproveBegin starts the passkey approval of the mandate: the
// challenge covers its approval object as stored now.
func (h *Handler) mandateApproveBegin(w http.ResponseWriter, r *http.Request) {
	sess, err := h.session(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	m, err := h.mandate(r, sess.UserID)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if m.Status == agentpay.MandateActive && m.ApprovedAt != 0 {
		// Approving again what was approved is answered with the first
		// result, as an idempotent retry would be: no second ceremony.
		writeJSON(w, map[string]any{"status": m.Status, "already_approved": true,
			"redirect": "/mandates/" + url.PathEscape(m.ID) + "?notice=approved"})
		return
	}
	if err := h.mandateApprovable(m); err != nil {
		h.writeError(w, r, err)
		return
	}
	obj, err := h.Payments.MandateApproval(r.Context(), m)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	id, options, err := h.Passkeys.BeginApproval(r.Context(), sess.UserID, m.ID, obj)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, map[string]any{"ceremony": id, "options": options})
}

// mandateApproveFinish verifies the passkey's assertion and approves the
// mandate; the payments service rebuilds the approval object from the
// mandate as stored now and refuses any difference (mandate_changed).
func (h *Handler) mandateApproveFinish(w http.ResponseWriter, r *http.Request) {
	sess, err := h.session(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	// Another user's mandate is not found before any ceremony is spent.
	m, err := h.mandate(r, sess.UserID)
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
	m, unit, err := h.Payments.PrepareApproveMandate(r.Context(), sess.UserID, m.ID, ev)
	if err == nil {
		err = h.Payments.DB.Committer.Submit(r.Context(), unit).Err
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, map[string]any{"status": m.Status, "redirect": "/mandates/" + url.PathEscape(m.ID) + "?notice=approved"})
}

// setMandateStatus pauses, resumes or revokes the path's mandate of the
// session's user.
func (h *Handler) setMandateStatus(r *http.Request, userID string, to agentpay.MandateStatus) (agentpay.Mandate, error) {
	if h.Payments == nil {
		return agentpay.Mandate{}, errMandateNotFound
	}
	m, unit, err := h.Payments.PrepareMandateStatus(r.Context(), userID, r.PathValue("id"), to)
	if err == nil {
		err = h.Payments.DB.Committer.Submit(r.Context(), unit).Err
	}
	return m, err
}

// mandateDecline is POST /mandates/{id}/decline: the proposal revoked
// before it was ever approved.
func (h *Handler) mandateDecline(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.postSession(w, r)
	if !ok {
		return
	}
	m, err := h.mandate(r, sess.UserID)
	if err != nil {
		h.mandateError(w, r, sess, m, err)
		return
	}
	if m.Status != agentpay.MandateRequiresApproval {
		h.mandateError(w, r, sess, m, agentpay.Errorf(agentpay.ECONFLICT, "mandate_"+string(m.Status),
			"this mandate is %s; pause or revoke it on your account page", mandateStatusLabel(m.Status)))
		return
	}
	if _, err := h.setMandateStatus(r, sess.UserID, agentpay.MandateRevoked); err != nil {
		h.mandateError(w, r, sess, m, err)
		return
	}
	http.Redirect(w, r, "/mandates/"+url.PathEscape(m.ID)+"?notice=declined", http.StatusSeeOther)
}

// mandateActions are what the account page's buttons do.
var mandateActions = map[string]agentpay.MandateStatus{
	"pause":  agentpay.MandatePaused,
	"resume": agentpay.MandateActive,
	"revoke": agentpay.MandateRevoked,
}

// accountMandateAction is POST /account/mandates/{id}/{pause|resume|revoke}.
func (h *Handler) accountMandateAction(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.postSession(w, r)
	if !ok {
		return
	}
	action := r.PathValue("action")
	to, known := mandateActions[action]
	if !known {
		h.writeError(w, r, agentpay.Errorf(agentpay.ENOTFOUND, "route_not_found", "no such action on a mandate"))
		return
	}
	if _, err := h.setMandateStatus(r, sess.UserID, to); err != nil {
		h.accountError(w, r, sess, err)
		return
	}
	http.Redirect(w, r, "/account?notice=mandate_"+action+"#mandates", http.StatusSeeOther)
}
