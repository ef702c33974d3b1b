package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/agentpay/agentpay/acp"
	"github.com/agentpay/agentpay/acp/acptest"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// feedSpec checks exchanges with the ACP feed API against the spec's
// openapi.feed.yaml with kin-openapi.
type feedSpec struct {
	t      *testing.T
	a      *api
	doc    *openapi3.T
	router routers.Router
}

func newFeedSpec(t *testing.T, a *api) *feedSpec {
	t.Helper()
	doc, err := acptest.LoadOpenAPI("feed")
	if err != nil {
		t.Fatal(err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &feedSpec{t: t, a: a, doc: doc, router: router}
}

// feedCall is one request to the feed API of merchant: path is the
// spec's (/feeds/…), served under /acp/{merchant}.
type feedCall struct {
	Secret, Merchant, Method, Path, Key, Body string
	Headers                                   map[string]string
	// InvalidRequest says the request breaks the spec on purpose, so only
	// the response is checked.
	InvalidRequest bool
}

// send makes the call and checks it: the request (unless InvalidRequest)
// and the response against the operation, an error of a status the
// operation does not list against the spec's Error schema.
func (f *feedSpec) send(c feedCall) response {
	f.t.Helper()
	secret := c.Secret
	r := f.a.send(request{Method: c.Method, Path: "/acp/" + c.Merchant + c.Path, Key: c.Key, Body: c.Body, Token: &secret,
		Headers: c.Headers})
	var body io.Reader
	if c.Body != "" {
		body = strings.NewReader(c.Body)
	}
	req, err := http.NewRequest(c.Method, "https://merchant.example.com"+c.Path, body)
	if err != nil {
		f.t.Fatal(err)
	}
	if c.Body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	route, params, err := f.router.FindRoute(req)
	if err != nil {
		f.t.Fatalf("%s %s is not in the spec: %v", c.Method, c.Path, err)
	}
	ctx := context.Background()
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	if !c.InvalidRequest {
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			f.t.Fatalf("%s %s: the request breaks the spec: %v", c.Method, c.Path, err)
		}
	}
	documented := route.Operation.Responses.Status(r.Status) != nil
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: r.Status, Header: r.Header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true}}
	out.SetBodyBytes(r.Body)
	if documented {
		if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
			f.t.Fatalf("%s %s: %v breaks the spec: %v", c.Method, c.Path, r, err)
		}
		return r
	}
	// A status the spec does not list (409, 401, 413, 422): still the
	// spec's Error object.
	var v any
	if err := json.Unmarshal(r.Body, &v); err != nil || r.Status < 400 {
		f.t.Fatalf("%s %s: undocumented %v", c.Method, c.Path, r)
	}
	if err := f.doc.Components.Schemas["Error"].Value.VisitJSON(v); err != nil {
		f.t.Fatalf("%s %s: %v is not the spec's Error: %v", c.Method, c.Path, r, err)
	}
	return r
}

