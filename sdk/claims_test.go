package sdk_test

import (
	"context"
	"strings"
	"testing"

	"github.com/agentpay/agentpay/compensation"
	"github.com/agentpay/agentpay/risk"
	"github.com/agentpay/agentpay/sdk"
)

// The agent and the merchant follow a claim the user filed.
func TestClaimsOverTheAPI(t *testing.T) {
	s := newShop(t)
	ctx := context.Background()
	// No risk rules (this test is about claims), and approvals are
	// re-verified with the passkeys the user approved with.
	s.Srv.Payments.Risk = risk.NewEngine(risk.MustCompile(""), 1)
	s.Srv.Compensation.Passkeys = s.pk

	p, err := s.agent.CreatePayment(ctx, sdk.PaymentRequest{Merchant: s.merchantID, Asset: "USD",
		Order: sdk.NewOrder(basket, 72, 0, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.approve(p.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.merchant.Capture(ctx, p.ID, 0); err != nil {
		t.Fatal(err)
	}
	if list, err := s.agent.Claims(ctx, p.ID); err != nil || len(list) != 0 {
		t.Fatalf("claims before filing: %v, %v", list, err)
	}

	filed, err := s.Srv.Compensation.File(ctx, compensation.FileRequest{UserID: "usr_sdk", PaymentID: p.ID,
		Kind: compensation.KindUnauthorized, Description: "I never asked for bread"})
	if err != nil {
		t.Fatal(err)
	}

	list, err := s.agent.Claims(ctx, p.ID)
	if err != nil || len(list) != 1 {
		t.Fatalf("the agent's claims: %v, %v", list, err)
	}
	c := list[0]
	if c.ID != filed.ID || c.Status != sdk.ClaimInReview || c.DecisionCode != "approval_on_record" || c.Kind != sdk.ClaimUnauthorized ||
		c.Amount != 972 || c.Grant == "" || c.Payer != "" || !strings.HasPrefix(c.ID, "clm_") || c.Decided() {
		t.Fatalf("the agent's claim %+v", c)
	}

	mc, err := s.merchant.Claim(ctx, filed.ID)
	if err != nil {
		t.Fatal(err)
	}
	if mc.Payer == "" || !strings.HasPrefix(mc.Payer, "pyr_") || mc.Grant != "" || mc.Payment != p.ID || mc.Description != "I never asked for bread" {
		t.Fatalf("the merchant's claim %+v", mc)
	}
	page, err := s.merchant.Claims(ctx, 10, "")
	if err != nil || len(page.Data) != 1 || page.HasMore || page.Data[0].ID != filed.ID {
		t.Fatalf("the merchant's claims: %+v, %v", page, err)
	}

	if _, err := s.Srv.Compensation.Decide(ctx, filed.ID, compensation.Decision{Approve: true, Recover: true}); err != nil {
		t.Fatal(err)
	}
	if mc, err = s.merchant.Claim(ctx, filed.ID); err != nil || mc.Status != sdk.ClaimApproved || !mc.Decided() ||
		mc.Recovered+mc.Debt != 972 || mc.DecidedAt == nil {
		t.Fatalf("after the approval: %+v, %v", mc, err)
	}
	if pay, err := s.merchant.Payment(ctx, p.ID); err != nil || pay.Status != sdk.PaymentRefunded || pay.Refunded != 972 {
		t.Fatalf("the payment after the approval: %+v, %v", pay, err)
	}

	// Nobody else's.
	other := linked(t, s.testServer)
	_, err = other.Claims(ctx, p.ID)
	wantSDKCode(t, "another agent's claims", err, 404, "payment_not_found")
	apiKey, err := s.onboard("Rival")
	if err != nil {
		t.Fatal(err)
	}
	_, err = sdk.NewMerchant(s.URL, apiKey).Claim(ctx, filed.ID)
	wantSDKCode(t, "another merchant's claim", err, 404, "claim_not_found")
}

// The agent files a claim for its user; the same call again is the same
// claim, and another agent cannot claim the payment.
func TestAgentFilesClaim(t *testing.T) {
	s := newShop(t)
	ctx := context.Background()
	s.Srv.Payments.Risk = risk.NewEngine(risk.MustCompile(""), 1)
	s.Srv.Compensation.Passkeys = s.pk

	p, err := s.agent.CreatePayment(ctx, sdk.PaymentRequest{Merchant: s.merchantID, Asset: "USD",
		Order: sdk.NewOrder(basket, 72, 0, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	req := sdk.ClaimRequest{Payment: p.ID, Kind: sdk.ClaimNotReceived, Description: "the parcel never came"}
	_, err = s.agent.FileClaim(ctx, req)
	wantSDKCode(t, "before the capture", err, 409, "payment_not_captured")
	if err := s.approve(p.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.merchant.Capture(ctx, p.ID, 0); err != nil {
		t.Fatal(err)
	}

	_, err = linked(t, s.testServer).FileClaim(ctx, req)
	wantSDKCode(t, "another agent's payment", err, 404, "payment_not_found")

	keyed := sdk.WithIdempotencyKey(ctx, "claim-"+p.ID)
	c, err := s.agent.FileClaim(keyed, req)
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != sdk.ClaimInReview || c.DecisionCode != "merchant_dispute" || c.Payment != p.ID || c.Amount != 972 ||
		c.Grant == "" || c.Description != req.Description {
		t.Fatalf("filed %+v", c)
	}
	again, err := s.agent.FileClaim(keyed, req)
	if err != nil || again.ID != c.ID {
		t.Fatalf("the same call again: %+v, %v", again, err)
	}
	req.Kind = sdk.ClaimDuplicate
	_, err = s.agent.FileClaim(keyed, req)
	wantSDKCode(t, "the same key, another claim", err, 422, "idempotency_conflict")
	_, err = s.agent.FileClaim(ctx, req)
	wantSDKCode(t, "a second claim", err, 409, "claim_exists")
	if list, err := s.agent.Claims(ctx, p.ID); err != nil || len(list) != 1 || list[0].ID != c.ID {
		t.Fatalf("the payment's claims: %+v, %v", list, err)
	}
}
