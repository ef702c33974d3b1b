package web_test

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/agentauth"
	"github.com/agentpay/agentpay/consent"
	"github.com/agentpay/agentpay/identity"
	"github.com/agentpay/agentpay/linking"
	"github.com/agentpay/agentpay/payments"
	"github.com/agentpay/agentpay/store"
	"github.com/agentpay/agentpay/web"
	cdpwebauthn "github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// paySite is the pages with a payments service, a merchant taking USD and
// helpers acting as agents and as the operator.
type paySite struct {
	*linkSite
	svc      *payments.Service
	merchant agentpay.Merchant
	ctx      context.Context
}

func newPaySite(t *testing.T) *paySite {
	s := newLinkSite(t)
	s.h.Payments = &payments.Service{DB: s.db, Identity: s.ids}
	ps := &paySite{linkSite: s, svc: s.h.Payments, ctx: context.Background()}
	ps.merchant = ps.newMerchant("Tea Shop", "5499", "USD")
	return ps
}

func (s *paySite) newMerchant(name, mcc, asset string) agentpay.Merchant {
	s.t.Helper()
	m := agentpay.Merchant{ID: agentpay.NewID("mer"), Name: name, MCC: mcc, Country: "GB", SettlementAsset: asset,
		Status: agentpay.MerchantActive, CreatedAt: time.Now().UnixMicro()}
	acc := payments.MerchantAccount(m.ID, asset)
	if err := s.db.Committer.Submit(s.ctx, &store.Unit{Rows: []store.Row{store.MerchantRow(m, agentpay.NewWebhookSecret())},
		Accounts: []agentpay.Account{acc}}).Err; err != nil {
		s.t.Fatal(err)
	}
	return m
}

// grant links an agent named "Shopping helper" to userID with limits in
// asset.
func (s *paySite) grant(userID string, l agentpay.GrantLimits) agentpay.Grant {
	s.t.Helper()
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	st, err := s.links.Start(s.ctx, linking.StartRequest{PublicKeyJWK: agentauth.JWK(pub), AgentName: "Shopping helper",
		SoftwareID: "com.example.shopper", Scopes: []agentpay.Scope{agentpay.ScopePaymentsCreate, agentpay.ScopePaymentsRead},
		Limits: l}, linking.RequestMeta{RemoteIP: "203.0.113.9"})
	if err != nil {
		s.t.Fatal(err)
	}
	g, err := s.links.Approve(s.ctx, st.Link.UserCode, linking.Approval{UserID: userID})
	if err != nil {
		s.t.Fatal(err)
	}
	return g
}

var usdLimits = agentpay.GrantLimits{Asset: "USD", PerPayment: 150_00, PerDay: 400_00, PerMonth: 1_000_00}

// fund tops up a wallet from the funding account and returns its id.
func (s *paySite) fund(userID, asset string, amount int64) string {
	s.t.Helper()
	wallet, err := s.ids.TopUp(s.ctx, userID, agentpay.Money{Amount: amount, Asset: asset}, "test")
	if err != nil {
		s.t.Fatal(err)
	}
	return wallet
}

func (s *paySite) balance(id string) (balance, held int64) {
	s.t.Helper()
	a, err := s.db.Account(s.ctx, id)
	if err != nil {
		s.t.Fatal(err)
	}
	return a.Balance(), a.DebitsPending
}

func teaOrder(items ...agentpay.LineItem) agentpay.Order {
	var sub int64
	for _, it := range items {
		sub += it.Quantity * it.UnitAmount
	}
	return agentpay.Order{Items: items, Totals: agentpay.Totals{Subtotal: sub, Tax: 100, Shipping: 250, Total: sub + 350},
		Description: "Tea for the office", Purpose: "the user asked for green tea"}
}

var (
	greenTea = agentpay.LineItem{Name: "Green tea", Quantity: 2, UnitAmount: 10_00, SKU: "GT-100"}
	teapot   = agentpay.LineItem{Name: "Teapot", Quantity: 1, UnitAmount: 25_50}
)

// create makes a payment as the agent of g would, to m.
func (s *paySite) create(g agentpay.Grant, m agentpay.Merchant, asset string, o agentpay.Order) agentpay.Payment {
	s.t.Helper()
	p, u, err := s.svc.PrepareCreate(s.ctx, payments.CreateRequest{Grant: g, MerchantID: m.ID, Asset: asset, Order: o})
	if err == nil {
		p, err = s.svc.Commit(s.ctx, p, u)
	}
	if err != nil {
		s.t.Fatal(err)
	}
	return p
}

func (s *paySite) payment(id string) agentpay.Payment {
	s.t.Helper()
	p, err := s.db.Payment(s.ctx, id)
	if err != nil {
		s.t.Fatal(err)
	}
	return p
}

// shopper is a verified person with a funded USD wallet and an agent.
type shopper struct {
	*person
	grant  agentpay.Grant
	wallet string
}

func (s *paySite) newShopper(email string, funds int64) shopper {
	s.t.Helper()
	p := s.newPerson(email, true)
	sh := shopper{person: p, grant: s.grant(p.user.ID, usdLimits)}
	sh.wallet = s.fund(p.user.ID, "USD", funds)
	return sh
}

