package web_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/agentauth"
	"github.com/agentpay/agentpay/consent"
	"github.com/agentpay/agentpay/httpapi"
	"github.com/agentpay/agentpay/linking"
	"github.com/agentpay/agentpay/store"
	"github.com/agentpay/agentpay/store/storetest"
)

const siteURL = "https://pay.example.com"

// codeCatcher is a Notifier that keeps the messages it is asked to send.
type codeCatcher struct {
	mu   sync.Mutex
	sent []string
}

func (c *codeCatcher) Send(_ context.Context, _, _, message string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent = append(c.sent, message)
	return nil
}

var codeRE = regexp.MustCompile(`\b[0-9]{6}\b`)

// last returns the code of the last message and how many were sent.
func (c *codeCatcher) last(t *testing.T) (string, int) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.sent) == 0 {
		t.Fatal("no code was sent")
	}
	return codeRE.FindString(c.sent[len(c.sent)-1]), len(c.sent)
}

func (c *codeCatcher) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.sent)
}

// site is the whole server, pages mounted as in production, over one
// database, with the codes it sends caught.
type site struct {
	t     *testing.T
	db    *store.DB
	srv   *httpapi.Server
	codes *codeCatcher
	links *linking.Service
}

func newAccountSite(t *testing.T, db *store.DB) *site {
	srv := httpapi.NewServer(db, sha256.Sum256([]byte("admin")), slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	srv.PublicBaseURL = siteURL
	codes := &codeCatcher{}
	srv.Notifier = codes
	return &site{t: t, db: db, srv: srv, codes: codes, links: &linking.Service{DB: db}}
}

// user is a signed-up person with their browser.
type user struct {
	*browser
	id string
}

// signUp signs a new person up with email and returns their browser.
func (s *site) signUp(email string) user {
	s.t.Helper()
	b := &browser{t: s.t, h: s.srv, cookies: map[string]*http.Cookie{}}
	form := signUpForm(b.csrf("/signup"))
	form.Set("email", email)
	if w := b.do("POST", "/signup", form, nil); w.Code != http.StatusSeeOther {
		s.t.Fatalf("sign-up: %d %s", w.Code, w.Body)
	}
	r := httptest.NewRequest("GET", siteURL+"/account", nil)
	r.AddCookie(b.cookies[consent.SessionCookie])
	sess, err := (&consent.Sessions{DB: s.db}).Lookup(context.Background(), r)
	if err != nil {
		s.t.Fatal(err)
	}
	return user{browser: b, id: sess.UserID}
}

var challengeRE = regexp.MustCompile(`name="challenge" value="(vch_[0-9A-Za-z_-]+)"`)

// challenge returns the challenge id of a verification page.
func challenge(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	m := challengeRE.FindStringSubmatch(w.Body.String())
	if w.Code != 200 || m == nil {
		t.Fatalf("verification page: %d %s", w.Code, w.Body)
	}
	return m[1]
}

// verifyCode raises u to tier 1 through the pages.
func (s *site) verifyCode(u user) {
	s.t.Helper()
	token := u.csrf("/account")
	id := challenge(s.t, u.do("POST", "/account/verify/code/start", url.Values{"csrf_token": {token}}, nil))
	code, _ := s.codes.last(s.t)
	w := u.do("POST", "/account/verify/code/confirm", url.Values{"csrf_token": {token}, "challenge": {id}, "code": {code}}, nil)
	if w.Code != http.StatusSeeOther {
		s.t.Fatalf("confirm: %d %s", w.Code, w.Body)
	}
}

// agent is a linked agent key and its grant.
type agent struct {
	key   ed25519.PrivateKey
	keyID string
	grant agentpay.Grant
}

// link links a new agent named name to userID, as the linking page would.
func (s *site) link(userID, name string) agent {
	s.t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		s.t.Fatal(err)
	}
	started, err := s.links.Start(context.Background(), linking.StartRequest{PublicKeyJWK: agentauth.JWK(pub),
		AgentName: name, SoftwareID: "com.example." + strings.ToLower(name),
		Scopes: []agentpay.Scope{agentpay.ScopePaymentsCreate, agentpay.ScopeTips},
		Limits: agentpay.GrantLimits{Asset: "USD", PerPayment: 12_34, PerDay: 50_00, PerMonth: 150_00}}, linking.RequestMeta{})
	if err != nil {
		s.t.Fatal(err)
	}
	g, err := s.links.Approve(context.Background(), started.Link.UserCode, linking.Approval{UserID: userID})
	if err != nil {
		s.t.Fatal(err)
	}
	return agent{key: priv, keyID: agentauth.Thumbprint(pub), grant: g}
}

