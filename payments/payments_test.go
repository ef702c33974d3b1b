package payments_test

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/consent"
	"github.com/agentpay/agentpay/payments"
	"github.com/agentpay/agentpay/risk"
)

// The whole life of a payment, with the money and the events at each step.
func TestLifecycle(t *testing.T) {
	engines(t, func(t *testing.T, w *world) {
		merchantAcc := payments.MerchantAccountID(w.merchant.ID, "USD")
		p := w.create(order(tea)) // 2 × 10.00 + 1.00 tax
		if p.Status != agentpay.PaymentRequiresApproval || p.Totals.Total != 2100 || p.Version != 1 {
			t.Fatalf("created %+v", p)
		}
		if bal, held := w.balance(w.wallet); bal != 1_000_00 || held != 0 {
			t.Fatalf("creating moved money: %d, %d held", bal, held)
		}

		p, err := w.approve(p, agentpay.ShareName)
		if err != nil {
			t.Fatal(err)
		}
		if p.Status != agentpay.PaymentAuthorized || p.Authorized != 2100 || p.HoldID == "" {
			t.Fatalf("approved %+v", p)
		}
		if _, held := w.balance(w.wallet); held != 2100 {
			t.Fatalf("hold = %d, want 2100", held)
		}
		if share, ok, err := w.db.PaymentShareOf(w.ctx, p.ID); err != nil || !ok || share.Name != "Ada Lovelace" || share.Email != "" {
			t.Fatalf("share = %+v, %v, %v", share, ok, err)
		}
		if list, err := w.db.ApprovalsOf(w.ctx, p.ID); err != nil || len(list) != 1 {
			t.Fatalf("approval evidence = %v, %v", list, err)
		}

		p, err = w.commit(w.svc.PrepareCapture(w.ctx, w.merchant.ID, p.ID, 2000))
		if err != nil {
			t.Fatal(err)
		}
		if p.Status != agentpay.PaymentCaptured || p.Captured != 2000 {
			t.Fatalf("captured %+v", p)
		}
		if bal, held := w.balance(w.wallet); bal != 1_000_00-2000 || held != 0 {
			t.Fatalf("wallet after partial capture: %d, %d held", bal, held)
		}
		// The protection fee (10 bps of 20.00, 0.02) went to the fund in
		// the capture's unit; a refund does not return it, so the merchant
		// covers it from other money to refund everything.
		if bal, _ := w.balance(merchantAcc); bal != 2000-2 {
			t.Fatalf("merchant = %d", bal)
		}
		w.fundMerchant(w.merchant.ID, "USD", 2)

		p, _, u, err := w.svc.PrepareRefund(w.ctx, w.merchant.ID, p.ID, 500, "one tea was broken")
		if err == nil {
			p, err = w.commit(p, u, nil)
		}
		if err != nil || p.Status != agentpay.PaymentPartiallyRefunded || p.Refunded != 500 {
			t.Fatalf("refund: %+v, %v", p, err)
		}
		p, _, u, err = w.svc.PrepareRefund(w.ctx, w.merchant.ID, p.ID, 1500, "")
		if err == nil {
			p, err = w.commit(p, u, nil)
		}
		if err != nil || p.Status != agentpay.PaymentRefunded {
			t.Fatalf("second refund: %+v, %v", p, err)
		}
		if bal, _ := w.balance(w.wallet); bal != 1_000_00 {
			t.Fatalf("wallet after full refund = %d", bal)
		}
		w.checkLedger()

		events, err := w.db.EventsOf(w.ctx, p.ID, 100)
		if err != nil {
			t.Fatal(err)
		}
		wantTypes := []string{"payment.created", "payment.authorized", "payment.captured", "payment.refunded", "payment.refunded"}
		if len(events) != len(wantTypes) {
			t.Fatalf("events %+v", events)
		}
		for i, e := range events {
			if e.Type != wantTypes[i] || e.Seq != int64(i+1) || e.MerchantID != w.merchant.ID {
				t.Fatalf("event %d = %+v, want %s seq %d", i, e, wantTypes[i], i+1)
			}
			var data map[string]any
			if json.Unmarshal([]byte(e.Data), &data) != nil || data["payment"] != p.ID {
				t.Fatalf("event data %s", e.Data)
			}
		}
	})
}