// begin starts approving version of payment id with the fields shared.
func (p *person) beginPay(id string, version int64, share ...string) begunApproval {
	p.t.Helper()
	var begun begunApproval
	p.postJSON("/pay/"+id+"/approve/begin", map[string]any{"version": version, "share": share}, &begun)
	return begun
}

// finishPay signs the begun approval with the person's passkey.
func (p *person) finishPay(id string, begun begunApproval) *httptest.ResponseRecorder {
	p.t.Helper()
	return p.doBody("POST", "/pay/"+id+"/approve/finish?ceremony="+url.QueryEscape(begun.Ceremony), p.key.Get(p.t, &begun.Options),
		map[string]string{"X-CSRF-Token": p.csrf, "Content-Type": "application/json"})
}

func (p *person) form(path string, v url.Values) *httptest.ResponseRecorder {
	p.t.Helper()
	v.Set("csrf_token", p.csrf)
	return p.do("POST", path, v, nil)
}

func wantBody(t *testing.T, what string, w *httptest.ResponseRecorder, status int, wants ...string) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("%s: %d, want %d: %s", what, w.Code, status, w.Body)
	}
	for _, want := range wants {
		if !strings.Contains(w.Body.String(), want) {
			t.Fatalf("%s: missing %q in %s", what, want, w.Body)
		}
	}
}

func TestPayPageShowsPayment(t *testing.T) {
	s := newPaySite(t)
	ada := s.newShopper("ada@example.com", 1_000_00)
	p := s.create(ada.grant, s.merchant, "USD", teaOrder(greenTea, teapot))
	page := "/pay/" + p.ID

	// Without a session the page sends the user to log in and back.
	anon := &browser{t: t, h: s.h, cookies: map[string]*http.Cookie{}}
	w := anon.do("GET", page, nil, nil)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/login?next="+url.QueryEscape(page) {
		t.Fatalf("anonymous: %d %s", w.Code, w.Header().Get("Location"))
	}

	// 2 × 10.00 + 25.50 = 45.50, tax 1.00, shipping 2.50: 49.00.
	w = ada.do("GET", page, nil, nil)
	wantBody(t, "page", w, 200, "Tea Shop", "food stores (5499)", "Green tea", "GT-100", "Teapot",
		`<td class="num quantity">2</td>`, "10.00 USD", "20.00 USD", "25.50 USD", `id="total-Subtotal">45.50 USD`,
		`id="total-Tax">1.00 USD`, `id="total-Shipping">2.50 USD`, `id="total-Fees">0.00 USD`, `id="total-Tip">0.00 USD`,
		`id="total">49.00 USD`, "Shopping helper", "unverified", ada.grant.ID, ada.grant.AgentKeyID,
		"the user asked for green tea", `data-version="1"`, "waiting for your approval", `id="approve-payment"`,
		`name="quantity_0"`, `action="/pay/`+p.ID+`/cancel"`, `value="name"`, `value="email"`, "ada@example.com",
		"You have not paid this merchant before.", `src="/assets/pay.js"`, `href="/assets/style.css"`)
	if strings.Contains(w.Body.String(), "<script>") || strings.Contains(w.Body.String(), "style=") {
		t.Fatal("the page has inline script or style, which its CSP refuses")
	}
	if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Fatalf("CSP %q", csp)
	}

	// Amounts follow the asset's own scale: yen have no minor unit.
	yenShop := s.newMerchant("Kissa", "5812", "JPY")
	yen := s.grant(ada.user.ID, agentpay.GrantLimits{Asset: "JPY", PerPayment: 20_000, PerDay: 50_000, PerMonth: 100_000})
	py := s.create(yen, yenShop, "JPY", agentpay.Order{Items: []agentpay.LineItem{{Name: "Matcha", Quantity: 3, UnitAmount: 450}},
		Totals: agentpay.Totals{Subtotal: 1350, Tip: 150, Total: 1500}, Purpose: "coffee break"})
	w = ada.do("GET", "/pay/"+py.ID, nil, nil)
	wantBody(t, "yen page", w, 200, "restaurants (5812)", "450 JPY", "1350 JPY", `id="total">1500 JPY`, "includes a tip of 150 JPY")
	if strings.Contains(w.Body.String(), "15.00") {
		t.Fatal("yen shown with a decimal point")
	}

	// The assets are served.
	for path, ct := range map[string]string{"/assets/pay.js": "text/javascript", "/assets/style.css": "text/css"} {
		if w := anon.do("GET", path, nil, nil); w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), ct) || w.Body.Len() < 100 {
			t.Fatalf("%s: %d %s", path, w.Code, w.Header().Get("Content-Type"))
		}
	}
}

