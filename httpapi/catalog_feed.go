package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/acp"
	"github.com/agentpay/agentpay/store"
)

// feedRoutes serve ACP's feed API (spec/openapi/openapi.feed.yaml) for
// each merchant under /acp/{merchant}: the spec's paths, methods, bodies
// and error object, authenticated with the merchant's API key. A merchant
// has one feed, its catalog: POST /feeds creates it (PUT /v1/catalog
// does too), PATCH upserts products by id. The spec replaces a whole
// product set only by file ingestion, which PUT /v1/catalog does over
// HTTP.
func (s *Server) feedRoutes() {
	feed := func(h http.HandlerFunc) http.Handler { return s.acpFeed(s.merchant(s.feedOwner(h))) }
	s.mux.Handle("POST /acp/{merchant}/feeds", feed(s.publishing(s.idempotent(s.createFeed))))
	s.mux.Handle("GET /acp/{merchant}/feeds/{id}", feed(s.getFeed))
	s.mux.Handle("GET /acp/{merchant}/feeds/{id}/products", feed(s.getFeedProducts))
	s.mux.Handle("PATCH /acp/{merchant}/feeds/{id}/products", feed(s.publishing(s.idempotent(s.upsertFeedProducts))))
}

// feedMetadataJSON is the spec's FeedMetadata.
type feedMetadataJSON struct {
	ID            string `json:"id"`
	TargetCountry string `json:"target_country,omitempty"`
	UpdatedAt     string `json:"updated_at"`
}

func toFeedMetadata(c store.Catalog) feedMetadataJSON {
	return feedMetadataJSON{ID: c.FeedID, TargetCountry: c.TargetCountry, UpdatedAt: timeString(c.UpdatedAt)}
}

// feedOwner lets through only requests whose {merchant} is the merchant
// the API key belongs to: another merchant's feeds are not found.
func (s *Server) feedOwner(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("merchant") != merchantOf(r).Merchant.ID {
			s.writeError(w, r, &agentpay.Error{Kind: agentpay.ENOTFOUND, Code: "merchant_not_found", Param: "merchant",
				Message: "this API key belongs to another merchant; use /acp/{your merchant id}/feeds"})
			return
		}
		next(w, r)
	}
}

// ownFeed returns the merchant's catalog if its feed is the path's {id}.
func (s *Server) ownFeed(r *http.Request) (store.Catalog, error) {
	c, err := s.DB.Catalog(r.Context(), merchantOf(r).Merchant.ID)
	if agentpay.ErrorKind(err) == agentpay.ENOTFOUND || err == nil && c.FeedID != r.PathValue("id") {
		return c, errFeedNotFound()
	}
	return c, err
}

func errFeedNotFound() error {
	return &agentpay.Error{Kind: agentpay.ENOTFOUND, Code: "feed_not_found", Param: "id", Message: "Feed not found"}
}

// createFeed is POST /feeds: creates the merchant's feed, empty (201
// FeedMetadata). A merchant has one feed; a second is feed_exists (409).
func (s *Server) createFeed(r *http.Request, body []byte) (*store.Unit, func(store.Result) (int, any), error) {
	country, err := acp.ParseCreateFeed(body)
	if err != nil {
		return nil, nil, err
	}
	m := merchantOf(r).Merchant
	c, err := s.DB.Catalog(r.Context(), m.ID)
	switch {
	case err == nil:
		return nil, nil, agentpay.Errorf(agentpay.ECONFLICT, "feed_exists",
			"this merchant has feed %s already, and a merchant has one feed", c.FeedID)
	case agentpay.ErrorKind(err) != agentpay.ENOTFOUND:
		return nil, nil, err
	}
	unit, next := publishCatalog(newCatalog(m.ID, country), nil, nil)
	return unit, func(store.Result) (int, any) { return http.StatusCreated, toFeedMetadata(next) }, nil
}

// getFeed is GET /feeds/{id}.
func (s *Server) getFeed(w http.ResponseWriter, r *http.Request) {
	c, err := s.ownFeed(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toFeedMetadata(c))
}

// getFeedProducts is GET /feeds/{id}/products: the spec's ProductsResponse,
// the products as published, in feed order.
func (s *Server) getFeedProducts(w http.ResponseWriter, r *http.Request) {
	c, products, err := s.DB.CurrentCatalog(r.Context(), merchantOf(r).Merchant.ID)
	if agentpay.ErrorKind(err) == agentpay.ENOTFOUND || err == nil && c.FeedID != r.PathValue("id") {
		err = errFeedNotFound()
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string][]json.RawMessage{"products": rawProducts(products)})
}

