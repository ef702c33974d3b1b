package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/agentpay/agentpay"
)

// CatalogsTable holds merchants' catalogs (ACP product feeds), one per
// merchant. Values of a Row, in column order: merchant_id, feed_id,
// target_country (string), generation, product_count, bytes, created_at,
// updated_at, version (int64; a new row starts at 1).
var CatalogsTable = &Table{
	Name:    "catalogs",
	Key:     "merchant_id",
	Columns: []string{"merchant_id", "feed_id", "target_country", "generation", "product_count", "bytes", "created_at", "updated_at", "version"},
	Types:   []ColumnType{Text, Text, Text, Int, Int, Int, Int, Int, Int},
	Version: "version",
}

// CatalogProductsTable holds the products of each catalog generation
// (insert only; older generations are pruned). Values of a Row: id (a new
// random row id), merchant_id (string), generation (int64), product_id
// (string), position (int64), title, description (string), price (int64),
// currency, availability, url, image_url, search_text, raw (string),
// updated_at (int64).
var CatalogProductsTable = &Table{
	Name: "catalog_products",
	Key:  "id",
	Columns: []string{"id", "merchant_id", "generation", "product_id", "position", "title", "description", "price",
		"currency", "availability", "url", "image_url", "search_text", "raw", "updated_at"},
	Types: []ColumnType{Text, Text, Int, Text, Int, Text, Text, Int, Text, Text, Text, Text, Text, Text, Int},
}

// CatalogVariantsTable holds the variants of each catalog generation
// (insert only). Values of a Row: id, merchant_id (string), generation
// (int64), variant_id, product_id, title (string), price (int64), currency
// (string), available (int64, 0 or 1), status (string).
var CatalogVariantsTable = &Table{
	Name:    "catalog_variants",
	Key:     "id",
	Columns: []string{"id", "merchant_id", "generation", "variant_id", "product_id", "title", "price", "currency", "available", "status"},
	Types:   []ColumnType{Text, Text, Int, Text, Text, Text, Int, Text, Int, Text},
}

// Catalog is a merchant's catalog: its feed and which generation of
// product rows is current.
type Catalog struct {
	MerchantID    string
	FeedID        string
	TargetCountry string // ISO 3166-1 alpha-2, or ""
	Generation    int64  // the product rows that are current
	ProductCount  int64
	Bytes         int64 // the products' compact JSON, summed
	CreatedAt     int64
	UpdatedAt     int64
	Version       int64
}

// CatalogProduct is a product of a catalog's current generation.
type CatalogProduct struct {
	MerchantID   string
	MerchantName string // read with the product by searches and Product
	ProductID    string
	Position     int64 // in the feed, from 0
	Title        string
	Description  string
	Price        int64
	Currency     string // "" when no variant has a price
	Availability string
	URL          string
	ImageURL     string
	SearchText   string // written, not read back
	Raw          []byte // the product as published, compact JSON
	UpdatedAt    int64
}

// CatalogVariant is a variant of a catalog's current generation.
type CatalogVariant struct {
	MerchantID, VariantID, ProductID, Title string
	Price                                   int64
	Currency                                string // "" when it has no price
	Available                               bool
	Status                                  string
}

// CatalogRow returns the row that creates a catalog (version 1).
func CatalogRow(c Catalog) Row {
	return Row{Table: CatalogsTable, Values: []any{c.MerchantID, c.FeedID, c.TargetCountry, c.Generation, c.ProductCount,
		c.Bytes, c.CreatedAt, c.UpdatedAt, int64(1)}}
}

// CatalogPublish returns the update that makes generation current in the
// catalog c as read (at c.Version), with its new count, size and time.
func CatalogPublish(c Catalog, generation, productCount, bytes, updatedAt int64) Update {
	return Update{Table: CatalogsTable, Key: c.MerchantID, Version: c.Version,
		Set:    []string{"generation", "product_count", "bytes", "updated_at"},
		Values: []any{generation, productCount, bytes, updatedAt}}
}

// CatalogProductRow returns the row of a product in generation of its
// merchant's catalog, under a new row id.
func CatalogProductRow(generation int64, p CatalogProduct) Row {
	return Row{Table: CatalogProductsTable, Values: []any{agentpay.NewID("cpr"), p.MerchantID, generation, p.ProductID,
		p.Position, p.Title, p.Description, p.Price, p.Currency, p.Availability, p.URL, p.ImageURL, p.SearchText,
		string(p.Raw), p.UpdatedAt}}
}

