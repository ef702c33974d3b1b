package web_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"html/template"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/agentauth"
	"github.com/agentpay/agentpay/consent"
	"github.com/agentpay/agentpay/consent/consenttest"
	"github.com/agentpay/agentpay/identity"
	"github.com/agentpay/agentpay/linking"
	"github.com/agentpay/agentpay/store"
	"github.com/agentpay/agentpay/web"
	"github.com/go-webauthn/webauthn/protocol"
)

const linkOrigin = "https://pay.example.com"

// codeBox keeps the last one-time code sent.
type codeBox struct {
	mu   sync.Mutex
	code string
}

var sixDigits = regexp.MustCompile(`\b\d{6}\b`)

func (c *codeBox) last() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.code
}

func (c *codeBox) Send(_ context.Context, _, _, message string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.code = sixDigits.FindString(message)
	return nil
}

type linkSite struct {
	t     *testing.T
	db    *store.DB
	ids   *identity.Service
	pk    *consent.Passkeys
	links *linking.Service
	h     *web.Handler
	codes *codeBox
}

func newLinkSite(t *testing.T) *linkSite {
	db := openDB(t)
	pk, err := consent.NewPasskeys(db, linkOrigin)
	if err != nil {
		t.Fatal(err)
	}
	codes := &codeBox{}
	ids := &identity.Service{DB: db, Notifier: codes}
	h := web.New(ids, pk, &consent.Sessions{DB: db, Secure: true})
	h.Links = &linking.Service{DB: db}
	h.Code = &identity.CodeVerifier{Service: ids}
	return &linkSite{t: t, db: db, ids: ids, pk: pk, links: h.Links, h: h, codes: codes}
}

// person is a browser with a signed-up user and a registered passkey.
type person struct {
	*browser
	user agentpay.User
	key  *consenttest.Authenticator
	csrf string
}

