package sdk

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// FeedProduct is a product of an ACP product feed (the spec's Product,
// version 2026-04-17): what a merchant publishes so that agents find it.
// Prices are integers of minor units of an ISO 4217 currency; links are
// absolute http(s) URLs.
type FeedProduct struct {
	ID          string           `json:"id"` // stable, unique in the catalog
	Title       string           `json:"title,omitempty"`
	Description *FeedDescription `json:"description,omitempty"`
	URL         string           `json:"url,omitempty"`
	Media       []FeedMedia      `json:"media,omitempty"`
	Variants    []FeedVariant    `json:"variants"` // what can be bought; ids unique in the catalog
}

// FeedVariant is a purchasable variant of a product.
type FeedVariant struct {
	ID             string              `json:"id"`
	Title          string              `json:"title"`
	Description    *FeedDescription    `json:"description,omitempty"`
	URL            string              `json:"url,omitempty"`
	Barcodes       []FeedBarcode       `json:"barcodes,omitempty"`
	Price          *FeedPrice          `json:"price,omitempty"`
	ListPrice      *FeedPrice          `json:"list_price,omitempty"`
	UnitPrice      *FeedUnitPrice      `json:"unit_price,omitempty"`
	Availability   *FeedAvailability   `json:"availability,omitempty"`
	Categories     []FeedCategory      `json:"categories,omitempty"`
	Condition      []string            `json:"condition,omitempty"` // e.g. new, secondhand
	VariantOptions []FeedVariantOption `json:"variant_options,omitempty"`
	Media          []FeedMedia         `json:"media,omitempty"`
	Seller         *FeedSeller         `json:"seller,omitempty"`
	Marketplace    *FeedSeller         `json:"marketplace,omitempty"`
}

// FeedDescription is a description in one or more formats.
type FeedDescription struct {
	Plain    string `json:"plain,omitempty"`
	HTML     string `json:"html,omitempty"`
	Markdown string `json:"markdown,omitempty"`
}

// FeedPrice is an amount in minor units of Currency (1999 USD is 19.99).
type FeedPrice struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

// FeedUnitPrice is a price per reference measure (4.99 USD per oz).
type FeedUnitPrice struct {
	Amount    int64       `json:"amount"`
	Currency  string      `json:"currency"`
	Measure   FeedMeasure `json:"measure"` // the packaged measure, e.g. 12 oz
	Reference struct {
		Value int64  `json:"value"`
		Unit  string `json:"unit"`
	} `json:"reference"` // e.g. 1 oz
}

// FeedMeasure is a quantity with its unit; Value is a JSON number as
// written (e.g. "12" or "0.5").
type FeedMeasure struct {
	Value json.Number `json:"value"`
	Unit  string      `json:"unit"`
}

// FeedAvailability says whether a variant can be bought now.
type FeedAvailability struct {
	Available *bool  `json:"available,omitempty"`
	Status    string `json:"status,omitempty"` // in_stock, limited_stock, backorder, preorder, out_of_stock, discontinued
}

// FeedMedia is an image, video or model of a product or variant.
type FeedMedia struct {
	Type    string `json:"type"` // image, video, model
	URL     string `json:"url"`
	AltText string `json:"alt_text,omitempty"`
	Width   int    `json:"width,omitempty"`
	Height  int    `json:"height,omitempty"`
}

// FeedBarcode is a GTIN, UPC, EAN or similar.
type FeedBarcode struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// FeedCategory places a variant in a taxonomy.
type FeedCategory struct {
	Value    string `json:"value"` // e.g. Apparel > Shirts
	Taxonomy string `json:"taxonomy,omitempty"`
}

// FeedVariantOption is one option that tells variants apart (Color: Red).
type FeedVariantOption struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// FeedSeller is a seller or marketplace with its policy links.
type FeedSeller struct {
	Name  string     `json:"name,omitempty"`
	Links []FeedLink `json:"links,omitempty"`
}

// FeedLink is a policy or information link (refund_policy, faq, …).
type FeedLink struct {
	Type  string `json:"type"`
	Title string `json:"title,omitempty"`
	URL   string `json:"url"`
}

// Catalog is a merchant's published catalog. Products is set when read
// with Merchant.Catalog.
type Catalog struct {
	Object        string        `json:"object"`
	MerchantID    string        `json:"merchant_id"`
	FeedID        string        `json:"feed_id"` // its id in ACP's feed API (/acp/{merchant}/feeds/{id})
	TargetCountry string        `json:"target_country,omitempty"`
	ProductCount  int64         `json:"product_count"`
	CreatedAt     time.Time     `json:"created_at"`
	UpdatedAt     time.Time     `json:"updated_at"`
	Products      []FeedProduct `json:"products,omitempty"`
}