// Bad requests are refused with a clear code and nothing moves.
func TestRefusals(t *testing.T) {
	engines(t, func(t *testing.T, w *world) {
		t.Run("at creation", func(t *testing.T) {
			eur := w.newMerchant("Euro Shop", "5499", "EUR")
			books := w.newMerchant("Bookshop", "5942", "USD")
			narrow := w.newGrant(w.user.ID, agentpay.GrantLimits{Asset: "USD", PerPayment: 100_00, PerDay: 100_00, PerMonth: 100_00}, []string{"5499"})
			bob := w.newUser("bob@example.com", false)
			bobGrant := agentpay.Grant{ID: "grt_bob", UserID: bob.ID, Status: agentpay.GrantActive, ExpiresAt: w.clock.Now().Add(time.Hour).UnixMicro(),
				Limits: agentpay.GrantLimits{Asset: "USD", PerPayment: 100_00, PerDay: 100_00, PerMonth: 100_00}}
			revoked := w.grant
			revoked.Status = agentpay.GrantRevoked
			big := order(agentpay.LineItem{Name: "Samovar", Quantity: 1, UnitAmount: 149_00}) // 150.00 with tax
			tests := []struct {
				name string
				g    agentpay.Grant
				req  payments.CreateRequest
				code string
			}{
				{"items do not add up", w.grant, payments.CreateRequest{MerchantID: w.merchant.ID, Asset: "USD",
					Order: func() agentpay.Order { o := order(tea); o.Totals.Total++; return o }()}, "totals_mismatch"},
				{"unknown merchant", w.grant, payments.CreateRequest{MerchantID: "mer_nope", Asset: "USD", Order: order(tea)}, "merchant_not_found"},
				{"asset the merchant does not take", w.grant, payments.CreateRequest{MerchantID: eur.ID, Asset: "GBP", Order: order(tea)}, "asset_not_supported"},
				{"asset outside the grant", w.grant, payments.CreateRequest{MerchantID: eur.ID, Asset: "EUR", Order: order(tea)}, "asset_not_in_grant"},
				{"above the grant per payment", narrow, payments.CreateRequest{MerchantID: w.merchant.ID, Asset: "USD", Order: big}, "exceeds_grant_limit"},
				{"category outside the grant", narrow, payments.CreateRequest{MerchantID: books.ID, Asset: "USD", Order: order(tea)}, "merchant_category_not_allowed"},
				{"revoked grant", revoked, payments.CreateRequest{MerchantID: w.merchant.ID, Asset: "USD", Order: order(tea)}, "grant_revoked"},
				{"unverified user", bobGrant, payments.CreateRequest{MerchantID: w.merchant.ID, Asset: "USD", Order: order(agentpay.LineItem{Name: "x", Quantity: 1, UnitAmount: 1})}, "tier_unverified"},
			}
			for _, tt := range tests {
				tt.req.Grant = tt.g
				_, _, err := w.svc.PrepareCreate(w.ctx, tt.req)
				wantCode(t, tt.name, err, tt.code)
			}
			// Above the tier (tier 1: 200.00 per payment) with a grant that
			// says more than the tier allows now (limits changed after it).
			wide := w.grant
			wide.Limits.PerPayment = 500_00
			_, _, err := w.prepareCreate(wide, order(agentpay.LineItem{Name: "Kettle", Quantity: 1, UnitAmount: 250_00}))
			wantCode(t, "above the tier", err, "exceeds_tier_limit")
		})

		t.Run("on the way", func(t *testing.T) {
			p := w.create(order(tea))
			p, err := w.approve(p)
			if err != nil {
				t.Fatal(err)
			}
			_, err = w.approve(p)
			wantCode(t, "approve twice", err, "payment_authorized")
			_, _, err = w.svc.PrepareCapture(w.ctx, w.merchant.ID, p.ID, p.Authorized+1)
			wantCode(t, "capture above authorized", err, "invalid_capture_amount")
			other := w.newMerchant("Other", "5499", "USD")
			_, _, err = w.svc.PrepareCapture(w.ctx, other.ID, p.ID, 0)
			wantCode(t, "another merchant's capture", err, "payment_not_found")
			if _, err := w.commit(w.svc.PrepareCapture(w.ctx, w.merchant.ID, p.ID, 0)); err != nil {
				t.Fatal(err)
			}
			_, _, err = w.svc.PrepareCapture(w.ctx, w.merchant.ID, p.ID, 0)
			wantCode(t, "capture twice", err, "payment_captured")
			_, _, _, err = w.svc.PrepareRefund(w.ctx, w.merchant.ID, p.ID, p.Totals.Total+1, "")
			wantCode(t, "refund above captured", err, "refund_exceeds_captured")
			p, _ = w.svc.ForMerchant(w.ctx, w.merchant.ID, p.ID)
			_, _, err = w.svc.PrepareCancel(w.ctx, agentpay.ActorAgent, p, "")
			wantCode(t, "cancel after capture", err, "payment_captured")
			_, _, err = w.svc.PrepareVoid(w.ctx, w.merchant.ID, p.ID, "")
			wantCode(t, "void after capture", err, "payment_captured")
			if _, err := w.svc.ForUser(w.ctx, "usr_someone_else", p.ID); agentpay.ErrorCode(err) != "payment_not_found" {
				t.Fatalf("another user's payment: %v", err)
			}
			w.checkLedger()
		})

		t.Run("not enough money", func(t *testing.T) {
			poor := w.newUser("poor@example.com", true)
			key := w.passkey(poor.ID)
			g := w.newGrant(poor.ID, agentpay.GrantLimits{Asset: "USD", PerPayment: 100_00, PerDay: 100_00, PerMonth: 100_00}, nil)
			wallet := w.topUp(poor.ID, "USD", 1000)
			p, err := w.commit(w.prepareCreate(g, order(tea)))
			if err != nil {
				t.Fatal(err)
			}
			_, err = w.svc.Approve(w.ctx, poor.ID, p.ID, w.evidence(poor.ID, key, p))
			wantCode(t, "approve beyond the balance", err, "exceeds_credits")
			if p, _ := w.svc.ForUser(w.ctx, poor.ID, p.ID); p.Status != agentpay.PaymentRequiresApproval {
				t.Fatalf("a refused approval changed the payment: %s", p.Status)
			}
			if list, _ := w.db.ApprovalsOf(w.ctx, p.ID); len(list) != 0 {
				t.Fatal("a refused approval left evidence")
			}
			// Topped up, the same payment can be approved.
			w.topUp(poor.ID, "USD", 5000)
			if _, err := w.svc.Approve(w.ctx, poor.ID, p.ID, w.evidence(poor.ID, key, p)); err != nil {
				t.Fatal(err)
			}
			if bal, held := w.balance(wallet); bal != 6000 || held != 2100 {
				t.Fatalf("wallet %d, %d held", bal, held)
			}
		})
	})
}

