package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/sdk"
	"github.com/agentpay/agentpay/webhook"
	"github.com/chromedp/chromedp"
)

// hookReceiver is a merchant's webhook endpoint that checks every
// signature with the SDK.
type hookReceiver struct {
	mu     sync.Mutex
	secret string
	events map[string][]string // payment id -> event types, as received
	seqs   map[string][]int64
	bad    []string
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	e, err := sdk.ParseWebhook(h.secret, r.Header, body)
	if err != nil {
		h.bad = append(h.bad, err.Error())
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if slices.Contains(h.seqs[e.ObjectID], e.Seq) {
		return // a redelivery: already applied
	}
	h.events[e.ObjectID] = append(h.events[e.ObjectID], e.Type)
	h.seqs[e.ObjectID] = append(h.seqs[e.ObjectID], e.Seq)
}

func (h *hookReceiver) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, l := range h.events {
		n += len(l)
	}
	return n
}

// waitJS waits until a JavaScript expression is true in the page. It
// evaluates again and again rather than polling in the page, because the
// pages reload themselves (after a decision, or when the payment changes)
// and a reload ends an in-page poll.
func (b *browserSite) waitJS(what, expr string) {
	b.t.Helper()
	b.waitFor(what, func() bool {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](expr))
		return err == nil && ok
	})
}

func statusIs(s string) string {
	return `(function(){const e=document.getElementById("payment");return e!==null&&e.dataset.status===` + jsString(s) + `})()`
}

func versionIs(v int64) string {
	return fmt.Sprintf(`(function(){const e=document.getElementById("payment");return e!==null&&e.dataset.version==="%d"})()`, v)
}

