package httpapi_test

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/agentauth"
	"github.com/agentpay/agentpay/consent/consenttest"
	"github.com/agentpay/agentpay/linking"
	"github.com/agentpay/agentpay/store"
	"github.com/go-webauthn/webauthn/protocol"
)

type mandateOut struct {
	Object        string   `json:"object"`
	ID            string   `json:"id"`
	Kind          string   `json:"kind"`
	Status        string   `json:"status"`
	Merchant      *string  `json:"merchant"`
	Categories    []string `json:"categories"`
	PerPaymentMax int64    `json:"per_payment_max"`
	Budget        int64    `json:"budget"`
	Summary       string   `json:"summary"`
	ApprovalURL   string   `json:"approval_url"`
	Grant         string   `json:"grant"`
	Payer         string   `json:"payer"`
	User          string   `json:"user"`
}

type chargeOut struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	DeclineCode string `json:"decline_code"`
	Authorized  int64  `json:"amount_authorized"`
	Grant       string `json:"grant"`
	Payer       string `json:"payer"`
}

type mandateListOut struct {
	Data    []mandateOut `json:"data"`
	HasMore bool         `json:"has_more"`
}

// mandateBody is a proposal: 4.00 a charge, 10.00 a month, in London.
func mandateBody(kind, payee string) string {
	if strings.HasPrefix(payee, "mer_") {
		payee = `"merchant":"` + payee + `"`
	} else {
		payee = `"merchant":null,"categories":["` + payee + `"]`
	}
	return `{"kind":"` + kind + `",` + payee + `,"asset":"USD","per_payment_max":400,"budget":1000,` +
		`"period":{"unit":"month","count":1},"time_zone":"Europe/London","description":"Tea club: a box of tea every month"}`
}

func chargeBody(merchant string, amount int64) string {
	a := strings.TrimSpace(jsonString(amount))
	m := ""
	if merchant != "" {
		m = `"merchant":"` + merchant + `",`
	}
	return `{` + m + `"items":[{"name":"Tea box","quantity":1,"unit_amount":` + a + `}],` +
		`"totals":{"subtotal":` + a + `,"tax":0,"shipping":0,"fees":0,"tip":0,"total":` + a + `},"description":"Tea club"}`
}

// agentDo sends a request signed by ag with Idempotency-Key key.
func (s *claimShop) agentDo(ag linkedAgent, method, path, key, body string) response {
	s.t.Helper()
	return s.n.send(ag.sign(s.t, s.n.srv.PublicBaseURL, method, path, body, agentauth.SignParams{}), key)
}

func (s *claimShop) propose(ag linkedAgent, body string) mandateOut {
	s.t.Helper()
	r := s.agentDo(ag, "POST", "/v1/mandates", "propose-"+randomHex(8), body)
	mustStatus(s.t, r, 201)
	var m mandateOut
	r.decode(s.t, &m)
	return m
}

// approveMandate approves mandate id as u with key through the approval
// page's endpoints, as the page's script does.
func (s *claimShop) approveMandate(u pageUser, key *consenttest.Authenticator, id string) response {
	s.t.Helper()
	r := me(s.a, u, "POST", "/mandates/"+id+"/approve/begin", u.csrf, "", "{}")
	if r.Status != 200 {
		return r
	}
	var begun struct {
		Ceremony string
		Options  protocol.CredentialAssertion
	}
	r.decode(s.t, &begun)
	return me(s.a, u, "POST", "/mandates/"+id+"/approve/finish?ceremony="+url.QueryEscape(begun.Ceremony), u.csrf, "",
		string(key.Get(s.t, &begun.Options)))
}

func decodeCharge(t *testing.T, r response) chargeOut {
	t.Helper()
	var c chargeOut
	r.decode(t, &c)
	return c
}

