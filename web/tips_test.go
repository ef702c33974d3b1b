package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/agentpay/agentpay/payments"
	"github.com/agentpay/agentpay/risk"
)

// The account page lists the user's tips with their notes, and a captured
// tip is disputed like any payment ("Report a problem").
func TestAccountTips(t *testing.T) {
	s := newPaySite(t)
	s.svc.Risk = risk.NewEngine(risk.MustCompile(""), 1)
	ada := s.newShopper("ada@example.com", 100_00)
	wantBody(t, "no tips", ada.do("GET", "/account", nil, nil), 200, `id="payments"`)
	if strings.Contains(ada.do("GET", "/account", nil, nil).Body.String(), `id="tip-list"`) {
		t.Fatal("a tips list without tips")
	}

	// No tips mandate: the tip waits for the user's passkey, then the
	// merchant captures it.
	p, _, err := s.svc.Tip(s.ctx, payments.TipRequest{Grant: ada.grant, MerchantID: s.merchant.ID, Amount: 1_50, Asset: "USD",
		Note: "great <b>article</b>"})
	if err != nil {
		t.Fatal(err)
	}
	wantBody(t, "a tip to approve", ada.do("GET", "/account", nil, nil), 200, `id="tip-`+p.ID+`"`,
		`<small class="unverified note">great &lt;b&gt;article&lt;/b&gt;</small>`, `class="num amount">1.50 USD`)
	if w := ada.finishPay(p.ID, ada.beginPay(p.ID, 1)); w.Code != 200 {
		t.Fatalf("approve: %d %s", w.Code, w.Body)
	}
	p, u, err := s.svc.PrepareCapture(s.ctx, s.merchant.ID, p.ID, 0)
	if err == nil {
		_, err = s.svc.Commit(s.ctx, p, u)
	}
	if err != nil {
		t.Fatal(err)
	}
	wantBody(t, "a captured tip", ada.do("GET", "/account", nil, nil), 200, `id="tip-`+p.ID+`" data-status="captured"`,
		`id="report-`+p.ID+`"`)

	w := ada.form("/account/claims", url.Values{"payment": {p.ID}, "kind": {"not_received"}, "description": {"never reached the writer"}})
	if w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/account?notice=claim_") {
		t.Fatalf("claim on a tip: %d %s %s", w.Code, w.Header().Get("Location"), w.Body)
	}
	bob := s.newShopper("bob@example.com", 10_00)
	if strings.Contains(bob.do("GET", "/account", nil, nil).Body.String(), p.ID) {
		t.Fatal("another user sees the tip")
	}
}
