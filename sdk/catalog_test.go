package sdk_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/agentpay/agentpay/sdk"
)

// teeProduct is the spec's Product and Variant examples as SDK types.
func teeProduct() sdk.FeedProduct {
	yes := true
	return sdk.FeedProduct{ID: "prod_classic_tee", Title: "Classic Tee",
		Media: []sdk.FeedMedia{{Type: "image", URL: "https://cdn.merchant.com/products/classic-tee/main.jpg", AltText: "Classic Tee front view"}},
		Variants: []sdk.FeedVariant{{ID: "sku123-red-s", Title: "Classic Tee - Red / Small",
			Description:    &sdk.FeedDescription{Plain: "Classic cotton tee in red, size small."},
			URL:            "https://merchant.com/products/classic-tee?variant=sku123-red-s",
			Barcodes:       []sdk.FeedBarcode{{Type: "GTIN", Value: "00012345600012"}},
			Price:          &sdk.FeedPrice{Amount: 1999, Currency: "USD"},
			ListPrice:      &sdk.FeedPrice{Amount: 2499, Currency: "USD"},
			Availability:   &sdk.FeedAvailability{Available: &yes, Status: "in_stock"},
			VariantOptions: []sdk.FeedVariantOption{{Name: "Color", Value: "Red"}, {Name: "Size", Value: "Small"}},
			Seller:         &sdk.FeedSeller{Name: "Example Merchant"},
			Marketplace:    &sdk.FeedSeller{Name: "Example Marketplace"}}}}
}

// A merchant publishes its catalog with the SDK and reads it back; an
// agent searches it and reads a product with its variants.
func TestCatalog(t *testing.T) {
	s := newShop(t)
	ctx := context.Background()
	if _, err := s.merchant.Catalog(ctx); sdk.ErrorCode(err) != "catalog_not_found" {
		t.Fatalf("no catalog yet: %v", err)
	}
	mug := sdk.FeedProduct{ID: "mug", Title: "Coffee Mug", Description: &sdk.FeedDescription{Plain: "Stoneware, 350 ml"},
		Variants: []sdk.FeedVariant{{ID: "mug-1", Title: "Mug", Price: &sdk.FeedPrice{Amount: 900, Currency: "USD"}}}}
	card := sdk.FeedProduct{ID: "card", Title: "Gift Card"} // no variants yet: sent as []
	c, err := s.merchant.PublishCatalog(ctx, []sdk.FeedProduct{teeProduct(), mug, card})
	if err != nil {
		t.Fatal(err)
	}
	if c.ProductCount != 3 || c.MerchantID != s.merchantID || !strings.HasPrefix(c.FeedID, "feed_") || c.UpdatedAt.IsZero() {
		t.Fatalf("published: %+v", c)
	}
	back, err := s.merchant.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	card.Variants = []sdk.FeedVariant{}
	if want := []sdk.FeedProduct{teeProduct(), mug, card}; !reflect.DeepEqual(back.Products, want) {
		t.Fatalf("read back %+v, want %+v", back.Products, want)
	}

	price := int64(1000)
	l, err := s.agent.SearchProducts(ctx, sdk.ProductQuery{Currency: "USD", MaxPrice: &price})
	if err != nil || len(l.Data) != 1 || l.Data[0].ID != "mug" || l.Data[0].Price.Amount != 900 ||
		l.Data[0].Merchant.Name != "Corner Shop" {
		t.Fatalf("under 10 USD: %+v, %v", l, err)
	}
	first, err := s.agent.SearchProducts(ctx, sdk.ProductQuery{Limit: 2})
	if err != nil || len(first.Data) != 2 || !first.HasMore || first.NextStartingAfter == "" {
		t.Fatalf("first page: %+v, %v", first, err)
	}
	next, err := s.agent.SearchProducts(ctx, sdk.ProductQuery{Limit: 2, StartingAfter: first.NextStartingAfter})
	if err != nil || len(next.Data) != 1 || next.HasMore {
		t.Fatalf("next page: %+v, %v", next, err)
	}
	p, err := s.agent.Product(ctx, s.merchantID, "prod_classic_tee")
	if err != nil {
		t.Fatal(err)
	}
	if p.Price == nil || p.Price.Amount != 1999 || p.Availability != "in_stock" || p.ACPProduct == nil ||
		!reflect.DeepEqual(*p.ACPProduct, teeProduct()) {
		t.Fatalf("one product: %+v", p)
	}
	_, err = s.agent.Product(ctx, s.merchantID, "nope")
	wantSDKCode(t, "an unknown product", err, 404, "product_not_found")

	// A bad feed is refused whole, saying where; the catalog stays.
	bad := mug
	bad.Variants = []sdk.FeedVariant{{ID: "mug-1", Title: "Mug", Price: &sdk.FeedPrice{Amount: 900, Currency: "XYZ"}}}
	_, err = s.merchant.PublishCatalog(ctx, []sdk.FeedProduct{bad})
	var e *sdk.Error
	if !asSDKError(err, &e) || e.Status != 400 || e.Code != "invalid_feed" || e.Param != "$.products[0].variants[0].price.currency" {
		t.Fatalf("a bad feed: %v", err)
	}
	_, err = s.merchant.PublishCatalogJSON(ctx, json.RawMessage(`{"products":[{"id":"x","variants":[{"id":"x1","title":"X","price":{"amount":1.5,"currency":"USD"}}]}]}`))
	if !asSDKError(err, &e) || e.Param != "$.products[0].variants[0].price.amount" {
		t.Fatalf("a float price: %v", err)
	}
	if again, err := s.merchant.Catalog(ctx); err != nil || again.ProductCount != 3 {
		t.Fatalf("after refusals: %+v, %v", again, err)
	}

	// A document the merchant has replaces the catalog whole.
	c, err = s.merchant.PublishCatalogJSON(ctx, json.RawMessage(`{"products":[{"id":"mug","variants":[]}]}`))
	if err != nil || c.ProductCount != 1 {
		t.Fatalf("publish JSON: %+v, %v", c, err)
	}
}
