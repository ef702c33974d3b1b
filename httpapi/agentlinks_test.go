package httpapi_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/agentauth"
	"github.com/agentpay/agentpay/linking"
	"github.com/agentpay/agentpay/store"
)

type linkOut struct {
	ID, DeviceCode, UserCode, VerificationURI, VerificationURIComplete string
	ExpiresIn, Interval                                                int64
}

func (l *linkOut) from(t *testing.T, r response) {
	var v struct {
		ID                      string `json:"id"`
		DeviceCode              string `json:"device_code"`
		UserCode                string `json:"user_code"`
		VerificationURI         string `json:"verification_uri"`
		VerificationURIComplete string `json:"verification_uri_complete"`
		ExpiresIn               int64  `json:"expires_in"`
		Interval                int64  `json:"interval"`
	}
	r.decode(t, &v)
	*l = linkOut{v.ID, v.DeviceCode, v.UserCode, v.VerificationURI, v.VerificationURIComplete, v.ExpiresIn, v.Interval}
}

func agentJWK(t *testing.T) string {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return string(agentauth.JWK(pub))
}

func linkBody(jwk string) string {
	return `{"public_key":` + jwk + `,"agent_name":"Shopping Helper","software_id":"com.example.helper",
		"scopes":["payments:create","tips"],"limits":{"asset":"USD","per_payment":5000,"per_day":10000,"per_month":50000}}`
}

func startLink(t *testing.T, a *api) linkOut {
	t.Helper()
	r := a.send(request{Method: "POST", Path: "/v1/agent-links", Key: "k-" + randomHex(8), Body: linkBody(agentJWK(t)),
		Token: new(string), Headers: map[string]string{"User-Agent": "helper/1.0"}})
	mustStatus(t, r, 201)
	var l linkOut
	l.from(t, r)
	return l
}

func poll(t *testing.T, a *api, deviceCode string) response {
	t.Helper()
	return a.send(request{Method: "POST", Path: "/v1/agent-links/token", Body: `{"device_code":"` + deviceCode + `"}`, Token: new(string)})
}

func errorCode(t *testing.T, r response) (code, param string) {
	var e struct {
		Error struct{ Code, Param, Type string }
	}
	r.decode(t, &e)
	return e.Error.Code, e.Error.Param
}

func mustPollError(t *testing.T, a *api, deviceCode, code string) {
	t.Helper()
	r := poll(t, a, deviceCode)
	if got, _ := errorCode(t, r); r.Status != 400 || got != code {
		t.Fatalf("poll: want 400 %s, got %v", code, r)
	}
}

