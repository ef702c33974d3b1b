package sdk_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
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

// onboardCreator onboards a merchant of kind creator through the operator
// route.
func (ts *testServer) onboardCreator(name string) error {
	body := `{"name":"` + name + `","kind":"creator","mcc":"5815","country":"GB","settlement_asset":"USD"}`
	req, err := http.NewRequest(http.MethodPost, ts.URL+"/v1/merchants", strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", "onboard-"+name)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	var out struct {
		Merchant struct {
			Kind string `json:"kind"`
		} `json:"merchant"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusCreated || out.Merchant.Kind != sdk.MerchantCreator {
		return fmt.Errorf("onboarding: %d, kind %q", resp.StatusCode, out.Merchant.Kind)
	}
	return nil
}

// Merchants are businesses or creators; the agent finds the creators it
// can tip, and each merchant reads its own kind.
func TestDirectoryKinds(t *testing.T) {
	s := newShop(t)
	ctx := context.Background()
	if err := s.onboardCreator("Ada Writes"); err != nil {
		t.Fatal(err)
	}
	creators, err := s.agent.Merchants(ctx, sdk.DirectoryQuery{Kind: sdk.MerchantCreator})
	if err != nil || len(creators.Data) != 1 || creators.Data[0].Name != "Ada Writes" || creators.Data[0].Kind != sdk.MerchantCreator {
		t.Fatalf("creators: %+v, %v", creators, err)
	}
	businesses, err := s.agent.Merchants(ctx, sdk.DirectoryQuery{Kind: sdk.MerchantBusiness})
	if err != nil || len(businesses.Data) != 1 || businesses.Data[0].ID != s.merchantID || businesses.Data[0].Kind != sdk.MerchantBusiness {
		t.Fatalf("businesses: %+v, %v", businesses, err)
	}
	one, err := s.agent.Merchant(ctx, creators.Data[0].ID)
	if err != nil || one.Kind != sdk.MerchantCreator {
		t.Fatalf("one creator: %+v, %v", one, err)
	}
	me, err := s.merchant.Me(ctx)
	if err != nil || me.Kind != sdk.MerchantBusiness {
		t.Fatalf("the shop reads itself as %+v, %v", me, err)
	}
	_, err = s.agent.Merchants(ctx, sdk.DirectoryQuery{Kind: "person"})
	wantSDKCode(t, "an unknown kind", err, 400, "invalid_kind")
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
