package mcpserver

import (
	"context"
	"fmt"
	"strings"

	"github.com/agentpay/agentpay/sdk"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// ListMerchantsInput is what list_merchants takes.
type ListMerchantsInput struct {
	Query         string `json:"query,omitempty" jsonschema:"part of the merchant's name, any case; empty: all"`
	Limit         int    `json:"limit,omitempty" jsonschema:"how many, 1 to 100 (default 20)"`
	StartingAfter string `json:"starting_after,omitempty" jsonschema:"for the next page: next_starting_after of the previous answer"`
}

// MerchantOutput is a merchant the agent can pay.
type MerchantOutput struct {
	ID       string   `json:"id" jsonschema:"the id create_payment takes"`
	Name     string   `json:"name"`
	Category string   `json:"category" jsonschema:"ISO 18245 merchant category code, e.g. 5411 grocery stores, 5814 fast food and coffee"`
	Country  string   `json:"country" jsonschema:"ISO 3166-1 alpha-2 country code"`
	Assets   []string `json:"assets" jsonschema:"the assets it takes payments in"`
}

// ListMerchantsOutput is a page of merchants.
type ListMerchantsOutput struct {
	Merchants         []MerchantOutput `json:"merchants"`
	HasMore           bool             `json:"has_more"`
	NextStartingAfter string           `json:"next_starting_after,omitempty" jsonschema:"pass as starting_after for the next page"`
}

func (s *Server) addMerchantTools() {
	mcp.AddTool(s.mcp, &mcp.Tool{
		Name:  "list_merchants",
		Title: "Find merchants to pay",
		Description: "List the merchants this agent can pay through agentpay, with their id (for create_payment), " +
			"category, country and the assets they take. Filter by part of the name with query.",
		InputSchema: inputSchema[ListMerchantsInput](func(p props) {
			p["limit"].Minimum, p["limit"].Maximum = ptr(1.0), ptr(100.0)
		}),
		Annotations: &mcp.ToolAnnotations{Title: "List merchants", ReadOnlyHint: true, OpenWorldHint: ptr(false)},
	}, s.listMerchants)
}

func (s *Server) listMerchants(ctx context.Context, _ *mcp.CallToolRequest, in ListMerchantsInput) (*mcp.CallToolResult, ListMerchantsOutput, error) {
	l, err := s.agent.Merchants(ctx, sdk.DirectoryQuery{Query: in.Query, Limit: in.Limit, StartingAfter: in.StartingAfter})
	if err != nil {
		return nil, ListMerchantsOutput{}, s.apiError(ctx, err)
	}
	out := ListMerchantsOutput{Merchants: []MerchantOutput{}, HasMore: l.HasMore}
	var lines []string
	for _, m := range l.Data {
		s.names.Store(m.ID, m.Name)
		out.Merchants = append(out.Merchants, MerchantOutput{ID: m.ID, Name: m.Name, Category: m.Category,
			Country: m.Country, Assets: m.Assets})
		lines = append(lines, fmt.Sprintf("- %s (%s): category %s, %s, takes %s", m.Name, m.ID, m.Category, m.Country,
			strings.Join(m.Assets, ", ")))
	}
	if l.HasMore && len(l.Data) > 0 {
		out.NextStartingAfter = l.Data[len(l.Data)-1].ID
	}
	text := "No merchants found."
	if len(lines) > 0 {
		text = fmt.Sprintf("%d merchants:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	if l.HasMore {
		text += "\nMore: call again with starting_after " + out.NextStartingAfter + "."
	}
	return textResult(text), out, nil
}

// merchantName returns a merchant's name for the texts tools show, from
// the directory (once per merchant); the id if it cannot be read.
func (s *Server) merchantName(ctx context.Context, id string) string {
	if n, ok := s.names.Load(id); ok {
		return n.(string)
	}
	m, err := s.agent.Merchant(ctx, id)
	if err != nil {
		return id
	}
	s.names.Store(id, m.Name)
	return m.Name
}