// newPerson signs up through the pages, registers a passkey and, when
// verified, raises the user to tier 1 with a one-time code.
func (s *linkSite) newPerson(email string, verified bool) *person {
	t := s.t
	t.Helper()
	b := &browser{t: t, h: s.h, cookies: map[string]*http.Cookie{}}
	anon := b.csrf("/signup")
	form := url.Values{"csrf_token": {anon}, "email": {email}, "display_name": {"Ada"}, "country": {"GB"}}
	if w := b.do("POST", "/signup", form, nil); w.Code != http.StatusSeeOther {
		t.Fatalf("sign-up: %d %s", w.Code, w.Body)
	}
	p := &person{browser: b, key: consenttest.New(t, linkOrigin), csrf: b.csrf("/account")}
	var begun struct {
		Ceremony string
		Options  protocol.CredentialCreation
	}
	p.postJSON("/webauthn/register/begin", nil, &begun)
	p.postJSON("/webauthn/register/finish?ceremony="+begun.Ceremony, json.RawMessage(p.key.Create(t, &begun.Options)), nil)
	userID, err := s.db.ContactOwner(context.Background(), "email:"+email)
	if err != nil {
		t.Fatal(err)
	}
	if verified {
		challenge, err := s.h.Code.Start(context.Background(), userID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.h.Code.Confirm(context.Background(), userID, challenge, s.codes.code); err != nil {
			t.Fatal(err)
		}
	}
	p.user, err = s.ids.User(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// postJSON posts v with the session's CSRF token and decodes a 200 answer
// into out; any other status fails the test.
func (p *person) postJSON(path string, v any, out any) {
	p.t.Helper()
	w := p.postJSONStatus(path, v)
	if w.Code != 200 {
		p.t.Fatalf("POST %s: %d %s", path, w.Code, w.Body)
	}
	if out != nil {
		if err := json.Unmarshal(w.Body.Bytes(), out); err != nil {
			p.t.Fatalf("POST %s: %v in %s", path, err, w.Body)
		}
	}
}

func (p *person) postJSONStatus(path string, v any) *httptest.ResponseRecorder {
	p.t.Helper()
	body, _ := json.Marshal(v)
	if v == nil {
		body = []byte("{}")
	}
	return p.doBody("POST", path, body, map[string]string{"X-CSRF-Token": p.csrf, "Content-Type": "application/json"})
}

// startLink starts linking an agent as the agent would.
func (s *linkSite) startLink(perPayment int64) linking.Started {
	s.t.Helper()
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	st, err := s.links.Start(context.Background(), linking.StartRequest{PublicKeyJWK: agentauth.JWK(pub), AgentName: "Shopping helper",
		SoftwareID: "com.example.shopper", Scopes: []agentpay.Scope{agentpay.ScopePaymentsCreate, agentpay.ScopeTips},
		Limits: agentpay.GrantLimits{Asset: "USD", PerPayment: perPayment, PerDay: 2 * perPayment, PerMonth: 4 * perPayment}},
		linking.RequestMeta{RemoteIP: "203.0.113.7", UserAgent: "shopper/1.0"})
	if err != nil {
		s.t.Fatal(err)
	}
	return st
}

type decision struct {
	UserCode string   `json:"user_code"`
	Scopes   []string `json:"scopes"`
	Limits   struct {
		PerPayment string `json:"per_payment"`
		PerDay     string `json:"per_day"`
		PerMonth   string `json:"per_month"`
	} `json:"limits"`
	TipAutoApproveMax string `json:"tip_auto_approve_max,omitempty"`
	TipBudgetPerDay   string `json:"tip_budget_per_day,omitempty"`
	TimeZone          string `json:"time_zone,omitempty"`
}

func newDecision(code string, scopes []string, perPayment, perDay, perMonth string) decision {
	d := decision{UserCode: code, Scopes: scopes}
	d.Limits.PerPayment, d.Limits.PerDay, d.Limits.PerMonth = perPayment, perDay, perMonth
	return d
}

type begunApproval struct {
	Ceremony string
	Options  protocol.CredentialAssertion
}

func TestLinkPageApprovesWithPasskey(t *testing.T) {
	s := newLinkSite(t)
	ada := s.newPerson("ada@example.com", true)
	st := s.startLink(100_00)
	display := agentpay.FormatUserCode(st.Link.UserCode)
	page := "/link?code=" + url.QueryEscape(display)

	// Without a session the page sends the user to log in and back.
	anon := &browser{t: t, h: s.h, cookies: map[string]*http.Cookie{}}
	w := anon.do("GET", page, nil, nil)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/login?next="+url.QueryEscape(page) {
		t.Fatalf("anonymous: %d %s", w.Code, w.Header().Get("Location"))
	}
	if w := anon.do("GET", "/login?next="+url.QueryEscape(page), nil, nil); !strings.Contains(w.Body.String(), `data-next="`+strings.ReplaceAll(page, "+", "&#43;")) &&
		!strings.Contains(w.Body.String(), `data-next="/link?code=`) {
		t.Fatalf("login page does not carry next: %s", w.Body)
	}

	// The page shows what the agent said (unverified), where the request
	// came from, the fingerprint, and limits capped by the tier (tier 1
	// allows 200.00 per payment, 500.00 a day, 2000.00 a month).
	w = ada.do("GET", page, nil, nil)
	body := w.Body.String()
	for _, want := range []string{"Shopping helper", "com.example.shopper", "unverified", st.Link.KeyID, "203.0.113.7", "shopper/1.0",
		`value="100.00"`, `value="200.00"`, `value="400.00"`, "payments:create", "tips", display} {
		if w.Code != 200 || !strings.Contains(body, want) {
			t.Fatalf("link page: %d, missing %q in %s", w.Code, want, body)
		}
	}

	t.Run("refusals before the passkey prompt", func(t *testing.T) {
		tests := []struct {
			name   string
			d      decision
			status int
			code   string
		}{
			{"raised limit", newDecision(display, []string{"tips"}, "100.01", "200.00", "400.00"), 400, "limits_raised"},
			{"not an amount", newDecision(display, []string{"tips"}, "ten", "200.00", "400.00"), 400, "invalid_amount"},
			{"too many decimals", newDecision(display, []string{"tips"}, "1.001", "200.00", "400.00"), 400, "invalid_amount"},
			{"day below payment", newDecision(display, []string{"tips"}, "50.00", "40.00", "400.00"), 400, "invalid_limit"},
			{"scope not requested", newDecision(display, []string{"subscriptions"}, "1.00", "2.00", "4.00"), 400, "scope_not_requested"},
			{"no scope", newDecision(display, nil, "1.00", "2.00", "4.00"), 400, "scopes_required"},
			{"unknown code", newDecision("BBBB-BBBB", []string{"tips"}, "1.00", "2.00", "4.00"), 404, "agent_link_not_found"},
		}
		for _, tt := range tests {
			w := ada.postJSONStatus("/link/approve/begin", tt.d)
			wantStatus(t, tt.name, w, tt.status, tt.code)
		}
		w := ada.doBody("POST", "/link/approve/begin", []byte(`{"user_code":"`+display+`"}`), map[string]string{"Content-Type": "application/json"})
		wantStatus(t, "no CSRF token", w, 403, "csrf_failed")
		w = ada.postJSONStatus("/link/approve/begin", map[string]any{"user_code": display, "extra": 1})
		wantStatus(t, "unknown field", w, 400, "invalid_json")
	})

	// Ada lowers the limits and drops tips, then signs exactly that.
	var begun begunApproval
	ada.postJSON("/link/approve/begin", newDecision(display, []string{"payments:create"}, "25.00", "50.00", "80.00"), &begun)
	assertion := ada.key.Get(t, &begun.Options)

	// Another user's session cannot finish Ada's ceremony.
	eve := s.newPerson("eve@example.com", true)
	wantStatus(t, "eve finishing", eve.doBody("POST", "/link/approve/finish?ceremony="+begun.Ceremony, assertion,
		map[string]string{"X-CSRF-Token": eve.csrf}), 400, "ceremony_invalid")

	// Eve's refusal spent the ceremony: Ada begins again.
	ada.postJSON("/link/approve/begin", newDecision(display, []string{"payments:create"}, "25.00", "50.00", "80.00"), &begun)
	var done struct{ Grant, Redirect string }
	ada.postJSON("/link/approve/finish?ceremony="+begun.Ceremony, json.RawMessage(ada.key.Get(t, &begun.Options)), &done)
	if done.Redirect != page {
		t.Fatalf("redirect = %q, want %q", done.Redirect, page)
	}
	g, err := s.db.Grant(context.Background(), done.Grant)
	if err != nil {
		t.Fatal(err)
	}
	want := agentpay.GrantLimits{Asset: "USD", PerPayment: 25_00, PerDay: 50_00, PerMonth: 80_00}
	if g.UserID != ada.user.ID || g.Limits != want || len(g.Scopes) != 1 || g.Scopes[0] != agentpay.ScopePaymentsCreate || g.AgentKeyID != st.Link.KeyID {
		t.Fatalf("grant = %+v", g)
	}
	// The agent's poll now gets the grant.
	if pg, err := s.links.Poll(context.Background(), st.DeviceCode); err != nil || pg.ID != g.ID {
		t.Fatalf("poll = %+v, %v", pg, err)
	}
	// The evidence is stored with the grant and re-verifies offline.
	approvals, err := s.db.ApprovalsOf(context.Background(), st.Link.ID)
	if err != nil || len(approvals) != 1 {
		t.Fatalf("approvals = %v, %v", approvals, err)
	}
	keys, _ := s.pk.Passkeys(context.Background(), ada.user.ID)
	if err := s.pk.VerifyApproval(approvals[0], keys[0]); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"per_payment":2500`, `"scopes":["payments:create"]`, `"key_id":"` + st.Link.KeyID} {
		if !strings.Contains(approvals[0].Object, want) {
			t.Fatalf("approved object %s lacks %s", approvals[0].Object, want)
		}
	}

	// Ada sees it approved; Eve sees only that it was decided.
	if w := ada.do("GET", page, nil, nil); !strings.Contains(w.Body.String(), `id="linked"`) {
		t.Fatalf("after approval: %s", w.Body)
	}
	w = eve.do("GET", page, nil, nil)
	if !strings.Contains(w.Body.String(), "approved") || strings.Contains(w.Body.String(), "Shopping helper") {
		t.Fatalf("another user sees a decided link's details: %s", w.Body)
	}
	// A second approval of a decided link is refused before any prompt.
	wantStatus(t, "approve again", eve.postJSONStatus("/link/approve/begin", newDecision(display, []string{"payments:create"}, "1.00", "1.00", "1.00")),
		409, "agent_link_decided")
}

func TestLinkPageDenyAndTiers(t *testing.T) {
	s := newLinkSite(t)
	bob := s.newPerson("bob@example.com", false)
	st := s.startLink(100_00)
	display := agentpay.FormatUserCode(st.Link.UserCode)

	// An unverified user sees why they cannot approve, and is refused.
	if w := bob.do("GET", "/link?code="+display, nil, nil); !strings.Contains(w.Body.String(), `id="tier-required"`) {
		t.Fatalf("tier 0 page: %s", w.Body)
	}
	wantStatus(t, "tier 0", bob.postJSONStatus("/link/approve/begin", newDecision(display, []string{"tips"}, "1.00", "1.00", "1.00")),
		403, "tier_unverified")

	// Above tier 1's 200.00 per payment is refused, not silently lowered.
	ann := s.newPerson("ann@example.com", true)
	big := s.startLink(1_000_00)
	bigCode := agentpay.FormatUserCode(big.Link.UserCode)
	if w := ann.do("GET", "/link?code="+bigCode, nil, nil); !strings.Contains(w.Body.String(), `value="200.00"`) {
		t.Fatalf("the page does not offer the tier's cap: %s", w.Body)
	}
	wantStatus(t, "above tier", ann.postJSONStatus("/link/approve/begin", newDecision(bigCode, []string{"tips"}, "300.00", "400.00", "1000.00")),
		403, "grant_exceeds_tier")

	// Denying needs the session's token; then the agent hears access_denied.
	wantStatus(t, "deny without token", ann.do("POST", "/link/deny", url.Values{"user_code": {display}}, nil), 403, "csrf_failed")
	w := ann.do("POST", "/link/deny", url.Values{"user_code": {display}, "csrf_token": {ann.csrf}}, nil)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("deny: %d %s", w.Code, w.Body)
	}
	if _, err := s.links.Poll(context.Background(), st.DeviceCode); agentpay.ErrorCode(err) != linking.CodeAccessDenied {
		t.Fatalf("poll after denial: %v", err)
	}
	if w := ann.do("GET", "/link?code="+display, nil, nil); !strings.Contains(w.Body.String(), "denied") {
		t.Fatalf("after denial: %s", w.Body)
	}
}

