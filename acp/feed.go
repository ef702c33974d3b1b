package acp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/agentpay/agentpay"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Limits of a merchant's catalog: what one feed may hold, so that one
// publish is one bounded unit of work and a catalog is read back whole in
// one response.
const (
	// FeedProductsMax bounds the products of a catalog (and of a document).
	FeedProductsMax = 1000
	// FeedVariantsMax bounds the variants of a catalog.
	FeedVariantsMax = 10000
	// ProductBytesMax bounds one product, as compact JSON.
	ProductBytesMax = 16 << 10
	// FeedBytesMax bounds a catalog, its products as compact JSON summed;
	// a request body is bounded the same (httpapi.BodyBytesMax).
	FeedBytesMax = 1 << 20
	// IDLengthMax bounds product and variant ids, in bytes.
	IDLengthMax = 256
)

// Product is a product of a feed as published (Raw, compact JSON of the
// spec's Product) with what agentpay reads from it to list and search it.
type Product struct {
	ID  string
	Raw json.RawMessage
	// Index is the product's position in the document it came from, for
	// the JSONPaths of problems found later (Merge).
	Index int
	// Title is the product's title, else its first variant's.
	Title string
	// Description is the product's plain description, else its markdown,
	// else its HTML, else the first variant's in the same order.
	Description string
	// URL is the product page, else the first variant's; ImageURL the
	// first image of the product, else of a variant.
	URL, ImageURL string
	// Price is the lowest price of a variant that is not marked
	// unavailable (of any variant if all are); Currency is "" when no
	// variant has a price. A product's prices share one currency.
	Price    int64
	Currency string
	// Availability is a status such as in_stock or out_of_stock: of a
	// variant that is available if any is, else "unknown".
	Availability string
	// SearchText is the title and description, lower case, which search
	// matches.
	SearchText string
	Variants   []Variant
}

// Variant is what agentpay reads of a purchasable variant.
type Variant struct {
	ID, Title string
	Price     int64
	Currency  string // "" when it has no price
	// Available is false only when the feed says availability.available
	// is false.
	Available bool
	Status    string
}

// The parts of the spec's Product that agentpay reads; the schema has
// checked the document, so these decode.
type (
	wireProduct struct {
		ID          string           `json:"id"`
		Title       string           `json:"title"`
		Description *wireDescription `json:"description"`
		URL         string           `json:"url"`
		Media       []wireMedia      `json:"media"`
		Variants    []wireVariant    `json:"variants"`
	}
	wireVariant struct {
		ID           string            `json:"id"`
		Title        string            `json:"title"`
		Description  *wireDescription  `json:"description"`
		URL          string            `json:"url"`
		Price        *wirePrice        `json:"price"`
		Availability *wireAvailability `json:"availability"`
		Media        []wireMedia       `json:"media"`
	}
	wireDescription struct {
		Plain    string `json:"plain"`
		HTML     string `json:"html"`
		Markdown string `json:"markdown"`
	}
	wireMedia struct {
		Type string `json:"type"`
		URL  string `json:"url"`
	}
	wirePrice struct {
		Amount   json.Number `json:"amount"`
		Currency string      `json:"currency"`
	}
	wireAvailability struct {
		Available *bool  `json:"available"`
		Status    string `json:"status"`
	}
)

