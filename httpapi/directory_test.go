package httpapi_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/agentpay/agentpay/agentauth"
	"github.com/agentpay/agentpay/linking"
	"github.com/agentpay/agentpay/store"
)

type directoryMerchantOut struct {
	Object   string   `json:"object"`
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Kind     string   `json:"kind"`
	Category string   `json:"category"`
	Country  string   `json:"country"`
	Assets   []string `json:"assets"`
}

type directoryListOut struct {
	Object  string                 `json:"object"`
	Data    []directoryMerchantOut `json:"data"`
	HasMore bool                   `json:"has_more"`
}

// The directory shows a signed agent the active merchants, what they take,
// and nothing secret; paged, filtered by name, and refused to anyone else.
func TestMerchantDirectory(t *testing.T) {
	forEachSharedDB(t, func(t *testing.T, db, _ *store.DB) {
		n := newNode(t, db, "", nil)
		a := &api{t: t, db: db, url: n.url}
		ag := linkAgent(t, n, linking.Approval{})
		get := func(path string) response {
			t.Helper()
			return n.send(ag.sign(t, n.srv.PublicBaseURL, "GET", path, "", agentauth.SignParams{}), "")
		}
		list := func(query string) directoryListOut {
			t.Helper()
			r := get("/v1/directory/merchants" + query)
			mustStatus(t, r, http.StatusOK)
			var l directoryListOut
			r.decode(t, &l)
			return l
		}

		coffee := a.onboard(`{"name":"Corner Coffee","mcc":"5814","country":"US","settlement_asset":"USD","webhook_url":"https://coffee.example/hooks"}`)
		mustStatus(t, a.as(coffee.APIKey, "POST", "/v1/merchant/accounts", "eur-1", `{"asset":"EUR"}`), http.StatusCreated)
		books := a.onboard(`{"name":"Acme Books 100%_off","mcc":"5942","country":"DE","settlement_asset":"EUR"}`)
		gone := a.onboard(`{"name":"Gone Coffee","mcc":"5814","country":"US","settlement_asset":"USD"}`)
		mustStatus(t, a.post("/v1/merchants/"+gone.Merchant.ID+"/suspend", "{}"), http.StatusOK)

		all := list("")
		if all.Object != "list" || all.HasMore || len(all.Data) != 2 {
			t.Fatalf("directory: %+v", all)
		}
		byID := map[string]directoryMerchantOut{}
		for _, m := range all.Data {
			byID[m.ID] = m
		}
		c, b := byID[coffee.Merchant.ID], byID[books.Merchant.ID]
		if c.Object != "merchant" || c.Name != "Corner Coffee" || c.Category != "5814" || c.Country != "US" ||
			!slices.Equal(c.Assets, []string{"EUR", "USD"}) {
			t.Fatalf("coffee: %+v", c)
		}
		if b.Name != "Acme Books 100%_off" || !slices.Equal(b.Assets, []string{"EUR"}) {
			t.Fatalf("books: %+v", b)
		}
		r := get("/v1/directory/merchants")
		for _, secret := range []string{"whsec_", "sk_", "coffee.example", coffee.APIKeyID, "webhook", "balance"} {
			if strings.Contains(string(r.Body), secret) {
				t.Fatalf("the directory shows %q: %s", secret, r.Body)
			}
		}

		// One merchant; a suspended or unknown one is not found alike.
		r = get("/v1/directory/merchants/" + coffee.Merchant.ID)
		mustStatus(t, r, http.StatusOK)
		var one directoryMerchantOut
		r.decode(t, &one)
		if one.ID != c.ID || !slices.Equal(one.Assets, c.Assets) || one.Name != c.Name {
			t.Fatalf("one merchant: %+v", one)
		}
		mustError(t, "a suspended merchant", get("/v1/directory/merchants/"+gone.Merchant.ID), 404, "merchant_not_found")
		mustError(t, "an unknown merchant", get("/v1/directory/merchants/mer_unknown"), 404, "merchant_not_found")

		// Pages in id order, each page's assets its own.
		first := list("?limit=1")
		if len(first.Data) != 1 || !first.HasMore || first.Data[0].ID != all.Data[0].ID {
			t.Fatalf("first page: %+v", first)
		}
		second := list("?limit=1&starting_after=" + first.Data[0].ID)
		if len(second.Data) != 1 || second.HasMore || second.Data[0].ID != all.Data[1].ID ||
			!slices.Equal(second.Data[0].Assets, all.Data[1].Assets) {
			t.Fatalf("second page: %+v", second)
		}

		// The name filter: any case, wildcards taken literally.
		tests := []struct {
			q    string
			want []string
		}{
			{"coffee", []string{coffee.Merchant.ID}},
			{"CORNER c", []string{coffee.Merchant.ID}},
			{"100%_", []string{books.Merchant.ID}},
			{"%", []string{books.Merchant.ID}},
			{"_", []string{books.Merchant.ID}},
			{"tea", nil},
		}
		for _, tt := range tests {
			var got []string
			for _, m := range list("?q=" + url.QueryEscape(tt.q)).Data {
				got = append(got, m.ID)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("q=%q: %v, want %v", tt.q, got, tt.want)
			}
		}

		for _, bad := range []struct{ query, param string }{
			{"?limit=0", "limit"}, {"?limit=101", "limit"}, {"?starting_after=pay_x", "starting_after"},
			{"?q=" + strings.Repeat("a", 101), "q"},
		} {
			r := get("/v1/directory/merchants" + bad.query)
			if code, param := errorCode(t, r); r.Status != 400 || param != bad.param || code == "" {
				t.Errorf("%s: %v", bad.query, r)
			}
		}

		// Agents only: no signature, a merchant's key, the operator token.
		for _, path := range []string{"/v1/directory/merchants", "/v1/directory/merchants/" + coffee.Merchant.ID} {
			mustRefuse(t, a.send(request{Method: "GET", Path: path, Token: new(string)}), 401, "signature_missing")
			mustRefuse(t, a.as(coffee.APIKey, "GET", path, "", ""), 401, "signature_missing")
			mustRefuse(t, a.get(path), 401, "signature_missing")
		}
	})
}
