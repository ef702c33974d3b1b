// Package web serves the user's pages: sign-up, passkey login and the
// account page, with the JSON endpoints of the WebAuthn ceremonies under
// /webauthn/. Pages use html/template and a little embedded JavaScript.
//
// Sessions are cookies (consent.Sessions). Every state-changing request is
// a POST that must carry a CSRF token, in the form field csrf_token or the
// X-CSRF-Token header: the session's token once logged in, before that the
// value of the agentpay_csrf cookie (double submit; both cookies are
// HttpOnly and SameSite=Lax).
package web

import (
	"embed"
	"encoding/json"
	"errors"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/consent"
	"github.com/agentpay/agentpay/identity"
	"github.com/agentpay/agentpay/linking"
	"github.com/agentpay/agentpay/payments"
	"github.com/agentpay/agentpay/store"
)

//go:embed *.html passkeys.js pay.js style.css
var files embed.FS

var pages = template.Must(template.ParseFS(files, "*.html"))

// CSRFCookie holds the CSRF token of requests made before logging in.
const CSRFCookie = "agentpay_csrf"

// ResponseBytesMax bounds the body of a ceremony's finish request.
const ResponseBytesMax = 64 << 10

// Routes returns the patterns a Handler serves, for mounting it into a mux.
func Routes() []string { return New(nil, nil, nil).patterns }

// Handler serves the pages.
type Handler struct {
	Identity *identity.Service
	Passkeys *consent.Passkeys
	Sessions *consent.Sessions
	// Links decides agent links and revokes grants.
	Links *linking.Service
	// Payments shows payments to their users and takes their decisions.
	Payments *payments.Service
	// Code and Document raise the user's tier (identity.Verifier).
	Code, Document identity.Verifier
	// WriteError writes an error response (JSON); nil writes a plain one.
	WriteError func(w http.ResponseWriter, r *http.Request, err error)
	// DevTopUp lets users top up their wallets from the funding account on
	// the account page: for development servers only.
	DevTopUp bool
	// OperatorTokenSHA256 is the SHA-256 of the operator's token: it signs
	// operators in to /ops. Zero: no operator page.
	OperatorTokenSHA256 [32]byte

	mux      *http.ServeMux
	patterns []string
}

func (h *Handler) handle(pattern string, f http.HandlerFunc) {
	h.mux.HandleFunc(pattern, f)
	h.patterns = append(h.patterns, pattern)
}

// New builds a Handler.
func New(ids *identity.Service, pk *consent.Passkeys, sessions *consent.Sessions) *Handler {
	h := &Handler{Identity: ids, Passkeys: pk, Sessions: sessions, mux: http.NewServeMux()}
	h.handle("GET /signup", h.signupPage)
	h.handle("POST /signup", h.signup)
	h.handle("GET /login", h.loginPage)
	h.handle("GET /account", h.account)
	h.handle("POST /logout", h.logout)
	h.handle("POST /webauthn/register/begin", h.registerBegin)
	h.handle("POST /webauthn/register/finish", h.registerFinish)
	h.handle("POST /webauthn/login/begin", h.loginBegin)
	h.handle("POST /webauthn/login/finish", h.loginFinish)
	h.linkRoutes()
	h.opsRoutes()
	h.handle("GET /assets/passkeys.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, files, "passkeys.js")
	})
	h.handle("POST /account/grants/{id}/revoke", h.revokeGrant)
	h.handle("POST /account/grants/revoke-all", h.revokeAllGrants)
	h.handle("POST /account/verify/code/start", h.verifyStart(verifyCode))
	h.handle("POST /account/verify/code/confirm", h.verifyConfirm(verifyCode))
	h.handle("POST /account/verify/document/start", h.verifyStart(verifyDocument))
	h.handle("POST /account/verify/document/confirm", h.verifyConfirm(verifyDocument))
	h.payRoutes()
	h.mandateRoutes()
	h.accountPaymentRoutes()
	h.accountSubscriptionRoutes()
	h.offerRoutes()
	return h
}

// ServeHTTP serves the routes in Routes.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'")
	w.Header().Set("Referrer-Policy", "same-origin")
	h.mux.ServeHTTP(w, r)
}

func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if h.WriteError != nil {
		h.WriteError(w, r, err)
		return
	}
	status := http.StatusInternalServerError
	switch agentpay.ErrorKind(err) {
	case agentpay.EINVALID:
		status = http.StatusBadRequest
	case agentpay.EUNAUTHORIZED:
		status = http.StatusUnauthorized
	case agentpay.EFORBIDDEN:
		status = http.StatusForbidden
	case agentpay.ENOTFOUND:
		status = http.StatusNotFound
	case agentpay.ECONFLICT:
		status = http.StatusConflict
	}
	http.Error(w, agentpay.ErrorCode(err), status)
}

// anonCSRF returns the request's anonymous CSRF token, setting the cookie
// when it has none.
func (h *Handler) anonCSRF(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(CSRFCookie); err == nil && len(c.Value) == 64 {
		return c.Value
	}
	token := consent.RandomToken()
	http.SetCookie(w, &http.Cookie{Name: CSRFCookie, Value: token, Path: "/", HttpOnly: true,
		Secure: h.Sessions.Secure, SameSite: http.SameSiteLaxMode})
	return token
}

