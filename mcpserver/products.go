package mcpserver

import (
	"context"
	"fmt"
	"strings"

	"github.com/agentpay/agentpay/sdk"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// SearchProductsInput is what search_products takes.
type SearchProductsInput struct {
	Query         string `json:"query,omitempty" jsonschema:"words the product's title or description must all contain, any case (at most 8); empty: all products"`
	Merchant      string `json:"merchant,omitempty" jsonschema:"a merchant id (from list_merchants): only its products"`
	Currency      string `json:"currency,omitempty" jsonschema:"ISO 4217 code, e.g. USD: only products priced in it"`
	MaxPrice      *int64 `json:"max_price,omitempty" jsonschema:"the highest price, in minor units of currency (1000 is 10.00 USD); needs currency"`
	Limit         int    `json:"limit,omitempty" jsonschema:"how many, 1 to 50 (default 20)"`
	StartingAfter string `json:"starting_after,omitempty" jsonschema:"for the next page: next_starting_after of the previous answer"`
}

// ProductOutput is a product a merchant sells.
type ProductOutput struct {
	ID           string `json:"id" jsonschema:"the merchant's product id"`
	Merchant     string `json:"merchant" jsonschema:"the merchant's id, which create_payment takes"`
	MerchantName string `json:"merchant_name"`
	Title        string `json:"title"`
	Description  string `json:"description,omitempty" jsonschema:"cut to 300 characters"`
	URL          string `json:"url,omitempty" jsonschema:"the product's page at the merchant"`
	Price        *Money `json:"price,omitempty" jsonschema:"the lowest price of a variant available now; absent if the merchant gives none"`
	Availability string `json:"availability" jsonschema:"e.g. in_stock, out_of_stock, preorder, unknown"`
}

// SearchProductsOutput is a page of products.
type SearchProductsOutput struct {
	Products          []ProductOutput `json:"products"`
	HasMore           bool            `json:"has_more"`
	NextStartingAfter string          `json:"next_starting_after,omitempty" jsonschema:"pass as starting_after for the next page"`
}

func (s *Server) addProductTools() {
	mcp.AddTool(s.mcp, &mcp.Tool{
		Name:  "search_products",
		Title: "Search merchants' products",
		Description: "Search the product catalogs merchants publish on agentpay: by words in the title or description, " +
			"by merchant, and by highest price in a currency. Each product comes with its merchant's id (for " +
			"create_payment), its price in minor units and whether it is available.",
		InputSchema: inputSchema[SearchProductsInput](func(p props) {
			p["limit"].Minimum, p["limit"].Maximum = ptr(1.0), ptr(50.0)
			p["max_price"].Minimum = ptr(0.0)
		}),
		Annotations: &mcp.ToolAnnotations{Title: "Search products", ReadOnlyHint: true, OpenWorldHint: ptr(false)},
	}, s.searchProducts)
}

func (s *Server) searchProducts(ctx context.Context, _ *mcp.CallToolRequest, in SearchProductsInput) (*mcp.CallToolResult, SearchProductsOutput, error) {
	l, err := s.agent.SearchProducts(ctx, sdk.ProductQuery{Query: in.Query, MerchantID: in.Merchant, Currency: in.Currency,
		MaxPrice: in.MaxPrice, Limit: in.Limit, StartingAfter: in.StartingAfter})
	if err != nil {
		return nil, SearchProductsOutput{}, s.apiError(ctx, err)
	}
	out := SearchProductsOutput{Products: []ProductOutput{}, HasMore: l.HasMore, NextStartingAfter: l.NextStartingAfter}
	var lines []string
	for _, p := range l.Data {
		s.names.Store(p.Merchant.ID, p.Merchant.Name)
		o := ProductOutput{ID: p.ID, Merchant: p.Merchant.ID, MerchantName: p.Merchant.Name, Title: p.Title,
			Description: p.Description, URL: p.URL, Availability: p.Availability}
		price := "no price given"
		if p.Price != nil {
			m := money(p.Price.Amount, p.Price.Currency)
			o.Price, price = &m, m.Display
		}
		out.Products = append(out.Products, o)
		lines = append(lines, fmt.Sprintf("- %s (product %s) from %s (%s): %s, %s", p.Title, p.ID, p.Merchant.Name,
			p.Merchant.ID, price, strings.ReplaceAll(p.Availability, "_", " ")))
	}
	text := "No products found."
	if len(lines) > 0 {
		text = fmt.Sprintf("%d products:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	if l.HasMore {
		text += "\nMore: call again with starting_after " + out.NextStartingAfter + "."
	}
	return textResult(text), out, nil
}