// An approval is of one version: a change by the agent or the user after
// the approval began refuses it, another user cannot use it, and it binds
// the payee and amount.
func TestApprovalBinding(t *testing.T) {
	engines(t, func(t *testing.T, w *world) {
		p := w.create(order(tea))
		stale := w.evidence(w.user.ID, w.key, p)
		more := order(tea, agentpay.LineItem{Name: "Biscuits", Quantity: 1, UnitAmount: 300})
		p2, err := w.commit(w.svc.PrepareUpdate(w.ctx, w.grant, p.ID, more))
		if err != nil || p2.Version != 2 || p2.Totals.Total != 2400 {
			t.Fatalf("agent update: %+v, %v", p2, err)
		}
		_, err = w.svc.Approve(w.ctx, w.user.ID, p.ID, stale)
		wantCode(t, "stale version", err, "payment_changed")

		// The user lowers a quantity: a new version, total follows.
		p3, err := w.commit(w.svc.PrepareModify(w.ctx, w.user.ID, p.ID, payments.Modification{Quantities: map[int]int64{0: 1}}))
		if err != nil || p3.Version != 3 || p3.Totals.Subtotal != 1300 || p3.Totals.Total != 1400 {
			t.Fatalf("user modify: %+v, %v", p3, err)
		}
		_, _, err = w.svc.PrepareModify(w.ctx, w.user.ID, p.ID, payments.Modification{Quantities: map[int]int64{1: 2}})
		wantCode(t, "raise a quantity", err, "quantity_raised")
		_, _, err = w.svc.PrepareModify(w.ctx, w.user.ID, p.ID, payments.Modification{Quantities: map[int]int64{0: 0, 1: 0}})
		wantCode(t, "remove everything", err, "no_items_left")

		// Mallory cannot approve Ada's payment, even with her own passkey.
		mallory := w.newUser("mallory@example.com", true)
		mk := w.passkey(mallory.ID)
		obj, _ := w.svc.Approval(w.ctx, p3, nil)
		id, assertion, err := w.pk.BeginApproval(w.ctx, mallory.ID, p3.ID, obj)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := w.pk.FinishApproval(w.ctx, mallory.ID, id, mk.Get(t, assertion))
		if err != nil {
			t.Fatal(err)
		}
		_, err = w.svc.Approve(w.ctx, mallory.ID, p3.ID, ev)
		wantCode(t, "another user's payment", err, "payment_not_found")

		// The current version approves; the approved object names the
		// merchant and the exact total.
		p4, err := w.approve(p3)
		if err != nil || p4.Authorized != 1400 {
			t.Fatalf("approve: %+v, %v", p4, err)
		}
		list, _ := w.db.ApprovalsOf(w.ctx, p.ID)
		var signed struct {
			Object payments.ApprovalObject `json:"object"`
		}
		if len(list) != 1 || json.Unmarshal([]byte(list[0].Object), &signed) != nil || signed.Object.Merchant != w.merchant.ID ||
			signed.Object.Totals.Total != 1400 || signed.Object.Version != 3 {
			t.Fatalf("stored approval %+v", list)
		}
		keys, _ := w.pk.Passkeys(w.ctx, w.user.ID)
		if err := w.pk.VerifyApproval(list[0], keys[0]); err != nil {
			t.Fatal(err)
		}
		_, _, err = w.svc.PrepareUpdate(w.ctx, w.grant, p.ID, order(tea))
		wantCode(t, "update after approval", err, "payment_authorized")
	})
}

