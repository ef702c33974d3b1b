package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/identity"
	"github.com/agentpay/agentpay/payments"
	"github.com/agentpay/agentpay/risk"
	"github.com/agentpay/agentpay/store"
)

// The payment page: GET /pay/{id} shows a payment to its user, who approves
// it with a passkey, lowers quantities (a new version) or cancels it. What
// the passkey signs is payments.Service.Approval of the version shown.

func (h *Handler) payRoutes() {
	h.handle("GET /pay/{id}", h.payPage)
	h.handle("GET /pay/{id}/events", h.payEvents)
	h.handle("POST /pay/{id}/approve/begin", h.payApproveBegin)
	h.handle("POST /pay/{id}/approve/finish", h.payApproveFinish)
	h.handle("POST /pay/{id}/modify", h.payModify)
	h.handle("POST /pay/{id}/cancel", h.payCancel)
	h.handle("GET /assets/pay.js", serveAsset("pay.js", "text/javascript; charset=utf-8"))
	h.handle("GET /assets/style.css", serveAsset("style.css", "text/css; charset=utf-8"))
}

func serveAsset(name, contentType string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, files, name)
	}
}

// statusLabels say what each status means to the user.
var statusLabels = map[agentpay.PaymentStatus]string{
	agentpay.PaymentRequiresApproval:  "waiting for your approval",
	agentpay.PaymentApproved:          "approved",
	agentpay.PaymentAuthorized:        "approved: the money is held for the merchant",
	agentpay.PaymentCaptured:          "paid",
	agentpay.PaymentPartiallyRefunded: "paid, partly refunded",
	agentpay.PaymentRefunded:          "refunded",
	agentpay.PaymentCanceled:          "canceled",
	agentpay.PaymentDeclined:          "declined",
	agentpay.PaymentExpired:           "expired",
	agentpay.PaymentInReview:          "held for a check by our risk team: nothing is paid; you will be asked to approve it if it passes",
}

func statusLabel(s agentpay.PaymentStatus) string {
	if l, ok := statusLabels[s]; ok {
		return l
	}
	return string(s)
}

// declineReasons explain decline codes.
var declineReasons = map[string]string{
	payments.DeclineGrantDaily:   "it would take the agent past what you let it spend in a day",
	payments.DeclineGrantMonthly: "it would take the agent past what you let it spend in a month",
	payments.DeclineTierDaily:    "it would take you past what your verification tier allows in a day",
	payments.DeclineTierMonthly:  "it would take you past what your verification tier allows in a month",
}

// categories name common merchant category codes (ISO 18245).
var categories = map[string]string{
	"4111": "local commuter transport", "4121": "taxis and limousines", "4511": "airlines",
	"4814": "telecommunication services", "5045": "computers and software", "5311": "department stores",
	"5411": "grocery stores and supermarkets", "5499": "food stores", "5541": "service stations",
	"5691": "clothing stores", "5732": "electronics stores", "5734": "computer software stores",
	"5812": "restaurants", "5814": "fast food restaurants", "5815": "digital media", "5816": "digital games",
	"5817": "digital applications", "5912": "pharmacies", "5942": "book stores", "5999": "specialty retail",
	"7011": "hotels and lodging", "7832": "cinemas",
}

// Confirmations and explanations shown after a redirect to a payment page,
// named by the query so a crafted link cannot put its own text on the page.
var payNotices = map[string]string{
	"approved":  "Approved. The money is held in your wallet until the merchant takes it.",
	"declined":  "Your approval was recorded, but the payment was declined: see why below.",
	"modified":  "Your change was saved as a new version. The agent sees it; approve it when you are ready.",
	"unchanged": "Nothing changed: the quantities are as they were.",
	"canceled":  "The payment is canceled. The agent sees that you canceled it.",
	"changed":   "This payment changed while you were looking at it. Review this version before you approve.",
	"status":    "This payment's status changed while you were looking at it.",
}

// payPage is what the payment page shows.
type payPage struct {
	Title, CSRF, Error, Notice string
	Pay                        *payView
}