func TestPayApprove(t *testing.T) {
	s := newPaySite(t)
	ada := s.newShopper("ada@example.com", 1_000_00)
	p := s.create(ada.grant, s.merchant, "USD", teaOrder(greenTea)) // 20.00 + 3.50 = 23.50

	// CSRF: every POST needs the session's token.
	noToken := map[string]string{"Content-Type": "application/json"}
	wantStatus(t, "begin without token", ada.doBody("POST", "/pay/"+p.ID+"/approve/begin", []byte(`{"version":1}`), noToken), 403, "csrf_failed")
	wantStatus(t, "finish without token", ada.doBody("POST", "/pay/"+p.ID+"/approve/finish?ceremony=x", []byte(`{}`), noToken), 403, "csrf_failed")
	wantStatus(t, "modify without token", ada.do("POST", "/pay/"+p.ID+"/modify", url.Values{"version": {"1"}, "quantity_0": {"1"}}, nil), 403, "csrf_failed")
	wantStatus(t, "cancel without token", ada.do("POST", "/pay/"+p.ID+"/cancel", url.Values{}, nil), 403, "csrf_failed")
	wantStatus(t, "unknown share", ada.postJSONStatus("/pay/"+p.ID+"/approve/begin", map[string]any{"version": 1, "share": []string{"address"}}), 400, "invalid_share")

	begun := ada.beginPay(p.ID, 1, "name")
	w := ada.finishPay(p.ID, begun)
	var done struct {
		Status, Redirect string
		Version          int64
	}
	if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &done) != nil || done.Status != "authorized" || done.Redirect != "/pay/"+p.ID+"?notice=approved" {
		t.Fatalf("finish: %d %s", w.Code, w.Body)
	}
	if bal, held := s.balance(ada.wallet); bal != 1_000_00 || held != 23_50 {
		t.Fatalf("wallet = %d, %d held; want 23.50 held", bal, held)
	}
	got := s.payment(p.ID)
	if got.Status != agentpay.PaymentAuthorized || got.Authorized != 23_50 || len(got.Shared) != 1 || got.Shared[0] != "name" {
		t.Fatalf("payment %+v", got)
	}
	// The evidence is stored, covers the object shown, and re-verifies.
	approvals, err := s.db.ApprovalsOf(s.ctx, p.ID)
	if err != nil || len(approvals) != 1 {
		t.Fatalf("approvals = %v, %v", approvals, err)
	}
	for _, want := range []string{`"version":1`, `"merchant_name":"Tea Shop"`, `"total":2350`, `"shared":["name"]`, `"grant":"` + ada.grant.ID} {
		if !strings.Contains(approvals[0].Object, want) {
			t.Fatalf("approved object %s lacks %s", approvals[0].Object, want)
		}
	}
	keys, _ := s.pk.Passkeys(s.ctx, ada.user.ID)
	if err := s.pk.VerifyApproval(approvals[0], keys[0]); err != nil {
		t.Fatal(err)
	}
	w = ada.do("GET", done.Redirect, nil, nil)
	wantBody(t, "after approval", w, 200, "Approved. The money is held", `id="outcome"`, "23.50 USD is held", "You shared with the merchant: name")
	if strings.Contains(w.Body.String(), `id="approve-payment"`) {
		t.Fatal("an authorized payment still offers approval")
	}
	// Approving again is idempotent: the first result, no second ceremony,
	// nothing more held.
	var again struct {
		Status          string
		AlreadyApproved bool `json:"already_approved"`
		Redirect        string
	}
	ada.postJSON("/pay/"+p.ID+"/approve/begin", map[string]any{"version": 1}, &again)
	if again.Status != "authorized" || !again.AlreadyApproved || again.Redirect != done.Redirect {
		t.Fatalf("approving again: %+v", again)
	}
	if list, _ := s.db.ApprovalsOf(s.ctx, p.ID); len(list) != 1 {
		t.Fatalf("approving again stored %d approvals", len(list))
	}
	// Another version than the approved one is refused.
	wantStatus(t, "approve another version", ada.postJSONStatus("/pay/"+p.ID+"/approve/begin", map[string]any{"version": 2}), 409, "payment_authorized")
	wantStatus(t, "cancel after approval", ada.form("/pay/"+p.ID+"/cancel", url.Values{}), 409, "can no longer be canceled")
}

// The agent changes the order between begin and finish: the signature is
// over the old version, so it is refused and nothing moves.
func TestPayApproveStaleVersion(t *testing.T) {
	s := newPaySite(t)
	ada := s.newShopper("ada@example.com", 1_000_00)
	p := s.create(ada.grant, s.merchant, "USD", teaOrder(greenTea))

	begun := ada.beginPay(p.ID, 1)
	more := greenTea
	more.Quantity = 5
	np, u, err := s.svc.PrepareUpdate(s.ctx, ada.grant, p.ID, teaOrder(more))
	if err == nil {
		_, err = s.svc.Commit(s.ctx, np, u)
	}
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "finish after the update", ada.finishPay(p.ID, begun), 409, "payment_changed")
	if bal, held := s.balance(ada.wallet); bal != 1_000_00 || held != 0 {
		t.Fatalf("a stale approval moved money: %d, %d held", bal, held)
	}
	if got := s.payment(p.ID); got.Status != agentpay.PaymentRequiresApproval || got.Version != 2 {
		t.Fatalf("payment %+v", got)
	}
	if list, _ := s.db.ApprovalsOf(s.ctx, p.ID); len(list) != 0 {
		t.Fatalf("a refused approval was stored: %v", list)
	}
	// Beginning with the version the page showed is refused too; the page
	// shows the new version.
	wantStatus(t, "begin the old version", ada.postJSONStatus("/pay/"+p.ID+"/approve/begin", map[string]any{"version": 1}), 409, "payment_changed")
	wantBody(t, "reloaded page", ada.do("GET", "/pay/"+p.ID+"?notice=changed", nil, nil), 200,
		"changed while you were looking at it", `data-version="2"`, `id="total">53.50 USD`, "this is version 2")
	// The new version approves.
	if w := ada.finishPay(p.ID, ada.beginPay(p.ID, 2)); w.Code != 200 {
		t.Fatalf("approving version 2: %d %s", w.Code, w.Body)
	}
	if _, held := s.balance(ada.wallet); held != 53_50 {
		t.Fatalf("held %d", held)
	}
}

