package httpapi_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/agentauth"
	"github.com/agentpay/agentpay/consent"
	"github.com/agentpay/agentpay/consent/consenttest"
	"github.com/agentpay/agentpay/identity"
	"github.com/agentpay/agentpay/linking"
	"github.com/agentpay/agentpay/payments"
	"github.com/agentpay/agentpay/risk"
	"github.com/agentpay/agentpay/store"
)

// claimShop is a deployment with a user who pays through a linked agent,
// approves with a passkey, and a merchant that captures.
type claimShop struct {
	t        *testing.T
	n        *node
	a        *api
	ctx      context.Context
	pk       *consent.Passkeys
	ada      pageUser
	key      *consenttest.Authenticator
	agent    linkedAgent
	merchant onboardingOut
}

const claimBase = "http://localhost:8080" // passkeys need a host name

func newClaimShop(t *testing.T, db *store.DB) *claimShop {
	n := newNode(t, db, claimBase, nil)
	// No risk rules: the tests pay in bursts the default rules would hold.
	n.srv.Payments.Risk = risk.NewEngine(risk.MustCompile(""), 1)
	s := &claimShop{t: t, n: n, a: &api{t: t, db: db, url: n.url}, ctx: context.Background()}
	pk, err := consent.NewPasskeys(db, claimBase)
	if err != nil {
		t.Fatal(err)
	}
	s.pk = pk
	s.ada = logIn(t, db, agentpay.TierContact)
	s.key = consenttest.New(t, claimBase)
	id, creation, err := pk.BeginRegistration(s.ctx, s.ada.id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pk.FinishRegistration(s.ctx, s.ada.id, id, s.key.Create(t, creation)); err != nil {
		t.Fatal(err)
	}
	if _, err := n.srv.Identity.TopUp(s.ctx, s.ada.id, agentpay.Money{Amount: 500_00, Asset: "USD"}, "test"); err != nil {
		t.Fatal(err)
	}
	s.agent = linkAgent(t, n, linking.Approval{UserID: s.ada.id})
	s.merchant = s.a.onboard(`{"name":"Corner Shop","mcc":"5411","country":"US","settlement_asset":"USD"}`)
	return s
}

// pay has the agent ask for 21.00, the user approve it with the passkey
// and the merchant capture it; it returns the payment id.
func (s *claimShop) pay() string {
	t := s.t
	t.Helper()
	body := `{"merchant":"` + s.merchant.Merchant.ID + `","asset":"USD","items":[{"name":"Tea","quantity":2,"unit_amount":1000}],` +
		`"totals":{"subtotal":2000,"tax":100,"shipping":0,"fees":0,"tip":0,"total":2100}}`
	r := s.n.send(s.agent.sign(t, s.n.srv.PublicBaseURL, "POST", "/v1/payments", body, agentauth.SignParams{}), "pay-"+randomHex(8))
	mustStatus(t, r, 201)
	var p struct {
		ID string `json:"id"`
	}
	r.decode(t, &p)
	stored, err := s.n.db.Payment(s.ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := s.n.srv.Payments.Approval(s.ctx, stored, nil)
	if err != nil {
		t.Fatal(err)
	}
	cid, assertion, err := s.pk.BeginApproval(s.ctx, s.ada.id, p.ID, obj)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := s.pk.FinishApproval(s.ctx, s.ada.id, cid, s.key.Get(t, assertion))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.n.srv.Payments.Approve(s.ctx, s.ada.id, p.ID, ev); err != nil {
		t.Fatal(err)
	}
	mustStatus(t, s.a.as(s.merchant.APIKey, "POST", "/v1/payments/"+p.ID+"/capture", "cap-"+randomHex(8), ""), 200)
	return p.ID
}

type claimOut struct {
	Object                string          `json:"object"`
	ID                    string          `json:"id"`
	Payment               string          `json:"payment"`
	User                  string          `json:"user"`
	Payer                 string          `json:"payer"`
	Grant                 string          `json:"grant"`
	Kind                  string          `json:"kind"`
	Status                string          `json:"status"`
	Amount                int64           `json:"amount"`
	Description           string          `json:"description"`
	DecisionCode          string          `json:"decision_code"`
	DecidedBy             string          `json:"decided_by"`
	DecisionNote          string          `json:"decision_note"`
	Recovered             int64           `json:"recovered"`
	Debt                  int64           `json:"debt"`
	ReimbursementTransfer string          `json:"reimbursement_transfer"`
	Evidence              json.RawMessage `json:"evidence"`
}

type claimListOut struct {
	Object  string     `json:"object"`
	Data    []claimOut `json:"data"`
	HasMore bool       `json:"has_more"`
}

func (s *claimShop) file(u pageUser, key, body string) response {
	s.t.Helper()
	return me(s.a, u, "POST", "/v1/me/claims", u.csrf, key, body)
}

func claimBody(paymentID, kind string) string {
	return `{"payment":"` + paymentID + `","kind":"` + kind + `","description":"the parcel never came"}`
}

func decodeList(t *testing.T, r response) claimListOut {
	t.Helper()
	var l claimListOut
	r.decode(t, &l)
	return l
}

func decodeClaim(t *testing.T, r response) claimOut {
	t.Helper()
	var c claimOut
	r.decode(t, &c)
	return c
}

func (s *claimShop) agentGet(ag linkedAgent, path string) response {
	s.t.Helper()
	return s.n.send(ag.sign(s.t, s.n.srv.PublicBaseURL, "GET", path, "", agentauth.SignParams{}), "")
}

// Filing, reading and deciding claims as each caller, each seeing only its
// own.
func TestClaimsAPI(t *testing.T) {
	forEachSharedDB(t, func(t *testing.T, db, _ *store.DB) {
		s := newClaimShop(t, db)
		a := s.a
		pay := s.pay()

		// The user files; the claim is adjudicated before the answer.
		mustError(t, "no CSRF token", me(a, s.ada, "POST", "/v1/me/claims", "", "k1", claimBody(pay, "not_received")), 403, "csrf_failed")
		mustError(t, "no Idempotency-Key", s.file(s.ada, "", claimBody(pay, "not_received")), 400, "idempotency_key_required")
		r := s.file(s.ada, "file-1", claimBody(pay, "not_received"))
		mustStatus(t, r, 201)
		c := decodeClaim(t, r)
		if c.Object != "claim" || c.Status != "in_review" || c.DecisionCode != "merchant_dispute" || c.Amount != 2100 ||
			c.User != s.ada.id || c.Grant != s.agent.grantID || c.Description != "the parcel never came" || c.Evidence != nil {
			t.Fatalf("filed %v", r)
		}
		again := s.file(s.ada, "file-1", claimBody(pay, "not_received"))
		mustStatus(t, again, 201)
		if !again.replayed() || decodeClaim(t, again).ID != c.ID {
			t.Fatalf("retry with the same key: %v", again)
		}
		mustError(t, "the same key, another body", s.file(s.ada, "file-1", claimBody(pay, "duplicate")), 422, "idempotency_conflict")
		mustError(t, "a second claim", s.file(s.ada, "file-2", claimBody(pay, "unauthorized")), 409, "claim_exists")

		// The user's own claims only.
		bob := logIn(t, db, agentpay.TierContact)
		mustError(t, "bob claims ada's payment", s.file(bob, "bob-1", claimBody(pay, "unauthorized")), 404, "payment_not_found")
		mustError(t, "bob reads ada's claim", me(a, bob, "GET", "/v1/me/claims/"+c.ID, "", "", ""), 404, "claim_not_found")
		r = me(a, bob, "GET", "/v1/me/claims", "", "", "")
		mustStatus(t, r, 200)
		var list claimListOut
		if list = decodeList(t, r); len(list.Data) != 0 {
			t.Fatalf("bob's claims: %v", r)
		}
		r = me(a, s.ada, "GET", "/v1/me/claims", "", "", "")
		mustStatus(t, r, 200)
		if list = decodeList(t, r); list.Object != "list" || len(list.Data) != 1 || list.Data[0].ID != c.ID {
			t.Fatalf("ada's claims: %v", r)
		}
		mustStatus(t, me(a, s.ada, "GET", "/v1/me/claims/"+c.ID, "", "", ""), 200)

		// The agent reads the claims on its grant's payments.
		for _, path := range []string{"/v1/claims?payment=" + pay, "/v1/payments/" + pay + "/claims"} {
			r = s.agentGet(s.agent, path)
			mustStatus(t, r, 200)
			if list = decodeList(t, r); len(list.Data) != 1 || list.Data[0].ID != c.ID || list.Data[0].Grant != s.agent.grantID ||
				list.Data[0].User != "" {
				t.Fatalf("%s for the agent: %v", path, r)
			}
		}
		r = s.agentGet(s.agent, "/v1/claims/"+c.ID)
		mustStatus(t, r, 200)
		other := linkAgent(t, s.n, linking.Approval{UserID: s.ada.id})
		mustRefuse(t, s.agentGet(other, "/v1/claims?payment="+pay), 404, "payment_not_found")
		mustRefuse(t, s.agentGet(other, "/v1/payments/"+pay+"/claims"), 404, "payment_not_found")
		mustRefuse(t, s.agentGet(other, "/v1/claims/"+c.ID), 404, "claim_not_found")
		mustRefuse(t, s.agentGet(s.agent, "/v1/claims"), 400, "missing_payment")

		// The merchant sees its payer's pseudonym, never the user.
		for _, path := range []string{"/v1/claims/" + c.ID, "/v1/claims", "/v1/payments/" + pay + "/claims"} {
			r = a.as(s.merchant.APIKey, "GET", path, "", "")
			mustStatus(t, r, 200)
			mustNotContain(t, "merchant's "+path, r.Body, s.ada.id, s.agent.grantID)
			if !strings.Contains(string(r.Body), `"payer":"pyr_`) {
				t.Fatalf("merchant's %s: %v", path, r)
			}
		}
		rival := a.onboard(`{"name":"Rival","mcc":"5411","country":"US","settlement_asset":"USD"}`)
		mustError(t, "another merchant's claim", a.as(rival.APIKey, "GET", "/v1/claims/"+c.ID, "", ""), 404, "claim_not_found")
		mustError(t, "another merchant's payment", a.as(rival.APIKey, "GET", "/v1/payments/"+pay+"/claims", "", ""), 404, "payment_not_found")
		r = a.as(rival.APIKey, "GET", "/v1/claims", "", "")
		mustStatus(t, r, 200)
		if list = decodeList(t, r); len(list.Data) != 0 {
			t.Fatalf("rival's claims: %v", r)
		}

		// The operator's queue and decision.
		r = a.get("/v1/claims?status=in_review")
		mustStatus(t, r, 200)
		if list = decodeList(t, r); len(list.Data) != 1 || list.Data[0].ID != c.ID || len(list.Data[0].Evidence) == 0 {
			t.Fatalf("review queue: %v", r)
		}
		mustError(t, "no operator token", a.send(request{Method: "GET", Path: "/v1/claims", Token: new(string)}), 401, "missing_token")
		mustError(t, "a bad status", a.get("/v1/claims?status=lost"), 400, "invalid_status")
		mustError(t, "approve without saying whether to recover", a.post("/v1/claims/"+c.ID+"/approve", `{"note":"ok"}`), 400, "missing_recover")
		merchantAcc := payments.MerchantAccountID(s.merchant.Merchant.ID, "USD")
		walletAcc := identity.WalletID(s.ada.id, "USD")
		before, merchantBefore := a.account(walletAcc).Balance, a.account(merchantAcc).Balance
		approve := request{Method: "POST", Path: "/v1/claims/" + c.ID + "/approve", Key: "decide-1", Body: `{"recover":true,"note":"no tracking"}`}
		r = a.send(approve)
		mustStatus(t, r, 200)
		d := decodeClaim(t, r)
		if d.Status != "approved" || d.DecidedBy != "operator" || d.DecisionCode != "operator_approved" || d.DecisionNote != "no tracking" ||
			d.Recovered != merchantBefore || d.Debt != 2100-merchantBefore || d.ReimbursementTransfer == "" {
			t.Fatalf("approved %v", r)
		}
		if r = a.send(approve); !r.replayed() || decodeClaim(t, r).Status != "approved" {
			t.Fatalf("replayed approval %v", r)
		}
		mustError(t, "approve twice", a.post("/v1/claims/"+c.ID+"/approve", `{"recover":false}`), 409, "claim_decided")
		mustError(t, "deny an approved claim", a.post("/v1/claims/"+c.ID+"/deny", ""), 409, "claim_decided")
		if got := a.account(walletAcc).Balance; got != before+2100 {
			t.Fatalf("wallet %d, want %d", got, before+2100)
		}
		r = me(a, s.ada, "GET", "/v1/me/claims/"+c.ID, "", "", "")
		if mustStatus(t, r, 200); decodeClaim(t, r).Status != "approved" {
			t.Fatalf("the user's view: %v", r)
		}

		// Denial.
		second := s.pay()
		r = s.file(s.ada, "file-3", claimBody(second, "unauthorized"))
		mustStatus(t, r, 201)
		c2 := decodeClaim(t, r)
		if c2.Status != "in_review" || c2.DecisionCode != "approval_on_record" {
			t.Fatalf("claim with the approval on record: %v", r)
		}
		mustError(t, "deny with recover", a.post("/v1/claims/"+c2.ID+"/deny", `{"recover":true}`), 400, "invalid_recover")
		r = a.post("/v1/claims/"+c2.ID+"/deny", `{"note":"the passkey approved it"}`)
		if mustStatus(t, r, 200); decodeClaim(t, r).Status != "denied" {
			t.Fatalf("denied %v", r)
		}
		if got := a.count(`SELECT COUNT(*) FROM events WHERE object_id = '` + c2.ID + `'`); got != 3 {
			t.Fatalf("events of the denied claim: %d", got)
		}
		a.checkLedger()
	})
}

// The same Idempotency-Key files one claim and reimburses once, even when
// the evidence approves the claim at once.
func TestClaimFilingIdempotent(t *testing.T) {
	forEachSharedDB(t, func(t *testing.T, db, _ *store.DB) {
		s := newClaimShop(t, db)
		pay := s.pay()
		if _, err := db.Writer().Exec(`DELETE FROM approvals WHERE subject = $1`, pay); err != nil {
			t.Fatal(err)
		}
		walletAcc := identity.WalletID(s.ada.id, "USD")
		before := s.a.account(walletAcc).Balance
		var id string
		for i := range 3 {
			r := s.file(s.ada, "same-key", claimBody(pay, "unauthorized"))
			mustStatus(t, r, 201)
			c := decodeClaim(t, r)
			if c.Status != "approved" || c.DecisionCode != "no_valid_approval" || (i > 0 && (c.ID != id || !r.replayed())) {
				t.Fatalf("attempt %d: %v", i, r)
			}
			id = c.ID
		}
		if got := s.a.account(walletAcc).Balance; got != before+2100 {
			t.Fatalf("wallet %d, want %d: reimbursed more than once", got, before+2100)
		}
		for what, q := range map[string]string{
			"claims":          `SELECT COUNT(*) FROM claims WHERE payment_id = '` + pay + `'`,
			"reimbursements":  `SELECT COUNT(*) FROM transfers WHERE code = 'claim_reimbursement' AND result = ''`,
			"approved events": `SELECT COUNT(*) FROM events WHERE type = 'claim.approved'`,
		} {
			if n := s.a.count(q); n != 1 {
				t.Fatalf("%s: %d, want 1", what, n)
			}
		}
		s.a.checkLedger()
	})
}

// Bad input to the claim routes is a 4xx with a stable code, never a 500,
// and writes nothing.
func TestClaimBadRequests(t *testing.T) {
	forEachSharedDB(t, func(t *testing.T, db, _ *store.DB) {
		s := newClaimShop(t, db)
		pay := s.pay()
		for _, c := range []struct {
			name, body string
			status     int
			code       string
		}{
			{"not JSON", `{`, 400, "invalid_json"},
			{"unknown field", `{"payment":"` + pay + `","kind":"duplicate","amount":5}`, 400, "unknown_field"},
			{"no payment", `{"kind":"duplicate"}`, 400, "missing_payment"},
			{"bad kind", `{"payment":"` + pay + `","kind":"buyers_remorse"}`, 400, "invalid_kind"},
			{"kind of the wrong type", `{"payment":"` + pay + `","kind":7}`, 400, "invalid_type"},
			{"description too long", `{"payment":"` + pay + `","kind":"duplicate","description":"` + strings.Repeat("x", 2001) + `"}`, 400, "invalid_description"},
			{"NUL in the description", `{"payment":"` + pay + `","kind":"duplicate","description":"a\u0000b"}`, 400, "invalid_description"},
			{"NUL in the payment id", `{"payment":"pay_\u0000","kind":"duplicate"}`, 404, "payment_not_found"},
			{"unknown payment", `{"payment":"pay_nothing","kind":"duplicate"}`, 404, "payment_not_found"},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := s.file(s.ada, "bad-"+randomHex(6), c.body)
				if r.Status != c.status {
					t.Fatalf("want %d, got %v", c.status, r)
				}
				if c.code != "unknown_field" && c.code != "invalid_type" {
					mustError(t, c.name, r, c.status, c.code)
				}
			})
		}
		for _, path := range []string{"/v1/claims/clm_%00", "/v1/claims/nope", "/v1/claims/clm_" + strings.Repeat("a", 80)} {
			mustError(t, "GET "+path, s.a.get(path), 404, "claim_not_found")
		}
		for _, q := range []string{"?limit=0", "?limit=1000", "?starting_after=pay_x", "?status=in_review&payment=" + pay} {
			if r := s.a.get("/v1/claims" + q); r.Status != 400 {
				t.Fatalf("GET /v1/claims%s: %v", q, r)
			}
		}
		mustError(t, "a cursor of another list", me(s.a, s.ada, "GET", "/v1/me/claims?starting_after=clm_nothing", "", "", ""), 400, "invalid_cursor")
		if n := s.a.count(`SELECT COUNT(*) FROM claims`); n != 0 {
			t.Fatalf("bad requests wrote %d claims", n)
		}
	})
}