// checkAnon checks the CSRF token of a request made before logging in.
func checkAnon(r *http.Request) error {
	want := ""
	if c, err := r.Cookie(CSRFCookie); err == nil {
		want = c.Value
	}
	return consent.CheckCSRF(r, want)
}

// session returns the request's session and checks its CSRF token.
func (h *Handler) session(r *http.Request) (store.Session, error) {
	sess, err := h.Sessions.Lookup(r.Context(), r)
	if err != nil {
		return sess, err
	}
	return sess, consent.CheckCSRF(r, sess.CSRFToken)
}

type signupForm struct{ Email, Phone, DisplayName, Country string }

type pageData struct {
	Title string
	CSRF  string
	Error string
	Form  signupForm
	User  agentpay.User
	Link  *linkView
	Next  string // where to go after logging in
}

type passkeyView struct {
	Added, LastUsed string
	Cloned          bool
}

func render(w http.ResponseWriter, status int, name string, d pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = pages.ExecuteTemplate(w, name, d)
}

func (h *Handler) signupPage(w http.ResponseWriter, r *http.Request) {
	render(w, http.StatusOK, "signup", pageData{Title: "Sign up", CSRF: h.anonCSRF(w, r)})
}

func (h *Handler) signup(w http.ResponseWriter, r *http.Request) {
	if err := checkAnon(r); err != nil {
		h.writeError(w, r, err)
		return
	}
	f := signupForm{Email: r.PostFormValue("email"), Phone: r.PostFormValue("phone"),
		DisplayName: r.PostFormValue("display_name"), Country: r.PostFormValue("country")}
	u, err := h.Identity.SignUp(r.Context(), identity.SignUpRequest{Email: f.Email, Phone: f.Phone,
		DisplayName: f.DisplayName, Country: f.Country})
	if err != nil {
		kind := agentpay.ErrorKind(err)
		if kind == agentpay.EINVALID || kind == agentpay.ECONFLICT {
			status := http.StatusBadRequest
			if kind == agentpay.ECONFLICT {
				status = http.StatusConflict
			}
			msg := err.Error()
			var e *agentpay.Error
			if errors.As(err, &e) {
				msg = e.Message
			}
			render(w, status, "signup", pageData{Title: "Sign up", CSRF: h.anonCSRF(w, r), Error: msg, Form: f})
			return
		}
		h.writeError(w, r, err)
		return
	}
	h.startSession(w, r, u.ID)
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

func (h *Handler) startSession(w http.ResponseWriter, r *http.Request, userID string) bool {
	c, _, err := h.Sessions.Open(r.Context(), userID)
	if err != nil {
		h.writeError(w, r, err)
		return false
	}
	http.SetCookie(w, c)
	return true
}

func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) {
	render(w, http.StatusOK, "login", pageData{Title: "Log in", CSRF: h.anonCSRF(w, r), Next: localPath(r.URL.Query().Get("next"))})
}

// localPath returns next if it is a path on this site, else /account, so a
// login link can never send the user elsewhere.
func localPath(next string) string {
	u, err := url.Parse(next)
	if next == "" || err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(next, "/") ||
		strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\x00\r\n") {
		return "/account"
	}
	return next
}

func formatTime(us int64) string {
	if us == 0 {
		return ""
	}
	return time.UnixMicro(us).UTC().Format("2006-01-02 15:04 UTC")
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	sess, err := h.session(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if err := h.Sessions.Close(r.Context(), sess); err != nil {
		h.writeError(w, r, err)
		return
	}
	http.SetCookie(w, h.Sessions.Cookie("", -1))
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v)
}

func (h *Handler) registerBegin(w http.ResponseWriter, r *http.Request) {
	sess, err := h.session(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	id, options, err := h.Passkeys.BeginRegistration(r.Context(), sess.UserID)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, map[string]any{"ceremony": id, "options": options})
}

func readResponse(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, ResponseBytesMax+1))
	if err != nil || len(b) > ResponseBytesMax {
		return nil, agentpay.Errorf(agentpay.EINVALID, "invalid_body", "the passkey response is missing or too large")
	}
	return b, nil
}

func (h *Handler) registerFinish(w http.ResponseWriter, r *http.Request) {
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
	if _, err := h.Passkeys.FinishRegistration(r.Context(), sess.UserID, r.URL.Query().Get("ceremony"), body); err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, map[string]any{"registered": true})
}

func (h *Handler) loginBegin(w http.ResponseWriter, r *http.Request) {
	if err := checkAnon(r); err != nil {
		h.writeError(w, r, err)
		return
	}
	id, options, err := h.Passkeys.BeginLogin(r.Context(), "")
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, map[string]any{"ceremony": id, "options": options})
}

func (h *Handler) loginFinish(w http.ResponseWriter, r *http.Request) {
	if err := checkAnon(r); err != nil {
		h.writeError(w, r, err)
		return
	}
	body, err := readResponse(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	userID, err := h.Passkeys.FinishLogin(r.Context(), r.URL.Query().Get("ceremony"), body)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if !h.startSession(w, r, userID) {
		return
	}
	writeJSON(w, map[string]any{"redirect": localPath(r.URL.Query().Get("next"))})
}