// Wrong codes are counted per user and per address, on every node; past
// the limit even the right code is refused for the window.
func TestLinkCodeGuessing(t *testing.T) {
	s := newLinkSite(t)
	mallory := s.newPerson("mallory@example.com", true)
	st := s.startLink(100_00)
	for i := range web.LinkGuessesPerUserMax {
		w := mallory.do("GET", "/link?code=BBBB-BB"+string("BCDFGHJKLM"[i])+"B", nil, nil)
		wantStatus(t, "wrong code", w, 404, "No agent asked to link with that code")
	}
	w := mallory.do("GET", "/link?code="+agentpay.FormatUserCode(st.Link.UserCode), nil, nil)
	wantStatus(t, "after the limit", w, http.StatusTooManyRequests, "Too many wrong codes")
	if strings.Contains(w.Body.String(), "Shopping helper") {
		t.Fatal("the page showed a link past the guessing limit")
	}
	// Another user from the same address still has some guesses left, up
	// to the address's limit.
	other := s.newPerson("other@example.com", true)
	if w := other.do("GET", "/link?code="+agentpay.FormatUserCode(st.Link.UserCode), nil, nil); w.Code != 200 {
		t.Fatalf("another user: %d", w.Code)
	}
	n, err := s.db.Attempts(context.Background(), "link_guess:ip:192.0.2.1", web.LinkGuessWindow, time.Now(), 100)
	if err != nil || n != web.LinkGuessesPerUserMax {
		t.Fatalf("address attempts = %d, %v", n, err)
	}
}

