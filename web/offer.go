package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
	"github.com/agentpay/agentpay/subscriptions"
)

// The offer page: GET /subscribe/{id} shows a merchant's offer of a
// subscription (the link the merchant sent its customer) to a signed-in
// user, who accepts it with POST /subscribe/{id}: that makes it theirs
// and proposes its mandate, and the page sends them on to the mandate
// page to approve the terms with their passkey. Accepting alone moves no
// money and allows no charge.

func (h *Handler) offerRoutes() {
	h.handle("GET /subscribe/{id}", h.offerPage)
	h.handle("POST /subscribe/{id}", h.acceptOffer)
}

// offerView is an offer as the page shows it.
type offerView struct {
	ID, Merchant, Plan, Price, Trial, Ends, Expires string
	Metered                                         bool
}

type offerPage struct {
	Title, CSRF, Error string
	Offer              *offerView
}

func (h *Handler) offerPage(w http.ResponseWriter, r *http.Request) {
	sess, err := h.Sessions.Lookup(r.Context(), r)
	if agentpay.ErrorKind(err) == agentpay.EUNAUTHORIZED {
		loginRedirect(w, r)
		return
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.renderOffer(w, r, sess, http.StatusOK, "")
}

// renderOffer shows the offer the path names as it stands now: one the
// user accepted already sends them to its mandate; one another user took
// says only that.
func (h *Handler) renderOffer(w http.ResponseWriter, r *http.Request, sess store.Session, status int, errMsg string) {
	ctx := r.Context()
	sub, err := h.Payments.DB.Subscription(ctx, r.PathValue("id"))
	if agentpay.ErrorKind(err) == agentpay.ENOTFOUND || (err == nil && sub.GrantID != "") {
		// An agent's proposal is no offer: its user approves its mandate.
		renderPage(w, http.StatusNotFound, "offer", offerPage{Title: "Offer not found", CSRF: sess.CSRFToken,
			Error: "There is no such offer. Check the link the merchant sent you."})
		return
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if sub.UserID == sess.UserID && sub.WaitingMandateID != "" {
		http.Redirect(w, r, "/mandates/"+url.PathEscape(sub.WaitingMandateID), http.StatusSeeOther)
		return
	}
	p := offerPage{Title: "Subscribe", CSRF: sess.CSRFToken, Error: errMsg}
	switch {
	case sub.UserID == sess.UserID:
		p.Error = "You accepted this offer already: find it on your account page."
	case sub.UserID != "":
		p.Error = "This offer was accepted already."
	case sub.Status != subscriptions.Offered || h.mandateNow().UnixMicro() >= sub.NextAttemptAt:
		p.Error = "This offer is no longer open. Ask the merchant for a new one."
	default:
		mer, err := h.Payments.DB.Merchant(ctx, sub.MerchantID)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		p.Title = "Subscribe to " + sub.Plan + " at " + mer.Name
		v := &offerView{ID: sub.ID, Merchant: mer.Name, Plan: sub.Plan, Price: subscriptionPrice(sub),
			Metered: sub.MaxAmount > 0, Ends: inZone(sub.EndsAt, sub.TimeZone), Expires: formatTime(sub.NextAttemptAt)}
		if sub.TrialDays > 0 {
			v.Trial = itoaDays(sub.TrialDays)
		}
		if sub.Cycles > 0 {
			v.Ends = itoaCycles(sub.Cycles, sub.Interval)
		}
		p.Offer = v
	}
	if p.Error != "" && status == http.StatusOK {
		status = http.StatusConflict
	}
	renderPage(w, status, "offer", p)
}

// acceptOffer is POST /subscribe/{id}: the offer becomes the user's, and
// they go on to approve its mandate.
func (h *Handler) acceptOffer(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.postSession(w, r)
	if !ok {
		return
	}
	sub, u, err := h.subscriptionsService().PrepareAccept(r.Context(), sess.UserID, r.PathValue("id"))
	if err == nil && u != nil {
		err = h.Payments.DB.Committer.Submit(r.Context(), u).Err
	}
	if err != nil {
		if status, msg, ok := userError(err); ok {
			h.renderOffer(w, r, sess, status, msg)
			return
		}
		h.writeError(w, r, err)
		return
	}
	http.Redirect(w, r, "/mandates/"+url.PathEscape(sub.WaitingMandateID), http.StatusSeeOther)
}

func itoaDays(n int64) string {
	if n == 1 {
		return "1 day"
	}
	return strconv.FormatInt(n, 10) + " days"
}

func itoaCycles(n int64, iv agentpay.Interval) string {
	return "after " + strconv.FormatInt(n, 10) + " periods (one " + strings.TrimPrefix(PeriodWords(iv), "per ") + " each)"
}
