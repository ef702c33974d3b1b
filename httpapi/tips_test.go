package httpapi_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/agentauth"
	"github.com/agentpay/agentpay/linking"
	"github.com/agentpay/agentpay/store"
)

type tipOut struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	Merchant    string `json:"merchant"`
	Grant       string `json:"grant"`
	Captured    int64  `json:"amount_captured"`
	ApprovalURL string `json:"approval_url"`
	Description string `json:"description"`
	Tip         *struct {
		AutoApproved bool   `json:"auto_approved"`
		Mandate      string `json:"mandate"`
	} `json:"tip"`
}

type tipListOut struct {
	Object string `json:"object"`
	Data   []struct {
		Object       string `json:"object"`
		Payment      string `json:"payment"`
		Status       string `json:"status"`
		MerchantName string `json:"merchant_name"`
		Grant        string `json:"grant"`
		Payer        string `json:"payer"`
		Amount       int64  `json:"amount"`
		Note         string `json:"note"`
		AutoApproved bool   `json:"auto_approved"`
	} `json:"data"`
	HasMore bool `json:"has_more"`
}

// tipsMandate has the user approve, with their passkey, a tips mandate of
// ag's grant for the shop's merchant: at most perTip a tip, budget a day.
func (s *claimShop) tipsMandate(ag linkedAgent, perTip, budget int64) string {
	t := s.t
	t.Helper()
	svc := s.n.srv.Payments
	m, u, err := svc.PrepareProposeMandate(s.ctx, agentpay.Mandate{Kind: agentpay.MandateTips, UserID: s.ada.id, GrantID: ag.grantID,
		MerchantID: s.merchant.Merchant.ID, Asset: "USD", PerPaymentMax: perTip, Budget: budget,
		Period: agentpay.Interval{Unit: agentpay.IntervalDay, Count: 1}, TimeZone: "UTC", Description: "Tips for the corner shop"})
	if err == nil {
		err = s.n.db.Committer.Submit(s.ctx, u).Err
	}
	if err != nil {
		t.Fatal(err)
	}
	obj, err := svc.MandateApproval(s.ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	cid, assertion, err := s.pk.BeginApproval(s.ctx, s.ada.id, m.ID, obj)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := s.pk.FinishApproval(s.ctx, s.ada.id, cid, s.key.Get(t, assertion))
	if err != nil {
		t.Fatal(err)
	}
	m, u, err = svc.PrepareApproveMandate(s.ctx, s.ada.id, m.ID, ev)
	if err == nil {
		err = s.n.db.Committer.Submit(s.ctx, u).Err
	}
	if err != nil {
		t.Fatal(err)
	}
	return m.ID
}

// linkReadOnly links a new agent of userID that asked only for
// payments:read.
func linkReadOnly(t *testing.T, n *node, userID string) linkedAgent {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub := priv.Public().(ed25519.PublicKey)
	a := &api{t: t, db: n.db, url: n.url}
	body := strings.Replace(linkBody(string(agentauth.JWK(pub))), `"payments:create","tips"`, `"payments:read"`, 1)
	r := a.send(request{Method: "POST", Path: "/v1/agent-links", Key: "k-" + randomHex(8), Body: body, Token: new(string)})
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

func (s *claimShop) tipBody(amount int64, note string) string {
	return `{"merchant":"` + s.merchant.Merchant.ID + `","amount":` + strconv.FormatInt(amount, 10) + `,"asset":"USD","note":` +
		strconv.Quote(note) + `}`
}

func (s *claimShop) sendTip(ag linkedAgent, key, body string) response {
	s.t.Helper()
	return s.n.send(ag.sign(s.t, s.n.srv.PublicBaseURL, "POST", "/v1/tips", body, agentauth.SignParams{}), key)
}

// An agent tips: within the grant's auto-approve amount and the user's tips
// mandate the tip is captured at once, otherwise the user is asked; agent,
// merchant and user each list the tips that are theirs; the user can
// dispute a tip like any payment.
func TestTipsAPI(t *testing.T) {
	forEachSharedDB(t, func(t *testing.T, db, _ *store.DB) {
		s := newClaimShop(t, db)
		ag := linkAgent(t, s.n, linking.Approval{UserID: s.ada.id, TipAutoApproveMax: 2_00})
		mandate := s.tipsMandate(ag, 3_00, 10_00)

		r := s.sendTip(ag, "tip-1", s.tipBody(1_50, "great article"))
		mustStatus(t, r, http.StatusCreated)
		var tip tipOut
		r.decode(t, &tip)
		if tip.Status != "captured" || tip.Captured != 1_50 || tip.Grant != ag.grantID || tip.Tip == nil ||
			!tip.Tip.AutoApproved || tip.Tip.Mandate != mandate || tip.Description != "great article" {
			t.Fatalf("auto-approved tip: %v", r)
		}
		again := s.sendTip(ag, "tip-1", s.tipBody(1_50, "great article"))
		var replay tipOut
		again.decode(t, &replay)
		if again.Status != http.StatusCreated || !again.replayed() || replay.ID != tip.ID {
			t.Fatalf("retry: %v", again)
		}
		mustError(t, "the same key, another tip", s.sendTip(ag, "tip-1", s.tipBody(1_00, "great article")), 422, "idempotency_conflict")

		// The same signed request replayed under another key charges nothing.
		req := ag.sign(t, s.n.srv.PublicBaseURL, "POST", "/v1/tips", s.tipBody(1_00, "thanks"), agentauth.SignParams{})
		mustStatus(t, s.n.send(req, "tip-2"), http.StatusCreated)
		mustRefuse(t, s.n.send(req, "tip-2-replayed"), http.StatusUnauthorized, "nonce_replayed")

		r = s.sendTip(ag, "tip-3", s.tipBody(2_50, "above the auto-approve amount"))
		mustStatus(t, r, http.StatusCreated)
		var asked tipOut
		r.decode(t, &asked)
		if asked.Status != "requires_approval" || asked.ApprovalURL == "" || asked.Tip == nil || asked.Tip.AutoApproved || asked.Tip.Mandate != "" {
			t.Fatalf("a tip needing approval: %v", r)
		}

		// The tips scope alone is enough to tip (payments:create is too).
		tipsOnly := linkAgent(t, s.n, linking.Approval{UserID: s.ada.id, Scopes: []agentpay.Scope{agentpay.ScopeTips}})
		mustStatus(t, s.sendTip(tipsOnly, "t-1", s.tipBody(1_00, "")), http.StatusCreated)
		readOnly := linkReadOnly(t, s.n, s.ada.id)
		mustRefuse(t, s.sendTip(readOnly, "r-1", s.tipBody(1_00, "")), http.StatusForbidden, "insufficient_scope")

		for _, tt := range []struct {
			name, body string
			status     int
			code       string
		}{
			{"zero", s.tipBody(0, "hi"), 400, "invalid_amount"},
			{"negative", s.tipBody(-5, "hi"), 400, "invalid_amount"},
			{"unknown merchant", `{"merchant":"mer_nobody","amount":100,"asset":"USD"}`, 400, "merchant_not_found"},
			{"no merchant", `{"amount":100,"asset":"USD"}`, 400, "missing_merchant"},
			{"note too long", s.tipBody(1_00, strings.Repeat("n", 281)), 400, "invalid_note"},
			{"unknown field", `{"merchant":"` + s.merchant.Merchant.ID + `","amount":100,"tip":5}`, 400, ""},
		} {
			r := s.sendTip(ag, "bad-"+tt.name, tt.body)
			if tt.code == "" {
				mustStatus(t, r, tt.status)
				continue
			}
			mustError(t, tt.name, r, tt.status, tt.code)
		}
		mustError(t, "no Idempotency-Key", s.sendTip(ag, "", s.tipBody(1_00, "hi")), 400, "idempotency_key_required")

		// Lists: the agent its grant's, the merchant all it received (with
		// the payer's pseudonym), the user theirs.
		var mine tipListOut
		r = s.n.send(ag.sign(t, s.n.srv.PublicBaseURL, "GET", "/v1/tips", "", agentauth.SignParams{}), "")
		mustStatus(t, r, 200)
		r.decode(t, &mine)
		if len(mine.Data) != 3 || mine.Data[2].Payment != tip.ID || mine.Data[2].Note != "great article" ||
			mine.Data[2].MerchantName != "Corner Shop" || !mine.Data[2].AutoApproved || mine.Data[0].Status != "requires_approval" {
			t.Fatalf("the agent's tips: %v", r)
		}
		var theirs tipListOut
		r = s.n.send(tipsOnly.sign(t, s.n.srv.PublicBaseURL, "GET", "/v1/tips?limit=5", "", agentauth.SignParams{}), "")
		r.decode(t, &theirs)
		if len(theirs.Data) != 1 || theirs.Data[0].Grant != tipsOnly.grantID {
			t.Fatalf("another agent sees: %v", r)
		}
		var received tipListOut
		r = s.a.as(s.merchant.APIKey, "GET", "/v1/tips?limit=2", "", "")
		mustStatus(t, r, 200)
		r.decode(t, &received)
		if len(received.Data) != 2 || !received.HasMore || received.Data[0].Payer == "" || received.Data[0].Grant != "" ||
			strings.HasPrefix(received.Data[0].Payer, "usr_") {
			t.Fatalf("the merchant's tips: %v", r)
		}
		var users tipListOut
		r = me(s.a, s.ada, "GET", "/v1/me/tips", "", "", "")
		mustStatus(t, r, 200)
		r.decode(t, &users)
		if len(users.Data) != 4 {
			t.Fatalf("the user's tips: %v", r)
		}
		mustStatus(t, me(s.a, pageUser{}, "GET", "/v1/me/tips", "", "", ""), http.StatusUnauthorized)

		// A tip is a payment: the user reports a problem with it.
		r = s.file(s.ada, "claim-tip", claimBody(tip.ID, "unauthorized"))
		mustStatus(t, r, http.StatusCreated)
		if c := decodeClaim(t, r); c.Payment != tip.ID || c.Amount != 1_50 {
			t.Fatalf("claim on a tip: %v", r)
		}
	})
}