// acpErrorOut is the spec's Error.
type acpErrorOut struct {
	Type    string `json:"type"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Param   string `json:"param"`
}

func mustACPError(t *testing.T, what string, r response, status int, typ, code, param string) {
	t.Helper()
	var e acpErrorOut
	if err := json.Unmarshal(r.Body, &e); err != nil || r.Status != status || e.Type != typ || e.Code != code ||
		e.Param != param || e.Message == "" {
		t.Fatalf("%s: want %d %s/%s at %q, got %v", what, status, typ, code, param, r)
	}
}

// The feed API of the spec, per merchant under /acp/{merchant}: create
// the feed, read it, upsert products by id, read them back; every request
// and response checked against openapi.feed.yaml, errors in the spec's
// flat Error object.
func TestACPFeedAPI(t *testing.T) {
	forEachDB(t, func(t *testing.T, a *api) {
		spec := newFeedSpec(t, a)
		m := a.onboard(`{"name":"Corner Coffee","mcc":"5814","country":"US","settlement_asset":"USD"}`)
		other := a.onboard(`{"name":"Other Shop","mcc":"5999","country":"US","settlement_asset":"USD"}`)
		call := func(c feedCall) response {
			t.Helper()
			if c.Secret == "" {
				c.Secret = m.APIKey
			}
			if c.Merchant == "" {
				c.Merchant = m.Merchant.ID
			}
			return spec.send(c)
		}

		r := call(feedCall{Method: "GET", Path: "/feeds/feed_nothing"})
		mustACPError(t, "no feed yet", r, 404, "invalid_request", "feed_not_found", "id")

		r = call(feedCall{Method: "POST", Path: "/feeds", Key: "f-1", Body: `{"target_country":"US"}`,
			Headers: map[string]string{"API-Version": acp.SpecVersion, "Request-Id": "req-7"}})
		mustStatus(t, r, http.StatusCreated)
		var meta struct {
			ID            string `json:"id"`
			TargetCountry string `json:"target_country"`
			UpdatedAt     string `json:"updated_at"`
		}
		r.decode(t, &meta)
		if !strings.HasPrefix(meta.ID, "feed_") || meta.TargetCountry != "US" || r.Header.Get("Idempotency-Key") != "f-1" ||
			r.Header.Get("Request-Id") != "req-7" {
			t.Fatalf("created: %v %v", r, r.Header)
		}
		if again := call(feedCall{Method: "POST", Path: "/feeds", Key: "f-1", Body: `{"target_country":"US"}`}); !again.replayed() ||
			!bytes.Equal(again.Body, r.Body) {
			t.Fatalf("retry: %v", again)
		}
		mustACPError(t, "a second feed", call(feedCall{Method: "POST", Path: "/feeds", Key: "f-2", Body: `{}`}),
			409, "invalid_request", "feed_exists", "")
		mustACPError(t, "a bad country", call(feedCall{Method: "POST", Path: "/feeds", Key: "f-3", Body: `{"target_country":"usa"}`,
			InvalidRequest: true}), 400, "invalid_request", "invalid_feed", "$.target_country")
		mustACPError(t, "the same key, another body", call(feedCall{Method: "POST", Path: "/feeds", Key: "f-1", Body: `{}`}),
			422, "invalid_request", "idempotency_conflict", "Idempotency-Key")

		r = call(feedCall{Method: "GET", Path: "/feeds/" + meta.ID})
		mustStatus(t, r, http.StatusOK)
		r = call(feedCall{Method: "GET", Path: "/feeds/" + meta.ID + "/products"})
		if r.Status != 200 || strings.TrimSpace(string(r.Body)) != `{"products":[]}` {
			t.Fatalf("an empty feed: %v", r)
		}

		products := func() []string {
			t.Helper()
			r := call(feedCall{Method: "GET", Path: "/feeds/" + meta.ID + "/products"})
			mustStatus(t, r, http.StatusOK)
			var out struct{ Products []json.RawMessage }
			r.decode(t, &out)
			var s []string
			for _, p := range out.Products {
				s = append(s, string(p))
			}
			return s
		}
		patch := func(key, body string) response {
			t.Helper()
			return call(feedCall{Method: "PATCH", Path: "/feeds/" + meta.ID + "/products", Key: key, Body: body})
		}
		// The spec's own upsert example, then the priced tee replacing it
		// in place and a new product added after it.
		r = patch("p-1", jsonString(feedSpecExample(t, acp.DefUpsert)))
		mustStatus(t, r, http.StatusOK)
		if strings.TrimSpace(string(r.Body)) != `{"id":"`+meta.ID+`","accepted":true}` {
			t.Fatalf("upsert: %v", r)
		}
		if ps := products(); len(ps) != 1 || !strings.Contains(ps[0], "out_of_stock") {
			t.Fatalf("after the first upsert: %v", ps)
		}
		mug := catalogProduct("mug", "Mug", "A mug", 900, "USD", true)
		mustStatus(t, patch("p-2", catalogBody(catalogTee(t), mug)), http.StatusOK)
		ps := products()
		if len(ps) != 2 || !strings.Contains(ps[0], `"amount":1999`) || !strings.Contains(ps[1], `"id":"mug"`) {
			t.Fatalf("after the second upsert: %v", ps)
		}
		// The merchant's own API shows the same feed.
		if c := a.getCatalog(m.APIKey); c.FeedID != meta.ID || c.TargetCountry != "US" || len(c.Products) != 2 {
			t.Fatalf("GET /v1/catalog: %+v", c)
		}

		// Refusals change nothing.
		float := `{"products":[{"id":"mug","variants":[{"id":"mug-v1","title":"Mug","price":{"amount":9.5,"currency":"USD"}}]}]}`
		mustACPError(t, "a float price", call(feedCall{Method: "PATCH", Path: "/feeds/" + meta.ID + "/products", Key: "p-3",
			Body: float, InvalidRequest: true}), 400, "invalid_request", "invalid_feed", "$.products[0].variants[0].price.amount")
		taken := catalogBody(catalogProduct("cup", "Cup", "A cup", 500, "USD", true), map[string]any{"id": "saucer",
			"variants": []any{map[string]any{"id": "mug-v1", "title": "Saucer"}}})
		mustACPError(t, "a variant id another product holds", patch("p-4", taken), 400, "invalid_request", "invalid_feed",
			"$.products[1].variants[0].id")
		mustACPError(t, "no products", patch("p-5", `{"products":[]}`), 400, "invalid_request", "invalid_product_payload", "$.products")
		mustACPError(t, "an unknown feed", call(feedCall{Method: "PATCH", Path: "/feeds/feed_other/products", Key: "p-6",
			Body: catalogBody(mug)}), 404, "invalid_request", "feed_not_found", "id")
		mustACPError(t, "an unsupported API-Version", call(feedCall{Method: "GET", Path: "/feeds/" + meta.ID,
			Headers: map[string]string{"API-Version": "2025-09-29"}}), 400, "invalid_request", "unsupported_api_version", "API-Version")
		mustACPError(t, "no Idempotency-Key", patch("", catalogBody(mug)), 400, "invalid_request", "idempotency_key_required", "Idempotency-Key")
		mustACPError(t, "no API key", call(feedCall{Method: "GET", Path: "/feeds/" + meta.ID, Secret: "none"}),
			401, "invalid_request", "invalid_api_key", "")
		mustACPError(t, "another merchant's key", call(feedCall{Method: "GET", Path: "/feeds/" + meta.ID, Secret: other.APIKey}),
			404, "invalid_request", "merchant_not_found", "merchant")
		mustACPError(t, "another merchant's feed id", call(feedCall{Method: "GET", Path: "/feeds/" + meta.ID + "/products",
			Secret: other.APIKey, Merchant: other.Merchant.ID}), 404, "invalid_request", "feed_not_found", "id")
		if after := products(); strings.Join(after, "\n") != strings.Join(ps, "\n") {
			t.Fatalf("refused upserts changed the feed: %v", after)
		}
	})
}
