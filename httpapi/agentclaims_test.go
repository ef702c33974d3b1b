package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/agentauth"
	"github.com/agentpay/agentpay/linking"
	"github.com/agentpay/agentpay/store"
)

// agentFile has ag file a claim with Idempotency-Key key.
func (s *claimShop) agentFile(ag linkedAgent, key, body string) response {
	s.t.Helper()
	return s.n.send(ag.sign(s.t, s.n.srv.PublicBaseURL, "POST", "/v1/claims", body, agentauth.SignParams{}), key)
}

// An agent files a claim on one of its grant's payments for its user: it is
// adjudicated like the user's own, the user sees it, and nobody else can
// file on that payment.
func TestAgentFilesClaim(t *testing.T) {
	forEachSharedDB(t, func(t *testing.T, db, _ *store.DB) {
		s := newClaimShop(t, db)
		pay := s.pay()

		r := s.agentFile(s.agent, "agent-1", claimBody(pay, "not_received"))
		mustStatus(t, r, http.StatusCreated)
		c := decodeClaim(t, r)
		if c.Object != "claim" || c.Status != "in_review" || c.DecisionCode != "merchant_dispute" || c.Amount != 2100 ||
			c.Grant != s.agent.grantID || c.User != "" || c.Payment != pay || c.Evidence != nil {
			t.Fatalf("filed by the agent: %v", r)
		}
		again := s.agentFile(s.agent, "agent-1", claimBody(pay, "not_received"))
		if again.Status != http.StatusCreated || !again.replayed() || decodeClaim(t, again).ID != c.ID {
			t.Fatalf("retry with the same key: %v", again)
		}
		mustError(t, "the same key, another body", s.agentFile(s.agent, "agent-1", claimBody(pay, "duplicate")), 422, "idempotency_conflict")
		mustError(t, "a second claim", s.agentFile(s.agent, "agent-2", claimBody(pay, "unauthorized")), 409, "claim_exists")

		// Filed for the grant's user, who sees it as their own.
		r = me(s.a, s.ada, "GET", "/v1/me/claims/"+c.ID, "", "", "")
		mustStatus(t, r, http.StatusOK)
		if mine := decodeClaim(t, r); mine.User != s.ada.id || mine.Grant != s.agent.grantID {
			t.Fatalf("the user's view: %v", r)
		}

		tips := linkAgent(t, s.n, linking.Approval{UserID: s.ada.id, Scopes: []agentpay.Scope{agentpay.ScopeTips}})
		other := linkAgent(t, s.n, linking.Approval{})
		sibling := linkAgent(t, s.n, linking.Approval{UserID: s.ada.id})
		fresh := s.pay() // captured, no claim yet
		tests := []struct {
			name   string
			r      response
			status int
			code   string
		}{
			{"another user's agent", s.agentFile(other, "o-1", claimBody(fresh, "not_received")), 404, "payment_not_found"},
			{"another agent of the same user", s.agentFile(sibling, "s-1", claimBody(fresh, "not_received")), 404, "payment_not_found"},
			{"a grant without payments:create", s.agentFile(tips, "t-1", claimBody(fresh, "not_received")), 403, "insufficient_scope"},
			{"no Idempotency-Key", s.agentFile(s.agent, "", claimBody(fresh, "not_received")), 400, "idempotency_key_required"},
			{"no payment", s.agentFile(s.agent, "n-1", `{"kind":"not_received"}`), 400, "missing_payment"},
			{"an unknown payment", s.agentFile(s.agent, "u-1", claimBody("pay_unknown", "not_received")), 404, "payment_not_found"},
			{"a bad kind", s.agentFile(s.agent, "k-1", claimBody(fresh, "regret")), 400, "invalid_kind"},
			{"a merchant's key", s.a.as(s.merchant.APIKey, "POST", "/v1/claims", "m-1", claimBody(fresh, "not_received")), 401, "signature_missing"},
			{"no signature", s.a.send(request{Method: "POST", Path: "/v1/claims", Key: "x-1", Body: claimBody(fresh, "not_received"),
				Token: new(string)}), 401, "signature_missing"},
		}
		for _, tt := range tests {
			mustError(t, tt.name, tt.r, tt.status, tt.code)
		}
		if n := len(decodeList(t, s.agentGet(s.agent, "/v1/payments/"+fresh+"/claims")).Data); n != 0 {
			t.Fatalf("refused filings left %d claims", n)
		}
	})
}

type periodOut struct {
	Today     int64 `json:"today"`
	ThisMonth int64 `json:"this_month"`
}

type agentGrantOut struct {
	ID     string `json:"id"`
	Limits struct {
		Asset    string `json:"asset"`
		PerDay   int64  `json:"per_day"`
		PerMonth int64  `json:"per_month"`
	} `json:"limits"`
	Spent        periodOut                   `json:"spent"`
	Remaining    periodOut                   `json:"remaining"`
	BudgetPeriod struct{ Day, Month string } `json:"budget_period"`
}

// The grant tells its agent what its payments spent today and this month
// and what a payment may still take.
func TestAgentGrantSpending(t *testing.T) {
	forEachSharedDB(t, func(t *testing.T, db, _ *store.DB) {
		s := newClaimShop(t, db)
		sibling := linkAgent(t, s.n, linking.Approval{UserID: s.ada.id})
		read := func(ag linkedAgent) agentGrantOut {
			t.Helper()
			r := s.agentGet(ag, "/v1/agent/grant")
			mustStatus(t, r, http.StatusOK)
			var g agentGrantOut
			r.decode(t, &g)
			return g
		}
		now := time.Now().UTC()
		before := read(s.agent)
		if before.ID != s.agent.grantID || before.Spent.Today != 0 || before.Remaining.Today != 10000 ||
			before.Remaining.ThisMonth != 50000 || before.BudgetPeriod.Day != now.Format("2006-01-02") ||
			before.BudgetPeriod.Month != now.Format("2006-01") {
			t.Fatalf("before paying: %+v", before)
		}
		s.pay() // 21.00, approved
		tests := []struct {
			name                                 string
			ag                                   linkedAgent
			spentDay, spentMonth, leftDay, leftM int64
		}{
			// The grant's limits (100.00 a day, 500.00 a month) bind before
			// the user's tier 1 (500.00, 2,000.00).
			{"the agent that paid", s.agent, 2100, 2100, 7900, 47900},
			{"another agent of the user", sibling, 0, 0, 10000, 50000},
		}
		for _, tt := range tests {
			g := read(tt.ag)
			if g.Spent.Today != tt.spentDay || g.Spent.ThisMonth != tt.spentMonth || g.Remaining.Today != tt.leftDay ||
				g.Remaining.ThisMonth != tt.leftM || g.Limits.Asset != "USD" {
				t.Errorf("%s: %+v", tt.name, g)
			}
		}
	})
}
