package payments_test

import (
	"crypto/ed25519"
	"crypto/rand"
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

// tipGrant is a grant of w's user whose tips up to autoMax may be charged
// under a tips mandate without a tap.
func (w *world) tipGrant(autoMax int64) agentpay.Grant {
	w.t.Helper()
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	links := &linking.Service{DB: w.db, Now: w.clock.Now}
	st, err := links.Start(w.ctx, linking.StartRequest{PublicKeyJWK: agentauth.JWK(pub), AgentName: "Reader", SoftwareID: "com.example.reader",
		Scopes: []agentpay.Scope{agentpay.ScopePaymentsCreate}, Limits: agentpay.GrantLimits{Asset: "USD", PerPayment: 50_00, PerDay: 100_00, PerMonth: 500_00}},
		linking.RequestMeta{RemoteIP: "203.0.113.9"})
	if err != nil {
		w.t.Fatal(err)
	}
	g, err := links.Approve(w.ctx, st.Link.UserCode, linking.Approval{UserID: w.user.ID, TipAutoApproveMax: autoMax})
	if err != nil {
		w.t.Fatal(err)
	}
	return g
}

// tipsMandate is an approved tips mandate of g: at most perTip a tip and
// budget a day, to merchantID or (if "") merchants of the categories.
func (w *world) tipsMandate(g agentpay.Grant, merchantID string, categories []string, perTip, budget int64) agentpay.Mandate {
	w.t.Helper()
	m, err := w.approveMandate(w.propose(agentpay.Mandate{Kind: agentpay.MandateTips, UserID: w.user.ID, GrantID: g.ID,
		MerchantID: merchantID, Categories: categories, Asset: "USD", PerPaymentMax: perTip, Budget: budget,
		Period: agentpay.Interval{Unit: agentpay.IntervalDay, Count: 1}, TimeZone: "UTC", Description: "Tips for writers I read"}))
	if err != nil {
		w.t.Fatal(err)
	}
	return m
}

func (w *world) tip(g agentpay.Grant, merchantID string, amount int64, key string) (agentpay.Payment, store.Tip, error) {
	return w.svc.Tip(w.ctx, payments.TipRequest{Grant: g, MerchantID: merchantID, Amount: amount, Asset: "USD",
		Note: "great article", Key: key})
}

func (w *world) eventTypes(objectID string) string {
	w.t.Helper()
	es, err := w.db.EventsOf(w.ctx, objectID, 100)
	if err != nil {
		w.t.Fatal(err)
	}
	var types []string
	for _, e := range es {
		types = append(types, e.Type)
	}
	return strings.Join(types, ",")
}

// A tip within the grant's TipAutoApproveMax and a tips mandate's terms
// and daily budget is charged and captured at once; any other tip is an
// approval request like any payment.
func TestTipPaths(t *testing.T) {
	engines(t, func(t *testing.T, w *world) {
		g := w.tipGrant(2_00)
		m := w.tipsMandate(g, w.merchant.ID, nil, 3_00, 5_00)
		other := w.newMerchant("Another Blog", "5499", "USD")
		nobody := w.tipGrant(2_00) // a grant without a tips mandate
		for i, tt := range []struct {
			name     string
			grant    agentpay.Grant
			merchant string
			amount   int64
			status   agentpay.PaymentStatus
			auto     bool
			mandate  string
		}{
			{"within both limits", g, w.merchant.ID, 1_50, agentpay.PaymentCaptured, true, m.ID},
			{"above TipAutoApproveMax", g, w.merchant.ID, 2_50, agentpay.PaymentRequiresApproval, false, ""},
			{"no tips mandate", nobody, w.merchant.ID, 1_00, agentpay.PaymentRequiresApproval, false, ""},
			{"a merchant outside the mandate", g, other.ID, 1_00, agentpay.PaymentRequiresApproval, false, ""},
			{"fits what the day's budget still holds", g, w.merchant.ID, 2_00, agentpay.PaymentCaptured, true, m.ID},
			// 1.50 + 2.00 of 5.00 spent: the budget is exhausted for this
			// tip, which asks the user rather than being declined.
			{"daily budget exhausted", g, w.merchant.ID, 2_00, agentpay.PaymentRequiresApproval, false, ""},
		} {
			w.clock.advance(2 * time.Minute) // not a burst: velocity is TestTipVelocity's
			p, tip, err := w.tip(tt.grant, tt.merchant, tt.amount, "k"+string(rune('a'+i)))
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if p.Status != tt.status || tip.AutoApproved != tt.auto || tip.MandateID != tt.mandate || tip.PaymentID != p.ID ||
				tip.Note != "great article" || p.Description != "great article" || p.Items[0].Name != payments.TipItemName {
				t.Fatalf("%s: %s %+v", tt.name, p.Status, tip)
			}
			if tt.auto && (p.MandateID != m.ID || p.Captured != tt.amount) {
				t.Fatalf("%s: charged %+v", tt.name, p)
			}
			if !tt.auto && (p.MandateID != "" || p.Authorized != 0) {
				t.Fatalf("%s: no money may move before the user's approval: %+v", tt.name, p)
			}
			want := "payment.created"
			if tt.auto {
				want = "payment.authorized,payment.captured"
			}
			if got := w.eventTypes(p.ID); got != want {
				t.Fatalf("%s: payment events %s, want %s", tt.name, got, want)
			}
			if got := w.eventTypes(payments.TipObjectID(p.ID)); got != payments.EventTipReceived {
				t.Fatalf("%s: tip events %s", tt.name, got)
			}
			stored, found, err := w.db.Tip(w.ctx, p.ID)
			if err != nil || !found || stored.AutoApproved != tt.auto || stored.Status != tt.status {
				t.Fatalf("%s: stored %+v %v %v", tt.name, stored, found, err)
			}
		}
		// The merchant got 3.50 less the protection fee; the wallet paid 3.50.
		if posted, held := w.balance(w.wallet); posted != 1_000_00-3_50 || held != 0 {
			t.Fatalf("wallet %d held %d", posted, held)
		}
		// The next day, a new budget.
		w.clock.advance(24 * time.Hour)
		if p, tip, err := w.tip(g, w.merchant.ID, 2_00, "next-day"); err != nil || !tip.AutoApproved || p.Status != agentpay.PaymentCaptured {
			t.Fatalf("next day: %s %+v %v", p.Status, tip, err)
		}
		list, err := w.db.Tips(w.ctx, store.TipPage{Owner: "grant_id", ID: g.ID, Limit: 100})
		if err != nil || len(list) != 6 {
			t.Fatalf("the grant's tips: %d %v", len(list), err)
		}
		w.checkLedger()
	})
}

// A tip is refused with nothing written when it is malformed.
func TestTipRefusals(t *testing.T) {
	engines(t, func(t *testing.T, w *world) {
		g := w.tipGrant(2_00)
		w.tipsMandate(g, w.merchant.ID, nil, 3_00, 5_00)
		for _, tt := range []struct {
			name string
			req  payments.TipRequest
			code string
		}{
			{"zero", payments.TipRequest{MerchantID: w.merchant.ID, Asset: "USD"}, "invalid_amount"},
			{"negative", payments.TipRequest{MerchantID: w.merchant.ID, Amount: -1, Asset: "USD"}, "invalid_amount"},
			{"unknown merchant", payments.TipRequest{MerchantID: agentpay.NewID("mer"), Amount: 1_00, Asset: "USD"}, "merchant_not_found"},
			{"unknown asset", payments.TipRequest{MerchantID: w.merchant.ID, Amount: 1_00, Asset: "XXXX1"}, "unknown_asset"},
			{"asset the merchant does not take", payments.TipRequest{MerchantID: w.merchant.ID, Amount: 1_00, Asset: "EUR"}, "asset_not_supported"},
			{"note too long", payments.TipRequest{MerchantID: w.merchant.ID, Amount: 1_00, Asset: "USD",
				Note: strings.Repeat("a", payments.TipNoteLengthMax+1)}, "invalid_note"},
			{"control characters", payments.TipRequest{MerchantID: w.merchant.ID, Amount: 1_00, Asset: "USD", Note: "hi\x1b[2J"}, "invalid_note"},
		} {
			tt.req.Grant = g
			_, _, _, err := w.svc.PrepareTip(w.ctx, tt.req)
			wantCode(t, tt.name, err, tt.code)
		}
		if list, err := w.db.Tips(w.ctx, store.TipPage{Owner: "grant_id", ID: g.ID, Limit: 10}); err != nil || len(list) != 0 {
			t.Fatalf("tips written: %d %v", len(list), err)
		}
	})
}

// A retry under the same key is the same tip: one payment, one capture,
// one tips row; the same key for another tip is a conflict.
func TestTipOncePerKey(t *testing.T) {
	engines(t, func(t *testing.T, w *world) {
		g := w.tipGrant(2_00)
		w.tipsMandate(g, w.merchant.ID, nil, 3_00, 5_00)
		first, _, err := w.tip(g, w.merchant.ID, 1_00, "tip-1")
		if err != nil || first.Status != agentpay.PaymentCaptured {
			t.Fatalf("first: %s %v", first.Status, err)
		}
		other := &payments.Service{DB: w.db, Identity: w.ids, Now: w.clock.Now} // another node
		again, tip, err := other.Tip(w.ctx, payments.TipRequest{Grant: g, MerchantID: w.merchant.ID, Amount: 1_00, Asset: "USD",
			Note: "great article", Key: "tip-1"})
		if err != nil || again.ID != first.ID || !tip.AutoApproved {
			t.Fatalf("again: %s %+v %v; want %s", again.ID, tip, err, first.ID)
		}
		_, _, err = w.tip(g, w.merchant.ID, 1_50, "tip-1")
		wantCode(t, "the key of another tip", err, "idempotency_conflict")
		if posted, held := w.balance(w.wallet); posted != 1_000_00-1_00 || held != 0 {
			t.Fatalf("wallet %d held %d: want 1.00 paid once", posted, held)
		}
		if list, _ := w.db.Tips(w.ctx, store.TipPage{Owner: "user_id", ID: w.user.ID, Limit: 10}); len(list) != 1 {
			t.Fatalf("%d tips, want 1", len(list))
		}
		w.checkLedger()
	})
}

// Risk control still decides every tip: a burst of tips in a minute is
// held for review (velocity_user_m1), under the mandate or not, and a
// tip held is never captured.
func TestTipVelocity(t *testing.T) {
	engines(t, func(t *testing.T, w *world) {
		g := w.tipGrant(1_00)
		w.tipsMandate(g, w.merchant.ID, nil, 1_00, 20_00)
		statuses := map[agentpay.PaymentStatus]int{}
		var held agentpay.Payment
		for i := range 8 {
			p, tip, err := w.tip(g, w.merchant.ID, 50, "burst-"+string(rune('a'+i)))
			if err != nil {
				t.Fatal(err)
			}
			statuses[p.Status]++
			if p.Status == agentpay.PaymentInReview {
				held = p
				if tip.AutoApproved {
					t.Fatalf("a tip held for review counts as auto-approved: %+v", tip)
				}
			}
		}
		if statuses[agentpay.PaymentCaptured] != 5 || statuses[agentpay.PaymentInReview] != 3 {
			t.Fatalf("statuses %v: want 5 captured, then held", statuses)
		}
		found := false
		for _, d := range w.decisions(held.ID) {
			for _, c := range reasonCodes(t, d) {
				found = found || c == "velocity_user_m1"
			}
		}
		if !found {
			t.Fatal("the held tip's decision does not name velocity_user_m1")
		}
		w.checkLedger()
	})
}

// A tip under a mandate by category is risk-decided like any first payment
// to a merchant: the first tip to a new payee asks the user (a challenge,
// never a silent charge), and once the user has paid it, tips go through.
func TestTipCategoryMandate(t *testing.T) {
	engines(t, func(t *testing.T, w *world) {
		g := w.tipGrant(2_00)
		m := w.tipsMandate(g, "", []string{"5499"}, 2_00, 10_00)
		p, tip, err := w.tip(g, w.merchant.ID, 1_00, "c1")
		if err != nil || p.Status != agentpay.PaymentRequiresApproval || tip.AutoApproved || tip.MandateID != m.ID {
			t.Fatalf("first tip to a new payee: %s %+v %v", p.Status, tip, err)
		}
		if got, err := w.approve(p); err != nil || got.Status != agentpay.PaymentCaptured {
			t.Fatalf("the user's approval: %s %v", got.Status, err)
		}
		p, tip, err = w.tip(g, w.merchant.ID, 1_00, "c2")
		if err != nil || p.Status != agentpay.PaymentCaptured || !tip.AutoApproved {
			t.Fatalf("second tip: %s %+v %v", p.Status, tip, err)
		}
	})
}

// A tip that needed the user's approval is complete when the user gives
// it: the approval's unit captures it for the merchant (less the protection
// fee), and nothing is left for the merchant to capture. An ordinary
// payment's approval still only holds the money.
func TestTipCapturedOnApproval(t *testing.T) {
	engines(t, func(t *testing.T, w *world) {
		w.svc.ProtectionFeeBPS, w.svc.ProtectionFeeMin = 100, 1 // 1 %
		g := w.tipGrant(2_00)
		w.tipsMandate(g, w.merchant.ID, nil, 3_00, 5_00)
		merchantAcc := payments.MerchantAccountID(w.merchant.ID, "USD")
		fund := payments.ProtectionFundID("USD")
		for _, tt := range []struct {
			name   string
			amount int64
		}{
			{"above the auto-approve amount", 2_50},
			{"above the mandate's amount per tip", 4_00},
		} {
			w.clock.advance(2 * time.Minute)
			merchantBefore, _ := w.balance(merchantAcc)
			walletBefore, _ := w.balance(w.wallet)
			p, tip, err := w.tip(g, w.merchant.ID, tt.amount, "approve-"+tt.name)
			if err != nil || p.Status != agentpay.PaymentRequiresApproval || tip.AutoApproved {
				t.Fatalf("%s: %s %+v %v", tt.name, p.Status, tip, err)
			}
			got, err := w.approve(p)
			if err != nil {
				t.Fatalf("%s: approve: %v", tt.name, err)
			}
			if got.Status != agentpay.PaymentCaptured || got.Authorized != tt.amount || got.Captured != tt.amount || got.HoldID == "" {
				t.Fatalf("%s: approved %+v", tt.name, got)
			}
			stored, err := w.db.Payment(w.ctx, p.ID)
			if err != nil || stored.Status != agentpay.PaymentCaptured || stored.Captured != tt.amount || stored.Version != got.Version {
				t.Fatalf("%s: stored %+v %v", tt.name, stored, err)
			}
			fee := payments.ProtectionFee(tt.amount, 100, 1)
			if bal, held := w.balance(merchantAcc); bal != merchantBefore+tt.amount-fee || held != 0 {
				t.Fatalf("%s: merchant %d (held %d), want %d", tt.name, bal, held, merchantBefore+tt.amount-fee)
			}
			if bal, held := w.balance(w.wallet); bal != walletBefore-tt.amount || held != 0 {
				t.Fatalf("%s: wallet %d held %d", tt.name, bal, held)
			}
			// One change of the row, one event: captured, with what was
			// authorized and captured.
			es, err := w.db.EventsOf(w.ctx, p.ID, 10)
			if err != nil || len(es) != 2 || es[0].Type != "payment.created" || es[1].Type != "payment.captured" || es[1].Seq != 2 ||
				!strings.Contains(es[1].Data, `"captured":`+strconv.FormatInt(tt.amount, 10)) {
				t.Fatalf("%s: events %+v %v", tt.name, es, err)
			}
			if listed, found, err := w.db.Tip(w.ctx, p.ID); err != nil || !found || listed.Status != agentpay.PaymentCaptured || listed.AutoApproved {
				t.Fatalf("%s: the tip as listed %+v %v %v", tt.name, listed, found, err)
			}
			// Nothing is left to capture; the merchant may refund it.
			_, _, err = w.svc.PrepareCapture(w.ctx, w.merchant.ID, p.ID, 0)
			wantCode(t, tt.name+": a second capture", err, "payment_captured")
		}
		if bal, _ := w.balance(fund); bal != payments.ProtectionFee(2_50, 100, 1)+payments.ProtectionFee(4_00, 100, 1) {
			t.Fatalf("fund %d", bal)
		}

		// An ordinary payment's approval is unchanged: a hold.
		p, err := w.approve(w.create(order(tea)))
		if err != nil || p.Status != agentpay.PaymentAuthorized || p.Captured != 0 {
			t.Fatalf("an ordinary payment: %+v %v", p, err)
		}
		// Nor is a payment of one item named like a tip's without a tips
		// row a tip.
		tipLike := agentpay.Order{Items: []agentpay.LineItem{{Name: payments.TipItemName, Quantity: 1, UnitAmount: 3_00}},
			Totals: agentpay.Totals{Subtotal: 3_00, Total: 3_00}}
		if p, err = w.approve(w.create(tipLike)); err != nil || p.Status != agentpay.PaymentAuthorized {
			t.Fatalf("a tip-like payment: %+v %v", p, err)
		}
		w.checkLedger()
	})
}
