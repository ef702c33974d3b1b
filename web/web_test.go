package web_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/agentpay/agentpay/consent"
	"github.com/agentpay/agentpay/httpapi"
	"github.com/agentpay/agentpay/identity"
	"github.com/agentpay/agentpay/store"
	"github.com/agentpay/agentpay/store/sqlite"
	"github.com/agentpay/agentpay/web"
)

func openDB(t *testing.T) *store.DB {
	db, err := sqlite.Open(context.Background(), t.TempDir()+"/test.db", sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

type browser struct {
	t       *testing.T
	h       http.Handler
	cookies map[string]*http.Cookie
	last    []*http.Cookie
}

func (b *browser) do(method, path string, form url.Values, header map[string]string) *httptest.ResponseRecorder {
	b.t.Helper()
	if form == nil {
		return b.doBody(method, path, nil, header)
	}
	h := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	for k, v := range header {
		h[k] = v
	}
	return b.doBody(method, path, []byte(form.Encode()), h)
}

// doBody sends a request with a raw body and the browser's cookies.
func (b *browser) doBody(method, path string, raw []byte, header map[string]string) *httptest.ResponseRecorder {
	b.t.Helper()
	var body io.Reader
	if raw != nil {
		body = bytes.NewReader(raw)
	}
	r := httptest.NewRequest(method, "https://pay.example.com"+path, body)
	for k, v := range header {
		r.Header.Set(k, v)
	}
	for _, c := range b.cookies {
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	w := httptest.NewRecorder()
	b.h.ServeHTTP(w, r)
	b.last = w.Result().Cookies()
	for _, c := range b.last {
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c
		}
	}
	return w
}

var csrfRE = regexp.MustCompile(`name="csrf-token" content="([0-9a-f]{64})"`)

func (b *browser) csrf(path string) string {
	b.t.Helper()
	w := b.do("GET", path, nil, nil)
	m := csrfRE.FindStringSubmatch(w.Body.String())
	if w.Code != 200 || m == nil {
		b.t.Fatalf("GET %s: %d %s", path, w.Code, w.Body)
	}
	return m[1]
}

func wantStatus(t *testing.T, what string, w *httptest.ResponseRecorder, status int, code string) {
	t.Helper()
	if w.Code != status || !strings.Contains(w.Body.String(), code) {
		t.Fatalf("%s: %d %q, want %d %s", what, w.Code, w.Body, status, code)
	}
}

func newSite(t *testing.T, publicURL string) (*browser, *consent.Sessions) {
	db := openDB(t)
	pk, err := consent.NewPasskeys(db, publicURL)
	if err != nil {
		t.Fatal(err)
	}
	sessions := &consent.Sessions{DB: db, Secure: consent.SecureCookies(publicURL)}
	h := web.New(&identity.Service{DB: db}, pk, sessions)
	return &browser{t: t, h: h, cookies: map[string]*http.Cookie{}}, sessions
}

func signUpForm(token string) url.Values {
	return url.Values{"csrf_token": {token}, "email": {"ada@example.com"}, "display_name": {"Ada"}, "country": {"GB"}}
}

func TestSessionCookieAndCSRF(t *testing.T) {
	b, _ := newSite(t, "https://pay.example.com")
	anon := b.csrf("/signup")
	if c := b.cookies[web.CSRFCookie]; c == nil || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode {
		t.Fatalf("csrf cookie %+v", c)
	}
	// Sign-up without the token, or with a wrong one, is refused.
	wantStatus(t, "no token", b.do("POST", "/signup", signUpForm(""), nil), 403, "csrf_failed")
	wantStatus(t, "wrong token", b.do("POST", "/signup", signUpForm(strings.Repeat("0", 64)), nil), 403, "csrf_failed")
	wantStatus(t, "login begin without token", b.do("POST", "/webauthn/login/begin", nil, nil), 403, "csrf_failed")
	if w := b.do("POST", "/webauthn/login/begin", nil, map[string]string{"X-CSRF-Token": anon}); w.Code != 200 {
		t.Fatalf("login begin: %d %s", w.Code, w.Body)
	}

	w := b.do("POST", "/signup", signUpForm(anon), nil)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/account" {
		t.Fatalf("sign-up: %d %s", w.Code, w.Body)
	}
	c := b.cookies[consent.SessionCookie]
	if c == nil || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.MaxAge != int(consent.SessionTTL/time.Second) || c.Path != "/" {
		t.Fatalf("session cookie %+v", c)
	}
	token := b.csrf("/account")
	if token == anon {
		t.Fatal("the session's CSRF token is the anonymous one")
	}

	// State-changing requests of the session need its token.
	wantStatus(t, "register without token", b.do("POST", "/webauthn/register/begin", nil, nil), 403, "csrf_failed")
	wantStatus(t, "register with the anonymous token", b.do("POST", "/webauthn/register/begin", nil, map[string]string{"X-CSRF-Token": anon}), 403, "csrf_failed")
	w = b.do("POST", "/webauthn/register/begin", nil, map[string]string{"X-CSRF-Token": token})
	var begun struct {
		Ceremony string
		Options  struct{ PublicKey map[string]any }
	}
	if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &begun) != nil || begun.Ceremony == "" || begun.Options.PublicKey["challenge"] == nil {
		t.Fatalf("register begin: %d %s", w.Code, w.Body)
	}
	wantStatus(t, "finish without token", b.do("POST", "/webauthn/register/finish?ceremony="+begun.Ceremony, nil, nil), 403, "csrf_failed")
	wantStatus(t, "logout without token", b.do("POST", "/logout", url.Values{}, nil), 403, "csrf_failed")
	wantStatus(t, "logout with a wrong token", b.do("POST", "/logout", url.Values{"csrf_token": {anon}}, nil), 403, "csrf_failed")

	// Logout expires the session, also for a stolen copy of the cookie.
	stolen := *b.cookies[consent.SessionCookie]
	w = b.do("POST", "/logout", url.Values{"csrf_token": {token}}, nil)
	if w.Code != http.StatusSeeOther || b.cookies[consent.SessionCookie] != nil {
		t.Fatalf("logout: %d, cookie %v", w.Code, b.cookies[consent.SessionCookie])
	}
	b.cookies[consent.SessionCookie] = &stolen
	if w := b.do("GET", "/account", nil, nil); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/login" {
		t.Fatalf("account after logout: %d", w.Code)
	}
	wantStatus(t, "register after logout", b.do("POST", "/webauthn/register/begin", nil, map[string]string{"X-CSRF-Token": token}), 401, "session_required")
}

