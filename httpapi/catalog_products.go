package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/acp"
	"github.com/agentpay/agentpay/store"
)

// Limits of product search.
const (
	// ProductListMax bounds ?limit= of GET /v1/products.
	ProductListMax = 50
	// ProductQueryMax bounds ?q=, in bytes; ProductQueryWordsMax its words.
	ProductQueryMax      = 100
	ProductQueryWordsMax = 8
	// productListDescriptionMax bounds, in runes, a description in a
	// search result; one product read shows it whole.
	productListDescriptionMax = 300
)

// productRoutes serve the products of active merchants' catalogs to
// agents. Any linked agent may search (any scope), as it may read the
// merchant directory: it is what merchants publish for every payer.
func (s *Server) productRoutes() {
	s.mux.Handle("GET /v1/products", s.agent("", s.searchProducts))
	s.mux.Handle("GET /v1/products/{merchant}/{product}", s.agent("", s.getProduct))
}

// productJSON is a product as agents see it.
type productJSON struct {
	Object       string              `json:"object"` // "product"
	ID           string              `json:"id"`     // the feed's product id, unique per merchant
	Merchant     productMerchantJSON `json:"merchant"`
	Title        string              `json:"title"`
	Description  string              `json:"description"`
	URL          string              `json:"url,omitempty"`
	ImageURL     string              `json:"image_url,omitempty"`
	Price        *productPriceJSON   `json:"price"` // the lowest available variant's; null if none has a price
	Availability string              `json:"availability"`
	UpdatedAt    string              `json:"updated_at"`
	// ACPProduct is the product as published (the spec's Product, with
	// its variants): in GET /v1/products/{merchant}/{product} only.
	ACPProduct json.RawMessage `json:"acp_product,omitempty"`
}

type productMerchantJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// productPriceJSON is the spec's Price: minor units of an ISO 4217
// currency.
type productPriceJSON struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

type productListJSON struct {
	Object  string        `json:"object"`
	Data    []productJSON `json:"data"`
	HasMore bool          `json:"has_more"`
	// NextStartingAfter is starting_after for the next page.
	NextStartingAfter string `json:"next_starting_after,omitempty"`
}

func toProductJSON(p store.CatalogProduct, descriptionMax int) productJSON {
	out := productJSON{Object: "product", ID: p.ProductID, Merchant: productMerchantJSON{ID: p.MerchantID, Name: p.MerchantName},
		Title: p.Title, Description: p.Description, URL: p.URL, ImageURL: p.ImageURL, Availability: p.Availability,
		UpdatedAt: timeString(p.UpdatedAt)}
	if p.Currency != "" {
		out.Price = &productPriceJSON{Amount: p.Price, Currency: p.Currency}
	}
	if descriptionMax > 0 && utf8.RuneCountInString(out.Description) > descriptionMax {
		out.Description = string([]rune(out.Description)[:descriptionMax]) + "…"
	}
	return out
}

// productCursor is how a page names the product it ends at:
// merchant id, "/", product id.
func productCursor(p store.CatalogProduct) string { return p.MerchantID + "/" + p.ProductID }

// searchProducts is GET /v1/products?q=&merchant=&currency=&max_price=&limit=&starting_after=:
// products of active merchants whose title or description holds every
// word of q (any case), in (merchant id, product id) order.
func (s *Server) searchProducts(w http.ResponseWriter, r *http.Request) {
	q, limit, err := productQuery(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := s.DB.SearchProducts(r.Context(), q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := productListJSON{Object: "list", Data: []productJSON{}}
	if len(list) > limit {
		list, out.HasMore = list[:limit], true
		out.NextStartingAfter = productCursor(list[limit-1])
	}
	for _, p := range list {
		out.Data = append(out.Data, toProductJSON(p, productListDescriptionMax))
	}
	writeJSON(w, http.StatusOK, out)
}

// productQuery reads the search's parameters; the query asks for one
// product more than the page, to tell whether there are more.
func productQuery(r *http.Request) (store.ProductQuery, int, error) {
	v := r.URL.Query()
	q := store.ProductQuery{Limit: 20}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > ProductListMax {
			return q, 0, agentpay.ParamErrorf("limit", "invalid_limit", "limit is 1 to %d", ProductListMax)
		}
		q.Limit = n
	}
	limit := q.Limit
	q.Limit++
	text := v.Get("q")
	q.Words = strings.Fields(text)
	if len(text) > ProductQueryMax || !utf8.ValidString(text) || len(q.Words) > ProductQueryWordsMax {
		return q, 0, agentpay.ParamErrorf("q", "invalid_query", "q is at most %d bytes of text in at most %d words",
			ProductQueryMax, ProductQueryWordsMax)
	}
	if m := v.Get("merchant"); m != "" {
		if !strings.HasPrefix(m, "mer_") || !agentpay.ValidID(m) {
			return q, 0, agentpay.ParamErrorf("merchant", "invalid_id", "merchant must be a merchant id")
		}
		q.MerchantID = m
	}
	if c := v.Get("currency"); c != "" {
		if _, ok := agentpay.LookupAsset(c); !ok {
			return q, 0, agentpay.ParamErrorf("currency", "unknown_asset", "unknown currency %q", clipHeader(c))
		}
		q.Currency = c
	}
	if p := v.Get("max_price"); p != "" {
		n, err := strconv.ParseInt(p, 10, 64)
		if err != nil || n < 0 {
			return q, 0, agentpay.ParamErrorf("max_price", "invalid_amount", "max_price is an integer of minor units of currency, 0 or more")
		}
		if q.Currency == "" {
			return q, 0, agentpay.ParamErrorf("currency", "currency_required", "max_price needs the currency it is in")
		}
		q.MaxPrice, q.HasMaxPrice = n, true
	}
	if after := v.Get("starting_after"); after != "" {
		m, p, ok := strings.Cut(after, "/")
		if !ok || !strings.HasPrefix(m, "mer_") || !agentpay.ValidID(m) || p == "" || len(p) > acp.IDLengthMax {
			return q, 0, agentpay.ParamErrorf("starting_after", "invalid_cursor",
				"starting_after is next_starting_after of the previous page (merchant id/product id)")
		}
		q.AfterMerchant, q.AfterProduct = m, p
	}
	return q, limit, nil
}

// getProduct is GET /v1/products/{merchant}/{product}: one product of an
// active merchant's catalog, with the product as published.
func (s *Server) getProduct(w http.ResponseWriter, r *http.Request) {
	p, err := s.DB.Product(r.Context(), r.PathValue("merchant"), r.PathValue("product"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := toProductJSON(p, 0)
	out.ACPProduct = p.Raw
	writeJSON(w, http.StatusOK, out)
}
