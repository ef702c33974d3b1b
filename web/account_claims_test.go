package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/risk"
)

// paid is a payment of o that sh approved on the payment page and the
// merchant captured.
func (s *paySite) paid(sh shopper, o agentpay.Order) agentpay.Payment {
	s.t.Helper()
	p := s.create(sh.grant, s.merchant, "USD", o)
	if w := sh.finishPay(p.ID, sh.beginPay(p.ID, 1)); w.Code != 200 {
		s.t.Fatalf("approve: %d %s", w.Code, w.Body)
	}
	p, u, err := s.svc.PrepareCapture(s.ctx, s.merchant.ID, p.ID, 0)
	if err == nil {
		p, err = s.svc.Commit(s.ctx, p, u)
	}
	if err != nil {
		s.t.Fatal(err)
	}
	return p
}

// The account page offers "Report a problem" on captured payments, files
// the claim, and lists claims with their status.
func TestAccountClaims(t *testing.T) {
	s := newPaySite(t)
	s.svc.Risk = risk.NewEngine(risk.MustCompile(""), 1) // these payments come in a burst
	ada := s.newShopper("ada@example.com", 1_000_00)
	waiting := s.create(ada.grant, s.merchant, "USD", teaOrder(greenTea))
	tea := s.paid(ada, teaOrder(greenTea))  // 23.50
	pot := s.paid(ada, teaOrder(teapot))    // 29.00
	forged := s.paid(ada, teaOrder(teapot)) // its approval will be lost

	w := ada.do("GET", "/account", nil, nil)
	wantBody(t, "account", w, 200, `id="report-`+tea.ID+`"`, `id="report-`+pot.ID+`"`, `action="/account/claims"`,
		`<option value="not_received">I did not receive it</option>`, `id="no-claims"`)
	if strings.Contains(w.Body.String(), `id="report-`+waiting.ID+`"`) {
		t.Fatal("a payment waiting for approval offers a claim")
	}

	// Filed: the evidence does not decide "not received", so it is reviewed.
	w = ada.form("/account/claims", url.Values{"payment": {tea.ID}, "kind": {"not_received"}, "description": {" the box never came "}})
	if w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/account?notice=claim_in_review#claim-clm_") {
		t.Fatalf("filing: %d %s %s", w.Code, w.Header().Get("Location"), w.Body)
	}
	w = ada.do("GET", "/account?notice=claim_in_review", nil, nil)
	wantBody(t, "after filing", w, 200, "A person will review it", `class="claim-status claim-status-in_review">being reviewed`,
		"I did not receive it", `class="num amount">23.50 USD`, "A person reviews your claim with the merchant.")
	if strings.Contains(w.Body.String(), `id="report-`+tea.ID+`"`) {
		t.Fatal("a payment with a claim in review offers another claim")
	}

	// Approved at once: no approval of the payment is on record.
	if _, err := s.db.Writer().Exec(`DELETE FROM approvals WHERE subject = $1`, forged.ID); err != nil {
		t.Fatal(err)
	}
	before, _ := s.balance(ada.wallet)
	w = ada.form("/account/claims", url.Values{"payment": {forged.ID}, "kind": {"unauthorized"}})
	if w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/account?notice=claim_approved") {
		t.Fatalf("filing: %d %s %s", w.Code, w.Header().Get("Location"), w.Body)
	}
	if after, _ := s.balance(ada.wallet); after != before+29_00 {
		t.Fatalf("wallet %d after an approved claim, want %d", after, before+29_00)
	}
	wantBody(t, "after an approved claim", ada.do("GET", "/account?notice=claim_approved", nil, nil), 200,
		"the amount is back in your wallet", "approved: refunded to your wallet", "No passkey approval of yours is on record")

	// Refusals are shown on the page; nothing is filed.
	bob := s.newShopper("bob@example.com", 10_00)
	for _, c := range []struct {
		name   string
		who    shopper
		form   url.Values
		status int
		want   string
	}{
		{"a second claim", ada, url.Values{"payment": {tea.ID}, "kind": {"duplicate"}}, 409, "already has a claim"},
		{"an unknown kind", ada, url.Values{"payment": {pot.ID}, "kind": {"regret"}}, 400, "kind must be one of"},
		{"a payment not captured", ada, url.Values{"payment": {waiting.ID}, "kind": {"unauthorized"}}, 409, "only a captured payment"},
		{"another user's payment", bob, url.Values{"payment": {pot.ID}, "kind": {"unauthorized"}}, 404, "payment not found"},
	} {
		wantBody(t, c.name, c.who.form("/account/claims", c.form), c.status, c.want)
	}
	wantStatus(t, "no CSRF token", ada.do("POST", "/account/claims", url.Values{"payment": {pot.ID}, "kind": {"duplicate"}}, nil), 403, "csrf_failed")
	var n int
	if err := s.db.Reader().QueryRow(`SELECT COUNT(*) FROM claims`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("claims filed: %d, %v", n, err)
	}
	// Bob's page shows none of Ada's claims.
	if body := bob.do("GET", "/account", nil, nil).Body.String(); strings.Contains(body, tea.ID) || !strings.Contains(body, `id="no-claims"`) {
		t.Fatal("bob sees ada's claims")
	}
	if err := s.db.CheckLedger(s.ctx); err != nil {
		t.Fatal(err)
	}
}