// upsertFeedResponseJSON is the spec's UpsertProductsResponse.
type upsertFeedResponseJSON struct {
	ID       string `json:"id"`
	Accepted bool   `json:"accepted"`
}

// upsertFeedProducts is PATCH /feeds/{id}/products: products replace those
// with their ids and the others are added, products omitted stay; the
// merged catalog is checked as a whole and published atomically like PUT
// /v1/catalog.
func (s *Server) upsertFeedProducts(r *http.Request, body []byte) (*store.Unit, func(store.Result) (int, any), error) {
	upserts, err := acp.ParseFeed(body, acp.DefUpsert)
	if err != nil {
		return nil, nil, err
	}
	c, current, err := s.DB.CurrentCatalog(r.Context(), merchantOf(r).Merchant.ID)
	if agentpay.ErrorKind(err) == agentpay.ENOTFOUND || err == nil && c.FeedID != r.PathValue("id") {
		return nil, nil, errFeedNotFound()
	}
	if err != nil {
		return nil, nil, err
	}
	raws := make([][]byte, len(current))
	kept := make(map[string]int64, len(current))
	for i, p := range current {
		raws[i] = p.Raw
		kept[p.ProductID] = p.UpdatedAt
	}
	for _, u := range upserts {
		delete(kept, u.ID)
	}
	merged, err := acp.Merge(acp.ParseStored(raws), upserts)
	if err != nil {
		return nil, nil, err
	}
	unit, next := publishCatalog(c, merged, kept)
	return unit, func(store.Result) (int, any) {
		return http.StatusOK, upsertFeedResponseJSON{ID: next.FeedID, Accepted: true}
	}, nil
}

// acpFeed makes a route answer as ACP's feed API does: errors are the
// spec's flat Error object {type, code, message, param} (type
// invalid_request for a 4xx, processing_error or service_unavailable for a
// 5xx) instead of agentpay's {"error":{…}}; an API-Version header, when
// sent, must be the spec's version (the feed API does not require one);
// Idempotency-Key and Request-Id are echoed.
func (s *Server) acpFeed(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, h := range []string{"Idempotency-Key", "Request-Id"} {
			if v := r.Header.Get(h); v != "" && len(v) <= IdempotencyKeyLengthMax {
				w.Header().Set(h, v)
			}
		}
		ew := &acpErrorWriter{ResponseWriter: w}
		defer ew.finish()
		if v := r.Header.Get("API-Version"); v != "" && v != acp.SpecVersion {
			s.writeError(ew, r, &agentpay.Error{Kind: agentpay.EINVALID, Code: "unsupported_api_version", Param: "API-Version",
				Message: "API-Version " + strconv.Quote(clipHeader(v)) + " is not supported; supported versions: " + acp.SpecVersion})
			return
		}
		next.ServeHTTP(ew, r)
	})
}

// clipHeader bounds what a message echoes of a header.
func clipHeader(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// acpErrorWriter holds back an error response (status 400 and up) and
// writes it in ACP's shape when the handler is done; other responses pass
// through as they are written.
type acpErrorWriter struct {
	http.ResponseWriter
	status int
	held   bool
	body   bytes.Buffer
}

func (w *acpErrorWriter) WriteHeader(code int) {
	if code >= http.StatusBadRequest && !w.held {
		w.status, w.held = code, true
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *acpErrorWriter) Write(b []byte) (int, error) {
	if w.held {
		return w.body.Write(b)
	}
	return w.ResponseWriter.Write(b)
}

func (w *acpErrorWriter) finish() {
	if !w.held {
		return
	}
	w.Header().Del("Content-Length")
	w.ResponseWriter.WriteHeader(w.status)
	_, _ = w.ResponseWriter.Write(acpError(w.status, w.body.Bytes()))
}

// acpErrorJSON is the spec's Error.
type acpErrorJSON struct {
	Type    string `json:"type"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Param   string `json:"param,omitempty"`
}

// acpError turns an agentpay error body into the spec's Error.
func acpError(status int, body []byte) []byte {
	var in errorBody
	out := acpErrorJSON{Type: "invalid_request"}
	switch {
	case status == http.StatusServiceUnavailable:
		out.Type = "service_unavailable"
	case status >= http.StatusInternalServerError:
		out.Type = "processing_error"
	}
	if json.Unmarshal(body, &in) == nil && in.Error.Code != "" {
		out.Code, out.Message, out.Param = in.Error.Code, in.Error.Message, in.Error.Param
	} else {
		out.Code, out.Message = "http_"+strconv.Itoa(status), http.StatusText(status)
	}
	b, _ := json.Marshal(out) // strings only: always marshals
	return append(b, '\n')
}