func TestLoginNextStaysOnSite(t *testing.T) {
	s := newLinkSite(t)
	b := &browser{t: t, h: s.h, cookies: map[string]*http.Cookie{}}
	for next, want := range map[string]string{
		"/link?code=BCDF-GHJK":  "/link?code=BCDF-GHJK",
		"":                      "/account",
		"https://evil.example/": "/account",
		"//evil.example/":       "/account",
		"/\\evil.example/":      "/account",
		"javascript:alert(1)":   "/account",
		"link":                  "/account",
	} {
		w := b.do("GET", "/login?next="+url.QueryEscape(next), nil, nil)
		if !strings.Contains(w.Body.String(), `data-next="`+template.HTMLEscapeString(want)+`"`) {
			t.Errorf("next %q: page carries %s, want %s", next, regexp.MustCompile(`data-next="[^"]*"`).FindString(w.Body.String()), want)
		}
	}
}

// startTipLink starts linking an agent that asks for scopes, 100.00 per
// payment and 200.00 a day, and tips without a tap of up to 5.00 each and
// 20.00 a day.
func (s *linkSite) startTipLink(scopes ...agentpay.Scope) linking.Started {
	s.t.Helper()
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	st, err := s.links.Start(context.Background(), linking.StartRequest{PublicKeyJWK: agentauth.JWK(pub), AgentName: "Tipper",
		SoftwareID: "com.example.tipper", Scopes: scopes,
		Limits: agentpay.GrantLimits{Asset: "USD", PerPayment: 100_00, PerDay: 200_00, PerMonth: 400_00},
		Tips:   linking.TipTerms{AutoApproveMax: 5_00, BudgetPerDay: 20_00}}, linking.RequestMeta{RemoteIP: "203.0.113.7"})
	if err != nil {
		s.t.Fatal(err)
	}
	return st
}