type itemView struct {
	Index          int
	Name, SKU, URL string
	Quantity       int64
	Unit, Line     string
}

type totalView struct{ Name, Amount string }

type shareView struct {
	Field, Label, Value string
	Unavailable         bool // the user has no such field
}

// payView is a payment as its user sees it.
type payView struct {
	ID          string
	Version     int64
	Status      string
	StatusLabel string
	// Open: the user may approve, modify or cancel it now. Live: it may
	// still change, so the page listens for events.
	Open, Live                           bool
	MerchantName, MCC, Category          string
	Description, Purpose                 string // the agent's words: unverified
	AgentName, AgentKey, GrantID         string
	Asset                                string
	Items                                []itemView
	Totals                               []totalView
	Total                                string
	Created, Updated, ApprovalDeadline   string
	CaptureWindow, CaptureBy             string
	Authorized, Captured, Refunded       string
	Share                                []shareView
	Shared                               string // what was shared, once approved
	Risks                                []string
	DeclineCode, DeclineReason           string
	CanceledBy, CancelReason, ApprovedAt string
}

func (h *Handler) payNow() time.Time {
	if h.Payments.Now != nil {
		return h.Payments.Now()
	}
	return time.Now()
}

var errPaymentNotFound = agentpay.Errorf(agentpay.ENOTFOUND, "payment_not_found", "payment not found")

// payment returns the payment the path names if it is userID's.
func (h *Handler) payment(r *http.Request, userID string) (agentpay.Payment, error) {
	if h.Payments == nil {
		return agentpay.Payment{}, errPaymentNotFound
	}
	return h.Payments.ForUser(r.Context(), userID, r.PathValue("id"))
}

// approvable refuses to start approving a payment that is not waiting for
// the user, or whose time to approve is over.
func (h *Handler) approvable(p agentpay.Payment) error {
	if _, err := agentpay.NextStatus(p.Status, agentpay.ActionApprove, 0, 0); err != nil {
		return err
	}
	if h.payNow().UnixMicro() >= p.ApprovalExpiresAt {
		return agentpay.Errorf(agentpay.ECONFLICT, "payment_expired", "the time to approve this payment is over")
	}
	return nil
}