// A mandate's life over the API: the agent proposes, the user approves on
// the page with a passkey, the merchant and the agent charge within its
// terms, the user pauses, resumes and revokes it; each change is an event
// delivered to the merchant.
func TestMandatesAPI(t *testing.T) {
	forEachSharedDB(t, func(t *testing.T, db, _ *store.DB) {
		s := newClaimShop(t, db)
		a, ctx := s.a, context.Background()
		shop, apiKey := s.merchant.Merchant.ID, s.merchant.APIKey
		mustStatus(t, a.as(apiKey, "POST", "/v1/merchant/webhook", "hook-1", `{"url":"https://shop.example/hooks"}`), 200)

		sub := s.propose(s.agent, mandateBody("subscription", shop))
		if sub.Object != "mandate" || sub.Status != "requires_approval" || sub.ApprovalURL != claimBase+"/mandates/"+sub.ID ||
			sub.Grant != s.agent.grantID || sub.Merchant == nil || *sub.Merchant != shop || sub.Payer != "" || sub.User != "" ||
			!strings.Contains(sub.Summary, "at most 10.00 USD per month, each charge at most 4.00 USD") {
			t.Fatalf("proposed %+v", sub)
		}
		mustError(t, "charge before approval", a.as(apiKey, "POST", "/v1/mandates/"+sub.ID+"/charges", "c0", chargeBody("", 300)),
			409, "mandate_not_approved")
		if r := s.approveMandate(s.ada, s.key, sub.ID); r.Status != 200 {
			t.Fatalf("approve: %v", r)
		}

		// The merchant sees the payer's pseudonym, never the user.
		r := a.as(apiKey, "GET", "/v1/mandates/"+sub.ID, "", "")
		mustStatus(t, r, 200)
		var seen mandateOut
		r.decode(t, &seen)
		if seen.Status != "active" || seen.Payer == "" || seen.Grant != "" || strings.Contains(string(r.Body), s.ada.id) {
			t.Fatalf("merchant's view: %v", r)
		}

		// The merchant charges; a retry under the key is the same payment.
		r = a.as(apiKey, "POST", "/v1/mandates/"+sub.ID+"/charges", "charge-1", chargeBody("", 300))
		mustStatus(t, r, 201)
		first := decodeCharge(t, r)
		if first.Status != "authorized" || first.Authorized != 300 || first.Payer != seen.Payer {
			t.Fatalf("charge: %v", r)
		}
		again := a.as(apiKey, "POST", "/v1/mandates/"+sub.ID+"/charges", "charge-1", chargeBody("", 300))
		if again.Status != 201 || !again.replayed() || decodeCharge(t, again).ID != first.ID {
			t.Fatalf("retry: %v", again)
		}
		mustError(t, "same key, other body", a.as(apiKey, "POST", "/v1/mandates/"+sub.ID+"/charges", "charge-1", chargeBody("", 200)),
			422, "idempotency_conflict")
		mustError(t, "over the amount per charge", a.as(apiKey, "POST", "/v1/mandates/"+sub.ID+"/charges", "c2", chargeBody("", 401)),
			400, "exceeds_mandate_per_payment")
		mustError(t, "the agent charges a subscription", s.agentDo(s.agent, "POST", "/v1/mandates/"+sub.ID+"/charges", "c3",
			chargeBody(shop, 100)), 403, "mandate_not_chargeable")
		// 3.00 + 4.00 fit the 10.00 of the month; 4.00 more is declined.
		mustStatus(t, a.as(apiKey, "POST", "/v1/mandates/"+sub.ID+"/charges", "c4", chargeBody("", 400)), 201)
		r = a.as(apiKey, "POST", "/v1/mandates/"+sub.ID+"/charges", "c5", chargeBody("", 400))
		mustStatus(t, r, 201)
		if c := decodeCharge(t, r); c.Status != "declined" || c.DeclineCode != "mandate_budget" {
			t.Fatalf("over the budget: %v", r)
		}

		// The agent charges an open mandate of a category itself.
		open := s.propose(s.agent, mandateBody("open", "5411"))
		if open.Merchant != nil || !slices.Equal(open.Categories, []string{"5411"}) {
			t.Fatalf("open mandate %+v", open)
		}
		if r := s.approveMandate(s.ada, s.key, open.ID); r.Status != 200 {
			t.Fatalf("approve open: %v", r)
		}
		charge := s.agent.sign(t, s.n.srv.PublicBaseURL, "POST", "/v1/mandates/"+open.ID+"/charges", chargeBody(shop, 250), agentauth.SignParams{})
		r = s.n.send(charge, "agent-charge-1")
		mustStatus(t, r, 201)
		if c := decodeCharge(t, r); c.Status != "authorized" || c.Grant != s.agent.grantID {
			t.Fatalf("agent's charge: %v", r)
		}
		// The same signed request replayed under another key charges nothing.
		mustRefuse(t, s.n.send(charge, "agent-charge-2"), 401, "nonce_replayed")
		mustError(t, "no merchant", s.agentDo(s.agent, "POST", "/v1/mandates/"+open.ID+"/charges", "c6", chargeBody("", 100)),
			400, "missing_merchant")

		// Pause, resume, revoke: charges stop and start at once.
		for _, step := range []struct {
			action, status, code string
		}{{"pause", "paused", "mandate_paused"}, {"resume", "active", ""}, {"revoke", "revoked", "mandate_revoked"}} {
			r := me(a, s.ada, "POST", "/v1/me/mandates/"+sub.ID+"/"+step.action, s.ada.csrf, "me-"+step.action, "")
			mustStatus(t, r, 200)
			var m mandateOut
			if r.decode(t, &m); m.Status != step.status {
				t.Fatalf("%s: %v", step.action, r)
			}
			// 1.00 more fits the month's budget: only the status refuses.
			r = a.as(apiKey, "POST", "/v1/mandates/"+sub.ID+"/charges", "after-"+step.action, chargeBody("", 100))
			if step.code != "" {
				mustError(t, "charge when "+step.status, r, 409, step.code)
			} else if r.Status != 201 {
				t.Fatalf("charge after resuming: %v", r)
			}
		}
		mustError(t, "resume a revoked mandate", me(a, s.ada, "POST", "/v1/me/mandates/"+sub.ID+"/resume", s.ada.csrf, "me-2", ""),
			409, "mandate_revoked")

		// Every change is an event, numbered by the mandate's version, and
		// the named merchant's webhook delivers it.
		events, err := db.EventsOf(ctx, sub.ID, 20)
		if err != nil {
			t.Fatal(err)
		}
		var types []string
		for _, e := range events {
			types = append(types, e.Type)
			if strings.Contains(e.Data, s.ada.id) {
				t.Fatalf("event data names the user: %s", e.Data)
			}
		}
		want := []string{"mandate.proposed", "mandate.approved", "mandate.paused", "mandate.resumed", "mandate.revoked"}
		if !slices.Equal(types, want) {
			t.Fatalf("events %v, want %v", types, want)
		}
		deliveries, err := db.WebhookDeliveries(ctx, shop, "", 100)
		if err != nil {
			t.Fatal(err)
		}
		delivered := map[string]bool{}
		for _, d := range deliveries {
			if d.ObjectID == sub.ID {
				delivered[d.EventType] = true
			}
		}
		for _, typ := range want {
			if !delivered[typ] {
				t.Fatalf("no delivery of %s: %v", typ, delivered)
			}
		}

		// Lists: the agent's grant has both; the merchant only the one
		// naming it; the user both.
		lists := []struct {
			name string
			r    response
			want []string
		}{
			{"agent", s.agentDo(s.agent, "GET", "/v1/mandates", "", ""), []string{open.ID, sub.ID}},
			{"merchant", a.as(apiKey, "GET", "/v1/mandates", "", ""), []string{sub.ID}},
			{"user", me(a, s.ada, "GET", "/v1/me/mandates", "", "", ""), []string{open.ID, sub.ID}},
			{"agent, one a page", s.agentDo(s.agent, "GET", "/v1/mandates?limit=1", "", ""), []string{open.ID}},
			{"agent, next page", s.agentDo(s.agent, "GET", "/v1/mandates?limit=1&starting_after="+open.ID, "", ""), []string{sub.ID}},
		}
		for _, l := range lists {
			mustStatus(t, l.r, 200)
			var out mandateListOut
			l.r.decode(t, &out)
			var ids []string
			for _, m := range out.Data {
				ids = append(ids, m.ID)
			}
			if !slices.Equal(ids, l.want) {
				t.Fatalf("%s list %v, want %v", l.name, ids, l.want)
			}
		}
		a.checkLedger()
	})
}

