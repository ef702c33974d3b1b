package web

import (
	"net/http"
	"strings"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/identity"
	"github.com/agentpay/agentpay/store"
)

// verifyKind is one of the two verifications the account page offers.
type verifyKind struct {
	Name    string // "code" or "document": the path segment
	Notice  string // the key in notices after success
	Heading string
	// Check refuses malformed input before the verifier sees it: the
	// verifier counts any wrong answer as an attempt, and a typo in the
	// format should not cost one.
	Check func(answer string) error
}

var (
	verifyCode = verifyKind{Name: "code", Notice: "verified_contact", Heading: "Verify your contact details",
		Check: func(code string) error {
			if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
				return agentpay.ParamErrorf("code", "invalid_code", "the code is the 6 digits we sent you")
			}
			return nil
		}}
	verifyDocument = verifyKind{Name: "document", Notice: "verified_document", Heading: "Verify your identity document",
		Check: func(ref string) error {
			_, _, err := identity.ParseDocumentReference(ref)
			return err
		}}
)

const unknownChallenge = "This verification is not known; start a new one."

// verifyPage is the page that asks for the answer to a challenge.
type verifyPage struct {
	Title     string
	CSRF      string
	Error     string
	Kind      string // "code" or "document"
	Challenge string
	SentTo    string // where the code went (the user's own address)
	// Locked means the challenge can no longer be answered: the page
	// offers a new one instead of the form.
	Locked bool
}

func (h *Handler) verifier(k verifyKind) identity.Verifier {
	if k.Name == verifyCode.Name {
		return h.Code
	}
	return h.Document
}

// verifyStart is POST /account/verify/{code,document}/start: it makes a
// challenge (for the code, sends it) and shows the form that answers it.
func (h *Handler) verifyStart(k verifyKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, ok := h.postSession(w, r)
		if !ok {
			return
		}
		v := h.verifier(k)
		if v == nil {
			h.writeError(w, r, agentpay.Errorf(agentpay.ENOTFOUND, "verification_unavailable", "this verification is not offered here"))
			return
		}
		u, err := h.Identity.User(r.Context(), sess.UserID)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		if u.Tier >= v.Tier() {
			// Nothing to gain: no challenge (and none of the hourly
			// allowance) is spent.
			h.renderAccount(w, r, sess, http.StatusConflict, "You are already verified at this tier.", "")
			return
		}
		id, err := v.Start(r.Context(), sess.UserID)
		if err != nil {
			h.accountError(w, r, sess, err)
			return
		}
		d := verifyPage{Title: k.Heading, CSRF: sess.CSRFToken, Kind: k.Name, Challenge: id}
		if k.Name == verifyCode.Name {
			d.SentTo = u.Email
			if d.SentTo == "" {
				d.SentTo = u.Phone
			}
		}
		renderPage(w, http.StatusOK, "verify", d)
	}
}

// verifyConfirm is POST /account/verify/{code,document}/confirm with the
// form fields challenge and code (or document). Success goes back to the
// account page, which shows the new tier; an answer the user can correct
// shows the form again.
func (h *Handler) verifyConfirm(k verifyKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, ok := h.postSession(w, r)
		if !ok {
			return
		}
		v := h.verifier(k)
		if v == nil {
			h.writeError(w, r, agentpay.Errorf(agentpay.ENOTFOUND, "verification_unavailable", "this verification is not offered here"))
			return
		}
		challenge := r.PostFormValue("challenge")
		answer := strings.TrimSpace(r.PostFormValue(k.Name))
		if k.Name == verifyCode.Name {
			answer = strings.ReplaceAll(answer, " ", "") // "123 456", as some mail clients show it
		}
		d := verifyPage{Title: k.Heading, CSRF: sess.CSRFToken, Kind: k.Name, Challenge: challenge}
		if challenge == "" || !agentpay.ValidID(challenge) {
			d.Challenge, d.Locked = "", true
			d.Error = unknownChallenge
			renderPage(w, http.StatusNotFound, "verify", d)
			return
		}
		if err := k.Check(answer); err != nil {
			_, d.Error, _ = userError(err)
			renderPage(w, http.StatusBadRequest, "verify", d)
			return
		}
		_, err := v.Confirm(r.Context(), sess.UserID, challenge, answer)
		if err == nil {
			http.Redirect(w, r, "/account?notice="+k.Notice, http.StatusSeeOther)
			return
		}
		h.verifyError(w, r, sess, d, err)
	}
}

// verifyError shows a refused answer. A wrong answer keeps the form (the
// verifier's message says how many attempts are left); a challenge that can
// no longer be answered (locked, expired, used, unknown) offers a new one.
func (h *Handler) verifyError(w http.ResponseWriter, r *http.Request, sess store.Session, d verifyPage, err error) {
	status, msg, ok := userError(err)
	if !ok {
		h.writeError(w, r, err)
		return
	}
	d.Error = msg
	switch code := agentpay.ErrorCode(err); {
	case code == "challenge_failed" || agentpay.ErrorKind(err) == agentpay.EINVALID:
	case code == "challenge_locked":
		d.Locked, d.Challenge = true, ""
		d.Error = "Too many wrong attempts: this verification is locked. Start a new one to get a new code."
		if d.Kind == verifyDocument.Name {
			d.Error = "Too many wrong attempts: this verification is locked. Start a new one."
		}
	case code == "challenge_not_found":
		d.Locked, d.Challenge = true, ""
		d.Error = unknownChallenge
	case code == "tier_required":
		h.renderAccount(w, r, sess, status, msg, "")
		return
	default:
		d.Locked, d.Challenge = true, ""
	}
	renderPage(w, status, "verify", d)
}