func (h *Handler) payPage(w http.ResponseWriter, r *http.Request) {
	sess, err := h.Sessions.Lookup(r.Context(), r)
	if agentpay.ErrorKind(err) == agentpay.EUNAUTHORIZED {
		loginRedirect(w, r)
		return
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	p, err := h.payment(r, sess.UserID)
	if err != nil {
		h.payError(w, r, sess, p, err)
		return
	}
	h.renderPay(w, r, sess, p, http.StatusOK, "", payNotices[r.URL.Query().Get("notice")])
}

// payError answers err on the payment page: a missing payment is the 404
// page, an error the user can act on shows on the page of p, anything else
// is a server error.
func (h *Handler) payError(w http.ResponseWriter, r *http.Request, sess store.Session, p agentpay.Payment, err error) {
	if agentpay.ErrorKind(err) == agentpay.ENOTFOUND && agentpay.ErrorCode(err) == "payment_not_found" {
		renderPage(w, http.StatusNotFound, "pay_missing", payPage{Title: "Payment not found", CSRF: sess.CSRFToken})
		return
	}
	status, msg, ok := userError(err)
	if !ok || p.ID == "" {
		h.writeError(w, r, err)
		return
	}
	// Show the payment as it is now, not as it was read before the error.
	if now, err := h.payment(r, sess.UserID); err == nil {
		p = now
	}
	h.renderPay(w, r, sess, p, status, msg, "")
}

func (h *Handler) renderPay(w http.ResponseWriter, r *http.Request, sess store.Session, p agentpay.Payment, status int, errMsg, notice string) {
	v, err := h.payView(r.Context(), p)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	title := "Payment to " + v.MerchantName
	if v.Open {
		title = "Approve a payment to " + v.MerchantName
	}
	renderPage(w, status, "pay", payPage{Title: title, CSRF: sess.CSRFToken, Error: errMsg, Notice: notice, Pay: v})
}

func (h *Handler) payView(ctx context.Context, p agentpay.Payment) (*payView, error) {
	// The page shows the object the passkey would sign.
	obj, err := h.Payments.Approval(ctx, p, nil)
	if err != nil {
		return nil, err
	}
	v := &payView{ID: p.ID, Version: p.Version, Status: string(p.Status), StatusLabel: statusLabel(p.Status),
		Open: h.approvable(p) == nil, Live: !p.Final(),
		MerchantName: obj.MerchantNm, MCC: obj.MCC, Category: categories[obj.MCC],
		Description: p.Description, Purpose: p.Purpose, AgentName: obj.AgentName, AgentKey: p.AgentKeyID, GrantID: p.GrantID,
		Asset: p.Asset, Total: money(p.Totals.Total, p.Asset),
		Created: formatTime(p.CreatedAt), Updated: formatTime(p.UpdatedAt), ApprovalDeadline: formatTime(p.ApprovalExpiresAt),
		CaptureWindow: duration(time.Duration(obj.CaptureBy) * time.Second), CaptureBy: formatTime(p.CaptureExpiresAt),
		Authorized: money(p.Authorized, p.Asset), Captured: money(p.Captured, p.Asset), Refunded: money(p.Refunded, p.Asset),
		Shared: strings.Join(p.Shared, ", "), DeclineCode: p.DeclineCode, DeclineReason: declineReasons[p.DeclineCode],
		CanceledBy: string(p.CanceledBy), CancelReason: p.CancelReason, ApprovedAt: formatTime(p.ApprovedAt)}
	if p.Status == agentpay.PaymentRequiresApproval && !v.Open {
		v.StatusLabel = "expired: the time to approve it is over"
	}
	for i, it := range p.Items {
		line, _ := agentpay.MulAmount(it.UnitAmount, it.Quantity) // validated when stored
		v.Items = append(v.Items, itemView{Index: i, Name: it.Name, SKU: it.SKU, URL: it.URL, Quantity: it.Quantity,
			Unit: money(it.UnitAmount, p.Asset), Line: money(line, p.Asset)})
	}
	t := p.Totals
	for _, f := range []struct {
		name   string
		amount int64
	}{{"Subtotal", t.Subtotal}, {"Tax", t.Tax}, {"Shipping", t.Shipping}, {"Fees", t.Fees}, {"Tip", t.Tip}} {
		v.Totals = append(v.Totals, totalView{Name: f.name, Amount: money(f.amount, p.Asset)})
	}
	if v.Open {
		u, err := h.Identity.User(ctx, p.UserID)
		if err != nil {
			return nil, err
		}
		for _, f := range payments.Shareable {
			s := shareView{Field: f}
			switch f {
			case agentpay.ShareName:
				s.Label, s.Value = "Your name", u.DisplayName
			case agentpay.ShareEmail:
				s.Label, s.Value = "Your email address", u.Email
			default:
				s.Label = f
			}
			s.Unavailable = s.Value == ""
			v.Share = append(v.Share, s)
		}
		if v.Risks, err = h.riskNotes(ctx, p); err != nil {
			return nil, err
		}
	}
	if p.Status == agentpay.PaymentInReview {
		var err error
		if v.Risks, err = h.riskNotes(ctx, p); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// riskNotes are what the user should weigh before approving: the reasons
// risk control gave for this version (the rules' messages), then hints of
// the page's own. Refusals are the payments service's.
func (h *Handler) riskNotes(ctx context.Context, p agentpay.Payment) ([]string, error) {
	var notes []string
	decisions, err := h.Payments.DB.RiskDecisions(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	for i := len(decisions) - 1; i >= 0; i-- {
		d := decisions[i]
		if d.PaymentVersion != p.Version || d.Stage != "create" {
			continue
		}
		var reasons []risk.Reason
		if err := json.Unmarshal([]byte(d.Reasons), &reasons); err != nil {
			return nil, fmt.Errorf("web: risk decision %s: %w", d.ID, err)
		}
		for _, r := range reasons {
			notes = append(notes, r.Message)
		}
		break
	}
	if p.Version > 1 {
		notes = append(notes, fmt.Sprintf("The order changed after the agent first asked: this is version %d.", p.Version))
	}
	if p.Purpose == "" {
		notes = append(notes, "The agent gave no reason for this payment.")
	}
	g, err := h.Payments.DB.Grant(ctx, p.GrantID)
	if err != nil {
		return nil, err
	}
	if g.Limits.PerPayment > 0 && p.Totals.Total >= g.Limits.PerPayment/10*9 {
		notes = append(notes, "The total is close to the most this agent may ask for in one payment ("+
			money(g.Limits.PerPayment, g.Limits.Asset)+").")
	}
	if p.Totals.Tip > 0 {
		notes = append(notes, "The total includes a tip of "+money(p.Totals.Tip, p.Asset)+".")
	}
	return notes, nil
}

// duration says d in days or hours.
func duration(d time.Duration) string {
	switch {
	case d >= 48*time.Hour && d%(24*time.Hour) == 0:
		return strconv.Itoa(int(d/(24*time.Hour))) + " days"
	case d >= time.Hour:
		return strconv.Itoa(int(d/time.Hour)) + " hours"
	}
	return strconv.Itoa(int(d/time.Minute)) + " minutes"
}

// payDecision is what the page sends to start an approval: the version the
// user sees and the fields they share with the merchant.
type payDecision struct {
	Version int64    `json:"version"`
	Share   []string `json:"share"`
}

// payApproveBegin starts the passkey approval of the version the user saw:
// the challenge covers the approval object of the payment as stored now,
// with the fields shared.
func (h *Handler) payApproveBegin(w http.ResponseWriter, r *http.Request) {
	sess, err := h.session(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	p, err := h.payment(r, sess.UserID)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	var d payDecision
	if err := readJSON(r, &d); err != nil {
		h.writeError(w, r, err)
		return
	}
	if p.ApprovedAt != 0 && d.Version == p.Version {
		// Approving again what was approved is answered with the first
		// result, as an idempotent retry would be: no second ceremony.
		writeJSON(w, map[string]any{"status": p.Status, "version": p.Version, "already_approved": true,
			"redirect": "/pay/" + url.PathEscape(p.ID) + "?notice=approved"})
		return
	}
	if err := h.approvable(p); err != nil {
		h.writeError(w, r, err)
		return
	}
	if d.Version != p.Version {
		h.writeError(w, r, payments.Changed(p))
		return
	}
	obj, err := h.Payments.Approval(r.Context(), p, d.Share)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	id, options, err := h.Passkeys.BeginApproval(r.Context(), sess.UserID, p.ID, obj)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, map[string]any{"ceremony": id, "options": options, "version": p.Version})
}

// payApproveFinish verifies the passkey's assertion and approves the
// payment; the payments service rebuilds the approval object from the
// payment as stored now and refuses any difference (payment_changed).
func (h *Handler) payApproveFinish(w http.ResponseWriter, r *http.Request) {
	sess, err := h.session(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	// Another user's payment is not found before any ceremony is spent.
	p, err := h.payment(r, sess.UserID)
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
	id := p.ID
	p, err = h.Payments.Approve(r.Context(), sess.UserID, id, ev)
	if agentpay.ErrorCode(err) == "exceeds_credits" {
		err = h.shortOfFunds(r.Context(), sess.UserID, id)
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	notice := "approved"
	if p.Status == agentpay.PaymentDeclined {
		notice = "declined"
	}
	writeJSON(w, map[string]any{"status": p.Status, "version": p.Version, "decline_code": p.DeclineCode,
		"redirect": "/pay/" + url.PathEscape(p.ID) + "?notice=" + notice})
}

// shortOfFunds is the error of an approval the wallet cannot cover, with
// what it holds and what the payment needs.
func (h *Handler) shortOfFunds(ctx context.Context, userID, id string) error {
	msg := "your wallet does not hold enough to approve this payment; top it up, then approve again"
	if p, err := h.Payments.ForUser(ctx, userID, id); err == nil {
		if a, err := h.Payments.DB.Account(ctx, identity.WalletID(userID, p.Asset)); err == nil {
			msg = fmt.Sprintf("your %s wallet has %s available and this payment needs %s; top it up, then approve again",
				p.Asset, money(a.Available(), p.Asset), money(p.Totals.Total, p.Asset))
		}
	}
	return &agentpay.Error{Kind: agentpay.ECONFLICT, Code: "exceeds_credits", Message: msg}
}

// payModify lowers quantities (0 removes an item): a new version the agent
// sees, which the user then approves.
func (h *Handler) payModify(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.postSession(w, r)
	if !ok {
		return
	}
	p, err := h.payment(r, sess.UserID)
	if err != nil {
		h.payError(w, r, sess, p, err)
		return
	}
	if r.PostFormValue("version") != strconv.FormatInt(p.Version, 10) {
		h.payError(w, r, sess, p, payments.Changed(p))
		return
	}
	mod := payments.Modification{Quantities: map[int]int64{}}
	for i, it := range p.Items {
		s := strings.TrimSpace(r.PostFormValue("quantity_" + strconv.Itoa(i)))
		if s == "" {
			continue
		}
		q, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			h.payError(w, r, sess, p, agentpay.ParamErrorf("quantity", "invalid_quantity", "the quantity of %s must be a whole number", it.Name))
			return
		}
		if q != it.Quantity {
			mod.Quantities[i] = q
		}
	}
	if len(mod.Quantities) == 0 {
		http.Redirect(w, r, "/pay/"+url.PathEscape(p.ID)+"?notice=unchanged", http.StatusSeeOther)
		return
	}
	np, unit, err := h.Payments.PrepareModify(r.Context(), sess.UserID, p.ID, mod)
	if err == nil {
		_, err = h.Payments.Commit(r.Context(), np, unit)
	}
	if err != nil {
		h.payError(w, r, sess, p, err)
		return
	}
	http.Redirect(w, r, "/pay/"+url.PathEscape(p.ID)+"?notice=modified", http.StatusSeeOther)
}

// payCancel calls off a payment waiting for the user. Once approved, the
// page no longer offers it: the merchant voids or refunds.
func (h *Handler) payCancel(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.postSession(w, r)
	if !ok {
		return
	}
	p, err := h.payment(r, sess.UserID)
	if err != nil {
		h.payError(w, r, sess, p, err)
		return
	}
	if !p.Open() {
		h.payError(w, r, sess, p, agentpay.Errorf(agentpay.ECONFLICT, "payment_"+string(p.Status),
			"a payment that is %s can no longer be canceled here", statusLabel(p.Status)))
		return
	}
	np, unit, err := h.Payments.PrepareCancel(r.Context(), agentpay.ActorUser, p, strings.TrimSpace(r.PostFormValue("reason")))
	if err == nil {
		_, err = h.Payments.Commit(r.Context(), np, unit)
	}
	if err != nil {
		h.payError(w, r, sess, p, err)
		return
	}
	http.Redirect(w, r, "/pay/"+url.PathEscape(p.ID)+"?notice=canceled", http.StatusSeeOther)
}

// paymentEvent is what the payment page's event stream sends.
type paymentEvent struct {
	Payment     string `json:"payment"`
	Status      string `json:"status"`
	StatusLabel string `json:"status_label"`
	Version     int64  `json:"version"`
}

// payEvents streams the payment's status and version whenever it changes.
func (h *Handler) payEvents(w http.ResponseWriter, r *http.Request) {
	sess, err := h.Sessions.Lookup(r.Context(), r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	p, err := h.payment(r, sess.UserID)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.serveEvents(w, r, payments.Topic(p.ID), "payment", func(ctx context.Context) (any, error) {
		p, err := h.Payments.ForUser(ctx, sess.UserID, p.ID)
		if err != nil {
			return nil, err
		}
		return paymentEvent{Payment: p.ID, Status: string(p.Status), StatusLabel: statusLabel(p.Status), Version: p.Version}, nil
	})
}
