package httpapi_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/agentauth"
	"github.com/agentpay/agentpay/linking"
	"github.com/agentpay/agentpay/payments"
	"github.com/agentpay/agentpay/store"
)

// linkSubscriber links a new agent key of userID with scope
// subscriptions.
func linkSubscriber(t *testing.T, n *node, userID string) linkedAgent {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub := priv.Public().(ed25519.PublicKey)
	a := &api{t: t, db: n.db, url: n.url}
	r := a.send(request{Method: "POST", Path: "/v1/agent-links", Key: "k-" + randomHex(8), Token: new(string),
		Body: `{"public_key":` + string(agentauth.JWK(pub)) + `,"agent_name":"Subscriber","software_id":"com.example.subs",
		"scopes":["subscriptions"],"limits":{"asset":"USD","per_payment":5000,"per_day":10000,"per_month":50000}}`})
	mustStatus(t, r, 201)
	var l linkOut
	l.from(t, r)
	if _, err := (&linking.Service{DB: n.db}).Approve(context.Background(), l.UserCode, linking.Approval{UserID: userID}); err != nil {
		t.Fatal(err)
	}
	r = poll(t, a, l.DeviceCode)
	mustStatus(t, r, 200)
	var g struct {
		ID string `json:"id"`
	}
	r.decode(t, &g)
	return linkedAgent{key: priv, keyID: agentauth.Thumbprint(pub), grantID: g.ID, userID: userID}
}

type subscriptionOut struct {
	ID            string `json:"id"`
	Status        string `json:"status"`
	Amount        int64  `json:"amount"`
	Mandate       string `json:"mandate"`
	ApprovalURL   string `json:"approval_url"`
	CanceledBy    string `json:"canceled_by"`
	PendingChange *struct {
		Amount int64 `json:"amount"`
	} `json:"pending_change"`
}

// An agent proposes a subscription under its grant (scope subscriptions);
// the user and the agent read it, and the user cancels it from the API;
// nobody else sees it.
func TestSubscriptionsAPI(t *testing.T) {
	forEachSharedDB(t, func(t *testing.T, db, _ *store.DB) {
		n := newNode(t, db, "http://localhost:8080", nil) // sessions need a host name, not an IP address
		u := logIn(t, db, agentpay.TierContact)
		ag := linkSubscriber(t, n, u.id)
		m := agentpay.Merchant{ID: agentpay.NewID("mer"), Name: "Tea Club", MCC: "5499", Country: "US", SettlementAsset: "USD",
			Status: agentpay.MerchantActive, CreatedAt: time.Now().UnixMicro()}
		if err := db.Committer.Submit(context.Background(), &store.Unit{Rows: []store.Row{store.MerchantRow(m, agentpay.NewWebhookSecret())},
			Accounts: []agentpay.Account{payments.MerchantAccount(m.ID, "USD")}}).Err; err != nil {
			t.Fatal(err)
		}
		a := &api{t: t, db: db, url: n.url}
		send := func(ag linkedAgent, method, path, body, key string) response {
			return n.send(ag.sign(t, n.srv.PublicBaseURL, method, path, body, agentauth.SignParams{}), key)
		}
		body := `{"merchant":"` + m.ID + `","plan":"Tea box","asset":"USD","amount":1000,` +
			`"interval":{"unit":"month","count":1},"time_zone":"Europe/London","trial_days":7}`

		other := linkAgent(t, n, linking.Approval{UserID: u.id}) // payments:create only
		mustRefuse(t, send(other, "POST", "/v1/subscriptions", body, "s-0"), 403, "insufficient_scope")
		mustError(t, "no idempotency key", send(ag, "POST", "/v1/subscriptions", body, ""), 400, "idempotency_key_required")
		r := send(ag, "POST", "/v1/subscriptions", strings.Replace(body, `"month"`, `"fortnight"`, 1), "s-bad")
		mustError(t, "bad interval", r, 400, "invalid_interval")

		r = send(ag, "POST", "/v1/subscriptions", body, "s-1")
		mustStatus(t, r, 201)
		var sub subscriptionOut
		r.decode(t, &sub)
		if sub.Status != "incomplete" || !strings.HasSuffix(sub.ApprovalURL, "/mandates/"+sub.Mandate) {
			t.Fatalf("created: %+v", sub)
		}
		mandate, err := db.Mandate(context.Background(), sub.Mandate)
		if err != nil || mandate.Kind != agentpay.MandateSubscription || mandate.PerPaymentMax != 1000 || mandate.MerchantID != m.ID {
			t.Fatalf("mandate: %+v %v", mandate, err)
		}

		r = send(ag, "GET", "/v1/subscriptions/"+sub.ID, "", "")
		mustStatus(t, r, 200)
		third := linkSubscriber(t, n, u.id)
		mustError(t, "another grant", send(third, "GET", "/v1/subscriptions/"+sub.ID, "", ""), 404, "subscription_not_found")
		r = me(a, u, "GET", "/v1/me/subscriptions", "", "", "")
		mustStatus(t, r, 200)
		var list struct {
			Data []subscriptionOut `json:"data"`
		}
		r.decode(t, &list)
		if len(list.Data) != 1 || list.Data[0].ID != sub.ID {
			t.Fatalf("list: %+v", list)
		}
		eve := logIn(t, db, agentpay.TierContact)
		mustError(t, "another user", me(a, eve, "GET", "/v1/me/subscriptions/"+sub.ID, "", "", ""), 404, "subscription_not_found")
		mustError(t, "another user cancels", me(a, eve, "POST", "/v1/me/subscriptions/"+sub.ID+"/cancel", eve.csrf, "c-0", ""),
			404, "subscription_not_found")
		mustError(t, "pause incomplete", me(a, u, "POST", "/v1/me/subscriptions/"+sub.ID+"/pause", u.csrf, "p-1", ""),
			409, "subscription_incomplete")
		mustError(t, "without csrf", me(a, u, "POST", "/v1/me/subscriptions/"+sub.ID+"/cancel", "", "c-1", ""), 403, "csrf_failed")

		r = me(a, u, "POST", "/v1/me/subscriptions/"+sub.ID+"/cancel", u.csrf, "c-1", "")
		mustStatus(t, r, 200)
		r.decode(t, &sub)
		if sub.Status != "canceled" || sub.CanceledBy != "user" {
			t.Fatalf("canceled: %+v", sub)
		}
		if r := me(a, u, "POST", "/v1/me/subscriptions/"+sub.ID+"/cancel", u.csrf, "c-1", ""); !r.replayed() || r.Status != 200 {
			t.Fatalf("replay: %v", r)
		}
		if mandate, _ := db.Mandate(context.Background(), sub.Mandate); mandate.Status != agentpay.MandateRevoked {
			t.Fatalf("mandate %s", mandate.Status)
		}
		mustError(t, "agent cancels again", send(ag, "POST", "/v1/subscriptions/"+sub.ID+"/cancel", "", "c-2"), 409, "subscription_canceled")
		mustError(t, "change canceled", send(ag, "POST", "/v1/subscriptions/"+sub.ID+"/change", `{"amount":2000}`, "ch-1"),
			409, "subscription_canceled")
	})
}
