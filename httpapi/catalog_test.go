package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/acp"
	"github.com/agentpay/agentpay/agentauth"
	"github.com/agentpay/agentpay/linking"
	"github.com/agentpay/agentpay/store"
)

type catalogOut struct {
	Object        string            `json:"object"`
	MerchantID    string            `json:"merchant_id"`
	FeedID        string            `json:"feed_id"`
	TargetCountry string            `json:"target_country"`
	ProductCount  int64             `json:"product_count"`
	UpdatedAt     string            `json:"updated_at"`
	Products      []json.RawMessage `json:"products"`
}

type productOut struct {
	Object   string `json:"object"`
	ID       string `json:"id"`
	Merchant struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"merchant"`
	Title       string `json:"title"`
	Description string `json:"description"`
	URL         string `json:"url"`
	ImageURL    string `json:"image_url"`
	Price       *struct {
		Amount   int64  `json:"amount"`
		Currency string `json:"currency"`
	} `json:"price"`
	Availability string          `json:"availability"`
	UpdatedAt    string          `json:"updated_at"`
	ACPProduct   json.RawMessage `json:"acp_product"`
}

type productListOut struct {
	Object            string       `json:"object"`
	Data              []productOut `json:"data"`
	HasMore           bool         `json:"has_more"`
	NextStartingAfter string       `json:"next_starting_after"`
}

// feedSpecExample returns the spec's example of a feed schema definition.
func feedSpecExample(t *testing.T, def string) map[string]any {
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
	var ex map[string]any
	if err := json.Unmarshal(raw, &bundle); err != nil || json.Unmarshal(bundle.Defs[def].Example, &ex) != nil || ex == nil {
		t.Fatalf("the spec has no example of %s", def)
	}
	return ex
}

// catalogTee is the spec's Product example with the spec's Variant example
// (priced 1999 USD, in stock) as its variant.
func catalogTee(t *testing.T) map[string]any {
	t.Helper()
	p := feedSpecExample(t, "Product")
	p["variants"] = []any{feedSpecExample(t, "Variant")}
	return p
}

// catalogProduct is a product of one variant.
func catalogProduct(id, title, description string, amount int64, currency string, available bool) map[string]any {
	v := map[string]any{"id": id + "-v1", "title": title, "availability": map[string]any{"available": available}}
	if currency != "" {
		v["price"] = map[string]any{"amount": amount, "currency": currency}
	}
	return map[string]any{"id": id, "title": title, "description": map[string]any{"plain": description},
		"url": "https://shop.example/p/" + url.PathEscape(id), "variants": []any{v}}
}

func catalogBody(products ...any) string { return jsonString(map[string]any{"products": products}) }

// catalogRows counts a merchant's stored catalog rows, every generation.
func (a *api) catalogRows(merchantID string) string {
	a.t.Helper()
	return fmt.Sprintf("catalogs=%d products=%d variants=%d",
		a.count(`SELECT COUNT(*) FROM catalogs WHERE merchant_id = '`+merchantID+`'`),
		a.count(`SELECT COUNT(*) FROM catalog_products WHERE merchant_id = '`+merchantID+`'`),
		a.count(`SELECT COUNT(*) FROM catalog_variants WHERE merchant_id = '`+merchantID+`'`))
}

func (a *api) putCatalog(secret, key, body string) response {
	a.t.Helper()
	return a.as(secret, "PUT", "/v1/catalog", key, body)
}

func (a *api) getCatalog(secret string) catalogOut {
	a.t.Helper()
	r := a.as(secret, "GET", "/v1/catalog", "", "")
	mustStatus(a.t, r, http.StatusOK)
	var c catalogOut
	r.decode(a.t, &c)
	return c
}

// A merchant publishes a feed built from the spec's examples; the agent
// finds it by words, merchant, currency and price, pages through it, and
// reads one product whole; the merchant reads its feed back as sent.
func TestCatalogPublishAndSearch(t *testing.T) {
	forEachSharedDB(t, func(t *testing.T, db, _ *store.DB) {
		n := newNode(t, db, "", nil)
		a := &api{t: t, db: db, url: n.url}
		ag := linkAgent(t, n, linking.Approval{})
		get := func(path string) response {
			t.Helper()
			return n.send(ag.sign(t, n.srv.PublicBaseURL, "GET", path, "", agentauth.SignParams{}), "")
		}
		search := func(query string) productListOut {
			t.Helper()
			r := get("/v1/products" + query)
			mustStatus(t, r, http.StatusOK)
			var l productListOut
			r.decode(t, &l)
			return l
		}
		ids := func(l productListOut) []string {
			var out []string
			for _, p := range l.Data {
				out = append(out, p.ID)
			}
			return out
		}

		coffee := a.onboard(`{"name":"Corner Coffee","mcc":"5814","country":"US","settlement_asset":"USD"}`)
		books := a.onboard(`{"name":"Acme Books","mcc":"5942","country":"DE","settlement_asset":"EUR"}`)
		odd := catalogProduct("odd/id 100%_", "Odd Mug 100%_ off", "A mug with an odd id", 0, "", true)
		products := []any{catalogTee(t),
			catalogProduct("beans", "Espresso Beans", "Dark roast coffee BEANS, 1 kg", 1299, "USD", true),
			catalogProduct("decaf", "Decaf Beans", "Swiss water decaf beans", 1099, "USD", false),
			odd}
		body := catalogBody(products...)
		r := a.putCatalog(coffee.APIKey, "cat-1", body)
		mustStatus(t, r, http.StatusCreated)
		var c catalogOut
		r.decode(t, &c)
		if c.Object != "catalog" || c.MerchantID != coffee.Merchant.ID || !strings.HasPrefix(c.FeedID, "feed_") ||
			c.ProductCount != 4 || c.Products != nil {
			t.Fatalf("published: %v", r)
		}
		if again := a.putCatalog(coffee.APIKey, "cat-1", body); !again.replayed() || !bytes.Equal(again.Body, r.Body) {
			t.Fatalf("retry: %v", again)
		}
		mustError(t, "the key with another feed", a.putCatalog(coffee.APIKey, "cat-1", catalogBody(odd)), 422, "idempotency_conflict")
		mustStatus(t, a.putCatalog(books.APIKey, "cat-1", catalogBody(
			catalogProduct("novel", "A Coffee Table Book", "Photographs of beans", 3500, "EUR", true))), http.StatusCreated)

		// The feed comes back as sent: every product, compact, in order.
		back := a.getCatalog(coffee.APIKey)
		if back.FeedID != c.FeedID || len(back.Products) != len(products) {
			t.Fatalf("read back: %+v", back)
		}
		for i, p := range products {
			var want bytes.Buffer
			_ = json.Compact(&want, []byte(jsonString(p)))
			if !bytes.Equal(back.Products[i], want.Bytes()) {
				t.Errorf("product %d: %s, want %s", i, back.Products[i], want.Bytes())
			}
		}

		// A checkout prices an item by its variant id.
		v, err := db.CatalogVariant(context.Background(), coffee.Merchant.ID, "sku123-red-s")
		if err != nil || v.ProductID != "prod_classic_tee" || v.Price != 1999 || v.Currency != "USD" || !v.Available ||
			v.Status != "in_stock" || v.Title != "Classic Tee - Red / Small" {
			t.Fatalf("a variant: %+v, %v", v, err)
		}
		if v, err := db.CatalogVariant(context.Background(), coffee.Merchant.ID, "decaf-v1"); err != nil || v.Available {
			t.Fatalf("an unavailable variant: %+v, %v", v, err)
		}
		if _, err := db.CatalogVariant(context.Background(), books.Merchant.ID, "sku123-red-s"); agentpay.ErrorCode(err) != "variant_not_found" {
			t.Fatalf("another merchant's variant: %v", err)
		}

		all := search("")
		if all.Object != "list" || all.HasMore || len(all.Data) != 5 {
			t.Fatalf("all products: %+v", all)
		}
		tee := search("?q=" + url.QueryEscape("classic TEE"))
		if len(tee.Data) != 1 {
			t.Fatalf("tee: %+v", tee)
		}
		p := tee.Data[0]
		if p.Object != "product" || p.ID != "prod_classic_tee" || p.Merchant.ID != coffee.Merchant.ID ||
			p.Merchant.Name != "Corner Coffee" || p.Title != "Classic Tee" || p.Price == nil || p.Price.Amount != 1999 ||
			p.Price.Currency != "USD" || p.Availability != "in_stock" || p.ACPProduct != nil ||
			p.ImageURL != "https://cdn.merchant.com/products/classic-tee/main.jpg" {
			t.Fatalf("tee: %+v", p)
		}

		tests := []struct {
			query string
			want  []string
		}{
			{"?q=beans", []string{"beans", "decaf", "novel"}},
			{"?q=beans&merchant=" + coffee.Merchant.ID, []string{"beans", "decaf"}},
			{"?q=dark+beans", []string{"beans"}},
			{"?q=100%25_", []string{"odd/id 100%_"}},
			{"?q=%25", []string{"odd/id 100%_"}},
			{"?q=tea", nil},
			{"?currency=USD", []string{"beans", "decaf", "prod_classic_tee"}},
			{"?currency=USD&max_price=1299", []string{"beans", "decaf"}},
			{"?currency=USD&max_price=1100", []string{"decaf"}},
			{"?currency=EUR", []string{"novel"}},
			{"?currency=JPY", nil},
		}
		for _, tt := range tests {
			got := ids(search(tt.query))
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("%s: %v, want %v", tt.query, got, tt.want)
			}
		}
		if d := search("?q=decaf").Data; len(d) != 1 || d[0].Availability != "out_of_stock" {
			t.Errorf("decaf: %+v", d)
		}
		if d := search("?q=odd").Data; len(d) != 1 || d[0].Price != nil {
			t.Errorf("an unpriced product: %+v", d)
		}

		// Pages of one follow next_starting_after through everything once.
		var paged []string
		for after, pages := "", 0; ; pages++ {
			if pages > 10 {
				t.Fatal("pages do not end")
			}
			q := "?limit=2"
			if after != "" {
				q += "&starting_after=" + url.QueryEscape(after)
			}
			l := search(q)
			for _, p := range l.Data {
				paged = append(paged, p.Merchant.ID+"/"+p.ID)
			}
			if !l.HasMore {
				if l.NextStartingAfter != "" {
					t.Fatalf("last page with a cursor: %+v", l)
				}
				break
			}
			if len(l.Data) != 2 || l.NextStartingAfter != paged[len(paged)-1] {
				t.Fatalf("page: %+v", l)
			}
			after = l.NextStartingAfter
		}
		var want []string
		for _, p := range all.Data {
			want = append(want, p.Merchant.ID+"/"+p.ID)
		}
		if !slices.Equal(paged, want) || !slices.IsSorted(want) {
			t.Fatalf("pages %v, want %v", paged, want)
		}

		// One product whole, with the product as published.
		r = get("/v1/products/" + coffee.Merchant.ID + "/" + url.PathEscape("odd/id 100%_"))
		mustStatus(t, r, http.StatusOK)
		var one productOut
		r.decode(t, &one)
		if one.ID != "odd/id 100%_" || one.Merchant.Name != "Corner Coffee" || !bytes.Equal(one.ACPProduct, back.Products[3]) {
			t.Fatalf("one product: %v", r)
		}
		mustError(t, "another merchant's product id", get("/v1/products/"+books.Merchant.ID+"/beans"), 404, "product_not_found")
		mustError(t, "an unknown merchant", get("/v1/products/mer_nobody/beans"), 404, "product_not_found")

		for _, bad := range []struct{ query, param string }{
			{"?limit=0", "limit"}, {"?limit=51", "limit"}, {"?q=" + strings.Repeat("a", 101), "q"},
			{"?q=a+b+c+d+e+f+g+h+i", "q"}, {"?merchant=pay_1", "merchant"}, {"?currency=usd", "currency"},
			{"?currency=XYZ", "currency"}, {"?max_price=10", "currency"}, {"?currency=USD&max_price=1.5", "max_price"},
			{"?currency=USD&max_price=-1", "max_price"}, {"?starting_after=beans", "starting_after"},
			{"?starting_after=" + coffee.Merchant.ID + "/", "starting_after"},
		} {
			r := get("/v1/products" + bad.query)
			if code, param := errorCode(t, r); r.Status != 400 || param != bad.param || code == "" {
				t.Errorf("%s: %v", bad.query, r)
			}
		}
		// Agents only.
		for _, path := range []string{"/v1/products", "/v1/products/" + coffee.Merchant.ID + "/beans"} {
			mustRefuse(t, a.send(request{Method: "GET", Path: path, Token: new(string)}), 401, "signature_missing")
			mustRefuse(t, a.as(coffee.APIKey, "GET", path, "", ""), 401, "signature_missing")
		}

		// A suspended merchant's products drop out of search.
		mustStatus(t, a.post("/v1/merchants/"+coffee.Merchant.ID+"/suspend", "{}"), http.StatusOK)
		if got := ids(search("?q=beans")); !slices.Equal(got, []string{"novel"}) {
			t.Fatalf("after suspension: %v", got)
		}
		mustError(t, "a suspended merchant's product", get("/v1/products/"+coffee.Merchant.ID+"/beans"), 404, "product_not_found")
		if _, err := db.CatalogVariant(context.Background(), coffee.Merchant.ID, "sku123-red-s"); agentpay.ErrorCode(err) != "variant_not_found" {
			t.Fatalf("a suspended merchant's variant: %v", err)
		}
	})
}

// Invalid feeds are refused whole with the first problems' JSONPaths, and
// change nothing: not a first catalog, not one already published.
func TestCatalogRefusals(t *testing.T) {
	forEachDB(t, func(t *testing.T, a *api) {
		m := a.onboard(`{"name":"Corner Coffee","mcc":"5814","country":"US","settlement_asset":"USD"}`)
		price := func(raw string) string {
			return `{"products":[{"id":"p","variants":[{"id":"v","title":"V","price":` + raw + `}]}]}`
		}
		many := make([]any, acp.FeedProductsMax+1)
		for i := range many {
			many[i] = map[string]any{"id": fmt.Sprint("p", i), "variants": []any{}}
		}
		tests := []struct {
			name, body   string
			status       int
			code, param  string
			messageHolds string
		}{
			{"a float price", price(`{"amount":19.99,"currency":"USD"}`), 400, "invalid_feed",
				"$.products[0].variants[0].price.amount", "invalid_amount"},
			{"a float written as an integer", price(`{"amount":1999.0,"currency":"USD"}`), 400, "invalid_feed",
				"$.products[0].variants[0].price.amount", "invalid_amount"},
			{"an unknown currency", price(`{"amount":1999,"currency":"ZZZ"}`), 400, "invalid_feed",
				"$.products[0].variants[0].price.currency", "unknown_currency"},
			{"a schema violation", `{"products":[{"id":"p","variants":[{"id":"v"}],"colour":"red"}]}`, 400, "invalid_feed",
				"$.products[0].colour", "unknown_field"},
			{"several problems", `{"products":[{"id":"p","variants":[{"id":"v"}]},{"id":"q","variants":[{"title":"T"}]}]}`,
				400, "invalid_feed", "$.products[0].variants[0].title", "$.products[1].variants[0].id"},
			{"not a feed", `{"items":[]}`, 400, "invalid_feed", "$.items", "unknown_field"},
			{"not JSON", `{"products":`, 400, "invalid_json", "", ""},
			{"too many products", catalogBody(many...), 413, "feed_too_large", "$.products", ""},
			{"a product too large", catalogBody(map[string]any{"id": "p", "variants": []any{},
				"description": map[string]any{"plain": strings.Repeat("x", acp.ProductBytesMax)}}), 413, "product_too_large", "$.products[0]", ""},
			{"a body too large", catalogBody(map[string]any{"id": "p", "variants": []any{},
				"description": map[string]any{"plain": strings.Repeat("x", 1<<20)}}), 413, "body_too_large", "", ""},
		}
		check := func(stage string) {
			t.Helper()
			before := a.catalogRows(m.Merchant.ID)
			var catalogBefore []byte
			if r := a.as(m.APIKey, "GET", "/v1/catalog", "", ""); r.Status == 200 {
				catalogBefore = r.Body
			}
			for _, tt := range tests {
				r := a.putCatalog(m.APIKey, "bad-"+randomHex(6), tt.body)
				msg := checkErrorShape(t, r, tt.status, tt.code, tt.param)
				if !strings.Contains(msg, tt.messageHolds) {
					t.Errorf("%s %s: message %q does not hold %q", stage, tt.name, msg, tt.messageHolds)
				}
			}
			if after := a.catalogRows(m.Merchant.ID); after != before {
				t.Fatalf("%s: refused feeds wrote rows: %s, then %s", stage, before, after)
			}
			r := a.as(m.APIKey, "GET", "/v1/catalog", "", "")
			if catalogBefore == nil {
				mustError(t, stage, r, 404, "catalog_not_found")
			} else if !bytes.Equal(r.Body, catalogBefore) {
				t.Fatalf("%s: the catalog changed: %s", stage, r.Body)
			}
		}
		check("no catalog")
		mustStatus(t, a.putCatalog(m.APIKey, "good", catalogBody(catalogTee(t))), http.StatusCreated)
		check("a catalog")
		mustError(t, "no Idempotency-Key", a.putCatalog(m.APIKey, "", catalogBody(catalogTee(t))), 400, "idempotency_key_required")
		mustError(t, "no API key", a.send(request{Method: "PUT", Path: "/v1/catalog", Key: "k", Body: catalogBody(), Token: new(string)}),
			401, "missing_api_key")
	})
}

// Odd values in every field of a product get a 2xx or a 4xx, never a 5xx,
// on both engines (PostgreSQL refuses NUL in text; the feed check must
// first).
func TestCatalogGarbageNeverServerError(t *testing.T) {
	forEachDB(t, func(t *testing.T, a *api) {
		m := a.onboard(`{"name":"Corner Coffee","mcc":"5814","country":"US","settlement_asset":"USD"}`)
		values := []string{`null`, `true`, `0`, `-1`, `1.5`, `1e400`, `9223372036854775807`, `18446744073709551616`,
			`""`, `"\u0000"`, `"a\u0000b"`, `"é"`, `"\ud83d\ude00"`, `"\ud800"`, `"` + strings.Repeat("y", 10000) + `"`,
			`"../etc"`, `"%00"`, `[]`, `{}`, `[1,2]`, `{"a":{"b":[null]}}`, `"USD"`, `"https://x.example/a"`}
		fields := map[string]string{"id": `"p1"`, "title": `"T"`, "url": `"https://x.example/p"`,
			"variant_id": `"v1"`, "amount": `100`, "currency": `"USD"`, "available": `true`, "status": `"in_stock"`}
		for field := range fields {
			for _, v := range values {
				f := maps(fields, field, v)
				body := fmt.Sprintf(`{"products":[{"id":%s,"title":%s,"url":%s,"variants":[{"id":%s,"title":"V",
					"price":{"amount":%s,"currency":%s},"availability":{"available":%s,"status":%s}}]}]}`,
					f["id"], f["title"], f["url"], f["variant_id"], f["amount"], f["currency"], f["available"], f["status"])
				r := a.putCatalog(m.APIKey, "g-"+randomHex(6), body)
				switch {
				case r.Status >= 500:
					t.Errorf("%s=%.40s: %v", field, v, r)
				case r.Status >= 400:
					var e struct{ Error struct{ Code string } }
					r.decode(t, &e)
					checkErrorShape(t, r, r.Status, e.Error.Code, paramOf(t, r))
				}
			}
		}
		mustStatus(t, a.putCatalog(m.APIKey, "invalid-utf8", "{\"products\":[{\"id\":\"\xff\",\"variants\":[]}]}"), 400)
	})
}

// maps returns m with field set to v.
func maps(m map[string]string, field, v string) map[string]string {
	out := make(map[string]string, len(m))
	for k, x := range m {
		out[k] = x
	}
	out[field] = v
	return out
}

// A publish replaces the catalog whole: readers — the merchant reading its
// feed, an agent searching — see the old product set or the new one,
// never a mix, while publishes land; and a merchant's key writes only its
// own catalog.
func TestCatalogReplacementAtomic(t *testing.T) {
	forEachSharedDB(t, func(t *testing.T, db, db2 *store.DB) {
		n := newNode(t, db, "", nil)
		a := &api{t: t, db: db, url: n.url}
		ag := linkAgent(t, n, linking.Approval{})
		coffee := a.onboard(`{"name":"Corner Coffee","mcc":"5814","country":"US","settlement_asset":"USD"}`)
		other := a.onboard(`{"name":"Other Shop","mcc":"5999","country":"US","settlement_asset":"USD"}`)

		set := func(prefix string, k int) (string, string) {
			var ps []any
			var ids []string
			for i := range k {
				id := fmt.Sprintf("%s-%d", prefix, i)
				ps = append(ps, catalogProduct(id, "Item "+id, "marker "+prefix, int64(100+i), "USD", true))
				ids = append(ids, id)
			}
			return catalogBody(ps...), strings.Join(ids, ",")
		}
		bodyA, idsA := set("a", 3)
		bodyB, idsB := set("b", 5)
		mustStatus(t, a.putCatalog(coffee.APIKey, "first", bodyA), http.StatusCreated)

		var wg sync.WaitGroup
		done := make(chan struct{})
		var mu sync.Mutex
		var mixed []string
		seen := map[string]bool{}
		observe := func(got string) {
			mu.Lock()
			defer mu.Unlock()
			seen[got] = true
			if got != idsA && got != idsB {
				mixed = append(mixed, got)
			}
		}
		wg.Add(2)
		go func() { // the merchant reads its feed
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				r := a.as(coffee.APIKey, "GET", "/v1/catalog", "", "")
				var c catalogOut
				if r.Status != 200 || json.Unmarshal(r.Body, &c) != nil {
					observe("error: " + r.String())
					continue
				}
				var ids []string
				for _, p := range c.Products {
					var x struct{ ID string }
					_ = json.Unmarshal(p, &x)
					ids = append(ids, x.ID)
				}
				if int(c.ProductCount) != len(ids) {
					observe("count " + fmt.Sprint(c.ProductCount))
				}
				observe(strings.Join(ids, ","))
			}
		}()
		go func() { // an agent searches
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				req := ag.sign(t, n.srv.PublicBaseURL, "GET", "/v1/products?q=marker&merchant="+coffee.Merchant.ID, "", agentauth.SignParams{})
				r := n.send(req, "")
				var l productListOut
				if r.Status != 200 || json.Unmarshal(r.Body, &l) != nil {
					observe("error: " + r.String())
					continue
				}
				var ids []string
				for _, p := range l.Data {
					ids = append(ids, p.ID)
				}
				observe(strings.Join(ids, ","))
			}
		}()
		// Publishes alternate between two nodes of one database.
		a2 := &api{t: t, db: db2, url: newNode(t, db2, "", nil).url}
		for i := range 12 {
			body, node := bodyB, a
			if i%2 == 1 {
				body, node = bodyA, a2
			}
			mustStatus(t, node.putCatalog(coffee.APIKey, fmt.Sprint("swap-", i), body), http.StatusOK)
		}
		close(done)
		wg.Wait()
		if len(mixed) > 0 {
			t.Fatalf("readers saw %d mixed catalogs, e.g. %q", len(mixed), mixed[0])
		}
		if !seen[idsA] && !seen[idsB] {
			t.Fatal("the readers saw nothing")
		}
		// Older generations are pruned: the last catalog's (A) rows are all.
		if got := a.catalogRows(coffee.Merchant.ID); got != "catalogs=1 products=3 variants=3" {
			t.Fatalf("rows after the publishes: %s", got)
		}

		// Another merchant's key writes its own catalog, never this one.
		before := a.getCatalog(coffee.APIKey)
		mustStatus(t, a.putCatalog(other.APIKey, "mine", bodyA), http.StatusCreated)
		path := "/acp/" + coffee.Merchant.ID + "/feeds/" + before.FeedID + "/products"
		r := a.send(request{Method: "PATCH", Path: path, Key: "x-1", Body: bodyA, Token: &other.APIKey})
		if r.Status != 404 || !strings.Contains(string(r.Body), `"merchant_not_found"`) {
			t.Fatalf("PATCH of another merchant's feed: %v", r)
		}
		path = "/acp/" + other.Merchant.ID + "/feeds/" + before.FeedID + "/products"
		r = a.send(request{Method: "PATCH", Path: path, Key: "x-2", Body: bodyA, Token: &other.APIKey})
		if r.Status != 404 || !strings.Contains(string(r.Body), `"feed_not_found"`) {
			t.Fatalf("PATCH of another merchant's feed id: %v", r)
		}
		after := a.getCatalog(coffee.APIKey)
		if after.UpdatedAt != before.UpdatedAt || len(after.Products) != len(before.Products) {
			t.Fatalf("another merchant changed the catalog: %+v", after)
		}
	})
}

// The largest catalog the limits allow — FeedProductsMax products holding
// FeedVariantsMax variants — is one unit of work the committer takes on
// both engines; one variant more is refused.
func TestCatalogAtLimits(t *testing.T) {
	forEachDB(t, func(t *testing.T, a *api) {
		m := a.onboard(`{"name":"Big Shop","mcc":"5999","country":"US","settlement_asset":"USD"}`)
		perProduct := acp.FeedVariantsMax / acp.FeedProductsMax
		feed := func(extra int) string {
			var b strings.Builder
			b.WriteString(`{"products":[`)
			for i := range acp.FeedProductsMax {
				if i > 0 {
					b.WriteString(",")
				}
				fmt.Fprintf(&b, `{"id":"p%d","variants":[`, i)
				for j := range perProduct + extra*(i/(acp.FeedProductsMax-1)) {
					if j > 0 {
						b.WriteString(",")
					}
					fmt.Fprintf(&b, `{"id":"v%d-%d","title":"T","price":{"amount":%d,"currency":"USD"}}`, i, j, j)
				}
				b.WriteString("]}")
			}
			b.WriteString("]}")
			return b.String()
		}
		r := a.putCatalog(m.APIKey, "over", feed(1))
		checkErrorShape(t, r, 413, "feed_too_large", "$.products")
		mustStatus(t, a.putCatalog(m.APIKey, "full", feed(0)), http.StatusCreated)
		if got, want := a.catalogRows(m.Merchant.ID), fmt.Sprintf("catalogs=1 products=%d variants=%d",
			acp.FeedProductsMax, acp.FeedVariantsMax); got != want {
			t.Fatalf("rows %s, want %s", got, want)
		}
		mustStatus(t, a.putCatalog(m.APIKey, "again", feed(0)), http.StatusOK)
		if got := a.catalogRows(m.Merchant.ID); !strings.HasSuffix(got, fmt.Sprint("variants=", acp.FeedVariantsMax)) {
			t.Fatalf("rows after a replacement: %s", got)
		}
	})
}