// Daily budgets are consumed by approvals: a payment that no longer fits
// is declined, at creation or at approval.
func TestBudgets(t *testing.T) {
	engines(t, func(t *testing.T, w *world) {
		// The grant allows 150.00 a payment and 400.00 a day.
		item := agentpay.LineItem{Name: "Hamper", Quantity: 1, UnitAmount: 139_00} // 140.00 with tax
		a, b, c := w.create(order(item)), w.create(order(item)), w.create(order(item))
		for _, p := range []agentpay.Payment{a, b} {
			if _, err := w.approve(p); err != nil {
				t.Fatal(err)
			}
		}
		// 280.00 spent: 140.00 more does not fit 400.00.
		p, err := w.approve(c)
		if err != nil || p.Status != agentpay.PaymentDeclined || p.DeclineCode != payments.DeclineGrantDaily {
			t.Fatalf("third approval: %+v, %v", p, err)
		}
		d, err := w.commit(w.prepareCreate(w.grant, order(item)))
		if err != nil || d.Status != agentpay.PaymentDeclined || d.DeclineCode != payments.DeclineGrantDaily {
			t.Fatalf("creation over budget: %+v, %v", d, err)
		}
		if _, held := w.balance(w.wallet); held != 280_00 {
			t.Fatalf("held %d, want 280.00", held)
		}
		// The next day the budget is fresh.
		w.clock.advance(24 * time.Hour)
		e := w.create(order(item))
		if p, err := w.approve(e); err != nil || p.Status != agentpay.PaymentAuthorized {
			t.Fatalf("next day: %+v, %v", p, err)
		}
	})
}