// call makes a signed agent request for the agent's grant and returns the
// status and body.
func (s *site) call(a agent) (int, string) {
	s.t.Helper()
	r := httptest.NewRequest("GET", siteURL+"/v1/agent/grant", nil)
	if err := agentauth.Sign(r, nil, a.key, a.keyID, agentauth.SignParams{}); err != nil {
		s.t.Fatal(err)
	}
	w := httptest.NewRecorder()
	s.srv.ServeHTTP(w, r)
	return w.Code, w.Body.String()
}

func (s *site) status(grantID string) agentpay.GrantStatus {
	s.t.Helper()
	g, err := s.db.Grant(context.Background(), grantID)
	if err != nil {
		s.t.Fatal(err)
	}
	return g.Status
}

func TestAccountListsAgents(t *testing.T) {
	s := newAccountSite(t, openDB(t))
	ada, bob := s.signUp("ada@example.com"), s.signUp("bob@example.com")
	s.verifyCode(ada)
	s.verifyCode(bob)
	helper := s.link(ada.id, "Shopping <Helper>")
	bobs := s.link(bob.id, "Bobs Agent")

	body := ada.do("GET", "/account", nil, nil).Body.String()
	for _, want := range []string{
		"Shopping &lt;Helper&gt;", "com.example.shopping &lt;helper&gt;", "(unverified)", helper.keyID,
		"payments:create, tips", "12.34 USD per payment, 50.00 USD per day, 150.00 USD per month",
		`action="/account/grants/` + helper.grant.ID + `/revoke"`, `action="/account/grants/revoke-all"`,
		`<td>1 (yours)</td><td>USD</td><td>200.00 USD</td><td>500.00 USD</td><td>2000.00 USD</td>`,
		`<td>2</td><td>USD</td><td>5000.00 USD</td>`, `action="/account/verify/document/start"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("account page lacks %q", want)
		}
	}
	for _, unwanted := range []string{"Shopping <Helper>", bobs.grant.ID, "Bobs Agent", `action="/account/verify/code/start"`} {
		if strings.Contains(body, unwanted) {
			t.Errorf("account page shows %q", unwanted)
		}
	}
	// Without agents, the page says so and offers no revoke-all.
	carol := s.signUp("carol@example.com")
	body = carol.do("GET", "/account", nil, nil).Body.String()
	if !strings.Contains(body, `id="no-grants"`) || strings.Contains(body, "revoke-all") ||
		!strings.Contains(body, "Agents may not pay.") || !strings.Contains(body, `action="/account/verify/code/start"`) {
		t.Errorf("account page of a new user: %s", body)
	}
}

func TestAccountRevoke(t *testing.T) {
	storetest.Engines(t, "web", func(t *testing.T, open func() *store.DB) {
		s := newAccountSite(t, open())
		ada, bob := s.signUp("ada@example.com"), s.signUp("bob@example.com")
		s.verifyCode(ada)
		s.verifyCode(bob)
		one, two := s.link(ada.id, "One"), s.link(ada.id, "Two")
		bobs := s.link(bob.id, "Bobs")
		token, bobToken := ada.csrf("/account"), bob.csrf("/account")
		stranger := &browser{t: t, h: s.srv, cookies: map[string]*http.Cookie{}}

		for _, c := range []struct {
			name   string
			b      *browser
			path   string
			form   url.Values
			status int
			code   string
		}{
			{"no CSRF token", ada.browser, "/account/grants/" + one.grant.ID + "/revoke", url.Values{}, 403, "csrf_failed"},
			{"another session's token", ada.browser, "/account/grants/" + one.grant.ID + "/revoke", url.Values{"csrf_token": {bobToken}}, 403, "csrf_failed"},
			{"revoke-all without token", ada.browser, "/account/grants/revoke-all", url.Values{}, 403, "csrf_failed"},
			{"no session", stranger, "/account/grants/" + one.grant.ID + "/revoke", url.Values{"csrf_token": {token}}, 401, "session_required"},
			{"another user's grant", ada.browser, "/account/grants/" + bobs.grant.ID + "/revoke", url.Values{"csrf_token": {token}}, 404, "grant not found"},
			{"unknown grant", ada.browser, "/account/grants/grt_nope/revoke", url.Values{"csrf_token": {token}}, 404, "grant not found"},
		} {
			wantStatus(t, c.name, c.b.do("POST", c.path, c.form, nil), c.status, c.code)
			for _, g := range []agent{one, two, bobs} {
				if s.status(g.grant.ID) != agentpay.GrantActive {
					t.Fatalf("%s: grant %s changed", c.name, g.grant.ID)
				}
			}
		}
		if code, body := s.call(one); code != 200 {
			t.Fatalf("agent before revoking: %d %s", code, body)
		}

		w := ada.do("POST", "/account/grants/"+one.grant.ID+"/revoke", url.Values{"csrf_token": {token}}, nil)
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/account?notice=revoked" {
			t.Fatalf("revoke: %d %s", w.Code, w.Body)
		}
		body := ada.do("GET", w.Header().Get("Location"), nil, nil).Body.String()
		if !strings.Contains(body, `id="notice"`) || !strings.Contains(body, "access was revoked") ||
			strings.Contains(body, one.grant.ID) || !strings.Contains(body, two.grant.ID) {
			t.Fatalf("account after revoking: %s", body)
		}
		if code, body := s.call(one); code != 401 || !strings.Contains(body, "grant_revoked") {
			t.Fatalf("revoked agent: %d %s", code, body)
		}
		if code, _ := s.call(two); code != 200 {
			t.Fatalf("the other agent was refused: %d", code)
		}

		three := s.link(ada.id, "Three")
		w = ada.do("POST", "/account/grants/revoke-all", url.Values{"csrf_token": {token}}, nil)
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/account?revoked=2" {
			t.Fatalf("revoke all: %d %v", w.Code, w.Header())
		}
		if body := ada.do("GET", "/account?revoked=2", nil, nil).Body.String(); !strings.Contains(body, "Revoked 2 agents") ||
			!strings.Contains(body, `id="no-grants"`) {
			t.Fatalf("account after revoking all: %s", body)
		}
		for _, a := range []agent{two, three} {
			if code, body := s.call(a); code != 401 || !strings.Contains(body, "grant_revoked") {
				t.Fatalf("agent after revoke-all: %d %s", code, body)
			}
		}
		if code, _ := s.call(bobs); code != 200 || s.status(bobs.grant.ID) != agentpay.GrantActive {
			t.Fatalf("revoke-all reached another user: %d", code)
		}
		w = ada.do("POST", "/account/grants/revoke-all", url.Values{"csrf_token": {token}}, nil)
		if w.Header().Get("Location") != "/account?notice=revoked_none" {
			t.Fatalf("revoke all again: %d %v", w.Code, w.Header())
		}
		// The query names a notice; it cannot carry text of its own.
		if body := ada.do("GET", "/account?notice=<b>owned</b>", nil, nil).Body.String(); strings.Contains(body, "owned") {
			t.Fatal("the notice reflected the query")
		}
	})
}