// Claim lists page newest first with starting_after; the operators' queue
// keeps paging while claims leave it.
func TestClaimListPages(t *testing.T) {
	forEachSharedDB(t, func(t *testing.T, db, _ *store.DB) {
		s := newClaimShop(t, db)
		var ids []string
		for i := range 3 {
			r := s.file(s.ada, "page-"+string(rune('a'+i)), claimBody(s.pay(), "not_received"))
			mustStatus(t, r, 201)
			ids = append(ids, decodeClaim(t, r).ID)
		}
		pages := func(get func(query string) response) [][]string {
			t.Helper()
			var out [][]string
			after := ""
			for range 5 {
				q := "?limit=2"
				if after != "" {
					q += "&starting_after=" + after
				}
				r := get(q)
				mustStatus(t, r, 200)
				l := decodeList(t, r)
				var page []string
				for _, c := range l.Data {
					page = append(page, c.ID)
				}
				out = append(out, page)
				if !l.HasMore {
					return out
				}
				after = page[len(page)-1]
			}
			t.Fatal("the list does not end")
			return nil
		}
		want := "[[" + ids[2] + " " + ids[1] + "] [" + ids[0] + "]]"
		if got := pages(func(q string) response { return me(s.a, s.ada, "GET", "/v1/me/claims"+q, "", "", "") }); fmtPages(got) != want {
			t.Fatalf("the user's pages %v, want %s", got, want)
		}
		if got := pages(func(q string) response { return s.a.as(s.merchant.APIKey, "GET", "/v1/claims"+q, "", "") }); fmtPages(got) != want {
			t.Fatalf("the merchant's pages %v, want %s", got, want)
		}
		// The queue: the first page's last claim is decided before the
		// next page is read.
		r := s.a.get("/v1/claims?status=in_review&limit=2")
		mustStatus(t, r, 200)
		first := decodeList(t, r)
		if len(first.Data) != 2 || !first.HasMore {
			t.Fatalf("first page of the queue: %v", r)
		}
		mustStatus(t, s.a.post("/v1/claims/"+first.Data[1].ID+"/deny", ""), 200)
		r = s.a.get("/v1/claims?status=in_review&limit=2&starting_after=" + first.Data[1].ID)
		mustStatus(t, r, 200)
		if next := decodeList(t, r); len(next.Data) != 1 || next.Data[0].ID != ids[0] || next.HasMore {
			t.Fatalf("next page of the queue: %v", r)
		}
	})
}

func fmtPages(pages [][]string) string {
	var parts []string
	for _, p := range pages {
		parts = append(parts, "["+strings.Join(p, " ")+"]")
	}
	return "[" + strings.Join(parts, " ") + "]"
}