func TestPayOtherUsersPayment(t *testing.T) {
	s := newPaySite(t)
	ada := s.newShopper("ada@example.com", 1_000_00)
	eve := s.newShopper("eve@example.com", 1_000_00)
	p := s.create(ada.grant, s.merchant, "USD", teaOrder(greenTea))

	wantBody(t, "eve's page", eve.do("GET", "/pay/"+p.ID, nil, nil), 404, `id="not-found"`)
	if w := eve.do("GET", "/pay/"+p.ID, nil, nil); strings.Contains(w.Body.String(), "Tea Shop") {
		t.Fatal("another user's payment shows its merchant")
	}
	wantBody(t, "unknown id", eve.do("GET", "/pay/pay_nope", nil, nil), 404, `id="not-found"`)
	wantStatus(t, "eve begins", eve.postJSONStatus("/pay/"+p.ID+"/approve/begin", map[string]any{"version": 1}), 404, "payment_not_found")
	// Ada begins; Eve cannot finish it, nor spend Ada's ceremony.
	begun := ada.beginPay(p.ID, 1)
	assertion := ada.key.Get(t, &begun.Options)
	w := eve.doBody("POST", "/pay/"+p.ID+"/approve/finish?ceremony="+url.QueryEscape(begun.Ceremony), assertion,
		map[string]string{"X-CSRF-Token": eve.csrf})
	wantStatus(t, "eve finishes", w, 404, "payment_not_found")
	wantStatus(t, "eve modifies", eve.form("/pay/"+p.ID+"/modify", url.Values{"version": {"1"}, "quantity_0": {"1"}}), 404, "")
	wantStatus(t, "eve cancels", eve.form("/pay/"+p.ID+"/cancel", url.Values{}), 404, "")
	w = ada.doBody("POST", "/pay/"+p.ID+"/approve/finish?ceremony="+url.QueryEscape(begun.Ceremony), assertion,
		map[string]string{"X-CSRF-Token": ada.csrf})
	if w.Code != 200 {
		t.Fatalf("ada finishes after eve's attempt: %d %s", w.Code, w.Body)
	}
	// A ceremony of one payment cannot approve another.
	p2 := s.create(ada.grant, s.merchant, "USD", teaOrder(teapot))
	p3 := s.create(ada.grant, s.merchant, "USD", teaOrder(teapot))
	wantStatus(t, "ceremony of another payment", ada.finishPay(p3.ID, ada.beginPay(p2.ID, 1)), 400, "approval_mismatch")
	if got := s.payment(p3.ID); got.Status != agentpay.PaymentRequiresApproval {
		t.Fatalf("p3 %+v", got)
	}
}

