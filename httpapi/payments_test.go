package httpapi_test

import (
	"context"
	"testing"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/agentauth"
	"github.com/agentpay/agentpay/linking"
	"github.com/agentpay/agentpay/payments"
	"github.com/agentpay/agentpay/store"
)

// An agent waiting on GET /v1/payments/{id}?wait= on one node is woken by
// a change committed on another (PostgreSQL: LISTEN/NOTIFY; SQLite is one
// node, so there the change is made on the same node).
func TestPaymentLongPollAcrossNodes(t *testing.T) {
	forEachSharedDB(t, func(t *testing.T, db1, db2 *store.DB) {
		ctx := context.Background()
		n1 := newNode(t, db1, "", nil)
		changer := db1
		if db1.Engine.Name() == "postgres" {
			changer = db2
		}
		user := mustUser(t, db1, "", agentpay.TierContact)
		ag := linkAgent(t, n1, linking.Approval{UserID: user})
		m := agentpay.Merchant{ID: agentpay.NewID("mer"), Name: "Corner Shop", MCC: "5411", Country: "US", SettlementAsset: "USD",
			Status: agentpay.MerchantActive, CreatedAt: time.Now().UnixMicro()}
		acc := payments.MerchantAccount(m.ID, "USD")
		if err := db1.Committer.Submit(ctx, &store.Unit{Rows: []store.Row{store.MerchantRow(m, agentpay.NewWebhookSecret())},
			Accounts: []agentpay.Account{acc}}).Err; err != nil {
			t.Fatal(err)
		}
		body := `{"merchant":"` + m.ID + `","asset":"USD","items":[{"name":"Bread","quantity":1,"unit_amount":400}],` +
			`"totals":{"subtotal":400,"tax":0,"shipping":0,"fees":0,"tip":0,"total":400}}`
		r := n1.send(ag.sign(t, n1.srv.PublicBaseURL, "POST", "/v1/payments", body, agentauth.SignParams{}), "create-1")
		mustStatus(t, r, 201)
		var p struct {
			ID      string `json:"id"`
			Version int64  `json:"version"`
			Status  string `json:"status"`
		}
		r.decode(t, &p)

		// Nothing changes: the wait ends with the payment as it was.
		r = n1.send(ag.sign(t, n1.srv.PublicBaseURL, "GET", "/v1/payments/"+p.ID+"?wait=1", "", agentauth.SignParams{}), "")
		mustStatus(t, r, 200)
		r.decode(t, &p)
		if p.Version != 1 || p.Status != "requires_approval" {
			t.Fatalf("after an idle wait: %+v", p)
		}

		got := make(chan response, 1)
		go func() {
			got <- n1.send(ag.sign(t, n1.srv.PublicBaseURL, "GET", "/v1/payments/"+p.ID+"?wait=50", "", agentauth.SignParams{}), "")
		}()
		// Give the request time to start waiting; if it has not, it reads
		// the new version at once, and the assertion below holds anyway.
		time.Sleep(200 * time.Millisecond)
		svc := &payments.Service{DB: changer, Identity: n1.srv.Identity}
		g, err := changer.Grant(ctx, ag.grantID)
		if err != nil {
			t.Fatal(err)
		}
		o := agentpay.Order{Items: []agentpay.LineItem{{Name: "Bread", Quantity: 2, UnitAmount: 400}},
			Totals: agentpay.Totals{Subtotal: 800, Total: 800}}
		changed, unit, err := svc.PrepareUpdate(ctx, g, p.ID, o)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Commit(ctx, changed, unit); err != nil {
			t.Fatal(err)
		}
		r = <-got
		mustStatus(t, r, 200)
		r.decode(t, &p)
		// Without the wake-up the wait would end after 50 s at version 1.
		if p.Version != 2 {
			t.Fatalf("the waiting request answered version %d, want 2", p.Version)
		}
	})
}
