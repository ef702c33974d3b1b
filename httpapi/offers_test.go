package httpapi_test

import (
	"strings"
	"testing"
	"time"

	"github.com/agentpay/agentpay/store"
	"github.com/agentpay/agentpay/subscriptions"
)

type offerOut struct {
	ID           string     `json:"id"`
	Status       string     `json:"status"`
	Merchant     string     `json:"merchant"`
	MaxAmount    int64      `json:"max_amount"`
	Mandate      string     `json:"mandate"`
	AcceptURL    string     `json:"accept_url"`
	OfferExpires *time.Time `json:"offer_expires_at"`
	Payer        string     `json:"payer"`
	Grant        string     `json:"grant"`
	CanceledBy   string     `json:"canceled_by"`
}

// A merchant offers a metered plan through the API; a customer accepts it
// and approves its mandate; the merchant then reads it (the payer by
// pseudonym only), reports usage, is refused usage past the maximum, and
// cancels it. Other merchants and agents see none of it.
func TestMerchantOffersAndUsage(t *testing.T) {
	forEachSharedDB(t, func(t *testing.T, db, _ *store.DB) {
		s := newClaimShop(t, db)
		a, key := s.a, s.merchant.APIKey
		body := `{"plan":"API calls","asset":"USD","amount":100,"max_amount":2000,` +
			`"interval":{"unit":"month","count":1},"time_zone":"America/New_York"}`
		mustError(t, "no key", a.as(key, "POST", "/v1/subscriptions", "", body), 400, "idempotency_key_required")
		mustError(t, "another merchant's plan", a.as(key, "POST", "/v1/subscriptions", "o-0",
			strings.Replace(body, `{`, `{"merchant":"mer_other",`, 1)), 400, "merchant_mismatch")
		mustError(t, "base above max", a.as(key, "POST", "/v1/subscriptions", "o-bad",
			strings.Replace(body, `"amount":100`, `"amount":3000`, 1)), 400, "invalid_amount")
		r := a.as(key, "POST", "/v1/subscriptions", "o-1", body)
		mustStatus(t, r, 201)
		var off offerOut
		r.decode(t, &off)
		if off.Status != "offered" || off.AcceptURL != claimBase+"/subscribe/"+off.ID || off.OfferExpires == nil ||
			off.MaxAmount != 2000 || off.Mandate != "" || off.Merchant != s.merchant.Merchant.ID {
			t.Fatalf("offer %+v", off)
		}
		if r := a.as(key, "POST", "/v1/subscriptions", "o-1", body); !r.replayed() {
			t.Fatalf("retry: %v", r)
		}

		// Nobody else sees it; usage before anyone accepted is refused.
		other := a.onboard(`{"name":"Other","mcc":"5499","country":"US","settlement_asset":"USD"}`)
		mustError(t, "another merchant", a.as(other.APIKey, "GET", "/v1/subscriptions/"+off.ID, "", ""), 404, "subscription_not_found")
		mustError(t, "agent", s.agentGet(s.agent, "/v1/subscriptions/"+off.ID), 404, "subscription_not_found")
		mustError(t, "usage of an offer", a.as(key, "POST", "/v1/subscriptions/"+off.ID+"/usage", "u-0", `{"amount":100}`),
			409, "subscription_offered")

		sub, u, err := s.n.srv.Subscriptions.PrepareAccept(s.ctx, s.ada.id, off.ID)
		if err == nil {
			err = db.Committer.Submit(s.ctx, u).Err
		}
		if err != nil {
			t.Fatal(err)
		}
		if r := s.approveMandate(s.ada, s.key, sub.MandateID); r.Status != 200 {
			t.Fatalf("approve: %v", r)
		}
		if _, err := s.n.srv.Subscriptions.RunDue(s.ctx); err != nil {
			t.Fatal(err)
		}
		r = a.as(key, "GET", "/v1/subscriptions/"+off.ID, "", "")
		mustStatus(t, r, 200)
		r.decode(t, &off)
		if off.Status != "active" || off.Payer == "" || off.Grant != "" || strings.Contains(string(r.Body), s.ada.id) {
			t.Fatalf("merchant's view: %v", r)
		}

		r = a.as(key, "POST", "/v1/subscriptions/"+off.ID+"/usage", "u-1", `{"amount":1500}`)
		mustStatus(t, r, 201)
		var use struct {
			Period      int64     `json:"period"`
			PeriodUsage int64     `json:"period_usage"`
			ChargeAt    time.Time `json:"charge_at"`
		}
		r.decode(t, &use)
		if use.Period != 0 || use.PeriodUsage != 1500 || use.ChargeAt.IsZero() {
			t.Fatalf("usage %+v", use)
		}
		mustError(t, "over the max", a.as(key, "POST", "/v1/subscriptions/"+off.ID+"/usage", "u-2", `{"amount":401}`),
			400, "usage_over_max")
		mustError(t, "bad amount", a.as(key, "POST", "/v1/subscriptions/"+off.ID+"/usage", "u-3", `{"amount":"1"}`),
			400, "invalid_amount")
		if r := a.as(key, "POST", "/v1/subscriptions/"+off.ID+"/usage", "u-1", `{"amount":1500}`); !r.replayed() {
			t.Fatalf("usage retry: %v", r)
		}
		counters, err := db.Counters(s.ctx, subscriptions.UsageCounterID(off.ID, 0))
		if err != nil || counters[subscriptions.UsageCounterID(off.ID, 0)].Amount != 1500 {
			t.Fatalf("usage recorded %v %v", counters, err)
		}

		r = a.as(key, "GET", "/v1/subscriptions", "", "")
		mustStatus(t, r, 200)
		var list struct {
			Data []offerOut `json:"data"`
		}
		r.decode(t, &list)
		if len(list.Data) != 1 || list.Data[0].ID != off.ID {
			t.Fatalf("merchant's list %+v", list)
		}
		mustError(t, "merchant pauses", a.as(key, "POST", "/v1/subscriptions/"+off.ID+"/pause", "p-1", ""), 401, "signature_missing")
		r = a.as(key, "POST", "/v1/subscriptions/"+off.ID+"/cancel", "c-1", "")
		mustStatus(t, r, 200)
		r.decode(t, &off)
		if off.Status != "canceled" || off.CanceledBy != "merchant" {
			t.Fatalf("canceled %+v", off)
		}
		a.checkLedger()
	})
}