// PublishCatalog replaces the merchant's whole catalog with products, at
// once: agents see the previous catalog or this one, never a mix. A feed
// that breaks a rule is refused whole, changing nothing: an *Error
// invalid_feed whose Param is the JSONPath of the first problem
// ($.products[0].variants[0].price.amount) and whose Message lists the
// first few; feed_too_large or product_too_large (413) past the limits
// (1000 products, 16 KiB each).
func (m *Merchant) PublishCatalog(ctx context.Context, products []FeedProduct) (*Catalog, error) {
	ps := make([]FeedProduct, len(products))
	for i, p := range products {
		if p.Variants == nil {
			p.Variants = []FeedVariant{} // the spec requires the list, even empty
		}
		ps[i] = p
	}
	return m.publish(ctx, struct {
		Products []FeedProduct `json:"products"`
	}{ps})
}

// PublishCatalogJSON is PublishCatalog for a feed document the merchant
// already has: {"products":[…]}, the spec's ProductsResponse.
func (m *Merchant) PublishCatalogJSON(ctx context.Context, feed json.RawMessage) (*Catalog, error) {
	return m.publish(ctx, feed)
}

func (m *Merchant) publish(ctx context.Context, body any) (*Catalog, error) {
	var out Catalog
	if err := m.Do(ctx, http.MethodPut, "/v1/catalog", body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Catalog reads the merchant's catalog back with its products as
// published; none yet is an *Error catalog_not_found.
func (m *Merchant) Catalog(ctx context.Context) (*Catalog, error) {
	var out Catalog
	if err := m.Do(ctx, http.MethodGet, "/v1/catalog", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Product is a product of an active merchant's catalog as agents find it.
type Product struct {
	Object   string `json:"object"`
	ID       string `json:"id"` // the merchant's product id
	Merchant struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"merchant"`
	Title       string `json:"title"`
	Description string `json:"description"` // cut to 300 characters in searches
	URL         string `json:"url"`
	ImageURL    string `json:"image_url"`
	// Price is the lowest price of a variant available now (of any, if
	// none is); nil when no variant has a price.
	Price        *FeedPrice `json:"price"`
	Availability string     `json:"availability"` // e.g. in_stock, out_of_stock, unknown
	UpdatedAt    time.Time  `json:"updated_at"`
	// ACPProduct is the product as published, with its variants: set by
	// Agent.Product, not by searches.
	ACPProduct *FeedProduct `json:"acp_product,omitempty"`
}

// ProductList is a page of products, in (merchant id, product id) order.
type ProductList struct {
	Data    []Product `json:"data"`
	HasMore bool      `json:"has_more"`
	// NextStartingAfter is ProductQuery.StartingAfter for the next page.
	NextStartingAfter string `json:"next_starting_after"`
}

// ProductQuery selects products. Every field is optional.
type ProductQuery struct {
	// Query: words that must all appear in the title or description, any
	// case (at most 8 words, 100 bytes).
	Query string
	// MerchantID keeps one merchant's products.
	MerchantID string
	// Currency keeps products priced in it; MaxPrice, which needs
	// Currency, those priced at most it, in its minor units.
	Currency string
	MaxPrice *int64
	// Limit is 1 to 50 (0: 20); StartingAfter is NextStartingAfter of the
	// previous page.
	Limit         int
	StartingAfter string
}

// SearchProducts finds products of active merchants' catalogs. Any linked
// agent may search, whatever its scopes.
func (a *Agent) SearchProducts(ctx context.Context, q ProductQuery) (*ProductList, error) {
	v := url.Values{}
	for k, s := range map[string]string{"q": q.Query, "merchant": q.MerchantID, "currency": q.Currency,
		"starting_after": q.StartingAfter} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if q.MaxPrice != nil {
		v.Set("max_price", strconv.FormatInt(*q.MaxPrice, 10))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	path := "/v1/products"
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	var l ProductList
	if err := a.Do(ctx, http.MethodGet, path, nil, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// Product reads one product of an active merchant's catalog with its
// variants (ACPProduct); anything else is an *Error product_not_found.
func (a *Agent) Product(ctx context.Context, merchantID, productID string) (*Product, error) {
	var p Product
	path := "/v1/products/" + url.PathEscape(merchantID) + "/" + url.PathEscape(productID)
	if err := a.Do(ctx, http.MethodGet, path, nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}