func TestPayModify(t *testing.T) {
	s := newPaySite(t)
	ada := s.newShopper("ada@example.com", 1_000_00)
	p := s.create(ada.grant, s.merchant, "USD", teaOrder(greenTea, teapot)) // 49.00
	path := "/pay/" + p.ID

	// Lowering a quantity makes version 2 with new totals.
	w := ada.form(path+"/modify", url.Values{"version": {"1"}, "quantity_0": {"1"}, "quantity_1": {"1"}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != path+"?notice=modified" {
		t.Fatalf("modify: %d %s", w.Code, w.Body)
	}
	got := s.payment(p.ID)
	if got.Version != 2 || got.Items[0].Quantity != 1 || got.Totals.Subtotal != 35_50 || got.Totals.Total != 39_00 {
		t.Fatalf("modified %+v", got)
	}
	wantBody(t, "modified page", ada.do("GET", path+"?notice=modified", nil, nil), 200,
		"saved as a new version", `data-version="2"`, `id="total-Subtotal">35.50 USD`, `id="total">39.00 USD`)

	// Raising is refused, and so is a form of an old version.
	wantBody(t, "raise", ada.form(path+"/modify", url.Values{"version": {"2"}, "quantity_0": {"3"}}), 400,
		"can only be lowered", `data-version="2"`)
	wantBody(t, "old version", ada.form(path+"/modify", url.Values{"version": {"1"}, "quantity_0": {"0"}}), 409,
		"changed after you saw it")
	wantBody(t, "not a number", ada.form(path+"/modify", url.Values{"version": {"2"}, "quantity_0": {"one"}}), 400, "whole number")
	wantBody(t, "remove all", ada.form(path+"/modify", url.Values{"version": {"2"}, "quantity_0": {"0"}, "quantity_1": {"0"}}), 400,
		"cancel the payment instead")
	if w := ada.form(path+"/modify", url.Values{"version": {"2"}, "quantity_0": {"1"}}); w.Header().Get("Location") != path+"?notice=unchanged" {
		t.Fatalf("unchanged: %d %s", w.Code, w.Header().Get("Location"))
	}

	// Removing an item (0) keeps the rest; the agent sees the new version.
	if w := ada.form(path+"/modify", url.Values{"version": {"2"}, "quantity_1": {"0"}}); w.Code != http.StatusSeeOther {
		t.Fatalf("remove: %d %s", w.Code, w.Body)
	}
	got, err := s.svc.ForAgent(s.ctx, ada.grant.ID, p.ID)
	if err != nil || got.Version != 3 || len(got.Items) != 1 || got.Items[0].Name != "Green tea" || got.Totals.Total != 13_50 {
		t.Fatalf("after removing: %+v, %v", got, err)
	}
	if w := ada.finishPay(p.ID, ada.beginPay(p.ID, 3)); w.Code != 200 {
		t.Fatalf("approve version 3: %d %s", w.Code, w.Body)
	}
	if _, held := s.balance(ada.wallet); held != 13_50 {
		t.Fatalf("held %d", held)
	}
}

func TestPayCancel(t *testing.T) {
	s := newPaySite(t)
	ada := s.newShopper("ada@example.com", 1_000_00)
	p := s.create(ada.grant, s.merchant, "USD", teaOrder(greenTea))
	path := "/pay/" + p.ID
	begun := ada.beginPay(p.ID, 1)

	w := ada.form(path+"/cancel", url.Values{"reason": {"I found it cheaper"}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != path+"?notice=canceled" {
		t.Fatalf("cancel: %d %s", w.Code, w.Body)
	}
	got := s.payment(p.ID)
	if got.Status != agentpay.PaymentCanceled || got.CanceledBy != agentpay.ActorUser || got.CancelReason != "I found it cheaper" {
		t.Fatalf("canceled %+v", got)
	}
	wantBody(t, "canceled page", ada.do("GET", path+"?notice=canceled", nil, nil), 200,
		"The payment is canceled", "Canceled by the user", "I found it cheaper", "No money moved")
	// A canceled payment cannot be approved: neither a new begin nor the
	// ceremony begun before the cancel.
	wantStatus(t, "begin after cancel", ada.postJSONStatus(path+"/approve/begin", map[string]any{"version": 1}), 409, "payment_canceled")
	wantStatus(t, "finish after cancel", ada.finishPay(p.ID, begun), 409, "payment_canceled")
	wantStatus(t, "cancel again", ada.form(path+"/cancel", url.Values{}), 409, "")
	if bal, held := s.balance(ada.wallet); bal != 1_000_00 || held != 0 {
		t.Fatalf("wallet %d, %d held", bal, held)
	}
	wantStatus(t, "long reason", ada.form("/pay/"+s.create(ada.grant, s.merchant, "USD", teaOrder(teapot)).ID+"/cancel",
		url.Values{"reason": {strings.Repeat("x", 501)}}), 400, "")
}

func TestPayInsufficientFunds(t *testing.T) {
	s := newPaySite(t)
	ada := s.newShopper("ada@example.com", 5_00)
	p := s.create(ada.grant, s.merchant, "USD", teaOrder(greenTea)) // 23.50

	w := ada.finishPay(p.ID, ada.beginPay(p.ID, 1))
	wantStatus(t, "short", w, 409, "exceeds_credits")
	if bal, held := s.balance(ada.wallet); bal != 5_00 || held != 0 {
		t.Fatalf("wallet %d, %d held", bal, held)
	}
	if got := s.payment(p.ID); got.Status != agentpay.PaymentRequiresApproval {
		t.Fatalf("payment %+v", got)
	}
	if list, _ := s.db.ApprovalsOf(s.ctx, p.ID); len(list) != 0 {
		t.Fatalf("evidence of a failed approval was stored: %v", list)
	}
	// With the pages' JSON errors the message says what is missing.
	s.h.WriteError = func(w http.ResponseWriter, r *http.Request, err error) {
		var e *agentpay.Error
		if !errors.As(err, &e) {
			http.Error(w, "internal", 500)
			return
		}
		w.WriteHeader(409)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": e.Code, "message": e.Message}})
	}
	w = ada.finishPay(p.ID, ada.beginPay(p.ID, 1))
	wantBody(t, "message", w, 409, "your USD wallet has 5.00 USD available and this payment needs 23.50 USD; top it up")
	s.h.WriteError = nil

	// After a top-up the same payment approves.
	s.fund(ada.user.ID, "USD", 20_00)
	if w := ada.finishPay(p.ID, ada.beginPay(p.ID, 1)); w.Code != 200 {
		t.Fatalf("after top-up: %d %s", w.Code, w.Body)
	}
}

func TestPayExpired(t *testing.T) {
	s := newPaySite(t)
	ada := s.newShopper("ada@example.com", 1_000_00)
	short := &payments.Service{DB: s.db, Identity: s.ids, ApprovalTTL: time.Microsecond}
	p, u, err := short.PrepareCreate(s.ctx, payments.CreateRequest{Grant: ada.grant, MerchantID: s.merchant.ID, Asset: "USD", Order: teaOrder(greenTea)})
	if err == nil {
		p, err = short.Commit(s.ctx, p, u)
	}
	if err != nil {
		t.Fatal(err)
	}
	w := ada.do("GET", "/pay/"+p.ID, nil, nil)
	wantBody(t, "page", w, 200, "the time to approve it is over")
	if strings.Contains(w.Body.String(), `id="approve-payment"`) {
		t.Fatal("an expired payment offers approval")
	}
	wantStatus(t, "begin", ada.postJSONStatus("/pay/"+p.ID+"/approve/begin", map[string]any{"version": 1}), 409, "payment_expired")
}

// sseEvent is one server-sent event.
type sseEvent struct{ name, data string }

// readEvents reads the events of a stream into a channel until it ends.
func readEvents(body *bufio.Reader, out chan<- sseEvent) {
	defer close(out)
	var ev sseEvent
	for {
		line, err := body.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case line == "":
			if ev.data != "" {
				out <- ev
			}
			ev = sseEvent{}
		case strings.HasPrefix(line, "event: "):
			ev.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			ev.data = strings.TrimPrefix(line, "data: ")
		}
	}
}

// openStream opens path on srv with the person's cookies.
func openStream(t *testing.T, ctx context.Context, srv *httptest.Server, p *person, path string) (*http.Response, <-chan sseEvent) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, "GET", srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range p.cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan sseEvent, 16)
	if resp.StatusCode == 200 {
		go readEvents(bufio.NewReader(resp.Body), events)
	} else {
		close(events)
	}
	return resp, events
}

func next(t *testing.T, ctx context.Context, events <-chan sseEvent) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-events:
		if !ok {
			t.Fatal("the stream ended")
		}
		return ev
	case <-ctx.Done():
		t.Fatal("no event arrived")
	}
	return sseEvent{}
}

