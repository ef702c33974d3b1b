package httpapi_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/agentpay/agentpay/agentauth"
	"github.com/agentpay/agentpay/linking"
	"github.com/agentpay/agentpay/store"
)

// A merchant is a business unless onboarded as a creator; its kind is
// stored, shown to the operator, to itself and in the directory, which
// filters by it.
func TestMerchantKinds(t *testing.T) {
	forEachSharedDB(t, func(t *testing.T, db, _ *store.DB) {
		n := newNode(t, db, "", nil)
		a := &api{t: t, db: db, url: n.url}
		ag := linkAgent(t, n, linking.Approval{})
		get := func(path string) response {
			t.Helper()
			return n.send(ag.sign(t, n.srv.PublicBaseURL, "GET", path, "", agentauth.SignParams{}), "")
		}
		list := func(query string) []string {
			t.Helper()
			r := get("/v1/directory/merchants" + query)
			mustStatus(t, r, http.StatusOK)
			var l directoryListOut
			r.decode(t, &l)
			var ids []string
			for _, m := range l.Data {
				ids = append(ids, m.ID+":"+m.Kind)
			}
			return ids
		}

		shop := a.onboard(`{"name":"Corner Shop","mcc":"5411","country":"US","settlement_asset":"USD"}`)
		biz := a.onboard(`{"name":"Acme Books","kind":"business","mcc":"5942","country":"DE","settlement_asset":"EUR"}`)
		writer := a.onboard(`{"name":"Ada's Newsletter","kind":"creator","mcc":"5815","country":"GB","settlement_asset":"USD"}`)
		streamer := a.onboard(`{"name":"Bob Streams","kind":"creator","mcc":"7999","country":"US","settlement_asset":"USD"}`)
		gone := a.onboard(`{"name":"Gone Creator","kind":"creator","mcc":"5815","country":"US","settlement_asset":"USD"}`)
		mustStatus(t, a.post("/v1/merchants/"+gone.Merchant.ID+"/suspend", "{}"), http.StatusOK)
		for _, tt := range []struct {
			o    onboardingOut
			kind string
		}{{shop, "business"}, {biz, "business"}, {writer, "creator"}} {
			if tt.o.Merchant.Kind != tt.kind {
				t.Fatalf("onboarded %s as %q, want %q", tt.o.Merchant.Name, tt.o.Merchant.Kind, tt.kind)
			}
			var op, self merchantOut
			r := a.get("/v1/merchants/" + tt.o.Merchant.ID)
			mustStatus(t, r, http.StatusOK)
			r.decode(t, &op)
			r = a.as(tt.o.APIKey, "GET", "/v1/merchant", "", "")
			mustStatus(t, r, http.StatusOK)
			r.decode(t, &self)
			if op.Kind != tt.kind || self.Kind != tt.kind {
				t.Fatalf("%s read back as %q (operator) and %q (itself)", tt.o.Merchant.Name, op.Kind, self.Kind)
			}
			var stored string
			if err := db.Reader().QueryRow(`SELECT kind FROM merchants WHERE id = $1`, tt.o.Merchant.ID).Scan(&stored); err != nil || stored != tt.kind {
				t.Fatalf("stored kind %q %v", stored, err)
			}
		}

		sorted := func(ids ...string) []string { slices.Sort(ids); return ids }
		for _, tt := range []struct {
			query string
			want  []string
		}{
			{"", sorted(shop.Merchant.ID+":business", biz.Merchant.ID+":business", writer.Merchant.ID+":creator",
				streamer.Merchant.ID+":creator")},
			{"?kind=creator", sorted(writer.Merchant.ID+":creator", streamer.Merchant.ID+":creator")},
			{"?kind=business", sorted(shop.Merchant.ID+":business", biz.Merchant.ID+":business")},
			{"?kind=creator&q=ada", []string{writer.Merchant.ID + ":creator"}},
			{"?kind=business&q=ada", nil},
			{"?kind=creator&limit=1&starting_after=" + sorted(writer.Merchant.ID, streamer.Merchant.ID)[0],
				[]string{sorted(writer.Merchant.ID, streamer.Merchant.ID)[1] + ":creator"}},
		} {
			if got := list(tt.query); !slices.Equal(got, tt.want) {
				t.Errorf("%s: %v, want %v", tt.query, got, tt.want)
			}
		}
		r := get("/v1/directory/merchants/" + writer.Merchant.ID)
		mustStatus(t, r, http.StatusOK)
		var one directoryMerchantOut
		r.decode(t, &one)
		if one.Kind != "creator" {
			t.Fatalf("one creator: %+v", one)
		}
		for _, bad := range []string{"?kind=person", "?kind=", "?kind=CREATOR", "?kind=creator&kind=business"} {
			mustError(t, bad, get("/v1/directory/merchants"+bad), http.StatusBadRequest, "invalid_kind")
		}
	})
}