// CatalogVariantRow returns the row of a variant in generation of its
// merchant's catalog, under a new row id.
func CatalogVariantRow(generation int64, v CatalogVariant) Row {
	available := int64(0)
	if v.Available {
		available = 1
	}
	return Row{Table: CatalogVariantsTable, Values: []any{agentpay.NewID("cvr"), v.MerchantID, generation, v.VariantID,
		v.ProductID, v.Title, v.Price, v.Currency, available, v.Status}}
}

const catalogColumns = `merchant_id, feed_id, target_country, generation, product_count, bytes, created_at, updated_at, version`

// Catalog returns a merchant's catalog; none is catalog_not_found.
func (db *DB) Catalog(ctx context.Context, merchantID string) (Catalog, error) {
	return scanCatalog(db.reader.QueryRowContext(ctx, `SELECT `+catalogColumns+` FROM catalogs WHERE merchant_id = $1`, merchantID))
}

func scanCatalog(row *sql.Row) (Catalog, error) {
	var c Catalog
	err := row.Scan(&c.MerchantID, &c.FeedID, &c.TargetCountry, &c.Generation, &c.ProductCount, &c.Bytes, &c.CreatedAt,
		&c.UpdatedAt, &c.Version)
	if errors.Is(err, sql.ErrNoRows) {
		return c, agentpay.Errorf(agentpay.ENOTFOUND, "catalog_not_found", "this merchant has published no catalog")
	}
	if err != nil {
		return c, fmt.Errorf("store: catalog: %w", err)
	}
	return c, nil
}