// TestBrowserPayments is the whole money path in a real browser: sign up,
// add a passkey, link an agent; the agent creates payments and the user
// approves one with the passkey, modifies a second then approves it,
// approves a third after the agent changed it while the page was open
// (the page shows the new version by itself), and cancels a fourth; the
// merchant captures and refunds; its webhook receiver gets every event
// with a valid signature; the ledger balances.
func TestBrowserPayments(t *testing.T) {
	start := time.Now()
	b := newBrowserSite(t)
	b.srv.WebhookAllowLoopback = true
	hooks := &hookReceiver{events: map[string][]string{}, seqs: map[string][]int64{}}
	receiver := httptest.NewServer(hooks)
	t.Cleanup(receiver.Close)
	bg, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	dispatcher := &webhook.Dispatcher{DB: b.db, Client: webhook.NewClient(true), Poll: 100 * time.Millisecond}
	go func() { dispatcher.Run(bg); close(done) }()
	t.Cleanup(func() { stop(); <-done })

	b.signUpVerified("ada@example.com", "Ada Lovelace")
	agent, _ := b.linkAgent(sdk.Limits{Asset: "USD", PerPayment: 150_00, PerDay: 400_00, PerMonth: 1000_00}, "", "")
	userID, err := b.db.ContactOwner(b.ctx, "email:ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	topUp(t, b, userID, 300_00)

	// The merchant onboards with its webhook URL.
	body := `{"name":"Tea Shop","mcc":"5499","country":"GB","settlement_asset":"USD","webhook_url":"` + receiver.URL + `/hooks"}`
	req, _ := http.NewRequest(http.MethodPost, b.base+"/v1/merchants", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+browserAdminToken)
	req.Header.Set("Idempotency-Key", "onboard-tea")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var onboarded struct {
		Merchant      struct{ ID string }
		APIKey        string `json:"api_key"`
		WebhookSecret string `json:"webhook_secret"`
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(raw, &onboarded) != nil {
		t.Fatalf("onboarding: %d %s", resp.StatusCode, raw)
	}
	hooks.mu.Lock()
	hooks.secret = onboarded.WebhookSecret
	hooks.mu.Unlock()
	merchant := sdk.NewMerchant(b.base, onboarded.APIKey)
	ctx := b.ctx
	newPayment := func(items ...sdk.LineItem) *sdk.Payment {
		t.Helper()
		o := sdk.NewOrder(items, 200, 0, 0, 0)
		o.Purpose = "the user asked for tea"
		p, err := agent.CreatePayment(ctx, sdk.PaymentRequest{Merchant: onboarded.Merchant.ID, Asset: "USD", Order: o})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	sencha := sdk.LineItem{Name: "Sencha", Quantity: 2, UnitAmount: 1250, SKU: "TEA-1"}
	pot := sdk.LineItem{Name: "Teapot", Quantity: 1, UnitAmount: 3000}
	cups := sdk.LineItem{Name: "Cup", Quantity: 4, UnitAmount: 500}

	// 1: approved as asked.
	p1 := newPayment(sencha)
	b.run("open the approval page", chromedp.Navigate(p1.ApprovalURL), chromedp.WaitVisible(id("approve-payment")))
	if name, total := b.text("merchant-name"), b.text("total"); name != "Tea Shop" || !strings.Contains(total, "27.00") {
		t.Fatalf("approval page shows %q, total %q", name, total)
	}
	screenshot(t, ctx, "payment-approval.png")
	b.run("share the name and approve", chromedp.Click(id("share-name")), chromedp.Click(id("approve-payment")))
	b.waitJS("approved", statusIs("authorized"))
	if d, err := agent.WaitForDecision(ctx, p1.ID); err != nil || d.Status != sdk.PaymentAuthorized || d.Authorized != 2700 {
		t.Fatalf("agent sees %+v, %v", d, err)
	}

	// 2: the user takes one cup instead of four, then approves.
	p2 := newPayment(pot, cups)
	b.run("open the second payment", chromedp.Navigate(p2.ApprovalURL), chromedp.WaitVisible(id("modify")))
	b.run("lower a quantity", chromedp.SetValue(id("quantity_1"), "1"), chromedp.Click(id("modify")))
	b.waitJS("modified", versionIs(2))
	b.run("approve the modified payment", chromedp.WaitVisible(id("approve-payment")), chromedp.Click(id("approve-payment")))
	b.waitJS("approved after modifying", statusIs("authorized"))
	if d, err := agent.Payment(ctx, p2.ID, 0); err != nil || d.Version != 2 || d.Totals.Total != 3000+500+200 || d.Status != sdk.PaymentAuthorized {
		t.Fatalf("agent sees the modified payment as %+v, %v", d, err)
	}

	// 3: the agent changes the order while the page is open; the page shows
	// the new version by itself and its approval is of that version.
	p3 := newPayment(sencha)
	b.run("open the third payment", chromedp.Navigate(p3.ApprovalURL), chromedp.WaitVisible(id("approve-payment")))
	changed := sdk.NewOrder([]sdk.LineItem{sencha, pot}, 200, 0, 0, 0)
	if _, err := agent.UpdatePayment(ctx, p3.ID, changed); err != nil {
		t.Fatal(err)
	}
	b.waitJS("the page shows the agent's new version", versionIs(2))
	b.waitJS("the new total", `(function(){const e=document.getElementById("total");return document.readyState==="complete"&&e!==null&&e.textContent.includes("57.00")})()`)
	b.run("approve the new version", chromedp.WaitVisible(id("approve-payment")), chromedp.Click(id("approve-payment")))
	b.waitJS("approved after the agent's change", statusIs("authorized"))
	if d, _ := agent.Payment(ctx, p3.ID, 0); d.Authorized != 5700 {
		t.Fatalf("authorized %d, want the new total 57.00", d.Authorized)
	}

	// 4: canceled by the user.
	p4 := newPayment(cups)
	b.run("open the fourth payment", chromedp.Navigate(p4.ApprovalURL), chromedp.WaitVisible(id("cancel")))
	b.run("cancel", chromedp.SendKeys(id("reason"), "not today"), chromedp.Click(id("cancel")))
	b.waitJS("canceled", statusIs("canceled"))
	if d, err := agent.WaitForDecision(ctx, p4.ID); err != nil || d.Status != sdk.PaymentCanceled || d.CanceledBy != "user" {
		t.Fatalf("agent sees %+v, %v", d, err)
	}

	// The merchant captures and refunds; it knows Ada only by what she shared.
	if c, err := merchant.Capture(ctx, p1.ID, 2500); err != nil || c.Status != sdk.PaymentCaptured || c.Shared["name"] != "Ada Lovelace" {
		t.Fatalf("capture 1: %+v, %v", c, err)
	}
	if r, err := merchant.Refund(ctx, p1.ID, 500, "one tin was dented"); err != nil || r.Status != sdk.PaymentPartiallyRefunded {
		t.Fatalf("refund: %+v, %v", r, err)
	}
	for _, p := range []*sdk.Payment{p2, p3} {
		if c, err := merchant.Capture(ctx, p.ID, 0); err != nil || c.Status != sdk.PaymentCaptured {
			t.Fatalf("capture %s: %+v, %v", p.ID, c, err)
		}
	}
	if err := b.db.CheckLedger(ctx); err != nil {
		t.Fatal(err)
	}

	// Every event reached the merchant, signed.
	want := map[string][]string{
		p1.ID: {"payment.created", "payment.authorized", "payment.captured", "payment.refunded"},
		p2.ID: {"payment.created", "payment.updated", "payment.authorized", "payment.captured"},
		p3.ID: {"payment.created", "payment.updated", "payment.authorized", "payment.captured"},
		p4.ID: {"payment.created", "payment.canceled"},
	}
	total := 0
	for _, l := range want {
		total += len(l)
	}
	b.waitFor("webhooks", func() bool { return hooks.count() >= total })
	hooks.mu.Lock()
	defer hooks.mu.Unlock()
	if len(hooks.bad) > 0 {
		t.Fatalf("webhooks with bad signatures: %v", hooks.bad)
	}
	for id, types := range want {
		got := slices.Clone(hooks.events[id])
		sort.Strings(got)
		w := slices.Clone(types)
		sort.Strings(w)
		if !slices.Equal(got, w) {
			t.Errorf("webhooks of %s: %v, want %v", id, hooks.events[id], types)
		}
	}
	t.Logf("browser payments test took %v", time.Since(start))
}

// waitFor polls cond until it holds or the step deadline passes.
func (b *browserSite) waitFor(what string, cond func() bool) {
	b.t.Helper()
	for !cond() {
		select {
		case <-b.ctx.Done():
			b.t.Fatalf("%s: gave up waiting", what)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// topUp funds a wallet from the funding account.
func topUp(t *testing.T, b *browserSite, userID string, amount int64) {
	t.Helper()
	if _, err := b.srv.Identity.TopUp(b.ctx, userID, agentpay.Money{Amount: amount, Asset: "USD"}, "test"); err != nil {
		t.Fatal(err)
	}
}
