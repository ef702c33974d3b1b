package sdk_test

import (
	"context"
	"strings"
	"testing"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/consent"
	"github.com/agentpay/agentpay/consent/consenttest"
	"github.com/agentpay/agentpay/sdk"
)

// shop is a test server with a merchant, a linked agent and a funded user
// who approves with a software passkey.
type shop struct {
	*testServer
	t          *testing.T
	agent      *sdk.Agent
	merchant   *sdk.Merchant
	merchantID string
	pk         *consent.Passkeys
	key        *consenttest.Authenticator
}

func newShop(t *testing.T) *shop {
	ts := server(t)
	ctx := context.Background()
	apiKey, err := ts.onboard("Corner Shop")
	if err != nil {
		t.Fatal(err)
	}
	m := sdk.NewMerchant(ts.URL, apiKey)
	me, err := m.Me(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Passkey approvals need a domain; the approval is verified by the
	// payments service, as the approval page does.
	pk, err := consent.NewPasskeys(ts.DB, "https://pay.example.com")
	if err != nil {
		t.Fatal(err)
	}
	key := consenttest.New(t, "https://pay.example.com")
	id, creation, err := pk.BeginRegistration(ctx, "usr_sdk")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pk.FinishRegistration(ctx, "usr_sdk", id, key.Create(t, creation)); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Srv.Identity.TopUp(ctx, "usr_sdk", agentpay.Money{Amount: 500_00, Asset: "USD"}, "test"); err != nil {
		t.Fatal(err)
	}
	return &shop{testServer: ts, t: t, agent: linked(t, ts), merchant: m, merchantID: me.ID, pk: pk, key: key}
}

// approve is the user's passkey approval of the payment as it is now.
func (s *shop) approve(id string, shared ...string) error {
	s.t.Helper()
	ctx := context.Background()
	svc := s.Srv.Payments
	p, err := svc.ForUser(ctx, "usr_sdk", id)
	if err != nil {
		return err
	}
	obj, err := svc.Approval(ctx, p, shared)
	if err != nil {
		return err
	}
	cid, assertion, err := s.pk.BeginApproval(ctx, "usr_sdk", id, obj)
	if err != nil {
		return err
	}
	ev, err := s.pk.FinishApproval(ctx, "usr_sdk", cid, s.key.Get(s.t, assertion))
	if err != nil {
		return err
	}
	_, err = svc.Approve(ctx, "usr_sdk", id, ev)
	return err
}

var basket = []sdk.LineItem{{Name: "Oat milk", Quantity: 2, UnitAmount: 250}, {Name: "Bread", Quantity: 1, UnitAmount: 400, SKU: "BR-1"}}

func wantSDKCode(t *testing.T, what string, err error, status int, code string) {
	t.Helper()
	var e *sdk.Error
	if !asSDKError(err, &e) || e.Status != status || e.Code != code {
		t.Fatalf("%s: %v, want %d %s", what, err, status, code)
	}
}

func asSDKError(err error, e **sdk.Error) bool {
	x, ok := err.(*sdk.Error)
	*e = x
	return ok
}

// The agent asks, waits for the user's decision, and the merchant captures
// and refunds, all over the API with signed requests and API keys.
func TestPaymentOverTheAPI(t *testing.T) {
	s := newShop(t)
	// Refunding everything needs the protection fee from other money of
	// the merchant (it is not refunded); this shop has none.
	s.Srv.Payments.ProtectionFeeBPS = -1
	ctx := context.Background()
	order := sdk.NewOrder(basket, 72, 0, 0, 0) // 9.00 + 0.72 tax
	order.Purpose = "weekly groceries"
	p, err := s.agent.CreatePayment(ctx, sdk.PaymentRequest{Merchant: s.merchantID, Asset: "USD", Order: order})
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != sdk.PaymentRequiresApproval || p.Totals.Total != 972 || !strings.HasSuffix(p.ApprovalURL, "/pay/"+p.ID) ||
		p.Summary != "Pay Corner Shop 9.72 USD for Oat milk and 1 more." || p.ApprovalExpiresAt == nil {
		t.Fatalf("created %+v", p)
	}

	// The agent waits for the decision; the user approves meanwhile.
	decided := make(chan *sdk.Payment, 1)
	go func() {
		d, err := s.agent.WaitForDecision(ctx, p.ID)
		if err != nil {
			t.Error(err)
		}
		decided <- d
	}()
	if err := s.approve(p.ID, agentpay.ShareName); err != nil {
		t.Fatal(err)
	}
	if d := <-decided; d == nil || d.Status != sdk.PaymentAuthorized || d.Authorized != 972 || d.ApprovalURL != "" {
		t.Fatalf("decision %+v", d)
	}

	// The merchant sees a pseudonym and only what the user shared.
	mp, err := s.merchant.Payment(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(mp.Payer, "pyr_") || mp.Shared["name"] != "SDK User" || mp.Shared["email"] != "" || mp.Purpose != "" || mp.Grant != "" {
		t.Fatalf("merchant view %+v", mp)
	}
	again, _ := s.merchant.Payment(ctx, p.ID)
	if again.Payer != mp.Payer {
		t.Fatal("the payer pseudonym is not stable")
	}

	if _, err := s.merchant.Capture(ctx, p.ID, 973); err == nil {
		t.Fatal("captured more than authorized")
	} else {
		wantSDKCode(t, "capture above authorized", err, 400, "invalid_capture_amount")
	}
	c, err := s.merchant.Capture(ctx, p.ID, 900)
	if err != nil || c.Status != sdk.PaymentCaptured || c.Captured != 900 {
		t.Fatalf("capture: %+v, %v", c, err)
	}
	_, err = s.merchant.Capture(ctx, p.ID, 0)
	wantSDKCode(t, "capture twice", err, 409, "payment_captured")
	_, err = s.agent.CancelPayment(ctx, p.ID, "changed my mind")
	wantSDKCode(t, "cancel after capture", err, 409, "payment_captured")
	_, err = s.merchant.Refund(ctx, p.ID, 901, "")
	wantSDKCode(t, "refund above captured", err, 400, "refund_exceeds_captured")
	r, err := s.merchant.Refund(ctx, p.ID, 400, "no bread")
	if err != nil || r.Status != sdk.PaymentPartiallyRefunded || r.Refunded != 400 {
		t.Fatalf("refund: %+v, %v", r, err)
	}
	r, err = s.merchant.Refund(ctx, p.ID, 500, "")
	if err != nil || r.Status != sdk.PaymentRefunded {
		t.Fatalf("second refund: %+v, %v", r, err)
	}

	list, err := s.agent.Payments(ctx, 10, "")
	if err != nil || len(list.Data) != 1 || list.Data[0].ID != p.ID || list.Data[0].Status != sdk.PaymentRefunded {
		t.Fatalf("agent's list: %+v, %v", list, err)
	}
	ml, err := s.merchant.Payments(ctx, 10, "")
	if err != nil || len(ml.Data) != 1 || ml.Data[0].Payer != mp.Payer {
		t.Fatalf("merchant's list: %+v, %v", ml, err)
	}
	if err := s.DB.CheckLedger(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestPaymentRefusalsOverTheAPI(t *testing.T) {
	s := newShop(t)
	ctx := context.Background()
	bad := sdk.NewOrder(basket, 0, 0, 0, 0)
	bad.Totals.Total++
	tests := []struct {
		name   string
		req    sdk.PaymentRequest
		status int
		code   string
	}{
		{"totals do not add up", sdk.PaymentRequest{Merchant: s.merchantID, Asset: "USD", Order: bad}, 400, "totals_mismatch"},
		{"unknown merchant", sdk.PaymentRequest{Merchant: "mer_unknown", Asset: "USD", Order: sdk.NewOrder(basket, 0, 0, 0, 0)}, 400, "merchant_not_found"},
		{"no merchant", sdk.PaymentRequest{Asset: "USD", Order: sdk.NewOrder(basket, 0, 0, 0, 0)}, 400, "missing_merchant"},
		{"currency the merchant does not take", sdk.PaymentRequest{Merchant: s.merchantID, Asset: "EUR", Order: sdk.NewOrder(basket, 0, 0, 0, 0)}, 400, "asset_not_supported"},
		{"above the grant", sdk.PaymentRequest{Merchant: s.merchantID, Asset: "USD",
			Order: sdk.NewOrder([]sdk.LineItem{{Name: "TV", Quantity: 1, UnitAmount: 50_01}}, 0, 0, 0, 0)}, 403, "exceeds_grant_limit"},
		{"no items", sdk.PaymentRequest{Merchant: s.merchantID, Asset: "USD", Order: sdk.Order{Totals: sdk.Totals{Total: 1}}}, 400, "invalid_items"},
	}
	for _, tt := range tests {
		_, err := s.agent.CreatePayment(ctx, tt.req)
		wantSDKCode(t, tt.name, err, tt.status, tt.code)
	}
	var n int
	if err := s.DB.Reader().QueryRowContext(ctx, `SELECT count(*) FROM payments`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("refused requests wrote %d payments (%v)", n, err)
	}

	// Updates while pending make a new version; another agent sees nothing.
	p, err := s.agent.CreatePayment(ctx, sdk.PaymentRequest{Merchant: s.merchantID, Asset: "USD", Order: sdk.NewOrder(basket, 0, 0, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	u, err := s.agent.UpdatePayment(ctx, p.ID, sdk.NewOrder(basket[:1], 0, 0, 0, 0))
	if err != nil || u.Version != 2 || u.Totals.Total != 500 {
		t.Fatalf("update: %+v, %v", u, err)
	}
	other := linked(t, s.testServer)
	_, err = other.Payment(ctx, p.ID, 0)
	wantSDKCode(t, "another agent's payment", err, 404, "payment_not_found")
	_, err = s.merchant.Capture(ctx, p.ID, 0)
	wantSDKCode(t, "capture before approval", err, 409, "payment_requires_approval")
	c, err := s.agent.CancelPayment(ctx, p.ID, "found it cheaper")
	if err != nil || c.Status != sdk.PaymentCanceled || c.CancelReason != "found it cheaper" || c.CanceledBy != "agent" {
		t.Fatalf("cancel: %+v, %v", c, err)
	}
	if err := s.approve(p.ID); agentpay.ErrorCode(err) != "payment_canceled" {
		t.Fatalf("approving a canceled payment: %v", err)
	}
	_, err = s.agent.Payment(ctx, p.ID, 61e9)
	wantSDKCode(t, "wait too long", err, 400, "invalid_wait")
}