// ParseFeed validates a feed document — def DefProducts (a whole catalog)
// or DefUpsert (products to add or replace) — against the spec's schema
// and agentpay's own rules, and returns its products in order. A document
// that breaks a rule is refused whole: an *InvalidFeedError listing the
// first problems, or an *agentpay.Error for a broken limit (ETOOLARGE) or
// a body that is not JSON.
//
// agentpay's rules beyond the schema: prices are integers as written (not
// 1999.0 or 2e3) of minor units of a currency agentpay knows, one currency
// per product; ids are 1 to IDLengthMax bytes without control characters,
// unique in the document (variant ids too); links are absolute http(s)
// URLs; text is UTF-8 without NUL; and the limits above.
func ParseFeed(body []byte, def string) ([]Product, error) {
	// Stored as text, raw and read back whole: PostgreSQL refuses text that
	// is not UTF-8 (or holds NUL, which checkValues refuses).
	if !utf8.Valid(body) {
		return nil, agentpay.Errorf(agentpay.EINVALID, "invalid_json", "the request body is not valid UTF-8 JSON")
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return nil, agentpay.Errorf(agentpay.EINVALID, "invalid_json", "the request body is not valid JSON")
	}
	obj, _ := doc.(map[string]any)
	list, _ := obj["products"].([]any)
	if len(list) > FeedProductsMax {
		return nil, &agentpay.Error{Kind: agentpay.ETOOLARGE, Code: "feed_too_large", Param: "$.products",
			Message: fmt.Sprintf("a catalog holds at most %d products; this feed has %d", FeedProductsMax, len(list))}
	}
	problems, err := ValidateFeedSchema(def, doc)
	if err != nil {
		return nil, err
	}
	if err := invalid(problems); err != nil {
		return nil, err
	}
	if def == DefUpsert && len(list) == 0 {
		return nil, &agentpay.Error{Kind: agentpay.EINVALID, Code: "invalid_product_payload", Param: "$.products",
			Message: "products must contain at least one valid Product"}
	}
	var env struct {
		Products []json.RawMessage `json:"products"`
	}
	if err := json.Unmarshal(body, &env); err != nil || len(env.Products) != len(list) {
		return nil, agentpay.Errorf(agentpay.EINVALID, "invalid_json", "the request body is not valid JSON")
	}
	products := make([]Product, 0, len(list))
	for i, raw := range env.Products {
		path := fmt.Sprintf("$.products[%d]", i)
		var compact bytes.Buffer
		if err := json.Compact(&compact, raw); err != nil {
			return nil, agentpay.Errorf(agentpay.EINVALID, "invalid_json", "the request body is not valid JSON")
		}
		if compact.Len() > ProductBytesMax {
			return nil, &agentpay.Error{Kind: agentpay.ETOOLARGE, Code: "product_too_large", Param: path,
				Message: fmt.Sprintf("a product is at most %d bytes of compact JSON; %s has %d", ProductBytesMax, path, compact.Len())}
		}
		checkValues(list[i], path, &problems)
		p, more := parseProduct(compact.Bytes(), i)
		problems = append(problems, more...)
		products = append(products, p)
	}
	if err := invalid(problems); err != nil {
		return nil, err
	}
	return products, checkCatalog(products, nil)
}

// ParseCreateFeed validates the body of POST /feeds and returns its
// target country ("" if none).
func ParseCreateFeed(body []byte) (targetCountry string, err error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return "", agentpay.Errorf(agentpay.EINVALID, "invalid_json", "the request body is not valid JSON")
	}
	problems, err := ValidateFeedSchema(DefCreateFeed, doc)
	if err != nil {
		return "", err
	}
	if err := invalid(problems); err != nil {
		return "", err
	}
	obj, _ := doc.(map[string]any)
	country, _ := obj["target_country"].(string)
	return country, nil
}

// Merge applies upserts (a parsed DefUpsert document) to a catalog: a
// product with the id of one in current replaces it in place, others are
// appended in order. The result must keep the catalog's limits and its
// unique variant ids; problems name the upsert document's paths.
func Merge(current, upserts []Product) ([]Product, error) {
	out := slices.Clone(current)
	at := make(map[string]int, len(out))
	for i, p := range out {
		at[p.ID] = i
	}
	for _, u := range upserts {
		if i, ok := at[u.ID]; ok {
			out[i] = u
			continue
		}
		at[u.ID] = len(out)
		out = append(out, u)
	}
	if len(out) > FeedProductsMax {
		return nil, &agentpay.Error{Kind: agentpay.ETOOLARGE, Code: "feed_too_large", Param: "$.products",
			Message: fmt.Sprintf("a catalog holds at most %d products; with these it would hold %d", FeedProductsMax, len(out))}
	}
	updated := make(map[string]bool, len(upserts))
	for _, u := range upserts {
		updated[u.ID] = true
	}
	return out, checkCatalog(out, updated)
}

