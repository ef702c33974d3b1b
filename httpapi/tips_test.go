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
	"github.com/agentpay/agentpay/identity"
	"github.com/agentpay/agentpay/linking"
	"github.com/agentpay/agentpay/payments"
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

// approve has the user approve the payment id, as stored now, with their
// passkey; it returns the payment as approved.
func (s *claimShop) approve(id string) agentpay.Payment {
	t := s.t
	t.Helper()
	stored, err := s.n.db.Payment(s.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := s.n.srv.Payments.Approval(s.ctx, stored, nil)
	if err != nil {
		t.Fatal(err)
	}
	cid, assertion, err := s.pk.BeginApproval(s.ctx, s.ada.id, id, obj)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := s.pk.FinishApproval(s.ctx, s.ada.id, cid, s.key.Get(t, assertion))
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.n.srv.Payments.Approve(s.ctx, s.ada.id, id, ev)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A tip above the grant's auto-approve amount asks the user; their passkey
// approval gives it: captured for the merchant at once (less the
// protection fee), listed as captured, nothing left for the merchant to
// capture; and the user can report a problem with it like any payment.
func TestTipApprovedIsCaptured(t *testing.T) {
	forEachSharedDB(t, func(t *testing.T, db, _ *store.DB) {
		s := newClaimShop(t, db)
		ag := linkAgent(t, s.n, linking.Approval{UserID: s.ada.id, TipAutoApproveMax: 2_00})
		s.tipsMandate(ag, 3_00, 10_00)
		merchantAcc, wallet := s.merchant.AccountID, identity.WalletID(s.ada.id, "USD")
		merchantBefore, walletBefore := s.a.account(merchantAcc).Balance, s.a.account(wallet).Balance

		r := s.sendTip(ag, "big-tip", s.tipBody(4_00, "thank you for the library"))
		mustStatus(t, r, http.StatusCreated)
		var tip tipOut
		r.decode(t, &tip)
		if tip.Status != "requires_approval" || tip.ApprovalURL == "" || tip.Tip == nil || tip.Tip.AutoApproved {
			t.Fatalf("a tip above the auto-approve amount: %v", r)
		}
		if bal := s.a.account(wallet).Balance; bal != walletBefore {
			t.Fatalf("money moved before the approval: wallet %d, was %d", bal, walletBefore)
		}

		p := s.approve(tip.ID)
		if p.Status != agentpay.PaymentCaptured || p.Captured != 4_00 {
			t.Fatalf("approved: %s captured %d", p.Status, p.Captured)
		}
		fee := payments.ProtectionFee(4_00, 0, 0)
		if bal := s.a.account(merchantAcc).Balance; bal != merchantBefore+4_00-fee {
			t.Fatalf("merchant balance %d, want %d", bal, merchantBefore+4_00-fee)
		}
		if acc := s.a.account(wallet); acc.Balance != walletBefore-4_00 || acc.DebitsPending != 0 {
			t.Fatalf("wallet %+v, want %d and nothing held", acc, walletBefore-4_00)
		}
		s.a.checkLedger()
		mustRefuse(t, s.a.as(s.merchant.APIKey, "POST", "/v1/payments/"+tip.ID+"/capture", "cap-tip", ""), http.StatusConflict, "payment_captured")

		// Everyone lists it as captured.
		var mine, received, users tipListOut
		r = s.n.send(ag.sign(t, s.n.srv.PublicBaseURL, "GET", "/v1/tips", "", agentauth.SignParams{}), "")
		r.decode(t, &mine)
		r = s.a.as(s.merchant.APIKey, "GET", "/v1/tips", "", "")
		r.decode(t, &received)
		r = me(s.a, s.ada, "GET", "/v1/me/tips", "", "", "")
		r.decode(t, &users)
		for who, l := range map[string]tipListOut{"agent": mine, "merchant": received, "user": users} {
			if len(l.Data) != 1 || l.Data[0].Payment != tip.ID || l.Data[0].Status != "captured" || l.Data[0].AutoApproved {
				t.Fatalf("the %s's tips: %+v", who, l)
			}
		}
		// The agent's view of the payment says so too.
		var seen tipOut
		r = s.n.send(ag.sign(t, s.n.srv.PublicBaseURL, "GET", "/v1/payments/"+tip.ID, "", agentauth.SignParams{}), "")
		mustStatus(t, r, http.StatusOK)
		r.decode(t, &seen)
		if seen.Status != "captured" || seen.Captured != 4_00 {
			t.Fatalf("the agent reads: %v", r)
		}

		// Disputed like any payment: the approval on record sends it to a
		// person.
		r = s.file(s.ada, "claim-approved-tip", claimBody(tip.ID, "unauthorized"))
		mustStatus(t, r, http.StatusCreated)
		if c := decodeClaim(t, r); c.Payment != tip.ID || c.Amount != 4_00 || c.Status != "in_review" {
			t.Fatalf("claim on an approved tip: %v", r)
		}
	})
}

// A tip the grant or the user's tier cannot cover is refused with a clear
// 4xx and nothing moved or written, on either path (auto-approved under the
// tips mandate, or an approval request); one over what the grant may still
// spend today is declined (as any payment is), nothing moved.
func TestTipOverLimits(t *testing.T) {
	forEachSharedDB(t, func(t *testing.T, db, _ *store.DB) {
		s := newClaimShop(t, db)
		// Grant: 50.00 a payment, 100.00 a day (linkBody); tips up to 2.00
		// without a tap under a mandate of at most 3.00 a tip.
		ag := linkAgent(t, s.n, linking.Approval{UserID: s.ada.id, TipAutoApproveMax: 2_00})
		s.tipsMandate(ag, 3_00, 10_00)
		groceries := linkAgent(t, s.n, linking.Approval{UserID: s.ada.id, Categories: []string{"5499"}})
		mustStatus(t, s.a.as(s.merchant.APIKey, "POST", "/v1/merchant/accounts", "eur", `{"asset":"EUR"}`), http.StatusCreated)
		gone := s.a.onboard(`{"name":"Gone Writer","kind":"creator","mcc":"5815","country":"US","settlement_asset":"USD"}`)
		mustStatus(t, s.a.post("/v1/merchants/"+gone.Merchant.ID+"/suspend", "{}"), http.StatusOK)
		wallet := identity.WalletID(s.ada.id, "USD")
		walletBefore := s.a.account(wallet).Balance
		tipsBefore, paymentsBefore := s.a.count(`SELECT COUNT(*) FROM tips`), s.a.count(`SELECT COUNT(*) FROM payments`)

		tipTo := func(merchant string, amount int64, asset string) string {
			return `{"merchant":"` + merchant + `","amount":` + strconv.FormatInt(amount, 10) + `,"asset":"` + asset + `","note":"thanks"}`
		}
		shop := s.merchant.Merchant.ID
		for _, tt := range []struct {
			name   string
			agent  linkedAgent
			body   string
			status int
			code   string
			tier   int64 // if not 0, the tier's limit per payment in USD
		}{
			{"above the grant's per-payment limit", ag, tipTo(shop, 50_01, "USD"), 403, "exceeds_grant_limit", 0},
			{"far above the grant", ag, tipTo(shop, 1<<62, "USD"), 403, "exceeds_grant_limit", 0},
			{"above the tier, asking the user", ag, tipTo(shop, 45_00, "USD"), 403, "exceeds_tier_limit", 40_00},
			{"above the tier, within the tips mandate", ag, tipTo(shop, 1_50, "USD"), 403, "exceeds_tier_limit", 1_00},
			{"an asset outside the grant", ag, tipTo(shop, 1_00, "EUR"), 400, "asset_not_in_grant", 0},
			{"a merchant outside the grant's categories", groceries, tipTo(shop, 1_00, "USD"), 403, "merchant_category_not_allowed", 0},
			{"a suspended creator", ag, tipTo(gone.Merchant.ID, 1_00, "USD"), 403, "merchant_suspended", 0},
			{"an asset the merchant does not take", ag, tipTo(shop, 1_00, "GBP"), 400, "asset_not_supported", 0},
		} {
			t.Run(tt.name, func(t *testing.T) {
				s.n.srv.Identity.Limits = nil
				if tt.tier != 0 {
					s.n.srv.Identity.Limits = agentpay.Limits{agentpay.TierContact: {"USD": {PerPayment: tt.tier, PerDay: 500_00, PerMonth: 2_000_00}}}
				}
				defer func() { s.n.srv.Identity.Limits = nil }()
				mustError(t, tt.name, s.sendTip(tt.agent, "over-"+randomHex(4), tt.body), tt.status, tt.code)
				if bal := s.a.account(wallet).Balance; bal != walletBefore {
					t.Fatalf("wallet %d, was %d", bal, walletBefore)
				}
				if n, m := s.a.count(`SELECT COUNT(*) FROM tips`), s.a.count(`SELECT COUNT(*) FROM payments`); n != tipsBefore || m != paymentsBefore {
					t.Fatalf("%d tips and %d payments written", n-tipsBefore, m-paymentsBefore)
				}
			})
		}

		// Over what the grant may still pay today: two approved tips of
		// 50.00 spend the day's 100.00; the next tip is declined, not
		// asked for, and moves nothing.
		for i := range 2 {
			r := s.sendTip(ag, "half-"+strconv.Itoa(i), tipTo(shop, 50_00, "USD"))
			mustStatus(t, r, http.StatusCreated)
			var tip tipOut
			r.decode(t, &tip)
			if p := s.approve(tip.ID); p.Status != agentpay.PaymentCaptured {
				t.Fatalf("tip %d: %s", i, p.Status)
			}
		}
		walletBefore = s.a.account(wallet).Balance
		r := s.sendTip(ag, "over-the-day", tipTo(shop, 1_00, "USD"))
		mustStatus(t, r, http.StatusCreated)
		var out struct {
			tipOut
			DeclineCode string `json:"decline_code"`
		}
		r.decode(t, &out)
		if out.Status != "declined" || out.DeclineCode != "grant_daily_limit" || out.ApprovalURL != "" || out.Tip == nil || out.Tip.AutoApproved {
			t.Fatalf("a tip over the day's budget: %v", r)
		}
		if bal := s.a.account(wallet).Balance; bal != walletBefore {
			t.Fatalf("a declined tip moved money: wallet %d, was %d", bal, walletBefore)
		}
		s.a.checkLedger()
	})
}