func TestPayEvents(t *testing.T) {
	s := newPaySite(t)
	ada := s.newShopper("ada@example.com", 1_000_00)
	eve := s.newShopper("eve@example.com", 1_000_00)
	p := s.create(ada.grant, s.merchant, "USD", teaOrder(greenTea, teapot))

	// Tell when a stream's handler returns.
	ended := make(chan string, 4)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.h.ServeHTTP(w, r)
		if strings.HasSuffix(r.URL.Path, "/events") {
			ended <- r.URL.Path
		}
	}))
	// Short server timeouts: the stream must outlive them.
	srv.Config.ReadTimeout, srv.Config.WriteTimeout = 300*time.Millisecond, 300*time.Millisecond
	srv.Start()
	t.Cleanup(srv.Close)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, tt := range []struct {
		name   string
		p      *person
		path   string
		status int
	}{
		{"another user's", eve.person, "/pay/" + p.ID + "/events", 404},
		{"no session", &person{browser: &browser{t: t, cookies: map[string]*http.Cookie{}}}, "/pay/" + p.ID + "/events", 401},
		{"no session, account", &person{browser: &browser{t: t, cookies: map[string]*http.Cookie{}}}, "/account/events", 401},
	} {
		resp, _ := openStream(t, ctx, srv, tt.p, tt.path)
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Fatalf("%s: %d, want %d", tt.name, resp.StatusCode, tt.status)
		}
		<-ended
	}

	streamCtx, closeStream := context.WithCancel(ctx)
	resp, events := openStream(t, streamCtx, srv, ada.person, "/pay/"+p.ID+"/events")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	accResp, accEvents := openStream(t, streamCtx, srv, ada.person, "/account/events")
	if accResp.StatusCode != 200 {
		t.Fatalf("account stream: %d", accResp.StatusCode)
	}
	var got struct {
		Payment, Status string
		Version         int64
	}
	ev := next(t, ctx, events)
	if ev.name != "payment" || json.Unmarshal([]byte(ev.data), &got) != nil || got.Payment != p.ID || got.Version != 1 || got.Status != "requires_approval" {
		t.Fatalf("first event %+v", ev)
	}
	var list []struct {
		ID, Status string
		Version    int64
	}
	if ev := next(t, ctx, accEvents); ev.name != "payments" || json.Unmarshal([]byte(ev.data), &list) != nil || len(list) != 1 || list[0].ID != p.ID {
		t.Fatalf("first account event %+v", ev)
	}

	// Outlive the server's read and write timeouts before anything changes.
	time.Sleep(3 * srv.Config.WriteTimeout)

	// The user lowers a quantity: both streams hear of version 2.
	if w := ada.form("/pay/"+p.ID+"/modify", url.Values{"version": {"1"}, "quantity_0": {"1"}}); w.Code != http.StatusSeeOther {
		t.Fatalf("modify: %d %s", w.Code, w.Body)
	}
	ev = next(t, ctx, events)
	if json.Unmarshal([]byte(ev.data), &got) != nil || got.Version != 2 || got.Status != "requires_approval" {
		t.Fatalf("after modify %+v", ev)
	}
	if ev := next(t, ctx, accEvents); json.Unmarshal([]byte(ev.data), &list) != nil || list[0].Version != 2 {
		t.Fatalf("account after modify %+v", ev)
	}
	// The agent's new payment shows on the account stream.
	p2 := s.create(ada.grant, s.merchant, "USD", teaOrder(teapot))
	if ev := next(t, ctx, accEvents); json.Unmarshal([]byte(ev.data), &list) != nil || len(list) != 2 || list[0].ID != p2.ID {
		t.Fatalf("account after a new payment %+v", ev)
	}
	// Approval changes the status.
	if w := ada.finishPay(p.ID, ada.beginPay(p.ID, 2)); w.Code != 200 {
		t.Fatalf("approve: %d %s", w.Code, w.Body)
	}
	ev = next(t, ctx, events)
	if json.Unmarshal([]byte(ev.data), &got) != nil || got.Status != "authorized" {
		t.Fatalf("after approval %+v", ev)
	}

	// The client goes away: both handlers return.
	closeStream()
	for range 2 {
		select {
		case <-ended:
		case <-ctx.Done():
			t.Fatal("a stream outlived its client")
		}
	}
}

