package web_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"testing"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/sdk"
	"github.com/agentpay/agentpay/store"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// TestBrowserLinkTipBudget links an SDK agent that asks to tip without a
// tap in real Chromium: the page offers the agent's tip terms, the user
// lowers the daily budget and approves with the passkey, and the agent's
// Link returns the grant with the budget kept and its tips mandate, whose
// days follow the browser's time zone.
func TestBrowserLinkTipBudget(t *testing.T) {
	b := newBrowserSite(t)
	b.signUpVerified("ada@example.com", "Ada Lovelace")
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	agent := sdk.NewAgent(b.base, key)
	pending := make(chan sdk.Pending, 1)
	linked := make(chan error, 1)
	var grant *sdk.Grant
	go func() {
		g, err := agent.Link(b.ctx, sdk.LinkRequest{AgentName: "Browser tipper", SoftwareID: "com.example.tipper",
			Scopes: []string{"payments:create", "tips"}, Limits: sdk.Limits{Asset: "USD", PerPayment: 50_00, PerDay: 100_00, PerMonth: 500_00},
			TipAutoApproveMax: 5_00, TipBudgetPerDay: 20_00}, func(p sdk.Pending) { pending <- p })
		grant = g
		linked <- err
	}()
	var p sdk.Pending
	select {
	case p = <-pending:
	case err := <-linked:
		t.Fatalf("linking did not start: %v", err)
	}
	// The browser says where its user is; the budget's days are theirs.
	if _, err := chromedp.Call(b.ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Asia/Tokyo"}); err != nil {
		t.Fatal(err)
	}
	b.run("open the link", chromedp.Navigate(p.VerificationURIComplete), chromedp.WaitVisible(id("tip_budget_per_day")))
	value := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(b.ctx, chromedp.Value(id(sel)))
		if err != nil {
			t.Fatalf("value of #%s: %v", sel, err)
		}
		return v
	}
	if perTip, budget := value("tip_auto_approve_max"), value("tip_budget_per_day"); perTip != "5.00" || budget != "20.00" {
		t.Fatalf("the page offers %q a tip and %q a day", perTip, budget)
	}
	b.run("lower the budget and approve", chromedp.SetValue(id("tip_budget_per_day"), "8.00"),
		chromedp.Click(id("approve-link")), chromedp.WaitVisible(id("linked")))
	if err := <-linked; err != nil {
		t.Fatalf("the agent's Link: %v", err)
	}
	if grant.TipAutoApproveMax != 5_00 || grant.TipBudgetPerDay != 8_00 || grant.TipsMandate == "" {
		t.Fatalf("grant %+v", grant)
	}
	m, err := b.db.Mandate(context.Background(), grant.TipsMandate)
	if err != nil {
		t.Fatal(err)
	}
	if m.TimeZone != "Asia/Tokyo" || m.Status != agentpay.MandateActive ||
		m.Budget != 8_00 || m.PerPaymentMax != 5_00 || m.GrantID != grant.ID {
		t.Fatalf("mandate %+v", m)
	}
	ms, err := b.db.Mandates(context.Background(), store.MandatePage{Owner: "grant_id", ID: grant.ID, Limit: 10})
	if err != nil || len(ms) != 1 {
		t.Fatalf("mandates %+v %v", ms, err)
	}
}
