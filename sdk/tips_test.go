package sdk_test

import (
	"context"
	"testing"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/linking"
	"github.com/agentpay/agentpay/sdk"
)

// tipper links an agent whose tips up to 2.00 may be given without a tap,
// and has the user approve a tips mandate for the shop's merchant (at most
// 2.00 a tip, 5.00 a day) with their passkey.
func (s *shop) tipper() *sdk.Agent {
	t := s.t
	t.Helper()
	ctx := context.Background()
	a := sdk.NewAgent(s.URL, newKey(t))
	a.Sleep = noSleep
	g, err := a.Link(ctx, linkReq, func(p sdk.Pending) {
		if _, err := s.Srv.Links.Approve(ctx, p.UserCode, linking.Approval{UserID: "usr_sdk", TipAutoApproveMax: 2_00}); err != nil {
			t.Error(err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	svc := s.Srv.Payments
	m, u, err := svc.PrepareProposeMandate(ctx, agentpay.Mandate{Kind: agentpay.MandateTips, UserID: "usr_sdk", GrantID: g.ID,
		MerchantID: s.merchantID, Asset: "USD", PerPaymentMax: 2_00, Budget: 5_00,
		Period: agentpay.Interval{Unit: agentpay.IntervalDay, Count: 1}, TimeZone: "UTC", Description: "Tips for the corner shop"})
	if err == nil {
		err = s.DB.Committer.Submit(ctx, u).Err
	}
	if err != nil {
		t.Fatal(err)
	}
	obj, err := svc.MandateApproval(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	cid, assertion, err := s.pk.BeginApproval(ctx, "usr_sdk", m.ID, obj)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := s.pk.FinishApproval(ctx, "usr_sdk", cid, s.key.Get(t, assertion))
	if err != nil {
		t.Fatal(err)
	}
	if _, u, err = svc.PrepareApproveMandate(ctx, "usr_sdk", m.ID, ev); err == nil {
		err = s.DB.Committer.Submit(ctx, u).Err
	}
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// Agent.Tip gives a tip: at once within the mandate, otherwise as a payment
// the user approves; agent and merchant list the tips.
func TestTipOverTheAPI(t *testing.T) {
	s := newShop(t)
	ctx := context.Background()
	a := s.tipper()
	p, err := a.Tip(ctx, s.merchantID, 1_50, "", "great article")
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != sdk.PaymentCaptured || p.Captured != 1_50 || !p.Tip.AutoApproved || p.Tip.Mandate == "" || p.Description != "great article" {
		t.Fatalf("auto-approved tip: %+v", p)
	}
	asked, err := a.Tip(ctx, s.merchantID, 3_00, "USD", "above what may be given without asking")
	if err != nil {
		t.Fatal(err)
	}
	if asked.Status != sdk.PaymentRequiresApproval || asked.ApprovalURL == "" || asked.Tip.AutoApproved {
		t.Fatalf("a tip to approve: %+v", asked)
	}
	// The user's approval gives the tip: captured at once, nothing for
	// the merchant to capture.
	if err := s.approve(asked.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := a.Payment(ctx, asked.ID, 0); err != nil || got.Status != sdk.PaymentCaptured || got.Captured != 3_00 {
		t.Fatalf("the approved tip: %+v %v", got, err)
	}
	_, err = a.Tip(ctx, s.merchantID, 0, "USD", "")
	wantSDKCode(t, "a zero tip", err, 400, "invalid_amount")

	mine, err := a.Tips(ctx, 10, "")
	if err != nil || len(mine.Data) != 2 || mine.Data[0].Payment != asked.ID || mine.Data[1].Note != "great article" {
		t.Fatalf("the agent's tips: %+v %v", mine, err)
	}
	page, err := s.merchant.Tips(ctx, 1, "")
	if err != nil || len(page.Data) != 1 || !page.HasMore || page.Data[0].Status != sdk.PaymentCaptured || page.Data[0].Payer == "" {
		t.Fatalf("the merchant's first page: %+v %v", page, err)
	}
	next, err := s.merchant.Tips(ctx, 1, page.Data[0].Payment)
	if err != nil || len(next.Data) != 1 || next.HasMore || next.Data[0].Payment != p.ID {
		t.Fatalf("the merchant's next page: %+v %v", next, err)
	}
}
