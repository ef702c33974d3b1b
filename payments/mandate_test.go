package payments_test

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/consent"
	"github.com/agentpay/agentpay/consent/consenttest"
	"github.com/agentpay/agentpay/payments"
	"github.com/agentpay/agentpay/risk"
)

// monthly is a mandate of w's user with w's merchant: at most 4.00 a
// charge and 10.00 a month.
func (w *world) monthly(grantID string) agentpay.Mandate {
	return agentpay.Mandate{Kind: agentpay.MandateSubscription, UserID: w.user.ID, GrantID: grantID, MerchantID: w.merchant.ID,
		Asset: "USD", PerPaymentMax: 4_00, Budget: 10_00, Period: agentpay.Interval{Unit: agentpay.IntervalMonth, Count: 1},
		TimeZone: "Europe/London", Description: "Tea club: a box of tea every month"}
}

func (w *world) propose(m agentpay.Mandate) agentpay.Mandate {
	w.t.Helper()
	m, u, err := w.svc.PrepareProposeMandate(w.ctx, m)
	if err == nil {
		err = w.db.Committer.Submit(w.ctx, u).Err
	}
	if err != nil {
		w.t.Fatal(err)
	}
	return m
}

// mandateEvidence runs userID's passkey approval of the object given.
func (w *world) mandateEvidence(userID string, a *consenttest.Authenticator, id string, obj any) consent.Evidence {
	w.t.Helper()
	cid, assertion, err := w.pk.BeginApproval(w.ctx, userID, id, obj)
	if err != nil {
		w.t.Fatal(err)
	}
	ev, err := w.pk.FinishApproval(w.ctx, userID, cid, a.Get(w.t, assertion))
	if err != nil {
		w.t.Fatal(err)
	}
	return ev
}

func (w *world) approveMandate(m agentpay.Mandate) (agentpay.Mandate, error) {
	w.t.Helper()
	obj, err := w.svc.MandateApproval(w.ctx, m)
	if err != nil {
		w.t.Fatal(err)
	}
	m, u, err := w.svc.PrepareApproveMandate(w.ctx, w.user.ID, m.ID, w.mandateEvidence(w.user.ID, w.key, m.ID, obj))
	if err == nil {
		err = w.db.Committer.Submit(w.ctx, u).Err
	}
	return m, err
}

func (w *world) charge(m agentpay.Mandate, amount int64) (agentpay.Payment, error) {
	w.t.Helper()
	o := agentpay.Order{Items: []agentpay.LineItem{{Name: "Tea box", Quantity: 1, UnitAmount: amount}},
		Totals: agentpay.Totals{Subtotal: amount, Total: amount}, Description: "Tea club"}
	return w.svc.Charge(w.ctx, payments.ChargeRequest{MandateID: m.ID, MerchantID: w.merchant.ID, Order: o})
}