// CurrentCatalog returns a merchant's catalog and the products of its
// current generation in feed order, with their raw JSON, read in one
// transaction: a publish landing meanwhile (and the pruning after it) is
// seen whole or not at all. No catalog is catalog_not_found.
func (db *DB) CurrentCatalog(ctx context.Context, merchantID string) (Catalog, []CatalogProduct, error) {
	tx, err := db.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead})
	if err != nil {
		if tx, err = db.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true}); err != nil {
			return Catalog{}, nil, fmt.Errorf("store: catalog: %w", err)
		}
	}
	defer func() { _ = tx.Rollback() }()
	c, err := scanCatalog(tx.QueryRowContext(ctx, `SELECT `+catalogColumns+` FROM catalogs WHERE merchant_id = $1`, merchantID))
	if err != nil {
		return c, nil, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+productColumns+`, p.raw FROM catalog_products p
		JOIN merchants m ON m.id = p.merchant_id
		WHERE p.merchant_id = $1 AND p.generation = $2 ORDER BY p.position`, merchantID, c.Generation)
	if err != nil {
		return c, nil, fmt.Errorf("store: catalog products: %w", err)
	}
	defer rows.Close()
	var out []CatalogProduct
	for rows.Next() {
		p, err := scanProduct(rows, true)
		if err != nil {
			return c, nil, fmt.Errorf("store: catalog products: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return c, nil, fmt.Errorf("store: catalog products: %w", err)
	}
	return c, out, nil
}

// PruneCatalog deletes a merchant's product and variant rows of
// generations before generation, and returns how many. Those rows are
// never current again (generations only grow) and no unit writes them, so
// they are deleted outside the committer.
func (db *DB) PruneCatalog(ctx context.Context, merchantID string, generation int64) (int64, error) {
	var n int64
	for _, table := range []string{"catalog_products", "catalog_variants"} {
		res, err := db.writer.ExecContext(ctx, `DELETE FROM `+table+` WHERE merchant_id = $1 AND generation < $2`,
			merchantID, generation)
		if err != nil {
			return n, fmt.Errorf("store: prune catalog: %w", err)
		}
		k, _ := res.RowsAffected()
		n += k
	}
	return n, nil
}

// productColumns are what lists show of a product; current joins the
// catalog so that only its current generation is seen.
const (
	productColumns = `p.merchant_id, m.name, p.product_id, p.position, p.title, p.description, p.price, p.currency,
	p.availability, p.url, p.image_url, p.updated_at`
	currentProducts = ` FROM catalog_products p
	JOIN catalogs c ON c.merchant_id = p.merchant_id AND c.generation = p.generation
	JOIN merchants m ON m.id = p.merchant_id
	WHERE m.status = 'active'`
)

func scanProduct(row interface{ Scan(...any) error }, withRaw bool) (CatalogProduct, error) {
	var p CatalogProduct
	dest := []any{&p.MerchantID, &p.MerchantName, &p.ProductID, &p.Position, &p.Title, &p.Description, &p.Price,
		&p.Currency, &p.Availability, &p.URL, &p.ImageURL, &p.UpdatedAt}
	var raw string
	if withRaw {
		dest = append(dest, &raw)
	}
	err := row.Scan(dest...)
	p.Raw = []byte(raw)
	return p, err
}

// Product returns a product of an active merchant's current catalog, with
// its raw JSON; anything else is product_not_found.
func (db *DB) Product(ctx context.Context, merchantID, productID string) (CatalogProduct, error) {
	p, err := scanProduct(db.reader.QueryRowContext(ctx, `SELECT `+productColumns+`, p.raw`+currentProducts+`
		AND p.merchant_id = $1 AND p.product_id = $2`, merchantID, productID), true)
	if errors.Is(err, sql.ErrNoRows) {
		return p, agentpay.Errorf(agentpay.ENOTFOUND, "product_not_found", "no product %q of merchant %s", clipForMessage(productID), merchantID)
	}
	if err != nil {
		return p, fmt.Errorf("store: product: %w", err)
	}
	return p, nil
}

// CatalogVariant returns a variant of an active merchant's current
// catalog; anything else is variant_not_found. A checkout prices an item
// with it.
func (db *DB) CatalogVariant(ctx context.Context, merchantID, variantID string) (CatalogVariant, error) {
	v := CatalogVariant{MerchantID: merchantID}
	var available int64
	err := db.reader.QueryRowContext(ctx, `SELECT v.variant_id, v.product_id, v.title, v.price, v.currency, v.available,
		v.status FROM catalog_variants v
		JOIN catalogs c ON c.merchant_id = v.merchant_id AND c.generation = v.generation
		JOIN merchants m ON m.id = v.merchant_id
		WHERE m.status = 'active' AND v.merchant_id = $1 AND v.variant_id = $2`, merchantID, variantID).
		Scan(&v.VariantID, &v.ProductID, &v.Title, &v.Price, &v.Currency, &available, &v.Status)
	v.Available = available == 1
	if errors.Is(err, sql.ErrNoRows) {
		return v, agentpay.Errorf(agentpay.ENOTFOUND, "variant_not_found", "no variant %q of merchant %s", clipForMessage(variantID), merchantID)
	}
	if err != nil {
		return v, fmt.Errorf("store: catalog variant: %w", err)
	}
	return v, nil
}

// ProductQuery selects a page of products of active merchants' current
// catalogs, in (merchant id, product id) order.
type ProductQuery struct {
	// Words must each appear in the title or description, any case.
	Words []string
	// MerchantID, if set, keeps one merchant's products.
	MerchantID string
	// Currency, if set, keeps products priced in it; MaxPrice (when
	// HasMaxPrice) those priced at most it, in Currency's minor units.
	Currency    string
	MaxPrice    int64
	HasMaxPrice bool
	// AfterMerchant and AfterProduct are the last product of the previous
	// page ("" for the first).
	AfterMerchant, AfterProduct string
	Limit                       int
}

// SearchProducts returns a page of products.
//
// The word filter is LIKE '%word%' over search_text, which no index
// serves on both engines: a search reads the current products in key
// order from the cursor on until it has a page, so its cost grows with the
// products it skips. Catalogs are bounded (acp.FeedProductsMax each); a
// deployment with millions of products wants a full-text index
// (PostgreSQL pg_trgm or tsvector, SQLite FTS5) behind this same function.
func (db *DB) SearchProducts(ctx context.Context, q ProductQuery) ([]CatalogProduct, error) {
	var where strings.Builder
	args := []any{q.AfterMerchant, q.AfterProduct}
	where.WriteString(` AND (p.merchant_id, p.product_id) > ($1, $2)`)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if q.MerchantID != "" {
		where.WriteString(` AND p.merchant_id = ` + arg(q.MerchantID))
	}
	if q.Currency != "" {
		where.WriteString(` AND p.currency = ` + arg(q.Currency))
	}
	if q.HasMaxPrice {
		where.WriteString(` AND p.currency <> '' AND p.price <= ` + arg(q.MaxPrice))
	}
	for _, w := range q.Words {
		where.WriteString(` AND p.search_text LIKE ` + arg("%"+escapeLike(strings.ToLower(w))+"%") + ` ESCAPE '\'`)
	}
	query := `SELECT ` + productColumns + currentProducts + where.String() +
		` ORDER BY p.merchant_id, p.product_id LIMIT ` + arg(q.Limit)
	rows, err := db.reader.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: search products: %w", err)
	}
	defer rows.Close()
	var out []CatalogProduct
	for rows.Next() {
		p, err := scanProduct(rows, false)
		if err != nil {
			return nil, fmt.Errorf("store: search products: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: search products: %w", err)
	}
	return out, nil
}

// clipForMessage bounds what an error message echoes of the input.
func clipForMessage(s string) string {
	const limit = 60
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "..."
}