// checkCatalog checks what spans products: unique product and variant
// ids, the variant count and the catalog's size. updated names the
// products whose Index is a path into the document at hand (nil: all).
func checkCatalog(products []Product, updated map[string]bool) error {
	var problems []Problem
	inDoc := func(p Product) bool { return updated == nil || updated[p.ID] }
	seen := make(map[string]bool, len(products))
	variants := map[string]Product{}
	total, size := 0, 0
	for _, p := range products {
		size += len(p.Raw)
		if seen[p.ID] && inDoc(p) {
			problems = append(problems, Problem{Param: fmt.Sprintf("$.products[%d].id", p.Index), Code: "duplicate_id",
				Message: fmt.Sprintf("product id %q appears more than once", short(p.ID))})
		}
		seen[p.ID] = true
		for j, v := range p.Variants {
			total++
			other, dup := variants[v.ID]
			switch {
			case !dup:
				variants[v.ID] = p
			case inDoc(p):
				problems = append(problems, Problem{Param: fmt.Sprintf("$.products[%d].variants[%d].id", p.Index, j),
					Code: "duplicate_id", Message: fmt.Sprintf("variant id %q is taken by product %q", short(v.ID), short(other.ID))})
			case inDoc(other):
				problems = append(problems, Problem{Param: fmt.Sprintf("$.products[%d].variants", other.Index),
					Code: "duplicate_id", Message: fmt.Sprintf("variant id %q is taken by product %q", short(v.ID), short(p.ID))})
			}
		}
	}
	if err := invalid(problems); err != nil {
		return err
	}
	if total > FeedVariantsMax {
		return &agentpay.Error{Kind: agentpay.ETOOLARGE, Code: "feed_too_large", Param: "$.products",
			Message: fmt.Sprintf("a catalog holds at most %d variants; this one would hold %d", FeedVariantsMax, total)}
	}
	if size > FeedBytesMax {
		return &agentpay.Error{Kind: agentpay.ETOOLARGE, Code: "feed_too_large", Param: "$.products",
			Message: fmt.Sprintf("a catalog is at most %d bytes of compact JSON; this one would be %d", FeedBytesMax, size)}
	}
	return nil
}

// checkValues walks a product as decoded for the schema (numbers as
// written) for what the schema does not say: amounts that are integers as
// written, currencies agentpay knows, http(s) links.
func checkValues(v any, path string, problems *[]Problem) {
	switch v := v.(type) {
	case []any:
		for i, e := range v {
			checkValues(e, fmt.Sprintf("%s[%d]", path, i), problems)
		}
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			at := path + jsonPath([]string{k})[1:]
			switch e := v[k].(type) {
			case json.Number:
				if k == "amount" {
					if _, err := strconv.ParseInt(string(e), 10, 64); err != nil {
						*problems = append(*problems, Problem{Param: at, Code: "invalid_amount", Message: fmt.Sprintf(
							"amounts are integers of minor units written without a fraction or exponent, at most %d; got %s",
							int64(1<<63-1), short(string(e)))})
					}
				}
			case string:
				if strings.ContainsRune(e, 0) {
					*problems = append(*problems, Problem{Param: at, Code: "invalid_text", Message: "text holds no NUL characters"})
				}
				switch k {
				case "currency":
					if _, ok := agentpay.LookupAsset(e); !ok {
						*problems = append(*problems, Problem{Param: at, Code: "unknown_currency",
							Message: fmt.Sprintf("unknown currency %q; use an ISO 4217 code such as USD", short(e))})
					}
				case "url":
					if !webURL(e) {
						*problems = append(*problems, Problem{Param: at, Code: "invalid_url",
							Message: "links must be absolute http or https URLs"})
					}
				}
			default:
				checkValues(e, at, problems)
			}
		}
	}
}

