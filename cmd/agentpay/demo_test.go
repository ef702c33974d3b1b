package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentpay/agentpay/consent"
	"github.com/agentpay/agentpay/consent/consenttest"
	"github.com/agentpay/agentpay/identity"
	"github.com/agentpay/agentpay/store"
)

// syncBuffer is an output a demo writes while a test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestDemoAuto runs "agentpay demo --auto" in process and reads its story:
// the payment captured, the merchant's webhooks verified, balances that add
// up with ledger.Check passing, and the audit trail with its re-verified
// approval.
func TestDemoAuto(t *testing.T) {
	t.Parallel()
	var out syncBuffer
	start := time.Now()
	if err := runDemo(context.Background(), []string{"--auto", "--addr", "127.0.0.1:0"}, &out); err != nil {
		t.Fatalf("demo --auto: %v\n%s", err, out.String())
	}
	text := out.String()
	t.Logf("demo --auto took %s", time.Since(start))
	want := []string{
		// The order and the approval.
		`the agent chose: 1 × Flat white at 3\.90 USD`,
		`the agent chose: 1 × Croissant at 3\.20 USD`,
		`payment (pay_\w+) created by a signed request .*: requires_approval, version 1`,
		`risk control at create: challenge — first_payment_to_merchant`,
		`/demo/start\?token=[0-9a-f]{64}`,
		`registered passkey [\w-]+ \(POST /webauthn/register/begin\|finish\)`,
		`the agent sees it approved \(version 1\): 7\.10 USD is held`,
		`Corner Coffee captured 7\.10 USD of pay_\w+ .* 10 bps, 0\.01 USD, goes to the protection fund`,
		// The webhooks, each verified.
		`payment\.created +evt_\w+ +seq 1 +about pay_\w+ +signature verified`,
		`payment\.authorized +evt_\w+ +seq 2 +about pay_\w+ +signature verified`,
		`payment\.captured +evt_\w+ +seq 3 +about pay_\w+ +signature verified`,
		// The balances: 50.00 in, 7.10 paid, 0.01 of it to the fund.
		`user wallet +acc_usr_\w+_USD +42\.90 +0\.00 +42\.90`,
		`merchant Corner Coffee +acc_mer_\w+_USD +7\.09 +0\.00 +7\.09`,
		`protection fund +acc_protection_fund_USD +0\.01`,
		`funding \(the outside world\) +acc_funding_USD +-50\.00`,
		`these accounts sum to 0\.00 USD`,
		`payment_capture +capt_\w+ +7\.10 +user wallet → merchant Corner Coffee +post_pending of hold_\w+`,
		`protection_fee +pfee_\w+ +0\.01 +merchant Corner Coffee → protection fund`,
		`ledger\.Check: passed`,
		// The audit trail.
		`seq 1 +[\d:.]+ +payment\.created +evt_\w+`,
		`seq 2 +[\d:.]+ +payment\.authorized +evt_\w+`,
		`seq 3 +[\d:.]+ +payment\.captured +evt_\w+`,
		`[\d:.]+ +approve +version 1 +challenge +rules version \d+ — first_payment_to_merchant`,
		`apv_\w+ at [\d:.]+ by usr_\w+ with passkey [\w-]+`,
		`the passkey signed SHA-256 [\w-]{43}`,
		`payment pay_\w+ version 1: pay Corner Coffee 7\.10 USD \(category 5814\) for 1 × Flat white, 1 × Croissant`,
		`\(consent\.Passkeys\.VerifyApproval\): valid`,
		`what it signed is the payment as stored now \(payments\.Service\.ApprovedObject\): yes`,
		`Done: the payment went through and every check passed\.`,
	}
	for _, w := range want {
		if !regexp.MustCompile(w).MatchString(text) {
			t.Errorf("the output lacks %s", w)
		}
	}
	for _, bad := range []string{"REFUSED", "FAILED", "NOT the payment", "NONE"} {
		if strings.Contains(text, bad) {
			t.Errorf("the output says %s", bad)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", text)
	}
}

// TestDemoAutoFails: a run that cannot complete returns an error, so the
// command exits non-zero.
func TestDemoAutoFails(t *testing.T) {
	t.Parallel()
	var out syncBuffer
	err := runDemo(context.Background(), []string{"--auto", "--addr", "127.0.0.1:0", "--ask", "a large pizza"}, &out)
	if err == nil || !strings.Contains(err.Error(), "nothing on Corner Coffee's menu matches") {
		t.Fatalf("demo --ask 'a large pizza' = %v, want nothing on the menu\n%s", err, out.String())
	}
	if err := runDemo(context.Background(), []string{"--auto", "surplus"}, &out); err == nil {
		t.Error("demo with an argument succeeded")
	}
}

// TestDemoStartToken: the one-time link opens a session for the demo user
// once, only from a loopback address, and only once the payment exists;
// the passkey page then asks for a passkey and, with one, forwards to the
// payment.
func TestDemoStartToken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := openDB(ctx, "sqlite:"+t.TempDir()+"/demo.db", slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	const base = "http://localhost:8080"
	u, err := (&identity.Service{DB: db}).SignUp(ctx, identity.SignUpRequest{Email: "ada@example.com", DisplayName: "Ada", Country: "US"})
	if err != nil {
		t.Fatal(err)
	}
	s := newDemoStart(db, base)
	mux := http.NewServeMux()
	s.routes(mux)
	get := func(path, remote string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, base+path, nil)
		r.RemoteAddr = remote
		for _, c := range cookies {
			r.AddCookie(c)
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		return w
	}
	refused := func(what string, w *httptest.ResponseRecorder, status int) {
		t.Helper()
		if w.Code != status || len(w.Result().Cookies()) != 0 {
			t.Errorf("%s: %d with cookies %v, want %d and none", what, w.Code, w.Result().Cookies(), status)
		}
	}

	refused("before the payment exists", get(s.link(), "127.0.0.1:50000"), http.StatusForbidden)
	s.setTarget(u.ID, u.DisplayName, "pay_demo1", "Pay Corner Coffee 7.10 USD.")
	refused("from another machine", get(s.link(), "192.0.2.7:50000"), http.StatusForbidden)
	refused("with a wrong token", get("/demo/start?token="+strings.Repeat("0", 64), "127.0.0.1:50000"), http.StatusForbidden)
	refused("without a token", get("/demo/start", "127.0.0.1:50000"), http.StatusForbidden)

	w := get(s.link(), "[::1]:50000")
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/demo/passkey" {
		t.Fatalf("the link from loopback: %d to %q, want 303 to /demo/passkey", w.Code, w.Header().Get("Location"))
	}
	var cookie *http.Cookie
	for _, c := range w.Result().Cookies() {
		if c.Name == consent.SessionCookie {
			cookie = c
		}
	}
	if cookie == nil {
		t.Fatal("the link set no session cookie")
	}
	r := httptest.NewRequest(http.MethodGet, base+"/account", nil)
	r.AddCookie(cookie)
	if sess, err := s.sessions.Lookup(ctx, r); err != nil || sess.UserID != u.ID {
		t.Fatalf("the session is %+v, %v; want one of %s", sess, err, u.ID)
	}
	refused("the link a second time", get(s.link(), "127.0.0.1:50000"), http.StatusForbidden)

	// The passkey page: only with the session; a form for a first passkey,
	// then the payment.
	if w := get("/demo/passkey", "127.0.0.1:50000"); w.Code != http.StatusUnauthorized {
		t.Errorf("the passkey page without a session: %d, want 401", w.Code)
	}
	w = get("/demo/passkey", "127.0.0.1:50000", cookie)
	page := w.Body.String()
	if w.Code != http.StatusOK || !strings.Contains(page, `id="add-passkey"`) || !csrfMeta.MatchString(page) ||
		!strings.Contains(page, "Pay Corner Coffee 7.10 USD.") {
		t.Fatalf("the passkey page: %d %s", w.Code, page)
	}
	pk, err := consent.NewPasskeys(db, base)
	if err != nil {
		t.Fatal(err)
	}
	registerPasskey(t, db, pk, u.ID, base)
	if w := get("/demo/passkey", "127.0.0.1:50000", cookie); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/pay/pay_demo1" {
		t.Errorf("the passkey page with a passkey: %d to %q, want 303 to /pay/pay_demo1", w.Code, w.Header().Get("Location"))
	}
}

func registerPasskey(t *testing.T, db *store.DB, pk *consent.Passkeys, userID, origin string) {
	t.Helper()
	a := consenttest.New(t, origin)
	id, creation, err := pk.BeginRegistration(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pk.FinishRegistration(context.Background(), userID, id, a.Create(t, creation)); err != nil {
		t.Fatal(err)
	}
	if keys, err := db.UserPasskeys(context.Background(), userID); err != nil || len(keys) != 1 {
		t.Fatalf("passkeys after registering: %v, %v", keys, err)
	}
}