// A mandate is approved once with a passkey over its exact terms; then
// charges move money without a tap, inside its terms and its budget per
// period, and stop at once when the user pauses or revokes it.
func TestMandateLifecycle(t *testing.T) {
	engines(t, func(t *testing.T, w *world) {
		m := w.propose(w.monthly(w.grant.ID))
		if m.Status != agentpay.MandateRequiresApproval {
			t.Fatalf("proposed: %s", m.Status)
		}
		_, err := w.charge(m, 3_00)
		wantCode(t, "charge before approval", err, "mandate_not_approved")

		// The passkey signs the terms: a budget changed in what was signed
		// does not approve this mandate.
		obj, err := w.svc.MandateApproval(w.ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		bigger := obj
		bigger.Budget = 1_000_00
		_, _, err = w.svc.PrepareApproveMandate(w.ctx, w.user.ID, m.ID, w.mandateEvidence(w.user.ID, w.key, m.ID, bigger))
		wantCode(t, "approve other terms", err, "mandate_changed")
		other := w.newUser("eve@example.com", true)
		eveKey := w.passkey(other.ID)
		_, _, err = w.svc.PrepareApproveMandate(w.ctx, other.ID, m.ID, w.mandateEvidence(other.ID, eveKey, m.ID, obj))
		wantCode(t, "another user's approval", err, "mandate_not_found")

		m, err = w.approveMandate(m)
		if err != nil || m.Status != agentpay.MandateActive {
			t.Fatalf("approve: %s %v", m.Status, err)
		}
		if approvals, err := w.db.ApprovalsOf(w.ctx, m.ID); err != nil || len(approvals) != 1 {
			t.Fatalf("evidence: %d %v", len(approvals), err)
		}
		_, err = w.approveMandate(m)
		wantCode(t, "approve twice", err, "mandate_active")

		// Within the terms: authorized at once, the hold placed.
		before, _ := w.balance(w.wallet)
		p, err := w.charge(m, 4_00)
		if err != nil || p.Status != agentpay.PaymentAuthorized || p.MandateID != m.ID || p.Authorized != 4_00 {
			t.Fatalf("first charge: %+v %v", p, err)
		}
		if _, held := w.balance(w.wallet); held != 4_00 {
			t.Fatalf("held %d", held)
		}
		_, err = w.charge(m, 4_01)
		wantCode(t, "over the amount per payment", err, "exceeds_mandate_per_payment")
		shop := w.newMerchant("Other Shop", "5499", "USD")
		o := agentpay.Order{Items: []agentpay.LineItem{{Name: "Tea", Quantity: 1, UnitAmount: 1_00}}, Totals: agentpay.Totals{Subtotal: 1_00, Total: 1_00}}
		_, err = w.svc.Charge(w.ctx, payments.ChargeRequest{MandateID: m.ID, MerchantID: shop.ID, Order: o})
		wantCode(t, "another payee", err, "payee_not_in_mandate")

		// The budget: 4 + 4 fit 10.00, a third 4.00 does not this month.
		if p, err := w.charge(m, 4_00); err != nil || p.Status != agentpay.PaymentAuthorized {
			t.Fatalf("second charge: %s %v", p.Status, err)
		}
		p, err = w.charge(m, 4_00)
		if err != nil || p.Status != agentpay.PaymentDeclined || p.DeclineCode != payments.DeclineMandateBudget {
			t.Fatalf("over the budget: %s %s %v", p.Status, p.DeclineCode, err)
		}
		// A new month, a new budget (periods follow the mandate's calendar).
		w.clock.advance(32 * 24 * time.Hour)
		if p, err := w.charge(m, 4_00); err != nil || p.Status != agentpay.PaymentAuthorized {
			t.Fatalf("next month: %s %v", p.Status, err)
		}

		// Paused and revoked: charges stop at once.
		for _, step := range []struct {
			to   agentpay.MandateStatus
			code string
		}{{agentpay.MandatePaused, "mandate_paused"}, {agentpay.MandateActive, ""}, {agentpay.MandateRevoked, "mandate_revoked"}} {
			m2, u, err := w.svc.PrepareMandateStatus(w.ctx, w.user.ID, m.ID, step.to)
			if err == nil {
				err = w.db.Committer.Submit(w.ctx, u).Err
			}
			if err != nil || m2.Status != step.to {
				t.Fatalf("to %s: %s %v", step.to, m2.Status, err)
			}
			_, err = w.charge(m, 1_00)
			if step.code != "" {
				wantCode(t, "charge when "+string(step.to), err, step.code)
			} else if err != nil {
				t.Fatalf("charge after resuming: %v", err)
			}
		}
		_, _, err = w.svc.PrepareMandateStatus(w.ctx, w.user.ID, m.ID, agentpay.MandateActive)
		wantCode(t, "resume a revoked mandate", err, "mandate_revoked")
		if after, _ := w.balance(w.wallet); after != before {
			t.Fatalf("the wallet's balance moved without a capture: %d → %d", before, after)
		}
		w.checkLedger()
	})
}

// Many charges racing for one mandate's budget never overspend it: the
// budget is consumed inside each charge's unit of work.
func TestMandateBudgetUnderConcurrency(t *testing.T) {
	engines(t, func(t *testing.T, w *world) {
		// The test is about the budget, not about risk control, which
		// would rightly hold a burst of fifty charges.
		w.svc.Risk = risk.NewEngine(risk.MustCompile(""), 0)
		m := w.monthly(w.grant.ID)
		m.PerPaymentMax, m.Budget = 1_00, 10_00
		m, err := w.approveMandate(w.propose(m))
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		outcomes := map[string]int{}
		for range 50 {
			wg.Go(func() {
				p, err := w.charge(m, 1_00)
				key := string(p.Status) + p.DeclineCode
				if err != nil {
					key = agentpay.ErrorCode(err)
				}
				mu.Lock()
				outcomes[key]++
				mu.Unlock()
			})
		}
		wg.Wait()
		if outcomes["authorized"] != 10 || outcomes["declined"+payments.DeclineMandateBudget] != 40 {
			t.Fatalf("outcomes %v: want 10 authorized and 40 declined", outcomes)
		}
		if _, held := w.balance(w.wallet); held != 10_00 {
			t.Fatalf("held %d, want 10.00", held)
		}
		w.checkLedger()
	})
}

// A merchant's subscription has no agent: its charges count under the
// mandate for risk control, and a charge risk control challenges waits for
// the user's own passkey like any payment, then goes through.
func TestMandateWithoutAgent(t *testing.T) {
	engines(t, func(t *testing.T, w *world) {
		m, err := w.approveMandate(w.propose(w.monthly("")))
		if err != nil {
			t.Fatal(err)
		}
		p, err := w.charge(m, 3_00)
		if err != nil || p.Status != agentpay.PaymentAuthorized || p.GrantID != "" || p.AgentKeyID != "" {
			t.Fatalf("charge: %+v %v", p, err)
		}
		d := w.decisions(p.ID)
		var sig risk.Signals
		if err := json.Unmarshal([]byte(d[0].Signals), &sig); err != nil {
			t.Fatal(err)
		}
		if sig.AgentKey.UsersH1 != 1 {
			t.Fatalf("the charge's actor counts %d users", sig.AgentKey.UsersH1)
		}
		if _, err := w.svc.SaveRules(w.ctx, `ask_user challenge "Please confirm this charge." true`); err != nil {
			t.Fatal(err)
		}
		p, err = w.charge(m, 3_00)
		if err != nil || p.Status != agentpay.PaymentRequiresApproval || p.Authorized != 0 {
			t.Fatalf("challenged charge: %+v %v", p, err)
		}
		got, err := w.approve(p)
		if err != nil || got.Status != agentpay.PaymentAuthorized {
			t.Fatalf("the user's approval of a challenged charge: %s %v", got.Status, err)
		}
		if _, held := w.balance(w.wallet); held != 6_00 {
			t.Fatalf("held %d", held)
		}
		w.checkLedger()
	})
}

// Proposals are refused when they break a rule, with nothing written.
func TestMandateProposalRefusals(t *testing.T) {
	engines(t, func(t *testing.T, w *world) {
		for _, tt := range []struct {
			name   string
			change func(*agentpay.Mandate)
			code   string
		}{
			{"zero interval", func(m *agentpay.Mandate) { m.Period.Count = 0 }, "invalid_interval"},
			{"absurd interval", func(m *agentpay.Mandate) { m.Period = agentpay.Interval{Unit: agentpay.IntervalYear, Count: 50} }, "invalid_interval"},
			{"budget under one charge", func(m *agentpay.Mandate) { m.Budget = 3_99 }, "invalid_amount"},
			{"above the grant", func(m *agentpay.Mandate) { m.PerPaymentMax, m.Budget = 151_00, 200_00 }, "exceeds_grant_limit"},
			{"no time zone", func(m *agentpay.Mandate) { m.TimeZone = "" }, "invalid_time_zone"},
			{"unknown merchant", func(m *agentpay.Mandate) { m.MerchantID = agentpay.NewID("mer") }, "merchant_not_found"},
			{"no description", func(m *agentpay.Mandate) { m.Description = "" }, "invalid_description"},
			{"another user's grant", func(m *agentpay.Mandate) { m.UserID = w.newUser("bob@example.com", true).ID }, "grant_not_found"},
		} {
			m := w.monthly(w.grant.ID)
			tt.change(&m)
			_, _, err := w.svc.PrepareProposeMandate(w.ctx, m)
			wantCode(t, tt.name, err, tt.code)
		}
	})
}

// A charge with a key is made once: the same key, on any node and after
// any restart, returns the first payment; nothing is held twice.
func TestMandateChargeOncePerKey(t *testing.T) {
	engines(t, func(t *testing.T, w *world) {
		m, err := w.approveMandate(w.propose(w.monthly(w.grant.ID)))
		if err != nil {
			t.Fatal(err)
		}
		o := agentpay.Order{Items: []agentpay.LineItem{{Name: "Tea box", Quantity: 1, UnitAmount: 3_00}},
			Totals: agentpay.Totals{Subtotal: 3_00, Total: 3_00}}
		req := payments.ChargeRequest{MandateID: m.ID, MerchantID: w.merchant.ID, Order: o, Key: "sub_1:period:0"}
		first, err := w.svc.Charge(w.ctx, req)
		if err != nil || first.Status != agentpay.PaymentAuthorized {
			t.Fatalf("first: %s %v", first.Status, err)
		}
		other := &payments.Service{DB: w.db, Identity: w.ids, Now: w.clock.Now} // another node
		again, err := other.Charge(w.ctx, req)
		if err != nil || again.ID != first.ID {
			t.Fatalf("again: %s, %v; want %s", again.ID, err, first.ID)
		}
		if _, held := w.balance(w.wallet); held != 3_00 {
			t.Fatalf("held %d, want 3.00 once", held)
		}
		req.Key = strings.Repeat("k", payments.ChargeKeyLengthMax+1)
		_, err = w.svc.Charge(w.ctx, req)
		wantCode(t, "a key too long", err, "invalid_key")
		w.checkLedger()
	})
}