func TestAccountPaymentsAndTopUp(t *testing.T) {
	s := newPaySite(t)
	ada := s.newShopper("ada@example.com", 1_000_00)
	p := s.create(ada.grant, s.merchant, "USD", teaOrder(greenTea))
	p2 := s.create(ada.grant, s.merchant, "USD", teaOrder(teapot))
	if w := ada.finishPay(p.ID, ada.beginPay(p.ID, 1)); w.Code != 200 {
		t.Fatalf("approve: %d %s", w.Code, w.Body)
	}
	w := ada.do("GET", "/account", nil, nil)
	wantBody(t, "account", w, 200, `id="payment-`+p.ID+`"`, `id="payment-`+p2.ID+`"`, `href="/pay/`+p.ID+`"`, "Tea Shop",
		"23.50 USD", "29.00 USD", "approved: the money is held", "waiting for your approval", `class="needs-you"`,
		`id="wallet-USD"`, `class="num balance">1000.00 USD`, `class="num held">23.50 USD`, `class="num available">976.50 USD`,
		`data-live="true"`)
	body := w.Body.String()
	if strings.Index(body, p2.ID) > strings.Index(body, `id="payment-`+p.ID) {
		t.Fatal("payments are not listed newest first")
	}
	if strings.Contains(body, `id="topup-form"`) {
		t.Fatal("the top-up form shows on a server without dev top-ups")
	}
	// A user without payments or wallets.
	bob := s.newPerson("bob@example.com", true)
	wantBody(t, "empty account", bob.do("GET", "/account", nil, nil), 200, `id="no-payments"`, `id="no-wallets"`)

	// Top-ups are refused unless the server allows them.
	wantStatus(t, "disabled", ada.form("/account/topup", url.Values{"amount": {"25.00"}, "asset": {"USD"}}), 403, "topups_disabled")
	wantStatus(t, "no token", ada.do("POST", "/account/topup", url.Values{"amount": {"25.00"}, "asset": {"USD"}}, nil), 403, "csrf_failed")
	if bal, _ := s.balance(ada.wallet); bal != 1_000_00 {
		t.Fatalf("balance %d", bal)
	}
	s.h.DevTopUp = true
	wantBody(t, "form", ada.do("GET", "/account", nil, nil), 200, `id="topup-form"`)
	for _, tt := range []struct{ amount, asset, want string }{
		{"0", "USD", "more than 0"}, {"10000.01", "USD", "at most 10000.00 USD"}, {"ten", "USD", "such as 25.00"},
		{"1.001", "USD", "such as 25.00"}, {"25.00", "XXX", "choose an asset"}, {"-5", "USD", "more than 0"},
	} {
		wantBody(t, "top-up "+tt.amount+" "+tt.asset, ada.form("/account/topup", url.Values{"amount": {tt.amount}, "asset": {tt.asset}}), 400, tt.want)
	}
	w = ada.form("/account/topup", url.Values{"amount": {"25.00"}, "asset": {"usd"}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/account?notice=topped_up" {
		t.Fatalf("top-up: %d %s", w.Code, w.Body)
	}
	if bal, held := s.balance(ada.wallet); bal != 1_025_00 || held != 23_50 {
		t.Fatalf("after top-up %d, %d held", bal, held)
	}
	if w := ada.form("/account/topup", url.Values{"amount": {"10000"}, "asset": {"EUR"}}); w.Code != http.StatusSeeOther {
		t.Fatalf("EUR top-up: %d %s", w.Code, w.Body)
	}
	wantBody(t, "after top-ups", ada.do("GET", "/account?notice=topped_up", nil, nil), 200, "Your wallet was topped up",
		`class="num balance">1025.00 USD`, `id="wallet-EUR"`, `class="num balance">10000.00 EUR`)
	if err := s.db.CheckLedger(s.ctx); err != nil {
		t.Fatal(err)
	}
}

// TestPayBrowser drives the payment page in headless Chromium: the page
// reloads by itself when the agent changes the order, and the user
// approves the new version with a virtual passkey.
func TestPayBrowser(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skip("no Chromium at " + chromiumPath)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://localhost:" + strings.Split(ln.Addr().String(), ":")[1]
	db := openDB(t)
	pk, err := consent.NewPasskeys(db, base)
	if err != nil {
		t.Fatal(err)
	}
	codes := &codeBox{}
	ids := &identity.Service{DB: db, Notifier: codes}
	h := web.New(ids, pk, &consent.Sessions{DB: db})
	h.Links = &linking.Service{DB: db}
	h.Code = &identity.CodeVerifier{Service: ids}
	h.Payments = &payments.Service{DB: db, Identity: ids}
	s := &paySite{linkSite: &linkSite{t: t, db: db, ids: ids, pk: pk, links: h.Links, h: h, codes: codes}, svc: h.Payments,
		ctx: context.Background()}
	s.merchant = s.newMerchant("Tea Shop", "5499", "USD")
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })

	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(chromiumPath), chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-quic", true), chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	if err := chromedp.Do(bctx); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(bctx, 60*time.Second)
	defer cancel()
	if _, err := chromedp.Call(ctx, cdpwebauthn.Enable, cdpwebauthn.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, cdpwebauthn.AddVirtualAuthenticator, cdpwebauthn.AddVirtualAuthenticatorParams{
		Options: &cdpwebauthn.VirtualAuthenticatorOptions{Protocol: cdpwebauthn.AuthenticatorProtocolCtap2,
			Ctap2version: cdpwebauthn.Ctap2versionCtap21, Transport: cdpwebauthn.AuthenticatorTransportInternal,
			HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true}}); err != nil {
		t.Fatal(err)
	}
	id := func(s string) chromedp.ID { return chromedp.ID(s) }
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			body, _ := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("body")))
			t.Fatalf("%s: %v; page: %q", what, err, body)
		}
	}
	run("sign up", chromedp.Navigate(base+"/signup"), chromedp.WaitVisible(id("email")),
		chromedp.SendKeys(id("email"), "ada@example.com"), chromedp.SendKeys(id("display_name"), "Ada Lovelace"),
		chromedp.SendKeys(id("country"), "GB"), chromedp.Click(id("signup")), chromedp.WaitVisible(id("no-passkeys")))
	run("add a passkey", chromedp.Click(id("add-passkey")), chromedp.WaitVisible(chromedp.CSS("#passkeys li")))
	userID, err := db.ContactOwner(s.ctx, "email:ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	challenge, err := h.Code.Start(s.ctx, userID)
	if err == nil {
		_, err = h.Code.Confirm(s.ctx, userID, challenge, codes.last())
	}
	if err != nil {
		t.Fatal(err)
	}
	// Leave the account page first: it reloads itself when a payment
	// appears, which would race with the navigation below.
	run("leave the account page", chromedp.Navigate("about:blank"))
	g := s.grant(userID, usdLimits)
	wallet := s.fund(userID, "USD", 100_00)
	p := s.create(g, s.merchant, "USD", teaOrder(greenTea, teapot))

	run("open the payment", chromedp.Navigate(base+"/pay/"+p.ID), chromedp.WaitVisible(id("approve-payment")),
		chromedp.WaitVisible(chromedp.CSS(`#payment[data-version="1"]`)))
	screenshot(t, ctx, "payment-approval.png")
	// The agent drops the teapot while the page is open: it reloads.
	o := teaOrder(greenTea)
	np, u, err := s.svc.PrepareUpdate(s.ctx, g, p.ID, o)
	if err == nil {
		_, err = s.svc.Commit(s.ctx, np, u)
	}
	if err != nil {
		t.Fatal(err)
	}
	run("see the new version", chromedp.WaitVisible(chromedp.CSS(`#payment[data-version="2"]`)), chromedp.WaitVisible(id("notice")))
	if total, err := chromedp.Run(ctx, chromedp.Text(id("total"))); err != nil || total != "23.50 USD" {
		t.Fatalf("total shown %q, %v", total, err)
	}
	run("share the name and approve", chromedp.Click(id("share-name")), chromedp.Click(id("approve-payment")),
		chromedp.WaitVisible(id("outcome")))
	got := s.payment(p.ID)
	if got.Status != agentpay.PaymentAuthorized || got.Version != 2 || len(got.Shared) != 1 || got.Shared[0] != "name" {
		t.Fatalf("payment %+v", got)
	}
	if _, held := s.balance(wallet); held != 23_50 {
		t.Fatalf("held %d", held)
	}
	// The account page lists it, live: the merchant's capture shows up
	// without reloading by hand.
	run("account", chromedp.Navigate(base+"/account"), chromedp.WaitVisible(chromedp.CSS(`#payment-`+p.ID+`[data-status="authorized"]`)))
	np, u, err = s.svc.PrepareCapture(s.ctx, s.merchant.ID, p.ID, 23_50)
	if err == nil {
		_, err = s.svc.Commit(s.ctx, np, u)
	}
	if err != nil {
		t.Fatal(err)
	}
	run("see the capture", chromedp.WaitVisible(chromedp.CSS(`#payment-`+p.ID+`[data-status="captured"]`)))
	if bal, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#wallet-USD .balance"))); err != nil || bal != "76.50 USD" {
		t.Fatalf("balance shown %q, %v", bal, err)
	}
}
