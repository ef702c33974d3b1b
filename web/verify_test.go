package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
	"github.com/agentpay/agentpay/store/storetest"
)

func (s *site) tier(userID string) agentpay.Tier {
	s.t.Helper()
	u, err := s.db.User(context.Background(), userID)
	if err != nil {
		s.t.Fatal(err)
	}
	return u.Tier
}

func (s *site) attempts(challengeID string) int64 {
	s.t.Helper()
	c, err := s.db.Challenge(context.Background(), challengeID)
	if err != nil {
		s.t.Fatal(err)
	}
	return c.Attempts
}

// wrong returns a well-formed code that is not code.
func wrong(code string) string {
	if code == "000000" {
		return "111111"
	}
	return "000000"
}

func TestVerifyByCode(t *testing.T) {
	storetest.Engines(t, "web", func(t *testing.T, open func() *store.DB) {
		s := newAccountSite(t, open())
		ada := s.signUp("ada@example.com")
		token := ada.csrf("/account")
		form := func(kv ...string) url.Values {
			v := url.Values{"csrf_token": {token}}
			for i := 0; i < len(kv); i += 2 {
				v.Set(kv[i], kv[i+1])
			}
			return v
		}

		wantStatus(t, "start without token", ada.do("POST", "/account/verify/code/start", url.Values{}, nil), 403, "csrf_failed")
		if s.codes.count() != 0 {
			t.Fatal("a refused start sent a code")
		}
		id := challenge(t, ada.do("POST", "/account/verify/code/start", form(), nil))
		code, _ := s.codes.last(t)

		// Answers refused before the verifier: nothing is written.
		for _, c := range []struct {
			name   string
			form   url.Values
			status int
			want   string
		}{
			{"no token", url.Values{"challenge": {id}, "code": {code}}, 403, "csrf_failed"},
			{"malformed code", form("challenge", id, "code", "12ab56"), 400, "the 6 digits we sent you"},
			{"short code", form("challenge", id, "code", "123"), 400, "the 6 digits we sent you"},
			{"no challenge", form("code", code), 404, "start a new one"},
			{"malformed challenge", form("challenge", "vch_<x>", "code", code), 404, "start a new one"},
		} {
			wantStatus(t, c.name, ada.do("POST", "/account/verify/code/confirm", c.form, nil), c.status, c.want)
			if n := s.attempts(id); n != 0 || s.tier(ada.id) != agentpay.TierUnverified {
				t.Fatalf("%s: %d attempts, tier %d", c.name, n, s.tier(ada.id))
			}
		}

		// Wrong codes count down, then lock the challenge; the right code
		// no longer works on it.
		for left := 4; left >= 1; left-- {
			w := ada.do("POST", "/account/verify/code/confirm", form("challenge", id, "code", wrong(code)), nil)
			wantStatus(t, "wrong code", w, 403, "wrong answer; "+string(rune('0'+left))+" attempts left")
			if challengeRE.FindStringSubmatch(w.Body.String())[1] != id {
				t.Fatal("the form lost its challenge")
			}
		}
		w := ada.do("POST", "/account/verify/code/confirm", form("challenge", id, "code", wrong(code)), nil)
		wantStatus(t, "last wrong code", w, 403, "this verification is locked")
		if strings.Contains(w.Body.String(), `name="code"`) || !strings.Contains(w.Body.String(), `action="/account/verify/code/start"`) {
			t.Fatalf("locked page offers the code form: %s", w.Body)
		}
		wantStatus(t, "right code, locked", ada.do("POST", "/account/verify/code/confirm", form("challenge", id, "code", code), nil),
			403, "this verification is locked")
		if s.tier(ada.id) != agentpay.TierUnverified {
			t.Fatal("a locked challenge raised the tier")
		}

		// Another user cannot answer ada's challenge.
		bob := s.signUp("bob@example.com")
		id = challenge(t, ada.do("POST", "/account/verify/code/start", form(), nil))
		code, _ = s.codes.last(t)
		wantStatus(t, "someone else's challenge", bob.do("POST", "/account/verify/code/confirm",
			url.Values{"csrf_token": {bob.csrf("/account")}, "challenge": {id}, "code": {code}}, nil), 404, "start a new one")

		w = ada.do("POST", "/account/verify/code/confirm", form("challenge", id, "code", code[:3]+" "+code[3:]), nil)
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/account?notice=verified_contact" {
			t.Fatalf("right code: %d %s", w.Code, w.Body)
		}
		if s.tier(ada.id) != agentpay.TierContact || s.tier(bob.id) != agentpay.TierUnverified {
			t.Fatal("tiers after verifying")
		}
		body := ada.do("GET", "/account?notice=verified_contact", nil, nil).Body.String()
		if !strings.Contains(body, `<dd id="tier">1</dd>`) || !strings.Contains(body, "contact details are verified") {
			t.Fatalf("account after verifying: %s", body)
		}
		wantStatus(t, "challenge used", ada.do("POST", "/account/verify/code/confirm", form("challenge", id, "code", code), nil),
			409, "already used")
		sent := s.codes.count()
		wantStatus(t, "start again at tier 1", ada.do("POST", "/account/verify/code/start", form(), nil), 409, "already verified")
		if s.codes.count() != sent {
			t.Fatal("a code was sent to a verified user")
		}
	})
}

func TestVerifyByDocument(t *testing.T) {
	s := newAccountSite(t, openDB(t))
	ada := s.signUp("ada@example.com")
	token := ada.csrf("/account")
	wantStatus(t, "document at tier 0", ada.do("POST", "/account/verify/document/start", url.Values{"csrf_token": {token}}, nil),
		403, "verify at tier 1 first")
	s.verifyCode(ada)

	w := ada.do("POST", "/account/verify/document/start", url.Values{"csrf_token": {token}}, nil)
	id := challenge(t, w)
	if !strings.Contains(w.Body.String(), `name="document"`) {
		t.Fatalf("document form: %s", w.Body)
	}
	for _, bad := range []string{"", "passport:", "passport:X1", "visa:X1234567", "passport:X12 34567", strings.Repeat("x", 300)} {
		w := ada.do("POST", "/account/verify/document/confirm", url.Values{"csrf_token": {token}, "challenge": {id}, "document": {bad}}, nil)
		wantStatus(t, "document "+bad, w, 400, "passport:X1234567")
		if s.attempts(id) != 0 || s.tier(ada.id) != agentpay.TierContact {
			t.Fatalf("document %q was written", bad)
		}
		if strings.Contains(w.Body.String(), "X12 34567") {
			t.Fatal("the page echoed the document number")
		}
	}
	w = ada.do("POST", "/account/verify/document/confirm", url.Values{"csrf_token": {token}, "challenge": {id}, "document": {"passport:X1234567"}}, nil)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/account?notice=verified_document" {
		t.Fatalf("document: %d %s", w.Code, w.Body)
	}
	body := ada.do("GET", "/account?notice=verified_document", nil, nil).Body.String()
	if s.tier(ada.id) != agentpay.TierDocument || !strings.Contains(body, `<dd id="tier">2</dd>`) ||
		!strings.Contains(body, "<td>2 (yours)</td>") || strings.Contains(body, "/account/verify/") {
		t.Fatalf("account at tier 2: %s", body)
	}
}
