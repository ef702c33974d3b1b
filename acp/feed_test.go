package acp_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/acp"
)

// specExample returns the example the spec's feed schema gives for a
// definition, as JSON.
func specExample(t *testing.T, def string) map[string]any {
	t.Helper()
	raw, err := acp.JSONSchema("feed")
	if err != nil {
		t.Fatal(err)
	}
	var bundle struct {
		Defs map[string]struct {
			Example json.RawMessage `json:"example"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(raw, &bundle); err != nil {
		t.Fatal(err)
	}
	var ex map[string]any
	if err := json.Unmarshal(bundle.Defs[def].Example, &ex); err != nil || ex == nil {
		t.Fatalf("the spec has no example of %s", def)
	}
	return ex
}

// pricedExample is the spec's Product example whose variant is the spec's
// Variant example (with a price, availability and media).
func pricedExample(t *testing.T) map[string]any {
	t.Helper()
	p := specExample(t, "Product")
	p["variants"] = []any{specExample(t, "Variant")}
	return p
}

func feedJSON(t *testing.T, products ...any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"products": products})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The spec's own examples are valid feeds, and agentpay reads from them
// what it lists and searches.
func TestParseFeedSpecExamples(t *testing.T) {
	resp := specExample(t, acp.DefProducts)
	body, _ := json.Marshal(resp)
	ps, err := acp.ParseFeed(body, acp.DefProducts)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 || ps[0].ID != "prod_classic_tee" || ps[0].Title != "Classic Tee" || ps[0].Currency != "" ||
		ps[0].Availability != "unknown" || len(ps[0].Variants) != 1 || ps[0].Variants[0].ID != "sku123-red-s" {
		t.Fatalf("ProductsResponse example: %+v", ps)
	}

	ps, err = acp.ParseFeed(feedJSON(t, pricedExample(t)), acp.DefProducts)
	if err != nil {
		t.Fatal(err)
	}
	p := ps[0]
	if p.Price != 1999 || p.Currency != "USD" || p.Availability != "in_stock" ||
		p.ImageURL != "https://cdn.merchant.com/products/classic-tee/main.jpg" ||
		p.URL != "https://merchant.com/products/classic-tee?variant=sku123-red-s" ||
		p.Description != "Classic cotton tee in red, size small." || !strings.Contains(p.SearchText, "classic tee") {
		t.Fatalf("priced example: %+v", p)
	}
	// Raw is the product as sent, compacted: every field kept, numbers as written.
	var compact bytes.Buffer
	want, _ := json.Marshal(pricedExample(t))
	if err := json.Compact(&compact, want); err != nil || !bytes.Equal(compact.Bytes(), p.Raw) {
		t.Fatalf("raw: %s", p.Raw)
	}

	up := specExample(t, acp.DefUpsert)
	body, _ = json.Marshal(up)
	ps, err = acp.ParseFeed(body, acp.DefUpsert)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 || ps[0].Availability != "out_of_stock" || ps[0].Variants[0].Available {
		t.Fatalf("UpsertProductsRequest example: %+v", ps)
	}
}

// Each broken rule refuses the feed whole, naming where with a JSONPath.
func TestParseFeedRefusals(t *testing.T) {
	variant := func(edit func(v map[string]any)) map[string]any {
		v := map[string]any{"id": "v1", "title": "Tee", "price": map[string]any{"amount": 1999, "currency": "USD"}}
		edit(v)
		return v
	}
	product := func(id string, variants ...any) map[string]any {
		if variants == nil {
			variants = []any{}
		}
		return map[string]any{"id": id, "title": "Tee", "variants": variants}
	}
	rawPrice := func(amount string) json.RawMessage {
		return json.RawMessage(`{"amount":` + amount + `,"currency":"USD"}`)
	}
	tests := []struct {
		name  string
		body  []byte
		def   string
		kind  string
		code  string // of the first problem, or of the error
		param string
	}{
		{"a float price", feedJSON(t, product("p", variant(func(v map[string]any) { v["price"] = rawPrice("19.99") }))),
			acp.DefProducts, agentpay.EINVALID, "invalid_amount", "$.products[0].variants[0].price.amount"},
		{"an integral float price", feedJSON(t, product("p", variant(func(v map[string]any) { v["price"] = rawPrice("1999.0") }))),
			acp.DefProducts, agentpay.EINVALID, "invalid_amount", "$.products[0].variants[0].price.amount"},
		{"an exponent", feedJSON(t, product("p", variant(func(v map[string]any) { v["list_price"] = rawPrice("2e3") }))),
			acp.DefProducts, agentpay.EINVALID, "invalid_amount", "$.products[0].variants[0].list_price.amount"},
		{"beyond int64", feedJSON(t, product("p", variant(func(v map[string]any) { v["price"] = rawPrice("9223372036854775808") }))),
			acp.DefProducts, agentpay.EINVALID, "invalid_amount", "$.products[0].variants[0].price.amount"},
		{"a negative price", feedJSON(t, product("p", variant(func(v map[string]any) { v["price"] = rawPrice("-1") }))),
			acp.DefProducts, agentpay.EINVALID, "invalid_value", "$.products[0].variants[0].price.amount"},
		{"an unknown currency", feedJSON(t, product("p", variant(func(v map[string]any) {
			v["price"] = map[string]any{"amount": 1, "currency": "ABC"}
		}))), acp.DefProducts, agentpay.EINVALID, "unknown_currency", "$.products[0].variants[0].price.currency"},
		{"a lower-case currency", feedJSON(t, product("p", variant(func(v map[string]any) {
			v["price"] = map[string]any{"amount": 1, "currency": "usd"}
		}))), acp.DefProducts, agentpay.EINVALID, "invalid_value", "$.products[0].variants[0].price.currency"},
		{"mixed currencies", feedJSON(t, product("p", variant(func(map[string]any) {}), variant(func(v map[string]any) {
			v["id"], v["price"] = "v2", map[string]any{"amount": 1, "currency": "EUR"}
		}))), acp.DefProducts, agentpay.EINVALID, "mixed_currencies", "$.products[0].variants[1].price.currency"},
		{"no variants", feedJSON(t, map[string]any{"id": "p"}), acp.DefProducts, agentpay.EINVALID, "missing_field", "$.products[0].variants"},
		{"an unknown field", feedJSON(t, map[string]any{"id": "p", "variants": []any{}, "colour": "red"}),
			acp.DefProducts, agentpay.EINVALID, "unknown_field", "$.products[0].colour"},
		{"a relative URL", feedJSON(t, map[string]any{"id": "p", "variants": []any{}, "url": "/tee"}),
			acp.DefProducts, agentpay.EINVALID, "invalid_format", "$.products[0].url"},
		{"a javascript: URL", feedJSON(t, product("p", variant(func(v map[string]any) {
			v["media"] = []any{map[string]any{"type": "image", "url": "javascript:alert(1)"}}
		}))), acp.DefProducts, agentpay.EINVALID, "invalid_url", "$.products[0].variants[0].media[0].url"},
		{"an empty id", feedJSON(t, product("")), acp.DefProducts, agentpay.EINVALID, "invalid_id", "$.products[0].id"},
		{"a control character in an id", feedJSON(t, product("a\nb")), acp.DefProducts, agentpay.EINVALID, "invalid_id", "$.products[0].id"},
		{"a long id", feedJSON(t, product(strings.Repeat("x", acp.IDLengthMax+1))), acp.DefProducts, agentpay.EINVALID, "invalid_id", "$.products[0].id"},
		{"a product twice", feedJSON(t, product("p"), product("q"), product("p")), acp.DefProducts, agentpay.EINVALID,
			"duplicate_id", "$.products[2].id"},
		{"a variant of two products", feedJSON(t, product("p", variant(func(map[string]any) {})), product("q", variant(func(map[string]any) {}))),
			acp.DefProducts, agentpay.EINVALID, "duplicate_id", "$.products[1].variants[0].id"},
		{"a NUL in text", []byte(`{"products":[{"id":"p","title":"a\u0000b","variants":[]}]}`), acp.DefProducts,
			agentpay.EINVALID, "invalid_text", "$.products[0].title"},
		{"not UTF-8", []byte("{\"products\":[{\"id\":\"\xff\",\"variants\":[]}]}"), acp.DefProducts,
			agentpay.EINVALID, "invalid_json", ""},
		{"not JSON", []byte(`{"products":[`), acp.DefProducts, agentpay.EINVALID, "invalid_json", ""},
		{"not an object", []byte(`[]`), acp.DefProducts, agentpay.EINVALID, "invalid_type", "$"},
		{"no products", []byte(`{}`), acp.DefProducts, agentpay.EINVALID, "missing_field", "$.products"},
		{"an empty upsert", []byte(`{"products":[]}`), acp.DefUpsert, agentpay.EINVALID, "invalid_product_payload", "$.products"},
		{"too many products", feedJSON(t, manyProducts(acp.FeedProductsMax+1)...), acp.DefProducts, agentpay.ETOOLARGE, "feed_too_large", "$.products"},
		{"a product too large", feedJSON(t, map[string]any{"id": "p", "variants": []any{},
			"description": map[string]any{"plain": strings.Repeat("x", acp.ProductBytesMax)}}),
			acp.DefProducts, agentpay.ETOOLARGE, "product_too_large", "$.products[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps, err := acp.ParseFeed(tt.body, tt.def)
			if err == nil {
				t.Fatalf("accepted: %+v", ps)
			}
			var e *agentpay.Error
			if !errors.As(err, &e) || e.Kind != tt.kind {
				t.Fatalf("error %v, want kind %s", err, tt.kind)
			}
			var inv *acp.InvalidFeedError
			code, param := e.Code, e.Param
			if errors.As(err, &inv) {
				if e.Code != "invalid_feed" || len(inv.Problems) == 0 || !strings.Contains(e.Message, inv.Problems[0].Param) {
					t.Fatalf("invalid feed error: %v", err)
				}
				code, param = inv.Problems[0].Code, inv.Problems[0].Param
			}
			if code != tt.code || param != tt.param {
				t.Fatalf("got %s at %q, want %s at %q: %v", code, param, tt.code, tt.param, err)
			}
		})
	}
}

func manyProducts(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = map[string]any{"id": fmt.Sprintf("p%d", i), "variants": []any{}}
	}
	return out
}

// A feed with many problems lists the first ProblemsMax in document order
// and counts the others.
func TestParseFeedListsFirstProblems(t *testing.T) {
	products := manyProducts(12)
	for i := range products {
		products[i].(map[string]any)["url"] = "ftp://example.com/" + fmt.Sprint(i)
	}
	_, err := acp.ParseFeed(feedJSON(t, products...), acp.DefProducts)
	var inv *acp.InvalidFeedError
	if !errors.As(err, &inv) {
		t.Fatalf("got %v", err)
	}
	if inv.Count != 12 || len(inv.Problems) != acp.ProblemsMax {
		t.Fatalf("%d problems listed of %d", len(inv.Problems), inv.Count)
	}
	for i, p := range inv.Problems {
		if want := fmt.Sprintf("$.products[%d].url", i); p.Param != want || p.Code != "invalid_url" {
			t.Errorf("problem %d: %+v, want at %s", i, p, want)
		}
	}
	if msg := err.Error(); !strings.Contains(msg, "and 7 more problems") {
		t.Errorf("message: %s", msg)
	}
}

// Upserts replace products in place and add new ones; the merged catalog
// keeps unique variant ids and the limits.
func TestMerge(t *testing.T) {
	parse := func(def string, products ...any) []acp.Product {
		t.Helper()
		ps, err := acp.ParseFeed(feedJSON(t, products...), def)
		if err != nil {
			t.Fatal(err)
		}
		return ps
	}
	p := func(id, variant string) map[string]any {
		return map[string]any{"id": id, "title": id, "variants": []any{map[string]any{"id": variant, "title": variant}}}
	}
	current := acp.ParseStored([][]byte{[]byte(`{"id":"a","title":"a","variants":[{"id":"a1","title":"a1"}]}`),
		[]byte(`{"id":"b","title":"b","variants":[{"id":"b1","title":"b1"}]}`)})
	merged, err := acp.Merge(current, parse(acp.DefUpsert, p("c", "c1"), p("a", "a2")))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range merged {
		ids = append(ids, m.ID+"/"+m.Variants[0].ID)
	}
	if strings.Join(ids, " ") != "a/a2 b/b1 c/c1" {
		t.Fatalf("merged: %v", ids)
	}

	_, err = acp.Merge(current, parse(acp.DefUpsert, p("c", "c1"), p("d", "b1")))
	var inv *acp.InvalidFeedError
	if !errors.As(err, &inv) || inv.Problems[0].Param != "$.products[1].variants[0].id" || inv.Problems[0].Code != "duplicate_id" {
		t.Fatalf("a variant id taken by a product kept: %v", err)
	}
	// Moving a variant id from one product to another in one upsert is fine.
	if _, err := acp.Merge(current, parse(acp.DefUpsert, p("b", "b2"), p("d", "b1"))); err != nil {
		t.Fatalf("moving a variant: %v", err)
	}

	full := acp.ParseStored(nil)
	for i := range acp.FeedProductsMax {
		full = append(full, acp.Product{ID: fmt.Sprint("p", i)})
	}
	if _, err := acp.Merge(full, parse(acp.DefUpsert, p("new", "n1"))); agentpay.ErrorCode(err) != "feed_too_large" {
		t.Fatalf("a catalog over the limit: %v", err)
	}
	if _, err := acp.Merge(full, parse(acp.DefUpsert, p("p1", "n1"))); err != nil {
		t.Fatalf("replacing in a full catalog: %v", err)
	}
}

func TestParseCreateFeed(t *testing.T) {
	tests := []struct {
		body, country, code string
	}{
		{`{"target_country":"US"}`, "US", ""},
		{`{}`, "", ""},
		{`{"target_country":"usa"}`, "", "invalid_feed"},
		{`{"country":"US"}`, "", "invalid_feed"},
		{`nope`, "", "invalid_json"},
	}
	for _, tt := range tests {
		c, err := acp.ParseCreateFeed([]byte(tt.body))
		if c != tt.country || agentpay.ErrorCode(err) != tt.code && !(tt.code == "" && err == nil) {
			t.Errorf("%s: %q %v", tt.body, c, err)
		}
	}
}
