package sdk_test

import (
	"context"
	"strings"
	"testing"

	"github.com/agentpay/agentpay/sdk"
)

// An agent with scope subscriptions proposes a subscription, the user
// approves its mandate, the scheduler charges the first period, and the
// agent pauses, resumes, lowers the price and cancels it.
func TestSubscriptions(t *testing.T) {
	s := newShop(t)
	ctx := context.Background()
	a := sdk.NewAgent(s.URL, newKey(t))
	a.Sleep = noSleep
	req := linkReq
	req.Scopes = []string{"subscriptions"}
	if _, err := a.Link(ctx, req, func(p sdk.Pending) {
		if err := s.testServer.approve(p.UserCode); err != nil { // the link's, not a payment's
			t.Error(err)
		}
	}); err != nil {
		t.Fatal(err)
	}
	_, err := s.agent.CreateSubscription(ctx, sdk.SubscriptionRequest{})
	wantSDKCode(t, "without the scope", err, 403, "insufficient_scope")

	sub, err := a.CreateSubscription(ctx, sdk.SubscriptionRequest{Merchant: s.merchantID, Plan: "Tea box", Asset: "USD",
		Amount: 9_00, Interval: sdk.Interval{Unit: "month", Count: 1}, TimeZone: "Europe/London", Cycles: 12})
	if err != nil || sub.Status != sdk.SubscriptionIncomplete || !strings.HasSuffix(sub.ApprovalURL, "/mandates/"+sub.Mandate) ||
		sub.EndsAt == nil {
		t.Fatalf("created %+v %v", sub, err)
	}
	s.approveMandate(sub.Mandate)
	if _, err := s.Srv.Subscriptions.RunDue(ctx); err != nil {
		t.Fatal(err)
	}
	if sub, err = a.Subscription(ctx, sub.ID); err != nil || sub.Status != sdk.SubscriptionActive || sub.NextPeriod != 1 {
		t.Fatalf("after the first run: %+v %v", sub, err)
	}
	for _, step := range []struct {
		call func(context.Context, string) (*sdk.Subscription, error)
		want string
	}{{a.PauseSubscription, sdk.SubscriptionPaused}, {a.ResumeSubscription, sdk.SubscriptionActive}} {
		if got, err := step.call(ctx, sub.ID); err != nil || got.Status != step.want {
			t.Fatalf("want %s: %+v %v", step.want, got, err)
		}
	}
	if got, err := a.ChangeSubscription(ctx, sub.ID, 7_00); err != nil || got.Amount != 7_00 || got.PendingChange != nil {
		t.Fatalf("lower: %+v %v", got, err)
	}
	if got, err := a.ChangeSubscription(ctx, sub.ID, 12_00); err != nil || got.Amount != 7_00 || got.PendingChange == nil ||
		got.PendingChange.Amount != 12_00 {
		t.Fatalf("higher: %+v %v", got, err)
	}
	l, err := a.Subscriptions(ctx, 10, "")
	if err != nil || len(l.Data) != 1 || l.Data[0].ID != sub.ID {
		t.Fatalf("list %+v %v", l, err)
	}
	if got, err := a.CancelSubscription(ctx, sub.ID); err != nil || got.Status != sdk.SubscriptionCanceled || got.CanceledBy != "agent" {
		t.Fatalf("cancel: %+v %v", got, err)
	}
	_, err = a.CancelSubscription(ctx, sub.ID)
	wantSDKCode(t, "cancel twice", err, 409, "subscription_canceled")
}

// A merchant offers a metered plan, the customer accepts it and approves
// its mandate, and the merchant reports usage, reads and cancels it.
func TestMerchantSubscriptionOffer(t *testing.T) {
	s := newShop(t)
	ctx := context.Background()
	off, err := s.merchant.OfferSubscription(ctx, sdk.SubscriptionRequest{Plan: "API calls", Asset: "USD", MaxAmount: 20_00,
		Interval: sdk.Interval{Unit: "month", Count: 1}, TimeZone: "UTC"})
	if err != nil || off.Status != sdk.SubscriptionOffered || !strings.HasSuffix(off.AcceptURL, "/subscribe/"+off.ID) {
		t.Fatalf("offer %+v %v", off, err)
	}
	sub, u, err := s.Srv.Subscriptions.PrepareAccept(ctx, "usr_sdk", off.ID)
	if err == nil {
		err = s.DB.Committer.Submit(ctx, u).Err
	}
	if err != nil {
		t.Fatal(err)
	}
	s.approveMandate(sub.MandateID)
	if _, err := s.Srv.Subscriptions.RunDue(ctx); err != nil {
		t.Fatal(err)
	}
	use, err := s.merchant.ReportUsage(ctx, off.ID, 7_50)
	if err != nil || use.PeriodUsage != 7_50 || use.MaxAmount != 20_00 {
		t.Fatalf("usage %+v %v", use, err)
	}
	_, err = s.merchant.ReportUsage(ctx, off.ID, 12_51)
	wantSDKCode(t, "over the max", err, 400, "usage_over_max")
	got, err := s.merchant.Subscription(ctx, off.ID)
	if err != nil || got.Status != sdk.SubscriptionActive || got.Payer == "" || got.Grant != "" {
		t.Fatalf("read %+v %v", got, err)
	}
	if l, err := s.merchant.Subscriptions(ctx, 10, ""); err != nil || len(l.Data) != 1 {
		t.Fatalf("list %+v %v", l, err)
	}
	if got, err := s.merchant.CancelSubscription(ctx, off.ID); err != nil || got.Status != sdk.SubscriptionCanceled {
		t.Fatalf("cancel %+v %v", got, err)
	}
}
