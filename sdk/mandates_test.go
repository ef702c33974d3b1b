package sdk_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/agentpay/agentpay/sdk"
)

// approveMandate is the user's passkey approval of the mandate's terms, as
// the mandate page makes it.
func (s *shop) approveMandate(id string) {
	s.t.Helper()
	ctx := context.Background()
	svc := s.Srv.Payments
	m, err := svc.MandateForUser(ctx, "usr_sdk", id)
	if err != nil {
		s.t.Fatal(err)
	}
	obj, err := svc.MandateApproval(ctx, m)
	if err != nil {
		s.t.Fatal(err)
	}
	cid, assertion, err := s.pk.BeginApproval(ctx, "usr_sdk", id, obj)
	if err != nil {
		s.t.Fatal(err)
	}
	ev, err := s.pk.FinishApproval(ctx, "usr_sdk", cid, s.key.Get(s.t, assertion))
	if err != nil {
		s.t.Fatal(err)
	}
	_, u, err := svc.PrepareApproveMandate(ctx, "usr_sdk", id, ev)
	if err == nil {
		err = s.DB.Committer.Submit(ctx, u).Err
	}
	if err != nil {
		s.t.Fatal(err)
	}
}

func teaBox(merchant string, amount int64) sdk.Charge {
	return sdk.Charge{Merchant: merchant, Order: sdk.NewOrder([]sdk.LineItem{{Name: "Tea box", Quantity: 1, UnitAmount: amount}}, 0, 0, 0, 0)}
}

func TestMandates(t *testing.T) {
	s := newShop(t)
	ctx := context.Background()
	ends := time.Now().Add(90 * 24 * time.Hour).Truncate(time.Second)
	sub, err := s.agent.ProposeMandate(ctx, sdk.MandateRequest{Kind: sdk.MandateSubscription, Merchant: s.merchantID, Asset: "USD",
		PerPaymentMax: 4_00, Budget: 10_00, Period: sdk.Interval{Unit: "month", Count: 1}, TimeZone: "Europe/London",
		EndsAt: ends, Description: "Tea club"})
	if err != nil {
		t.Fatal(err)
	}
	if sub.Status != sdk.MandateRequiresApproval || !strings.HasSuffix(sub.ApprovalURL, "/mandates/"+sub.ID) ||
		sub.EndsAt == nil || !sub.EndsAt.Equal(ends) || sub.Merchant != s.merchantID || sub.Summary == "" {
		t.Fatalf("proposed %+v", sub)
	}
	s.approveMandate(sub.ID)

	got, err := s.merchant.Mandate(ctx, sub.ID)
	if err != nil || got.Status != sdk.MandateActive || got.Payer == "" || got.Grant != "" {
		t.Fatalf("merchant reads: %+v %v", got, err)
	}
	// A charge repeated under one key is one payment.
	keyed := sdk.WithIdempotencyKey(ctx, "tea-club-2030-01")
	p, err := s.merchant.ChargeMandate(keyed, sub.ID, teaBox("", 3_00))
	if err != nil || p.Status != sdk.PaymentAuthorized || p.Authorized != 3_00 {
		t.Fatalf("charge: %+v %v", p, err)
	}
	again, err := s.merchant.ChargeMandate(keyed, sub.ID, teaBox("", 3_00))
	if err != nil || again.ID != p.ID {
		t.Fatalf("charge again: %+v %v", again, err)
	}
	if p, err := s.merchant.ChargeMandate(ctx, sub.ID, teaBox("", 4_00)); err != nil || p.Status != sdk.PaymentAuthorized {
		t.Fatalf("second charge: %+v %v", p, err)
	}
	p, err = s.merchant.ChargeMandate(ctx, sub.ID, teaBox("", 4_00))
	if err != nil || p.Status != sdk.PaymentDeclined || p.DeclineCode != sdk.DeclineMandateBudget {
		t.Fatalf("over the budget: %+v %v", p, err)
	}
	var apiErr *sdk.Error
	if _, err := s.agent.ChargeMandate(ctx, sub.ID, teaBox(s.merchantID, 1_00)); !errors.As(err, &apiErr) || apiErr.Code != "mandate_not_chargeable" {
		t.Fatalf("the agent charges a subscription: %v", err)
	}

	open, err := s.agent.ProposeMandate(ctx, sdk.MandateRequest{Kind: sdk.MandateOpen, Categories: []string{"5411"}, Asset: "USD",
		PerPaymentMax: 2_00, Budget: 5_00, Period: sdk.Interval{Unit: "week", Count: 1}, TimeZone: "UTC", Description: "Groceries"})
	if err != nil || open.Merchant != "" || len(open.Categories) != 1 {
		t.Fatalf("open: %+v %v", open, err)
	}
	if _, err := s.agent.ChargeMandate(ctx, open.ID, teaBox(s.merchantID, 1_00)); !errors.As(err, &apiErr) || apiErr.Code != "mandate_not_approved" {
		t.Fatalf("charge before approval: %v", err)
	}
	s.approveMandate(open.ID)
	if p, err := s.agent.ChargeMandate(ctx, open.ID, teaBox(s.merchantID, 1_50)); err != nil || p.Status != sdk.PaymentAuthorized {
		t.Fatalf("agent's charge: %+v %v", p, err)
	}
	if m, err := s.agent.Mandate(ctx, open.ID); err != nil || m.Status != sdk.MandateActive || m.ApprovedAt == nil {
		t.Fatalf("agent reads: %+v %v", m, err)
	}

	l, err := s.agent.Mandates(ctx, 1, "")
	if err != nil || len(l.Data) != 1 || l.Data[0].ID != open.ID || !l.HasMore {
		t.Fatalf("agent's first page: %+v %v", l, err)
	}
	if l, err = s.agent.Mandates(ctx, 1, open.ID); err != nil || len(l.Data) != 1 || l.Data[0].ID != sub.ID || l.HasMore {
		t.Fatalf("agent's second page: %+v %v", l, err)
	}
	if l, err = s.merchant.Mandates(ctx, 0, ""); err != nil || len(l.Data) != 1 || l.Data[0].ID != sub.ID {
		t.Fatalf("merchant's list: %+v %v", l, err)
	}
}