// Every caller sees and acts on its own mandates only: another agent,
// merchant or user gets 404, as for an id that does not exist.
func TestMandateAuthorization(t *testing.T) {
	forEachDB(t, func(t *testing.T, base *api) {
		s := newClaimShop(t, base.db)
		a := s.a
		shop, apiKey := s.merchant.Merchant.ID, s.merchant.APIKey
		sub := s.propose(s.agent, mandateBody("subscription", shop))
		open := s.propose(s.agent, mandateBody("open", "5411"))
		for _, id := range []string{sub.ID, open.ID} {
			if r := s.approveMandate(s.ada, s.key, id); r.Status != 200 {
				t.Fatalf("approve: %v", r)
			}
		}

		eve := logIn(t, a.db, agentpay.TierContact)
		mallory := linkAgent(t, s.n, linking.Approval{UserID: eve.id})
		rival := s.a.onboard(`{"name":"Rival Shop","mcc":"5411","country":"US","settlement_asset":"USD"}`)
		for _, tt := range []struct {
			name string
			r    response
		}{
			{"another agent reads", s.agentDo(mallory, "GET", "/v1/mandates/"+open.ID, "", "")},
			{"another agent charges", s.agentDo(mallory, "POST", "/v1/mandates/"+open.ID+"/charges", "x1", chargeBody(shop, 100))},
			{"another merchant reads", a.as(rival.APIKey, "GET", "/v1/mandates/"+sub.ID, "", "")},
			{"another merchant charges", a.as(rival.APIKey, "POST", "/v1/mandates/"+sub.ID+"/charges", "x2", chargeBody("", 100))},
			{"a merchant charges a mandate of categories", a.as(apiKey, "POST", "/v1/mandates/"+open.ID+"/charges", "x3", chargeBody("", 100))},
			{"another user reads", me(a, eve, "GET", "/v1/me/mandates/"+sub.ID, "", "", "")},
			{"another user pauses", me(a, eve, "POST", "/v1/me/mandates/"+sub.ID+"/pause", eve.csrf, "x4", "")},
			{"another user revokes", me(a, eve, "POST", "/v1/me/mandates/"+sub.ID+"/revoke", eve.csrf, "x5", "")},
			{"another user begins approving", me(a, eve, "POST", "/mandates/"+sub.ID+"/approve/begin", eve.csrf, "", "{}")},
			{"unknown id", a.as(apiKey, "GET", "/v1/mandates/man_nope", "", "")},
		} {
			mustError(t, tt.name, tt.r, 404, "mandate_not_found")
		}
		if r := me(a, eve, "GET", "/v1/me/mandates", "", "", ""); r.Status != 200 || strings.Contains(string(r.Body), sub.ID) {
			t.Fatalf("another user's list: %v", r)
		}
		if r := s.agentDo(mallory, "GET", "/v1/mandates", "", ""); r.Status != 200 || strings.Contains(string(r.Body), open.ID) {
			t.Fatalf("another agent's list: %v", r)
		}
		if r := a.as(rival.APIKey, "GET", "/v1/mandates", "", ""); r.Status != 200 || strings.Contains(string(r.Body), sub.ID) {
			t.Fatalf("another merchant's list: %v", r)
		}
		// The operator sees everything, the user included.
		r := a.get("/v1/mandates/" + sub.ID)
		mustStatus(t, r, 200)
		var m mandateOut
		if r.decode(t, &m); m.User != s.ada.id || m.Grant != s.agent.grantID {
			t.Fatalf("operator's view: %v", r)
		}
		// Nothing moved for the refused callers.
		if got, err := a.db.Mandate(context.Background(), sub.ID); err != nil || got.Status != agentpay.MandateActive {
			t.Fatalf("mandate after the refusals: %s %v", got.Status, err)
		}
		mustError(t, "no CSRF token", me(a, s.ada, "POST", "/v1/me/mandates/"+sub.ID+"/pause", "", "k", ""), 403, "csrf_failed")
	})
}

