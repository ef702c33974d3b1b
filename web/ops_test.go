package web_test

import (
	"crypto/sha256"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/compensation"
)

var opsCSRF = regexp.MustCompile(`name="csrf_token" value="([0-9a-f]{64})"`)

// The operator page: only the operator token signs in; it shows what risk
// control held and why, and the claims the evidence did not decide; its
// buttons release or decline a payment and approve or deny a claim, each
// with the session's CSRF token.
func TestOpsPage(t *testing.T) {
	s := newPaySite(t)
	s.h.OperatorTokenSHA256 = sha256.Sum256([]byte("operator-token-0123456789"))
	ada := s.newShopper("ada@example.com", 1_000_00)

	// A captured payment whose user says it never arrived: for a person.
	p := s.create(ada.grant, s.merchant, "USD", teaOrder(greenTea))
	if w := ada.finishPay(p.ID, ada.beginPay(p.ID, 1)); w.Code != 200 {
		t.Fatalf("approve: %d %s", w.Code, w.Body)
	}
	captured, unit, err := s.svc.PrepareCapture(s.ctx, s.merchant.ID, p.ID, 0)
	if err == nil {
		_, err = s.svc.Commit(s.ctx, captured, unit)
	}
	if err != nil {
		t.Fatal(err)
	}
	claims := &compensation.Service{DB: s.db, Payments: s.svc, Passkeys: s.pk}
	claim, err := claims.File(s.ctx, compensation.FileRequest{UserID: ada.user.ID, PaymentID: p.ID, Kind: compensation.KindNotReceived,
		Description: "the parcel never came"})
	if err != nil {
		t.Fatal(err)
	}
	if claim.Status != compensation.StatusInReview {
		t.Fatalf("claim %+v", claim)
	}
	// Two payments risk control holds.
	if _, err := s.svc.SaveRules(s.ctx, `hold_all review "Held for a check." true`); err != nil {
		t.Fatal(err)
	}
	held := s.create(ada.grant, s.merchant, "USD", teaOrder(greenTea))
	held2 := s.create(ada.grant, s.merchant, "USD", teaOrder(teapot))
	if held.Status != agentpay.PaymentInReview || held2.Status != agentpay.PaymentInReview {
		t.Fatalf("not held: %s %s", held.Status, held2.Status)
	}

	op := &browser{t: t, h: s.h, cookies: map[string]*http.Cookie{}}
	w := op.do("GET", "/ops", nil, nil)
	wantBody(t, "the page before signing in", w, 200, `name="token"`)
	if strings.Contains(w.Body.String(), held.ID) {
		t.Fatal("the sign-in page shows a held payment")
	}
	anon := opsCSRF.FindStringSubmatch(w.Body.String())[1]
	wantBody(t, "a wrong token", op.do("POST", "/ops/login", url.Values{"csrf_token": {anon}, "token": {"guess"}}, nil), 401, "not the operator token")
	// A user's session is not an operator's.
	wantBody(t, "a user at /ops", ada.do("GET", "/ops", nil, nil), 200, `name="token"`)
	w = op.do("POST", "/ops/login", url.Values{"csrf_token": {anon}, "token": {"operator-token-0123456789"}}, nil)
	if w.Code != http.StatusSeeOther || op.cookies["agentpay_ops"] == nil {
		t.Fatalf("sign-in: %d %v", w.Code, w.Result().Cookies())
	}
	if c := op.cookies["agentpay_ops"]; !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/ops" {
		t.Fatalf("cookie %+v", c)
	}
	w = op.do("GET", "/ops", nil, nil)
	wantBody(t, "the review page", w, 200, "held-"+held.ID, "held-"+held2.ID, "hold_all", "Held for a check.",
		"first payment to merchant", "agent key: users this hour", "claim-"+claim.ID, "the parcel never came", "merchant_dispute")
	csrf := opsCSRF.FindStringSubmatch(w.Body.String())[1]

	wantBody(t, "release without the token", op.do("POST", "/ops/payments/"+held.ID+"/release", url.Values{}, nil), 403, "csrf_failed")
	// A forged cookie signs nobody in.
	forged := &browser{t: t, h: s.h, cookies: map[string]*http.Cookie{"agentpay_ops": {Name: "agentpay_ops", Value: "9999999999.00"}}}
	if w := forged.do("POST", "/ops/payments/"+held.ID+"/release", url.Values{"csrf_token": {csrf}}, nil); w.Code != http.StatusSeeOther ||
		s.payment(held.ID).Status != agentpay.PaymentInReview {
		t.Fatalf("a forged cookie: %d, payment %s", w.Code, s.payment(held.ID).Status)
	}

	w = op.do("POST", "/ops/payments/"+held.ID+"/release", url.Values{"csrf_token": {csrf}, "note": {"the user confirmed"}}, nil)
	if w.Code != http.StatusSeeOther || s.payment(held.ID).Status != agentpay.PaymentRequiresApproval {
		t.Fatalf("release: %d, payment %s", w.Code, s.payment(held.ID).Status)
	}
	w = op.do("POST", "/ops/payments/"+held2.ID+"/reject", url.Values{"csrf_token": {csrf}, "note": {"card testing"}}, nil)
	if got := s.payment(held2.ID); w.Code != http.StatusSeeOther || got.Status != agentpay.PaymentDeclined || got.DeclineCode != "review_declined" {
		t.Fatalf("reject: %d, payment %s %s", w.Code, got.Status, got.DeclineCode)
	}
	// Deciding again is refused on the page, not with a server error.
	wantBody(t, "release twice", op.do("POST", "/ops/payments/"+held.ID+"/release", url.Values{"csrf_token": {csrf}}, nil), 409, "requires approval")

	balance, _ := s.balance(ada.wallet)
	w = op.do("POST", "/ops/claims/"+claim.ID+"/approve", url.Values{"csrf_token": {csrf}, "recover": {"on"}, "note": {"courier lost it"}}, nil)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("approve claim: %d %s", w.Code, w.Body)
	}
	c, err := s.db.Claim(s.ctx, claim.ID)
	if err != nil || c.Status != compensation.StatusApproved || c.DecidedBy != "operator" || c.Recovered+c.Debt != claim.Amount || c.Recovered == 0 {
		t.Fatalf("claim after approval: %+v %v", c, err)
	}
	if after, _ := s.balance(ada.wallet); after != balance+claim.Amount {
		t.Fatalf("wallet %d after the claim, want %d", after, balance+claim.Amount)
	}
	wantBody(t, "the page after deciding everything", op.do("GET", "/ops", nil, nil), 200, `id="no-held"`, `id="no-claims"`)
	if err := s.db.CheckLedger(s.ctx); err != nil {
		t.Fatal(err)
	}

	op.do("POST", "/ops/logout", url.Values{"csrf_token": {csrf}}, nil)
	wantBody(t, "after signing out", op.do("GET", "/ops", nil, nil), 200, `name="token"`)
}
