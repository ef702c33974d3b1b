package httpapi

import (
	"encoding/json"
	"hash/fnv"
	"net/http"
	"sync"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/acp"
	"github.com/agentpay/agentpay/store"
)

// catalogRoutes serves merchants' catalogs: published whole with PUT
// /v1/catalog or through ACP's feed API under /acp/{merchant}/feeds, and
// searched by agents under /v1/products.
func (s *Server) catalogRoutes() {
	s.mux.Handle("PUT /v1/catalog", s.merchant(s.publishing(s.idempotent(s.putCatalog))))
	s.mux.Handle("GET /v1/catalog", s.merchant(s.getCatalog))
	s.feedRoutes()
	s.productRoutes()
}

// catalogLocks serialize the publishes of one merchant on this node: they
// would otherwise race for the catalog's version and all but one be
// refused. Across nodes the version check still decides.
var catalogLocks [64]sync.Mutex

// publishing runs a request that publishes a merchant's catalog under its
// merchant's lock, then, if it succeeded, deletes the product rows the
// publish made stale.
func (s *Server) publishing(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := merchantOf(r).Merchant.ID
		h := fnv.New32a()
		h.Write([]byte(id))
		mu := &catalogLocks[h.Sum32()%uint32(len(catalogLocks))]
		mu.Lock()
		defer mu.Unlock()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next(rec, r)
		if rec.status < http.StatusMultipleChoices {
			s.pruneCatalog(r, id)
		}
	}
}

// pruneCatalog deletes the rows of generations before the current one.
// A failure only leaves rows no query reads; the next publish prunes them.
func (s *Server) pruneCatalog(r *http.Request, merchantID string) {
	c, err := s.DB.Catalog(r.Context(), merchantID)
	if err != nil {
		return // none yet, or the database is away: nothing to do now
	}
	if _, err := s.DB.PruneCatalog(r.Context(), merchantID, c.Generation); err != nil {
		s.log(r).Warn("catalog not pruned", "merchant", merchantID, "error", err)
	}
}

// catalogJSON is a catalog as its merchant reads it.
type catalogJSON struct {
	Object        string `json:"object"` // "catalog"
	MerchantID    string `json:"merchant_id"`
	FeedID        string `json:"feed_id"` // its id in the ACP feed API
	TargetCountry string `json:"target_country,omitempty"`
	ProductCount  int64  `json:"product_count"`
	CreatedAt     string `json:"created_at"`
	UpdatedAt     string `json:"updated_at"`
}

// catalogWithProductsJSON is GET /v1/catalog: the catalog and its
// products as published (ACP Product objects), in feed order.
type catalogWithProductsJSON struct {
	catalogJSON
	Products []json.RawMessage `json:"products"`
}

func toCatalogJSON(c store.Catalog) catalogJSON {
	return catalogJSON{Object: "catalog", MerchantID: c.MerchantID, FeedID: c.FeedID, TargetCountry: c.TargetCountry,
		ProductCount: c.ProductCount, CreatedAt: timeString(c.CreatedAt), UpdatedAt: timeString(c.UpdatedAt)}
}

// putCatalog is PUT /v1/catalog: the body is a whole ACP product set
// ({"products":[Product…]}, the spec's ProductsResponse) that replaces the
// merchant's catalog, atomically; the first publish creates the catalog
// and its feed (201).
func (s *Server) putCatalog(r *http.Request, body []byte) (*store.Unit, func(store.Result) (int, any), error) {
	m := merchantOf(r).Merchant
	products, err := acp.ParseFeed(body, acp.DefProducts)
	if err != nil {
		return nil, nil, err
	}
	prev, err := s.DB.Catalog(r.Context(), m.ID)
	status := http.StatusOK
	switch {
	case agentpay.ErrorKind(err) == agentpay.ENOTFOUND:
		prev, status = newCatalog(m.ID, ""), http.StatusCreated
	case err != nil:
		return nil, nil, err
	}
	unit, next := publishCatalog(prev, products, nil)
	return unit, func(store.Result) (int, any) { return status, toCatalogJSON(next) }, nil
}

// getCatalog is GET /v1/catalog.
func (s *Server) getCatalog(w http.ResponseWriter, r *http.Request) {
	c, products, err := s.DB.CurrentCatalog(r.Context(), merchantOf(r).Merchant.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := catalogWithProductsJSON{catalogJSON: toCatalogJSON(c), Products: rawProducts(products)}
	writeJSON(w, http.StatusOK, out)
}

func rawProducts(products []store.CatalogProduct) []json.RawMessage {
	out := make([]json.RawMessage, len(products))
	for i, p := range products {
		out[i] = p.Raw
	}
	return out
}

// newCatalog is a catalog not stored yet (Version 0): publishCatalog
// creates it.
func newCatalog(merchantID, targetCountry string) store.Catalog {
	now := time.Now().UnixMicro()
	return store.Catalog{MerchantID: merchantID, FeedID: agentpay.NewID("feed"), TargetCountry: targetCountry,
		CreatedAt: now, UpdatedAt: now}
}

// publishCatalog returns the unit that makes products the whole catalog
// prev (as read; Version 0 if not stored yet) and the catalog it makes.
// kept gives the updated_at of products carried over unchanged (by id);
// the others are updated now.
// The products are written anew under the next generation and the
// catalog moved to it in the same unit, so readers see the old catalog or
// the new one whole; a publish that lost a race for prev's version fails
// with version_conflict, one that lost the race to create it with
// already_exists, and writes nothing.
func publishCatalog(prev store.Catalog, products []acp.Product, kept map[string]int64) (*store.Unit, store.Catalog) {
	now := time.Now().UnixMicro()
	next := prev
	next.Generation, next.ProductCount, next.Bytes, next.UpdatedAt, next.Version =
		prev.Generation+1, int64(len(products)), 0, now, prev.Version+1
	unit := &store.Unit{}
	for i, p := range products {
		next.Bytes += int64(len(p.Raw))
		updated, ok := kept[p.ID]
		if !ok {
			updated = now
		}
		unit.Rows = append(unit.Rows, store.CatalogProductRow(next.Generation, store.CatalogProduct{
			MerchantID: prev.MerchantID, ProductID: p.ID, Position: int64(i), Title: p.Title, Description: p.Description,
			Price: p.Price, Currency: p.Currency, Availability: p.Availability, URL: p.URL, ImageURL: p.ImageURL,
			SearchText: p.SearchText, Raw: p.Raw, UpdatedAt: updated}))
		for _, v := range p.Variants {
			unit.Rows = append(unit.Rows, store.CatalogVariantRow(next.Generation, store.CatalogVariant{
				MerchantID: prev.MerchantID, VariantID: v.ID, ProductID: p.ID, Title: v.Title, Price: v.Price,
				Currency: v.Currency, Available: v.Available, Status: v.Status}))
		}
	}
	if prev.Version == 0 {
		unit.Rows = append(unit.Rows, store.CatalogRow(next))
	} else {
		unit.Updates = append(unit.Updates, store.CatalogPublish(prev, next.Generation, next.ProductCount, next.Bytes, now))
	}
	return unit, next
}