func tipDecision(code string, scopes []string, perDay, perTip, budget string) decision {
	d := newDecision(code, scopes, "100.00", perDay, "400.00")
	d.TipAutoApproveMax, d.TipBudgetPerDay = perTip, budget
	return d
}

// mandatesOf lists the mandates of the grant of a link, none if there is
// no grant.
func (s *linkSite) mandatesOf(grantID string) []agentpay.Mandate {
	s.t.Helper()
	ms, err := s.db.Mandates(context.Background(), store.MandatePage{Owner: "grant_id", ID: grantID, Limit: 10})
	if err != nil {
		s.t.Fatal(err)
	}
	return ms
}

func (s *linkSite) mandateCount() int {
	s.t.Helper()
	var n int
	if err := s.db.Reader().QueryRow(`SELECT COUNT(*) FROM mandates`).Scan(&n); err != nil {
		s.t.Fatal(err)
	}
	return n
}

// The linking page offers the tip terms the agent asked for; the user may
// lower them, and approving with the passkey makes the grant and its
// active tips mandate from exactly what was signed. What was not asked
// for, or cannot hold, is refused before the prompt; a raised budget that
// reaches the passkey anyway is refused after it, and nothing is written.
func TestLinkPageTipBudget(t *testing.T) {
	s := newLinkSite(t)
	ada := s.newPerson("ada@example.com", true)
	st := s.startTipLink(agentpay.ScopePaymentsCreate, agentpay.ScopeTips)
	display := agentpay.FormatUserCode(st.Link.UserCode)
	page := "/link?code=" + url.QueryEscape(display)
	tips := []string{"payments:create", "tips"}

	// Offered as asked, within the tier's 500.00 a day.
	wantStatus(t, "link page", ada.do("GET", page, nil, nil), 200, `id="tip_auto_approve_max" value="5.00"`)
	wantStatus(t, "link page", ada.do("GET", page, nil, nil), 200, `id="tip_budget_per_day" value="20.00"`)
	// No tip fields for an agent that does not ask to tip.
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	plain, err := s.links.Start(context.Background(), linking.StartRequest{PublicKeyJWK: agentauth.JWK(pub), AgentName: "Shopper",
		SoftwareID: "com.example.shopper", Scopes: []agentpay.Scope{agentpay.ScopePaymentsCreate},
		Limits: agentpay.GrantLimits{Asset: "USD", PerPayment: 10_00, PerDay: 20_00, PerMonth: 40_00}}, linking.RequestMeta{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(ada.do("GET", "/link?code="+agentpay.FormatUserCode(plain.Link.UserCode), nil, nil).Body.String(), "tip_budget_per_day") {
		t.Fatal("tip fields for an agent without the tips scope")
	}

	lowDay := tipDecision(display, tips, "15.00", "5.00", "20.00")
	lowDay.Limits.PerPayment = "10.00"
	for _, tt := range []struct {
		name   string
		d      decision
		status int
		code   string
	}{
		{"budget raised", tipDecision(display, tips, "200.00", "5.00", "20.01"), 400, "tip_budget_raised"},
		{"per tip raised", tipDecision(display, tips, "200.00", "5.01", "20.00"), 400, "tip_auto_approve_raised"},
		{"negative budget", tipDecision(display, tips, "200.00", "5.00", "-1.00"), 400, "invalid_limit"},
		{"budget not an amount", tipDecision(display, tips, "200.00", "5.00", "lots"), 400, "invalid_amount"},
		{"budget without per tip", tipDecision(display, tips, "200.00", "0", "10.00"), 400, "tip_auto_approve_required"},
		{"budget above the day", lowDay, 400, "tip_budget_exceeds_per_day"},
		{"budget below one tip", tipDecision(display, tips, "200.00", "5.00", "4.00"), 400, "tip_budget_below_auto_approve"},
	} {
		wantStatus(t, tt.name, ada.postJSONStatus("/link/approve/begin", tt.d), tt.status, tt.code)
	}

	t.Run("a raised budget signed anyway is refused", func(t *testing.T) {
		// As if the begin step had let it through: the object the passkey
		// signs carries a budget above what the agent asked for.
		obj := map[string]any{"type": "agent_link", "link_id": st.Link.ID, "user_code": st.Link.UserCode, "key_id": st.Link.KeyID,
			"agent_name": st.Link.AgentName, "software_id": st.Link.SoftwareID, "request_ip": st.Link.RequestIP, "scopes": tips,
			"limits":            map[string]any{"asset": "USD", "per_payment": 100_00, "per_day": 200_00, "per_month": 400_00},
			"grant_ttl_seconds": int64(linking.GrantTTL / time.Second), "tip_auto_approve_max": 5_00, "tip_budget_per_day": 50_00,
			"tip_time_zone": "UTC"}
		ceremony, options, err := s.pk.BeginApproval(context.Background(), ada.user.ID, st.Link.ID, obj)
		if err != nil {
			t.Fatal(err)
		}
		w := ada.doBody("POST", "/link/approve/finish?ceremony="+ceremony, ada.key.Get(t, options), map[string]string{"X-CSRF-Token": ada.csrf})
		wantStatus(t, "finish", w, 400, "tip_budget_raised")

		// A passkey signing anything but the object begun is refused too.
		var begun begunApproval
		ada.postJSON("/link/approve/begin", tipDecision(display, tips, "200.00", "2.00", "8.00"), &begun)
		tampered := sha256.Sum256([]byte(`{"tip_budget_per_day":20000}`))
		begun.Options.Response.Challenge = tampered[:]
		w = ada.doBody("POST", "/link/approve/finish?ceremony="+begun.Ceremony, ada.key.Get(t, &begun.Options), map[string]string{"X-CSRF-Token": ada.csrf})
		if w.Code < 400 || w.Code >= 500 {
			t.Fatalf("a tampered challenge: %d %s", w.Code, w.Body)
		}
		if p, err := s.links.Lookup(context.Background(), display); err != nil || p.Status != agentpay.AgentLinkPending {
			t.Fatalf("after the refusals the link is %+v (%v)", p.Status, err)
		}
		if n := s.mandateCount(); n != 0 {
			t.Fatalf("%d mandates written", n)
		}
	})

	// Ada lowers the tips to 2.00 each and 8.00 a day, in her time zone.
	d := tipDecision(display, tips, "200.00", "2.00", "8.00")
	d.TimeZone = "America/New_York"
	var begun begunApproval
	ada.postJSON("/link/approve/begin", d, &begun)
	var done struct {
		Grant       string
		TipsMandate string `json:"tips_mandate"`
	}
	ada.postJSON("/link/approve/finish?ceremony="+begun.Ceremony, json.RawMessage(ada.key.Get(t, &begun.Options)), &done)
	g, err := s.db.Grant(context.Background(), done.Grant)
	if err != nil {
		t.Fatal(err)
	}
	ms := s.mandatesOf(g.ID)
	if len(ms) != 1 || ms[0].ID != done.TipsMandate {
		t.Fatalf("mandates %+v, answered %q", ms, done.TipsMandate)
	}
	m := ms[0]
	if g.TipAutoApproveMax != 2_00 || m.Kind != agentpay.MandateTips || m.Status != agentpay.MandateActive || m.UserID != ada.user.ID ||
		m.PerPaymentMax != 2_00 || m.Budget != 8_00 || m.Asset != "USD" || m.TimeZone != "America/New_York" || m.EndsAt != g.ExpiresAt ||
		m.MerchantID != "" || len(m.Categories) != 0 {
		t.Fatalf("grant %+v, mandate %+v", g, m)
	}
	// What the passkey signed holds the tip terms, and re-verifies.
	approvals, err := s.db.ApprovalsOf(context.Background(), st.Link.ID)
	if err != nil || len(approvals) != 1 {
		t.Fatalf("approvals = %v, %v", approvals, err)
	}
	keys, _ := s.pk.Passkeys(context.Background(), ada.user.ID)
	if err := s.pk.VerifyApproval(approvals[0], keys[0]); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"tip_auto_approve_max":200`, `"tip_budget_per_day":800`, `"tip_time_zone":"America/New_York"`} {
		if !strings.Contains(approvals[0].Object, want) {
			t.Fatalf("approved object %s lacks %s", approvals[0].Object, want)
		}
	}
	if pg, err := s.links.Poll(context.Background(), st.DeviceCode); err != nil || pg.ID != g.ID {
		t.Fatalf("poll = %+v, %v", pg, err)
	}
}

// Unticking tips turns tips off, whatever the tip fields hold; a browser
// time zone the server does not know is UTC.
func TestLinkPageTipsUnticked(t *testing.T) {
	s := newLinkSite(t)
	ada := s.newPerson("ada@example.com", true)
	for _, tt := range []struct {
		name     string
		scopes   []string
		autoMax  int64
		mandates int
	}{
		{"tips unticked", []string{"payments:create"}, 0, 0},
		{"tips kept", []string{"payments:create", "tips"}, 5_00, 1},
	} {
		st := s.startTipLink(agentpay.ScopePaymentsCreate, agentpay.ScopeTips)
		d := tipDecision(agentpay.FormatUserCode(st.Link.UserCode), tt.scopes, "200.00", "5.00", "20.00")
		d.TimeZone = "Nowhere/Atlantis"
		var begun begunApproval
		ada.postJSON("/link/approve/begin", d, &begun)
		var done struct{ Grant string }
		ada.postJSON("/link/approve/finish?ceremony="+begun.Ceremony, json.RawMessage(ada.key.Get(t, &begun.Options)), &done)
		g, err := s.db.Grant(context.Background(), done.Grant)
		if err != nil {
			t.Fatal(err)
		}
		ms := s.mandatesOf(g.ID)
		if g.TipAutoApproveMax != tt.autoMax || len(ms) != tt.mandates || (len(ms) == 1 && ms[0].TimeZone != "UTC") {
			t.Fatalf("%s: grant %+v, mandates %+v", tt.name, g, ms)
		}
	}
}