// parseProduct reads what agentpay lists and searches from a product the
// schema accepted, and checks its ids and currencies.
func parseProduct(raw []byte, index int) (Product, []Problem) {
	path := fmt.Sprintf("$.products[%d]", index)
	var w wireProduct
	p := Product{Raw: raw, Index: index}
	if err := json.Unmarshal(raw, &w); err != nil {
		return p, []Problem{{Param: path, Code: "invalid_type", Message: "a product must be an object"}}
	}
	var problems []Problem
	if msg := badID(w.ID); msg != "" {
		problems = append(problems, Problem{Param: path + ".id", Code: "invalid_id", Message: msg})
	}
	p.ID, p.Title, p.URL = w.ID, w.Title, w.URL
	p.Description = w.Description.text()
	p.ImageURL = firstImage(w.Media)
	currency := ""
	for j, wv := range w.Variants {
		vpath := fmt.Sprintf("%s.variants[%d]", path, j)
		if msg := badID(wv.ID); msg != "" {
			problems = append(problems, Problem{Param: vpath + ".id", Code: "invalid_id", Message: msg})
		}
		v := Variant{ID: wv.ID, Title: wv.Title, Available: true}
		if wv.Price != nil {
			v.Price, _ = strconv.ParseInt(string(wv.Price.Amount), 10, 64) // checkValues reports a bad amount
			v.Currency = wv.Price.Currency
			if currency == "" {
				currency = v.Currency
			} else if v.Currency != currency {
				problems = append(problems, Problem{Param: vpath + ".price.currency", Code: "mixed_currencies",
					Message: fmt.Sprintf("the variants of a product are priced in one currency; this product's first is %s", currency)})
			}
		}
		if a := wv.Availability; a != nil {
			v.Available = a.Available == nil || *a.Available
			v.Status = a.Status
		}
		p.Variants = append(p.Variants, v)
		p.Title = firstOf(p.Title, wv.Title)
		p.Description = firstOf(p.Description, wv.Description.text())
		p.URL = firstOf(p.URL, wv.URL)
		p.ImageURL = firstOf(p.ImageURL, firstImage(wv.Media))
	}
	p.Price, p.Currency = offer(w.Variants, p.Variants)
	p.Availability = availability(w.Variants, p.Variants)
	p.SearchText = strings.ToLower(p.Title + "\n" + p.Description)
	return p, problems
}

// offer is the price agents see first: the lowest of the variants not
// marked unavailable, or of all if every priced variant is.
func offer(wire []wireVariant, vs []Variant) (int64, string) {
	best, currency, found := int64(0), "", false
	for _, onlyAvailable := range []bool{true, false} {
		for i, v := range vs {
			if wire[i].Price == nil || (onlyAvailable && !v.Available) {
				continue
			}
			if !found || v.Price < best {
				best, currency, found = v.Price, v.Currency, true
			}
		}
		if found {
			return best, currency
		}
	}
	return 0, ""
}

// availability summarizes the variants: the status of the first available
// one (in_stock if it gives none); else of the first unavailable one
// (out_of_stock if none given); else the first status given; else unknown.
func availability(wire []wireVariant, vs []Variant) string {
	pick := func(match func(i int) bool, fallback string) string {
		for i, v := range vs {
			if match(i) {
				return firstOf(v.Status, fallback)
			}
		}
		return ""
	}
	said := func(i int) bool { return wire[i].Availability != nil && wire[i].Availability.Available != nil }
	if s := pick(func(i int) bool { return said(i) && vs[i].Available }, "in_stock"); s != "" {
		return s
	}
	if s := pick(func(i int) bool { return said(i) && !vs[i].Available }, "out_of_stock"); s != "" {
		return s
	}
	if s := pick(func(i int) bool { return vs[i].Status != "" }, ""); s != "" {
		return s
	}
	return "unknown"
}

func (d *wireDescription) text() string {
	if d == nil {
		return ""
	}
	return firstOf(d.Plain, d.Markdown, d.HTML)
}

func firstImage(media []wireMedia) string {
	for _, m := range media {
		if m.Type == "image" {
			return m.URL
		}
	}
	return ""
}

// firstOf returns the first of values that is not empty.
func firstOf(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// badID says what is wrong with a product or variant id, or "".
func badID(id string) string {
	switch {
	case id == "":
		return "ids are not empty"
	case len(id) > IDLengthMax:
		return fmt.Sprintf("ids are at most %d bytes", IDLengthMax)
	case !utf8.ValidString(id) || strings.ContainsFunc(id, unicode.IsControl):
		return "ids hold no control characters"
	}
	return ""
}

// webURL reports whether s is an absolute http or https URL with a host:
// agents follow and show these links, so no javascript: or data: URLs.
func webURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// short bounds what an error message echoes of the input.
func short(s string) string {
	const limit = 60
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "..."
}

// ParseStored reads products stored after ParseFeed accepted them (their
// Raw), to merge upserts into them.
func ParseStored(raws [][]byte) []Product {
	out := make([]Product, len(raws))
	for i, raw := range raws {
		out[i], _ = parseProduct(raw, i)
	}
	return out
}