func countLinks(t *testing.T, a *api) int {
	var n int
	if err := a.db.Reader().QueryRow(`SELECT COUNT(*) FROM agent_links`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestAgentLinkStartValidation(t *testing.T) {
	forEachDB(t, func(t *testing.T, a *api) {
		jwk := agentJWK(t)
		good := linkBody(jwk)
		for _, tc := range []struct{ name, body, param string }{
			{"bad jwk", strings.Replace(good, jwk, `{"kty":"OKP","crv":"Ed25519","x":"abc"}`, 1), "public_key.x"},
			{"private jwk", strings.Replace(good, jwk, strings.TrimSuffix(jwk, "}")+`,"d":"AAAA"}`, 1), "public_key.d"},
			{"no key", strings.Replace(good, `"public_key":`+jwk+`,`, "", 1), "public_key"},
			{"unknown scope", strings.Replace(good, `"tips"`, `"admin"`, 1), "scopes"},
			{"no scopes", strings.Replace(good, `["payments:create","tips"]`, `[]`, 1), "scopes"},
			{"bad limits order", strings.Replace(good, `"per_payment":5000`, `"per_payment":50001`, 1), "limits.per_payment"},
			{"zero limit", strings.Replace(good, `"per_day":10000`, `"per_day":0`, 1), "limits.per_day"},
			{"unknown asset", strings.Replace(good, `"USD"`, `"ZZZ"`, 1), "limits.asset"},
			{"long name", strings.Replace(good, "Shopping Helper", strings.Repeat("x", 101), 1), "agent_name"},
			{"control in software id", strings.Replace(good, "com.example.helper", `a\u0007b`, 1), "software_id"},
		} {
			r := a.send(request{Method: "POST", Path: "/v1/agent-links", Key: "k-" + randomHex(8), Body: tc.body, Token: new(string)})
			if _, param := errorCode(t, r); r.Status != 400 || param != tc.param {
				t.Errorf("%s: want 400 param %s, got %v", tc.name, tc.param, r)
			}
		}
		r := a.send(request{Method: "POST", Path: "/v1/agent-links", Key: "k", Body: `{"agent_name":"` + strings.Repeat("x", 9000) + `"}`, Token: new(string)})
		mustStatus(t, r, 413)
		r = a.send(request{Method: "POST", Path: "/v1/agent-links", Body: good, Token: new(string)})
		mustStatus(t, r, 400) // no Idempotency-Key
		if n := countLinks(t, a); n != 0 {
			t.Fatalf("%d links written by refused requests", n)
		}
	})
}

func TestAgentLinkFlow(t *testing.T) {
	forEachDB(t, func(t *testing.T, a *api) {
		mustUser(t, a.db, "usr_1", agentpay.TierContact)
		ctx := context.Background()
		l := startLink(t, a)
		if len(l.UserCode) != 9 || l.UserCode[4] != '-' || strings.Trim(strings.Replace(l.UserCode, "-", "", 1), agentpay.UserCodeAlphabet) != "" {
			t.Fatalf("user code %q", l.UserCode)
		}
		if l.VerificationURI != "http://127.0.0.1:8080/link" || l.VerificationURIComplete != l.VerificationURI+"?code="+l.UserCode ||
			l.ExpiresIn != 900 || l.Interval != 5 || len(l.DeviceCode) != 43 {
			t.Fatalf("start answered %+v", l)
		}
		// The device code is stored hashed only.
		var hash, ua, ip string
		if err := a.db.Reader().QueryRow(`SELECT device_code_hash, request_user_agent, request_ip FROM agent_links`).Scan(&hash, &ua, &ip); err != nil {
			t.Fatal(err)
		}
		if hash != agentpay.HashDeviceCode(l.DeviceCode) || strings.Contains(hash, l.DeviceCode) || ua != "helper/1.0" || ip != "127.0.0.1" {
			t.Fatalf("stored hash %s ua %q ip %q", hash, ua, ip)
		}
		mustPollError(t, a, l.DeviceCode, "authorization_pending")
		mustPollError(t, a, l.DeviceCode, "slow_down")
		mustPollError(t, a, "nope", "invalid_grant")

		svc := &linking.Service{DB: a.db}
		p, err := svc.Lookup(ctx, strings.ToLower(l.UserCode))
		if err != nil || p.AgentNameVerified || p.SoftwareIDVerified || p.AgentName != "Shopping Helper" || p.RequestUserAgent != "helper/1.0" || !p.DecisionsOutstanding {
			t.Fatalf("lookup %+v %v", p, err)
		}
		raised := agentpay.GrantLimits{Asset: "USD", PerPayment: 5001, PerDay: 10000, PerMonth: 50000}
		if _, err := svc.Approve(ctx, l.UserCode, linking.Approval{UserID: "usr_1", Limits: &raised}); agentpay.ErrorCode(err) != "limits_raised" {
			t.Fatalf("raised limits: %v", err)
		}
		other := agentpay.GrantLimits{Asset: "EUR", PerPayment: 1, PerDay: 1, PerMonth: 1}
		if _, err := svc.Approve(ctx, l.UserCode, linking.Approval{UserID: "usr_1", Limits: &other}); agentpay.ErrorCode(err) != "limits_raised" {
			t.Fatalf("other asset: %v", err)
		}
		if _, err := svc.Approve(ctx, l.UserCode, linking.Approval{UserID: "usr_1", Scopes: []agentpay.Scope{"subscriptions"}}); agentpay.ErrorCode(err) != "scope_not_requested" {
			t.Fatalf("extra scope: %v", err)
		}
		lower := agentpay.GrantLimits{Asset: "USD", PerPayment: 1000, PerDay: 2000, PerMonth: 3000}
		g, err := svc.Approve(ctx, l.UserCode, linking.Approval{UserID: "usr_1", Limits: &lower, Scopes: []agentpay.Scope{"tips"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Approve(ctx, l.UserCode, linking.Approval{UserID: "usr_1"}); agentpay.ErrorCode(err) != "agent_link_decided" {
			t.Fatalf("second approval: %v", err)
		}
		for i := 0; i < 2; i++ { // a repeated poll gets the grant again
			r := poll(t, a, l.DeviceCode)
			mustStatus(t, r, 200)
			var out struct {
				ID     string   `json:"id"`
				Scopes []string `json:"scopes"`
				Limits struct {
					PerPayment int64 `json:"per_payment"`
					PerMonth   int64 `json:"per_month"`
				} `json:"limits"`
				TipAutoApproveMax int64  `json:"tip_auto_approve_max"`
				AgentKeyID        string `json:"agent_key_id"`
			}
			r.decode(t, &out)
			if out.ID != g.ID || len(out.Scopes) != 1 || out.Limits.PerPayment != 1000 || out.Limits.PerMonth != 3000 || out.TipAutoApproveMax != 0 || out.AgentKeyID != p.KeyID {
				t.Fatalf("grant %v", r)
			}
		}
	})
}

func TestAgentLinkDenyAndExpiry(t *testing.T) {
	forEachDB(t, func(t *testing.T, a *api) {
		mustUser(t, a.db, "usr_1", agentpay.TierContact)
		ctx := context.Background()
		svc := &linking.Service{DB: a.db}
		l := startLink(t, a)
		if err := svc.Deny(ctx, l.UserCode, "usr_1"); err != nil {
			t.Fatal(err)
		}
		mustPollError(t, a, l.DeviceCode, "access_denied")
		if _, err := svc.Approve(ctx, l.UserCode, linking.Approval{UserID: "usr_1"}); agentpay.ErrorCode(err) != "agent_link_decided" {
			t.Fatalf("approve after deny: %v", err)
		}

		l = startLink(t, a)
		later := &linking.Service{DB: a.db, Now: func() time.Time { return time.Now().Add(agentpay.AgentLinkTTL + time.Second) }}
		if _, err := later.Approve(ctx, l.UserCode, linking.Approval{UserID: "usr_1"}); agentpay.ErrorCode(err) != "expired_token" {
			t.Fatalf("approve after expiry: %v", err)
		}
		if _, err := later.Poll(ctx, l.DeviceCode); agentpay.ErrorCode(err) != "expired_token" {
			t.Fatalf("poll after expiry: %v", err)
		}
		// The expiry is stored: even the real clock now says expired.
		mustPollError(t, a, l.DeviceCode, "expired_token")
		if _, err := svc.Approve(ctx, l.UserCode, linking.Approval{UserID: "usr_1"}); agentpay.ErrorCode(err) != "expired_token" {
			t.Fatalf("approve of a stored expiry: %v", err)
		}
	})
}

func TestAgentLinkApproveRacesDeny(t *testing.T) {
	forEachDB(t, func(t *testing.T, a *api) {
		mustUser(t, a.db, "usr_1", agentpay.TierContact)
		ctx := context.Background()
		svc := &linking.Service{DB: a.db}
		for round := 0; round < 5; round++ {
			l := startLink(t, a)
			var wg sync.WaitGroup
			var approveErr, denyErr error
			wg.Add(2)
			go func() {
				defer wg.Done()
				_, approveErr = svc.Approve(ctx, l.UserCode, linking.Approval{UserID: "usr_1"})
			}()
			go func() { defer wg.Done(); denyErr = svc.Deny(ctx, l.UserCode, "usr_2") }()
			wg.Wait()
			if (approveErr == nil) == (denyErr == nil) {
				t.Fatalf("round %d: approve %v, deny %v: exactly one must win", round, approveErr, denyErr)
			}
			var grants int
			if err := a.db.Reader().QueryRow(`SELECT COUNT(*) FROM grants g JOIN agent_links l ON l.grant_id = g.id WHERE l.user_code = $1`,
				strings.Replace(l.UserCode, "-", "", 1)).Scan(&grants); err != nil {
				t.Fatal(err)
			}
			if want := map[bool]int{true: 1, false: 0}[approveErr == nil]; grants != want {
				t.Fatalf("round %d: %d grants", round, grants)
			}
			if approveErr == nil {
				mustStatus(t, poll(t, a, l.DeviceCode), 200)
			} else {
				mustPollError(t, a, l.DeviceCode, "access_denied")
			}
		}
	})
}

// tipLinkBody is linkBody with tip terms added (tips is JSON members).
func tipLinkBody(jwk, tips string) string {
	b := linkBody(jwk)
	return b[:len(b)-1] + "," + tips + "}"
}

// An agent may ask for tip terms with the tips scope; terms that cannot be
// approved are refused with the field at fault, and nothing is recorded.
func TestAgentLinkTipTerms(t *testing.T) {
	forEachDB(t, func(t *testing.T, a *api) {
		jwk := agentJWK(t)
		for _, tc := range []struct{ name, body, code, param string }{
			{"negative per tip", tipLinkBody(jwk, `"tip_auto_approve_max":-1`), "invalid_limit", "tip_auto_approve_max"},
			{"per tip above per payment", tipLinkBody(jwk, `"tip_auto_approve_max":5001`), "invalid_limit", "tip_auto_approve_max"},
			{"negative budget", tipLinkBody(jwk, `"tip_auto_approve_max":200,"tip_budget_per_day":-1`), "invalid_limit", "tip_budget_per_day"},
			{"budget above per day", tipLinkBody(jwk, `"tip_auto_approve_max":200,"tip_budget_per_day":10001`), "tip_budget_exceeds_per_day", "tip_budget_per_day"},
			{"budget with auto-approve 0", tipLinkBody(jwk, `"tip_budget_per_day":500`), "tip_auto_approve_required", "tip_budget_per_day"},
			{"budget below one tip", tipLinkBody(jwk, `"tip_auto_approve_max":200,"tip_budget_per_day":199`), "tip_budget_below_auto_approve", "tip_budget_per_day"},
			{"without the tips scope", strings.Replace(tipLinkBody(jwk, `"tip_auto_approve_max":200,"tip_budget_per_day":500`), `,"tips"`, "", 1),
				"tips_scope_required", "tip_budget_per_day"},
			{"not whole minor units", tipLinkBody(jwk, `"tip_auto_approve_max":200,"tip_budget_per_day":5.5`), "invalid_amount", "tip_budget_per_day"},
		} {
			r := a.send(request{Method: "POST", Path: "/v1/agent-links", Key: "k-" + randomHex(8), Body: tc.body, Token: new(string)})
			if code, param := errorCode(t, r); r.Status != 400 || code != tc.code || param != tc.param {
				t.Errorf("%s: want 400 %s at %s, got %v", tc.name, tc.code, tc.param, r)
			}
		}
		if n := countLinks(t, a); n != 0 {
			t.Fatalf("%d links written by refused requests", n)
		}
		r := a.send(request{Method: "POST", Path: "/v1/agent-links", Key: "k-" + randomHex(8),
			Body: tipLinkBody(jwk, `"tip_auto_approve_max":200,"tip_budget_per_day":500`), Token: new(string)})
		mustStatus(t, r, 201)
		var l linkOut
		l.from(t, r)
		p, err := (&linking.Service{DB: a.db}).Lookup(context.Background(), l.UserCode)
		if err != nil || p.RequestedTipAutoApproveMax != 200 || p.RequestedTipBudgetPerDay != 500 {
			t.Fatalf("stored %+v (%v)", p.AgentLink, err)
		}
	})
}

// The tip budget set at linking is all an agent needs to tip without a
// tap: POST /v1/tips within the threshold and the day's budget is captured
// at once, past the budget it asks the user; revoking the grant ends it.
func TestAgentLinkTipBudgetTips(t *testing.T) {
	forEachSharedDB(t, func(t *testing.T, db, _ *store.DB) {
		s := newClaimShop(t, db)
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		pub := priv.Public().(ed25519.PublicKey)
		r := s.a.send(request{Method: "POST", Path: "/v1/agent-links", Key: "k-" + randomHex(8),
			Body: tipLinkBody(string(agentauth.JWK(pub)), `"tip_auto_approve_max":200,"tip_budget_per_day":500`), Token: new(string)})
		mustStatus(t, r, 201)
		var l linkOut
		l.from(t, r)
		if _, err := (&linking.Service{DB: db}).Approve(s.ctx, l.UserCode, linking.Approval{UserID: s.ada.id}); err != nil {
			t.Fatal(err)
		}
		r = poll(t, s.a, l.DeviceCode)
		mustStatus(t, r, 200)
		var g struct {
			ID                string `json:"id"`
			TipAutoApproveMax int64  `json:"tip_auto_approve_max"`
			TipBudgetPerDay   int64  `json:"tip_budget_per_day"`
			TipsMandate       string `json:"tips_mandate"`
		}
		r.decode(t, &g)
		if g.TipAutoApproveMax != 200 || g.TipBudgetPerDay != 500 || !strings.HasPrefix(g.TipsMandate, "man_") {
			t.Fatalf("poll: %v", r)
		}
		ag := linkedAgent{key: priv, keyID: agentauth.Thumbprint(pub), grantID: g.ID, userID: s.ada.id}

		for i, step := range []struct {
			amount int64
			status string
			auto   bool
		}{{2_00, "captured", true}, {2_01, "requires_approval", false}, {2_00, "captured", true},
			{1_50, "requires_approval", false}, {1_00, "captured", true}} {
			r := s.sendTip(ag, "tip-"+strconv.Itoa(i), s.tipBody(step.amount, "thanks"))
			mustStatus(t, r, http.StatusCreated)
			var tip tipOut
			r.decode(t, &tip)
			if tip.Status != step.status || tip.Tip == nil || tip.Tip.AutoApproved != step.auto || (tip.Tip.Mandate == g.TipsMandate) != step.auto {
				t.Fatalf("tip %d of %d: %v", i, step.amount, r)
			}
		}

		revoke := me(s.a, s.ada, "POST", "/v1/me/grants/"+g.ID+"/revoke", s.ada.csrf, "revoke-"+randomHex(4), "")
		mustStatus(t, revoke, 200)
		m, err := db.Mandate(s.ctx, g.TipsMandate)
		if err != nil || m.Status != agentpay.MandateRevoked {
			t.Fatalf("after revoking the grant its tips mandate is %s (%v)", m.Status, err)
		}
		mustRefuse(t, s.sendTip(ag, "tip-after", s.tipBody(1_00, "thanks")), http.StatusUnauthorized, "grant_revoked")
	})
}
