package mcpserver_test

import (
	"context"
	"strings"
	"testing"

	"github.com/agentpay/agentpay/mcpserver"
	"github.com/agentpay/agentpay/sdk"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// search_products finds what merchants published, with prices the model
// can compute with and show, page by page; bad arguments are tool errors.
func TestSearchProductsTool(t *testing.T) {
	s := newShop(t)
	ctx := context.Background()
	no := false
	_, err := s.merchant.PublishCatalog(ctx, []sdk.FeedProduct{
		{ID: "beans", Title: "Espresso Beans", Description: &sdk.FeedDescription{Plain: "Dark roast, 1 kg"},
			URL:      "https://coffee.example/beans",
			Variants: []sdk.FeedVariant{{ID: "beans-1kg", Title: "1 kg", Price: &sdk.FeedPrice{Amount: 1299, Currency: "USD"}}}},
		{ID: "decaf", Title: "Decaf Beans",
			Variants: []sdk.FeedVariant{{ID: "decaf-1kg", Title: "1 kg", Price: &sdk.FeedPrice{Amount: 1099, Currency: "USD"},
				Availability: &sdk.FeedAvailability{Available: &no, Status: "out_of_stock"}}}},
		{ID: "mug", Title: "Mug", Variants: []sdk.FeedVariant{{ID: "mug-1", Title: "Mug"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	cs, _ := s.connect(nil, nil)
	res, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var tool *mcp.Tool
	for _, x := range res.Tools {
		if x.Name == "search_products" {
			tool = x
		}
	}
	if tool == nil || tool.Annotations == nil || !tool.Annotations.ReadOnlyHint || tool.OutputSchema == nil {
		t.Fatalf("search_products: %+v", tool)
	}
	toolError(t, cs, "search_products", map[string]any{"query": "beans"}, "unknown_key")
	s.link(cs, nil)

	out, msg := ok[mcpserver.SearchProductsOutput](t, cs, "search_products", map[string]any{"query": "BEANS"})
	if len(out.Products) != 2 || out.HasMore {
		t.Fatalf("beans: %+v", out)
	}
	b := out.Products[0]
	if b.ID != "beans" || b.Merchant != s.merchantID || b.MerchantName != "Corner Coffee" || b.Price == nil ||
		b.Price.Amount != 1299 || b.Price.Display != "12.99 USD" || b.Availability != "unknown" || b.URL != "https://coffee.example/beans" {
		t.Fatalf("beans: %+v", b)
	}
	if !strings.Contains(msg, "- Espresso Beans (product beans) from Corner Coffee ("+s.merchantID+"): 12.99 USD") ||
		!strings.Contains(msg, "Decaf Beans (product decaf)") || !strings.Contains(msg, "out of stock") {
		t.Fatalf("text: %s", msg)
	}
	cheap, _ := ok[mcpserver.SearchProductsOutput](t, cs, "search_products", map[string]any{"currency": "USD", "max_price": 1100})
	if len(cheap.Products) != 1 || cheap.Products[0].ID != "decaf" {
		t.Fatalf("under 11 USD: %+v", cheap)
	}
	first, msg := ok[mcpserver.SearchProductsOutput](t, cs, "search_products", map[string]any{"limit": 2})
	if len(first.Products) != 2 || !first.HasMore || !strings.Contains(msg, "starting_after "+first.NextStartingAfter) {
		t.Fatalf("first page: %+v %s", first, msg)
	}
	rest, _ := ok[mcpserver.SearchProductsOutput](t, cs, "search_products", map[string]any{"limit": 2, "starting_after": first.NextStartingAfter})
	if len(rest.Products) != 1 || rest.HasMore || rest.Products[0].ID != "mug" || rest.Products[0].Price != nil {
		t.Fatalf("second page: %+v", rest)
	}
	if none, msg := ok[mcpserver.SearchProductsOutput](t, cs, "search_products", map[string]any{"query": "tea"}); len(none.Products) != 0 ||
		msg != "No products found." {
		t.Fatalf("tea: %+v %q", none, msg)
	}
	toolError(t, cs, "search_products", map[string]any{"max_price": 100}, "currency_required")
	if res := call(t, cs, "search_products", map[string]any{"limit": 51}); !res.IsError {
		t.Fatal("a limit over 50 was accepted")
	}
}
