package sdk_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/agentpay/agentpay/sdk"
)

// The agent finds merchants in the directory, page by page and by name.
func TestDirectory(t *testing.T) {
	s := newShop(t)
	ctx := context.Background()
	if _, err := s.onboard("Corner Coffee"); err != nil {
		t.Fatal(err)
	}
	all, err := s.agent.Merchants(ctx, sdk.DirectoryQuery{})
	if err != nil || len(all.Data) != 2 || all.HasMore {
		t.Fatalf("directory: %+v, %v", all, err)
	}
	shop := all.Data[0]
	if shop.ID != s.merchantID || shop.Name != "Corner Shop" || shop.Category != "5411" || shop.Country != "US" ||
		!slices.Equal(shop.Assets, []string{"USD"}) {
		t.Fatalf("the shop: %+v", shop)
	}
	first, err := s.agent.Merchants(ctx, sdk.DirectoryQuery{Limit: 1})
	if err != nil || len(first.Data) != 1 || !first.HasMore {
		t.Fatalf("first page: %+v, %v", first, err)
	}
	next, err := s.agent.Merchants(ctx, sdk.DirectoryQuery{Limit: 1, StartingAfter: first.Data[0].ID})
	if err != nil || len(next.Data) != 1 || next.HasMore || next.Data[0].Name != "Corner Coffee" {
		t.Fatalf("second page: %+v, %v", next, err)
	}
	found, err := s.agent.Merchants(ctx, sdk.DirectoryQuery{Query: "coffee"})
	if err != nil || len(found.Data) != 1 || found.Data[0].ID != next.Data[0].ID {
		t.Fatalf("by name: %+v, %v", found, err)
	}
	one, err := s.agent.Merchant(ctx, s.merchantID)
	if err != nil || one.Name != "Corner Shop" {
		t.Fatalf("one merchant: %+v, %v", one, err)
	}
	_, err = s.agent.Merchant(ctx, "mer_unknown")
	wantSDKCode(t, "an unknown merchant", err, 404, "merchant_not_found")
}

// The grant says what the agent spent and may still spend.
func TestGrantSpending(t *testing.T) {
	s := newShop(t)
	ctx := context.Background()
	g, err := s.agent.Grant(ctx)
	if err != nil {
		t.Fatal(err)
	}
	today := time.Now().UTC().Format("2006-01-02")
	if g.Spent == nil || g.Remaining == nil || g.BudgetPeriod == nil || g.Spent.Today != 0 ||
		g.Remaining.Today != 10000 || g.Remaining.ThisMonth != 50000 || g.BudgetPeriod.Day != today {
		t.Fatalf("before paying: %+v", g)
	}
	p, err := s.agent.CreatePayment(ctx, sdk.PaymentRequest{Merchant: s.merchantID, Asset: "USD", Order: sdk.NewOrder(basket, 0, 0, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.approve(p.ID); err != nil {
		t.Fatal(err)
	}
	if g, err = s.agent.Grant(ctx); err != nil || g.Spent.Today != 900 || g.Spent.ThisMonth != 900 ||
		g.Remaining.Today != 9100 || g.Remaining.ThisMonth != 49100 {
		t.Fatalf("after paying 9.00: %+v, %v", g, err)
	}
}