func TestExpiry(t *testing.T) {
	engines(t, func(t *testing.T, w *world) {
		waiting := w.create(order(tea))
		held, err := w.approve(w.create(order(tea)))
		if err != nil {
			t.Fatal(err)
		}
		w.clock.advance(agentpay.PaymentApprovalTTL)
		if n, err := w.svc.ExpireDue(w.ctx); err != nil || n != 1 {
			t.Fatalf("approval expiry: %d, %v", n, err)
		}
		if p, _ := w.svc.ForUser(w.ctx, w.user.ID, waiting.ID); p.Status != agentpay.PaymentExpired {
			t.Fatalf("waiting payment is %s", p.Status)
		}
		_, err = w.approve(waiting)
		wantCode(t, "approve an expired payment", err, "payment_expired")

		w.clock.advance(agentpay.PaymentAuthorizationTTL)
		if n, err := w.svc.ExpireDue(w.ctx); err != nil || n != 1 {
			t.Fatalf("capture expiry: %d, %v", n, err)
		}
		p, _ := w.svc.ForUser(w.ctx, w.user.ID, held.ID)
		if p.Status != agentpay.PaymentExpired {
			t.Fatalf("held payment is %s", p.Status)
		}
		if bal, h := w.balance(w.wallet); bal != 1_000_00 || h != 0 {
			t.Fatalf("wallet after expiry %d, %d held", bal, h)
		}
		_, _, err = w.svc.PrepareCapture(w.ctx, w.merchant.ID, held.ID, 0)
		wantCode(t, "capture after expiry", err, "payment_expired")
		if n, err := w.svc.ExpireDue(w.ctx); err != nil || n != 0 {
			t.Fatalf("second run: %d, %v", n, err)
		}
		w.checkLedger()
	})
}

// Hundreds of approvals and captures at one wallet at once: it never goes
// below zero, every outcome is all-or-nothing, and the ledger balances.
func TestConcurrentApprovalsAndCaptures(t *testing.T) {
	engines(t, func(t *testing.T, w *world) {
		const n = 200
		// This test is about the ledger under concurrency, not about risk
		// control, which would rightly hold a burst of 200 payments.
		w.svc.Risk = risk.NewEngine(risk.MustCompile(""), 0)
		// 100.00 in the wallet, each payment 2.00: at most 50 can be held.
		poor := w.newUser("many@example.com", true)
		key := w.passkey(poor.ID)
		g := w.newGrant(poor.ID, agentpay.GrantLimits{Asset: "USD", PerPayment: 100_00, PerDay: 500_00, PerMonth: 2_000_00}, nil)
		wallet := w.topUp(poor.ID, "USD", 100_00)
		item := agentpay.LineItem{Name: "Sticker", Quantity: 1, UnitAmount: 100}
		evs := make([]struct {
			p  agentpay.Payment
			ev consent.Evidence
		}, n)
		for i := range n {
			p, err := w.commit(w.prepareCreate(g, order(item)))
			if err != nil {
				t.Fatal(err)
			}
			evs[i].p = p
			key.Counter = uint32(i + 1)
			evs[i].ev = w.evidence(poor.ID, key, p)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		outcomes := map[string]int{}
		for i := range n {
			wg.Go(func() {
				// Approvals of one user consume the same budget counters,
				// so all but one per batch lose the version race; a person
				// would press again, and so does this test.
				p, err := w.svc.Approve(w.ctx, poor.ID, evs[i].p.ID, evs[i].ev)
				for agentpay.ErrorCode(err) == "version_conflict" {
					p, err = w.svc.Approve(w.ctx, poor.ID, evs[i].p.ID, evs[i].ev)
				}
				code := "ok"
				if err != nil {
					code = agentpay.ErrorCode(err)
				} else if _, cerr := w.commit(w.svc.PrepareCapture(w.ctx, w.merchant.ID, p.ID, 0)); cerr != nil {
					code = "capture:" + agentpay.ErrorCode(cerr)
				}
				mu.Lock()
				outcomes[code]++
				mu.Unlock()
			})
		}
		wg.Wait()
		bal, held := w.balance(wallet)
		if bal < 0 || held != 0 || bal != 100_00-int64(outcomes["ok"])*200 {
			t.Fatalf("wallet %d, %d held after %v", bal, held, outcomes)
		}
		if outcomes["ok"] != 50 {
			t.Fatalf("outcomes %v: want exactly 50 paid", outcomes)
		}
		for code := range outcomes {
			if code != "ok" && code != "exceeds_credits" {
				t.Fatalf("unexpected outcome %q in %v", code, outcomes)
			}
		}
		w.checkLedger()
		t.Logf("outcomes %v", outcomes)
	})
}