func TestSessionExpiry(t *testing.T) {
	db := openDB(t)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s := &consent.Sessions{DB: db, Now: func() time.Time { return now }}
	c, _, err := s.Open(context.Background(), "usr_1")
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/account", nil)
	r.AddCookie(c)
	if sess, err := s.Lookup(context.Background(), r); err != nil || sess.UserID != "usr_1" {
		t.Fatalf("lookup = %+v, %v", sess, err)
	}
	now = now.Add(consent.SessionTTL)
	if _, err := s.Lookup(context.Background(), r); err == nil {
		t.Fatal("a session outlived its 12 hours")
	}
}

func TestSecureCookies(t *testing.T) {
	for base, want := range map[string]bool{
		"https://pay.example.com": true, "http://pay.example.com": true,
		"http://localhost:8080": false, "http://127.0.0.1:8080": false, "https://localhost": false,
	} {
		if got := consent.SecureCookies(base); got != want {
			t.Errorf("SecureCookies(%q) = %v", base, got)
		}
	}
	b, _ := newSite(t, "http://localhost:8080")
	token := b.csrf("/signup")
	b.do("POST", "/signup", signUpForm(token), nil)
	if c := b.cookies[consent.SessionCookie]; c == nil || c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
		t.Fatalf("localhost session cookie %+v", c)
	}
}

// The pages are mounted into the API server, with its JSON errors.
func TestMountedInServer(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := httpapi.NewServer(openDB(t), sha256.Sum256([]byte("admin")), log, nil)
	srv.PublicBaseURL = "https://pay.example.com"
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, httptest.NewRequest("POST", "/webauthn/login/begin", nil))
	var body struct{ Error struct{ Code string } }
	if w.Code != 403 || json.Unmarshal(w.Body.Bytes(), &body) != nil || body.Error.Code != "csrf_failed" {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	w = httptest.NewRecorder()
	srv.ServeHTTP(w, httptest.NewRequest("GET", "/signup", nil))
	if w.Code != 200 || !strings.Contains(w.Body.String(), `action="/signup"`) {
		t.Fatalf("GET /signup: %d", w.Code)
	}
}
