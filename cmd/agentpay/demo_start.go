package main

import (
	"crypto/subtle"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"sync"

	"github.com/agentpay/agentpay/consent"
	"github.com/agentpay/agentpay/store"
)

// demoStart lets the person at the terminal act as the demo user in their
// browser. GET /demo/start?token=… (the token is printed on the terminal
// only; it works once, and only from this machine) opens a page session for
// the demo user and sends the browser to /demo/passkey, which asks for a
// passkey — the demo user has none yet — and then forwards to the payment's
// approval page. These routes live in the demo command's own mux, in front
// of the API: the product itself has no way to be someone without a
// passkey.
type demoStart struct {
	db       *store.DB
	sessions *consent.Sessions
	token    string

	mu      sync.Mutex
	used    bool
	userID  string // "" until the demo user and their payment exist
	name    string
	payment string
	summary string
}

func newDemoStart(db *store.DB, base string) *demoStart {
	return &demoStart{db: db, sessions: &consent.Sessions{DB: db, Secure: consent.SecureCookies(base)}, token: consent.RandomToken()}
}

func (s *demoStart) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /demo/start", s.serveStart)
	mux.HandleFunc("GET /demo/passkey", s.servePasskey)
}

// link returns the path and query of the one-time link.
func (s *demoStart) link() string { return "/demo/start?token=" + s.token }

// setTarget names the demo user and the payment waiting for them; until
// then the link refuses.
func (s *demoStart) setTarget(userID, name, paymentID, summary string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.userID, s.name, s.payment, s.summary = userID, name, paymentID, summary
}

func (s *demoStart) target() (userID, name, paymentID, summary string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.userID, s.name, s.payment, s.summary
}

// fromLoopback says whether a request came from this machine.
func fromLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// take spends the token if token is it and it is unspent.
func (s *demoStart) take(token string) (userID string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.used || s.userID == "" || subtle.ConstantTimeCompare([]byte(token), []byte(s.token)) != 1 {
		return "", false
	}
	s.used = true
	return s.userID, true
}

// giveBack unspends the token when no session could be opened with it, so
// a failure of ours does not lock the person out.
func (s *demoStart) giveBack() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.used = false
}

func (s *demoStart) serveStart(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if !fromLoopback(r) {
		http.Error(w, "The demo link works only from the machine running the demo.", http.StatusForbidden)
		return
	}
	userID, ok := s.take(r.URL.Query().Get("token"))
	if !ok {
		http.Error(w, "This demo link is wrong or was used already: it works once. If you opened it before, go on at /demo/passkey.",
			http.StatusForbidden)
		return
	}
	c, _, err := s.sessions.Open(r.Context(), userID)
	if err != nil {
		s.giveBack()
		http.Error(w, "The session could not be opened; try the link again.", http.StatusServiceUnavailable)
		return
	}
	http.SetCookie(w, c)
	http.Redirect(w, r, "/demo/passkey", http.StatusSeeOther)
}

// servePasskey asks the demo user for a passkey; once they have one (the
// page reloads after registering), it sends them to the payment.
func (s *demoStart) servePasskey(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	userID, name, paymentID, summary := s.target()
	sess, err := s.sessions.Lookup(r.Context(), r)
	if err != nil || userID == "" || sess.UserID != userID {
		http.Error(w, "Open the demo link printed on the terminal first.", http.StatusUnauthorized)
		return
	}
	keys, err := s.db.UserPasskeys(r.Context(), userID)
	if err != nil {
		http.Error(w, "The passkeys could not be read; reload the page.", http.StatusServiceUnavailable)
		return
	}
	if len(keys) > 0 {
		http.Redirect(w, r, "/pay/"+url.PathEscape(paymentID), http.StatusSeeOther)
		return
	}
	// The same headers as the product's pages: passkeys.js is served by
	// the product, same origin.
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = demoPasskeyPage.Execute(w, map[string]string{"CSRF": sess.CSRFToken, "Name": name, "Summary": summary})
}

// demoPasskeyPage uses the product's passkeys.js: its "add-passkey" button
// runs /webauthn/register/begin|finish with the session's CSRF token and
// reloads the page, which then forwards to the payment.
var demoPasskeyPage = template.Must(template.New("demo-passkey").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="{{.CSRF}}">
<title>Your passkey · agentpay demo</title>
<link rel="stylesheet" href="/assets/style.css">
<script src="/assets/passkeys.js" defer></script>
</head>
<body>
<h1>agentpay demo: your passkey</h1>
<p>You are signed in as the demo user <strong>{{.Name}}</strong>. Their agent asks: <em>{{.Summary}}</em></p>
<p>Money moves only after a passkey approval of that exact payment, and the demo user has no passkey yet.
Create one now: your browser (or phone, or password manager) keeps it for <code>localhost</code>; you may delete it after the demo.
The payment is shown next, and you approve it with the same passkey.</p>
<p><button type="button" id="add-passkey" class="primary">Create a passkey</button></p>
<p id="status" role="status"></p>
</body>
</html>
`))
