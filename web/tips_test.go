package web_test

import (
	"net/http"
	"net/url"
	"regexp"
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

	// No tips mandate: the tip waits for the user's passkey; approving it
	// gives it, captured for the merchant at once.
	p, _, err := s.svc.Tip(s.ctx, payments.TipRequest{Grant: ada.grant, MerchantID: s.merchant.ID, Amount: 1_50, Asset: "USD",
		Note: "great <b>article</b>"})
	if err != nil {
		t.Fatal(err)
	}
	w := ada.do("GET", "/account", nil, nil)
	wantBody(t, "a tip to approve", w, 200, `id="tip-`+p.ID+`"`,
		`<small class="unverified note">great &lt;b&gt;article&lt;/b&gt;</small>`, `class="num amount">1.50 USD`)
	if strings.Contains(w.Body.String(), `id="tip-report-`+p.ID+`"`) {
		t.Fatal("a tip waiting for approval offers a claim")
	}
	walletBefore, _ := s.balance(ada.wallet)
	if w := ada.finishPay(p.ID, ada.beginPay(p.ID, 1)); w.Code != 200 || !strings.Contains(w.Body.String(), `"status":"captured"`) {
		t.Fatalf("approve: %d %s", w.Code, w.Body)
	}
	if after, _ := s.balance(ada.wallet); after != walletBefore-1_50 {
		t.Fatalf("wallet %d after approving the tip, want %d", after, walletBefore-1_50)
	}
	wantBody(t, "the tip's page", ada.do("GET", "/pay/"+p.ID, nil, nil), 200, `outcome-captured`)

	// "Report a problem" next to the tip, in the tips list as in the
	// payments list, and filed from it.
	w = ada.do("GET", "/account", nil, nil)
	wantBody(t, "a captured tip", w, 200, `id="tip-`+p.ID+`" data-status="captured"`, `id="report-`+p.ID+`"`,
		`id="tip-report-`+p.ID+`"`, `<input type="hidden" name="payment" value="`+p.ID+`">`)
	csrf := regexp.MustCompile(`id="tip-report-` + p.ID + `"[\s\S]*?name="csrf_token" value="([^"]+)"`).FindStringSubmatch(w.Body.String())
	if csrf == nil {
		t.Fatalf("no claim form in the tips list: %s", w.Body)
	}
	w = ada.form("/account/claims", url.Values{"payment": {p.ID}, "kind": {"not_received"}, "description": {"never reached the writer"}})
	if w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/account?notice=claim_in_review#claim-clm_") {
		t.Fatalf("claim on a tip: %d %s %s", w.Code, w.Header().Get("Location"), w.Body)
	}
	w = ada.do("GET", "/account", nil, nil)
	wantBody(t, "a claimed tip", w, 200, `class="claim-status claim-status-in_review">being reviewed`, `class="num amount">1.50 USD`)
	if strings.Contains(w.Body.String(), `id="tip-report-`+p.ID+`"`) || strings.Contains(w.Body.String(), `id="report-`+p.ID+`"`) {
		t.Fatal("a tip with a claim in review offers another claim")
	}
	bob := s.newShopper("bob@example.com", 10_00)
	if strings.Contains(bob.do("GET", "/account", nil, nil).Body.String(), p.ID) {
		t.Fatal("another user sees the tip")
	}
}