// Bad input is a 400 naming what is wrong, never a 500.
func TestMandateBadRequests(t *testing.T) {
	forEachDB(t, func(t *testing.T, base *api) {
		s := newClaimShop(t, base.db)
		a := s.a
		shop, apiKey := s.merchant.Merchant.ID, s.merchant.APIKey
		sub := s.propose(s.agent, mandateBody("subscription", shop))
		good := mandateBody("open", shop)
		for _, tt := range []struct {
			name, body, code string
		}{
			{"unknown field", strings.Replace(good, `"kind"`, `"limit":1,"kind"`, 1), "unknown_field"},
			{"unknown kind", strings.Replace(good, `"open"`, `"forever"`, 1), "invalid_kind"},
			{"no payee", strings.Replace(good, `"merchant":"`+shop+`"`, `"merchant":null`, 1), "invalid_payee"},
			{"zero period", strings.Replace(good, `"count":1`, `"count":0`, 1), "invalid_interval"},
			{"unknown time zone", strings.Replace(good, "Europe/London", "Mars/Olympus", 1), "invalid_time_zone"},
			{"bad start", strings.Replace(good, `"kind"`, `"starts_at":"tomorrow","kind"`, 1), "invalid_time"},
			{"end in the past", strings.Replace(good, `"kind"`, `"ends_at":"2001-01-01T00:00:00Z","kind"`, 1), "invalid_window"},
			{"budget under a charge", strings.Replace(good, `"budget":1000`, `"budget":300`, 1), "invalid_amount"},
			{"amount as text", strings.Replace(good, `"budget":1000`, `"budget":"1000"`, 1), "invalid_amount"},
			{"over the grant", strings.Replace(good, `"per_payment_max":400,"budget":1000`, `"per_payment_max":6000,"budget":9000`, 1), "exceeds_grant_limit"},
			{"not JSON", `{"kind":`, "invalid_json"},
		} {
			r := s.agentDo(s.agent, "POST", "/v1/mandates", "bad-"+randomHex(4), tt.body)
			mustError(t, tt.name, r, 400, tt.code)
		}
		mustError(t, "no Idempotency-Key", s.agentDo(s.agent, "POST", "/v1/mandates", "", good), 400, "idempotency_key_required")
		charges := "/v1/mandates/" + sub.ID + "/charges"
		for _, tt := range []struct {
			name, key, body, code string
		}{
			{"no key", "", chargeBody("", 100), "idempotency_key_required"},
			{"unknown field", "b1", strings.Replace(chargeBody("", 100), `"items"`, `"mandate":"x","items"`, 1), "unknown_field"},
			{"totals do not add up", "b2", strings.Replace(chargeBody("", 100), `"total":100`, `"total":150`, 1), "totals_mismatch"},
			{"another payee", "b3", chargeBody(agentpay.NewID("mer"), 100), "invalid_merchant"},
			{"not JSON", "b4", `[1,2]`, "invalid_json"},
		} {
			mustError(t, "charge: "+tt.name, a.as(apiKey, "POST", charges, tt.key, tt.body), 400, tt.code)
		}
		mustError(t, "bad limit", a.as(apiKey, "GET", "/v1/mandates?limit=0", "", ""), 400, "invalid_limit")
		mustError(t, "bad cursor", a.as(apiKey, "GET", "/v1/mandates?starting_after=pay_1", "", ""), 400, "invalid_id")
		mustError(t, "action body", me(a, s.ada, "POST", "/v1/me/mandates/"+sub.ID+"/pause", s.ada.csrf, "b5", `{"x":1}`), 400, "unknown_field")
	})
}
