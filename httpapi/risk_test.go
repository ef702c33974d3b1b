package httpapi_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/agentauth"
	"github.com/agentpay/agentpay/linking"
	"github.com/agentpay/agentpay/payments"
	"github.com/agentpay/agentpay/store"
)

// The operator's risk API: rules are replaced (a broken file is refused
// naming its line), payments risk control holds are listed, explained and
// released or rejected; none of it is open to anyone but the operator.
func TestRiskOperatorAPI(t *testing.T) {
	forEachSharedDB(t, func(t *testing.T, db1, db2 *store.DB) {
		ctx := context.Background()
		n1 := newNode(t, db1, "", nil)
		n2 := newNode(t, db2, n1.srv.PublicBaseURL, nil) // two nodes behind one public address
		op1, op2 := &api{t: t, db: db1, url: n1.url}, &api{t: t, db: db2, url: n2.url}

		r := op1.send(request{Method: "PUT", Path: "/v1/risk/rules", Key: "rules-bad", Body: `{"rules":"# one\nbroken review \"x\" payment.amount >\n"}`})
		if msg := checkErrorShape(t, r, 400, "invalid_rules", "rules"); !strings.Contains(msg, "line 2") {
			t.Fatalf("the error does not name line 2: %s", msg)
		}
		noToken := ""
		r = op1.send(request{Method: "PUT", Path: "/v1/risk/rules", Key: "rules-anon", Body: `{"rules":""}`, Token: &noToken})
		mustStatus(t, r, 401)
		r = op1.send(request{Method: "PUT", Path: "/v1/risk/rules", Key: "rules-1",
			Body: `{"rules":"hold_big review \"Held for a check.\" payment.amount >= 1000\n"}`})
		mustStatus(t, r, 200)
		var rules struct {
			Version int64  `json:"version"`
			Rules   string `json:"rules"`
		}
		r.decode(t, &rules)
		if rules.Version != 1 {
			t.Fatalf("rules version %d, want 1", rules.Version)
		}
		// The other node puts them in force when woken (PostgreSQL: NOTIFY).
		go n2.srv.Payments.WatchRules(t.Context(), quietLog())
		waitFor(t, "the other node to load version 1", func() bool {
			_, v := n2.srv.Payments.RiskEngine().Rules()
			return v == 1
		})
		r = op2.get("/v1/risk/rules")
		mustStatus(t, r, 200)
		r.decode(t, &rules)
		if rules.Version != 1 || !strings.Contains(rules.Rules, "hold_big") {
			t.Fatalf("GET /v1/risk/rules on the other node: %+v", rules)
		}

		user := mustUser(t, db1, "", agentpay.TierContact)
		ag := linkAgent(t, n1, linking.Approval{UserID: user})
		m := agentpay.Merchant{ID: agentpay.NewID("mer"), Name: "Corner Shop", MCC: "5411", Country: "US", SettlementAsset: "USD",
			Status: agentpay.MerchantActive, CreatedAt: time.Now().UnixMicro()}
		if err := db1.Committer.Submit(ctx, &store.Unit{Rows: []store.Row{store.MerchantRow(m, agentpay.NewWebhookSecret())},
			Accounts: []agentpay.Account{payments.MerchantAccount(m.ID, "USD")}}).Err; err != nil {
			t.Fatal(err)
		}
		create := func(total int) (response, signedPayment) {
			body := `{"merchant":"` + m.ID + `","asset":"USD","items":[{"name":"Bread","quantity":1,"unit_amount":` + strconv.Itoa(total) + `}],` +
				`"totals":{"subtotal":` + strconv.Itoa(total) + `,"tax":0,"shipping":0,"fees":0,"tip":0,"total":` + strconv.Itoa(total) + `}}`
			s := ag.sign(t, n1.srv.PublicBaseURL, "POST", "/v1/payments", body, agentauth.SignParams{})
			r := n1.send(s, "create-"+strconv.Itoa(total))
			var p signedPayment
			if r.Status == 201 {
				r.decode(t, &p)
			}
			p.request = s
			return r, p
		}
		r, held := create(1500)
		mustStatus(t, r, 201)
		if held.Status != "in_review" || held.ApprovalURL != "" {
			t.Fatalf("a held payment: %+v", held)
		}
		_, open := create(400)
		if open.Status != "requires_approval" {
			t.Fatalf("a small payment: %+v", open)
		}

		// A replayed agent request is refused on every node; one payment.
		r = n2.send(held.request, "create-replayed")
		checkErrorShape(t, r, 401, "nonce_replayed", "")
		if n := op1.count(`SELECT COUNT(*) FROM payments WHERE total = 1500`); n != 1 {
			t.Fatalf("%d payments after a replay, want 1", n)
		}

		r = op2.get("/v1/reviews")
		mustStatus(t, r, 200)
		var list struct {
			Data []struct {
				ID     string `json:"id"`
				Status string `json:"status"`
				Payer  string `json:"payer"`
			} `json:"data"`
		}
		r.decode(t, &list)
		if len(list.Data) != 1 || list.Data[0].ID != held.ID || list.Data[0].Payer != user {
			t.Fatalf("review queue: %+v", list)
		}
		r = op2.get("/v1/payments/" + held.ID + "/risk")
		mustStatus(t, r, 200)
		var decisions struct {
			Data []struct {
				Stage   string `json:"stage"`
				Outcome string `json:"outcome"`
				Reasons []struct {
					Code    string `json:"code"`
					Message string `json:"message"`
				} `json:"reasons"`
				Signals      map[string]json.RawMessage `json:"signals"`
				RulesVersion int64                      `json:"rules_version"`
			} `json:"data"`
		}
		r.decode(t, &decisions)
		if len(decisions.Data) != 1 {
			t.Fatalf("decisions: %s", r)
		}
		d := decisions.Data[0]
		if d.Stage != "create" || d.Outcome != "review" || len(d.Reasons) != 1 || d.Reasons[0].Code != "hold_big" ||
			d.RulesVersion != 1 || d.Signals["velocity"] == nil || d.Signals["agent_key"] == nil {
			t.Fatalf("decision: %+v", d)
		}
		// Only the operator reads or decides.
		mustStatus(t, op1.send(request{Method: "GET", Path: "/v1/payments/" + held.ID + "/risk", Token: &noToken}), 401)
		r = n1.send(ag.sign(t, n1.srv.PublicBaseURL, "GET", "/v1/payments/"+held.ID+"/risk", "", agentauth.SignParams{}), "")
		mustStatus(t, r, 401)
		mustStatus(t, op1.send(request{Method: "POST", Path: "/v1/payments/" + held.ID + "/release", Key: "rel-anon", Token: &noToken}), 401)

		r = op1.send(request{Method: "POST", Path: "/v1/payments/" + open.ID + "/release", Key: "rel-open"})
		checkErrorShape(t, r, 409, "payment_requires_approval", "")
		r = op1.send(request{Method: "POST", Path: "/v1/payments/" + held.ID + "/release", Key: "rel-1", Body: `{"note":"called the user"}`})
		mustStatus(t, r, 200)
		var released signedPayment
		r.decode(t, &released)
		if released.Status != "requires_approval" {
			t.Fatalf("released: %+v", released)
		}
		again := op1.send(request{Method: "POST", Path: "/v1/payments/" + held.ID + "/release", Key: "rel-1", Body: `{"note":"called the user"}`})
		if again.Status != 200 || !again.replayed() {
			t.Fatalf("a retried release: %s", again)
		}
		// The agent sees it back with the user, and where to approve.
		r = n1.send(ag.sign(t, n1.srv.PublicBaseURL, "GET", "/v1/payments/"+held.ID, "", agentauth.SignParams{}), "")
		mustStatus(t, r, 200)
		var seen signedPayment
		r.decode(t, &seen)
		if seen.Status != "requires_approval" || seen.ApprovalURL == "" {
			t.Fatalf("the agent's view after release: %+v", seen)
		}
		r = op1.send(request{Method: "POST", Path: "/v1/payments/" + held.ID + "/reject", Key: "rej-1"})
		checkErrorShape(t, r, 409, "payment_requires_approval", "")
	})
}

// signedPayment is what an agent reads of a payment, and the request that
// created it.
type signedPayment struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	ApprovalURL string `json:"approval_url"`
	request     signed
}
