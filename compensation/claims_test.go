package compensation_test

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/compensation"
	"github.com/agentpay/agentpay/payments"
	"github.com/agentpay/agentpay/store"
)

// money is where a claim's amount went.
type money struct{ wallet, merchant, fund int64 }

func (w *world) money() money {
	return money{w.balance(w.wallet), w.balance(payments.MerchantAccountID(w.merchant.ID, "USD")),
		w.balance(payments.ProtectionFundID("USD"))}
}

func evidenceOf(t *testing.T, c store.Claim) compensation.Evidence {
	t.Helper()
	var ev compensation.Evidence
	if err := json.Unmarshal([]byte(c.EvidenceJSON), &ev); err != nil {
		t.Fatalf("evidence %q: %v", c.EvidenceJSON, err)
	}
	return ev
}

// events returns the types of an object's events, checking they are
// numbered 1, 2, … and queued for the merchant's webhook.
func (w *world) events(objectID string) []string {
	w.t.Helper()
	list, err := w.db.EventsOf(w.ctx, objectID, 100)
	if err != nil {
		w.t.Fatal(err)
	}
	var types []string
	for i, e := range list {
		if e.Seq != int64(i+1) || e.MerchantID != w.merchant.ID {
			w.t.Fatalf("event %d of %s: %+v", i, objectID, e)
		}
		var n int
		if err := w.db.Reader().QueryRow(`SELECT COUNT(*) FROM webhook_deliveries WHERE event_id = $1`, e.ID).Scan(&n); err != nil || n != 1 {
			w.t.Fatalf("deliveries of %s %s: %d, %v", e.Type, e.ID, n, err)
		}
		types = append(types, e.Type)
	}
	return types
}

// Each automatic rule, both ways: the evidence decides (approved at once,
// the user reimbursed from the fund and the merchant charged back) or the
// claim goes to review with what was found.
func TestAutomaticAdjudication(t *testing.T) {
	for _, c := range []struct {
		name   string
		kind   string
		forge  func(w *world, p agentpay.Payment) // what went wrong behind the services' back
		status string
		code   string
		check  func(t *testing.T, ev compensation.Evidence)
	}{
		{name: "unauthorized with the approval on record", kind: compensation.KindUnauthorized,
			status: compensation.StatusInReview, code: compensation.CodeApprovalOnRecord,
			check: func(t *testing.T, ev compensation.Evidence) {
				if len(ev.Approvals) != 1 || !ev.Approvals[0].Verified || !ev.Approvals[0].Matches || ev.Approvals[0].Version != 1 {
					t.Fatalf("evidence %+v", ev)
				}
			}},
		{name: "unauthorized without any approval", kind: compensation.KindUnauthorized,
			forge:  func(w *world, p agentpay.Payment) { w.exec(`DELETE FROM approvals WHERE subject = $1`, p.ID) },
			status: compensation.StatusApproved, code: compensation.CodeNoValidApproval,
			check: func(t *testing.T, ev compensation.Evidence) {
				if len(ev.Approvals) != 0 {
					t.Fatalf("evidence %+v", ev)
				}
			}},
		{name: "unauthorized with an approval that does not verify", kind: compensation.KindUnauthorized,
			forge: func(w *world, p agentpay.Payment) {
				w.exec(`UPDATE approvals SET object = REPLACE(object, '"total":2100', '"total":2000') WHERE subject = $1`, p.ID)
			},
			status: compensation.StatusApproved, code: compensation.CodeNoValidApproval,
			check: func(t *testing.T, ev compensation.Evidence) {
				if len(ev.Approvals) != 1 || ev.Approvals[0].Verified || ev.Approvals[0].Refusal == "" {
					t.Fatalf("evidence %+v", ev)
				}
			}},
		{name: "agent error with exactly what was approved", kind: compensation.KindAgentError,
			status: compensation.StatusInReview, code: compensation.CodeApprovalOnRecord},
		{name: "agent error: items changed after the approval", kind: compensation.KindAgentError,
			forge: func(w *world, p agentpay.Payment) {
				w.exec(`UPDATE payments SET order_json = REPLACE(order_json, 'Green tea', 'Black tea') WHERE id = $1`, p.ID)
			},
			status: compensation.StatusApproved, code: compensation.CodeDiffersFromApproval,
			check: func(t *testing.T, ev compensation.Evidence) {
				if len(ev.Approvals) != 1 || !ev.Approvals[0].Verified || ev.Approvals[0].Matches {
					t.Fatalf("evidence %+v", ev)
				}
			}},
		{name: "agent error: another merchant than approved", kind: compensation.KindAgentError,
			forge: func(w *world, p agentpay.Payment) {
				w.exec(`UPDATE merchants SET name = 'Tea Shop (new owner)' WHERE id = $1`, p.MerchantID)
			},
			status: compensation.StatusApproved, code: compensation.CodeDiffersFromApproval},
		{name: "agent error: more authorized than approved", kind: compensation.KindAgentError,
			forge: func(w *world, p agentpay.Payment) {
				w.exec(`UPDATE payments SET authorized = 2200 WHERE id = $1`, p.ID)
			},
			status: compensation.StatusApproved, code: compensation.CodeDiffersFromApproval},
		{name: "not received", kind: compensation.KindNotReceived,
			status: compensation.StatusInReview, code: compensation.CodeMerchantDispute},
		{name: "not received even without approval", kind: compensation.KindNotReceived,
			forge:  func(w *world, p agentpay.Payment) { w.exec(`DELETE FROM approvals WHERE subject = $1`, p.ID) },
			status: compensation.StatusInReview, code: compensation.CodeMerchantDispute},
		{name: "duplicate without a twin", kind: compensation.KindDuplicate,
			status: compensation.StatusInReview, code: compensation.CodeNoDuplicateFound},
	} {
		t.Run(c.name, func(t *testing.T) {
			engines(t, func(t *testing.T, w *world) {
				p := w.paid(order(tea)) // 21.00
				if c.forge != nil {
					c.forge(w, p)
				}
				before := w.money()
				claim := w.mustFile(p, c.kind)
				if claim.Status != c.status || claim.DecisionCode != c.code || claim.Amount != 2100 {
					t.Fatalf("claim %+v, want %s %s", claim, c.status, c.code)
				}
				if stored, err := w.db.Claim(w.ctx, claim.ID); err != nil || stored != claim {
					t.Fatalf("stored claim %+v, %v; answered %+v", stored, err, claim)
				}
				if c.check != nil {
					c.check(t, evidenceOf(t, claim))
				}
				after := w.money()
				q, err := w.db.Payment(w.ctx, p.ID)
				if err != nil {
					t.Fatal(err)
				}
				if c.status == compensation.StatusInReview {
					if after != before || claim.DecidedBy != "" || q.Refunded != 0 {
						t.Fatalf("a claim in review moved money: %+v → %+v, payment %+v", before, after, q)
					}
					if got := strings.Join(w.events(claim.ID), ","); got != "claim.opened,claim.in_review" {
						t.Fatalf("events %s", got)
					}
				} else {
					// Made whole at once; the merchant pays back what its
					// balance holds (the capture minus the fee: 2 short).
					recovered := min(2100, before.merchant)
					if claim.DecidedBy != compensation.DecidedByAuto || claim.Recovered != recovered || claim.Debt != 2100-recovered ||
						claim.ReimbursementTransferID == "" || claim.RecoveryTransferID == "" || claim.DecidedAt == 0 {
						t.Fatalf("approved claim %+v", claim)
					}
					want := money{before.wallet + 2100, before.merchant - recovered, before.fund - 2100 + recovered}
					if after != want {
						t.Fatalf("money %+v, want %+v", after, want)
					}
					if q.Refunded != 2100 || q.Status != agentpay.PaymentRefunded {
						t.Fatalf("payment after the claim %+v", q)
					}
					for _, id := range []string{claim.ReimbursementTransferID, claim.RecoveryTransferID} {
						tr, err := w.db.Transfer(w.ctx, id)
						if err != nil || tr.Reference != claim.ID {
							t.Fatalf("transfer %s: %+v, %v", id, tr, err)
						}
					}
					if got := strings.Join(w.events(claim.ID), ","); got != "claim.opened,claim.approved" {
						t.Fatalf("events %s", got)
					}
					pe := w.events(p.ID)
					if pe[len(pe)-1] != "payment.refunded" {
						t.Fatalf("payment events %v", pe)
					}
					// A merchant refund can no longer pay the user twice.
					_, err := w.refund(q, 1)
					wantCode(t, "merchant refund after the claim", err, "payment_refunded")
				}
				w.checkLedger()
			})
		})
	}
}

// Two identical payments within 10 minutes: the later one is a duplicate.
func TestDuplicateAdjudication(t *testing.T) {
	engines(t, func(t *testing.T, w *world) {
		first := w.paid(order(tea))
		w.clock.advance(4 * time.Minute)
		other := w.paid(order(agentpay.LineItem{Name: "Green tea", Quantity: 1, UnitAmount: 2000})) // same total, other items
		w.clock.advance(5 * time.Minute)
		second := w.paid(order(tea))
		w.clock.advance(11 * time.Minute)
		late := w.paid(order(tea)) // 11 minutes after the second

		c := w.mustFile(second, compensation.KindDuplicate)
		if c.Status != compensation.StatusApproved || c.DecisionCode != compensation.CodeDuplicatePayment {
			t.Fatalf("claim on the duplicate %+v", c)
		}
		if ev := evidenceOf(t, c); ev.DuplicateOf != first.ID || ev.Candidates != 2 {
			t.Fatalf("evidence %+v, want duplicate of %s among 2", ev, first.ID)
		}
		for _, p := range []agentpay.Payment{first, other, late} {
			if c := w.mustFile(p, compensation.KindDuplicate); c.Status != compensation.StatusInReview ||
				c.DecisionCode != compensation.CodeNoDuplicateFound {
				t.Fatalf("claim on %s: %+v", p.ID, c)
			}
		}
		w.checkLedger()
	})
}

// Operators decide claims in review: approve with or without recovering
// from the merchant, or deny.
func TestOperatorDecisions(t *testing.T) {
	for _, c := range []struct {
		name     string
		decision compensation.Decision
		drain    bool // the merchant paid out everything before the decision
		status   string
		code     string
	}{
		{"approve and recover", compensation.Decision{Approve: true, Recover: true, Note: "merchant never shipped"},
			false, compensation.StatusApproved, compensation.CodeOperatorApproved},
		{"approve without recovering", compensation.Decision{Approve: true, Note: "goodwill"},
			false, compensation.StatusApproved, compensation.CodeOperatorApproved},
		{"approve and recover from a merchant without balance", compensation.Decision{Approve: true, Recover: true},
			true, compensation.StatusApproved, compensation.CodeOperatorApproved},
		{"deny", compensation.Decision{Note: "tracking shows delivery"},
			false, compensation.StatusDenied, compensation.CodeOperatorDenied},
	} {
		t.Run(c.name, func(t *testing.T) {
			engines(t, func(t *testing.T, w *world) {
				w.paid(order(tea)) // the merchant has more than this payment
				p := w.paid(order(tea))
				claim := w.mustFile(p, compensation.KindNotReceived)
				if claim.Status != compensation.StatusInReview {
					t.Fatalf("filed %+v", claim)
				}
				if c.drain {
					w.payout(0)
				}
				before := w.money()
				decided, err := w.claims.Decide(w.ctx, claim.ID, c.decision)
				if err != nil {
					t.Fatal(err)
				}
				if decided.Status != c.status || decided.DecisionCode != c.code || decided.DecidedBy != compensation.DecidedByOperator ||
					decided.DecisionNote != c.decision.Note || decided.Version != 3 {
					t.Fatalf("decided %+v", decided)
				}
				after := w.money()
				q, err := w.db.Payment(w.ctx, p.ID)
				if err != nil {
					t.Fatal(err)
				}
				var recovered int64
				switch {
				case !c.decision.Approve:
					if after != before || q.Refunded != 0 {
						t.Fatalf("a denial moved money: %+v → %+v", before, after)
					}
				case c.decision.Recover && c.drain:
					if decided.Recovered != 0 || decided.Debt != 2100 || decided.RecoveryTransferID != "" {
						t.Fatalf("debt not recorded: %+v", decided)
					}
				case c.decision.Recover:
					recovered = 2100
					if decided.Recovered != 2100 || decided.Debt != 0 {
						t.Fatalf("recovery %+v", decided)
					}
				default:
					if decided.Recovered != 0 || decided.Debt != 0 || decided.RecoveryTransferID != "" {
						t.Fatalf("recovered without being asked: %+v", decided)
					}
				}
				if c.decision.Approve {
					want := money{before.wallet + 2100, before.merchant - recovered, before.fund - 2100 + recovered}
					if after != want || q.Refunded != 2100 {
						t.Fatalf("money %+v, want %+v; payment %+v", after, want, q)
					}
				}
				wantTypes := "claim.opened,claim.in_review,claim." + c.status
				if got := strings.Join(w.events(claim.ID), ","); got != wantTypes {
					t.Fatalf("events %s, want %s", got, wantTypes)
				}
				_, err = w.claims.Decide(w.ctx, claim.ID, compensation.Decision{Approve: true, Recover: true})
				wantCode(t, "deciding again", err, "claim_decided")
				if after2 := w.money(); after2 != after {
					t.Fatalf("deciding again moved money")
				}
				if !c.decision.Approve {
					// A denied claim leaves the payment open to a new claim.
					again := w.mustFile(p, compensation.KindUnauthorized)
					if again.ID == claim.ID || again.Status != compensation.StatusInReview {
						t.Fatalf("second claim %+v", again)
					}
				}
				w.checkLedger()
			})
		})
	}
}

// What a merchant owes on a claim is collected from its later balance.
func TestDebtCollection(t *testing.T) {
	engines(t, func(t *testing.T, w *world) {
		p := w.paid(order(tea))
		w.exec(`DELETE FROM approvals WHERE subject = $1`, p.ID)
		w.payout(500) // the merchant keeps 5.00
		claim := w.mustFile(p, compensation.KindUnauthorized)
		if claim.Status != compensation.StatusApproved || claim.Recovered != 500 || claim.Debt != 1600 {
			t.Fatalf("claim %+v", claim)
		}
		if n, err := w.claims.CollectDebts(w.ctx); err != nil || n != 0 {
			t.Fatalf("collecting from an empty merchant: %d, %v", n, err)
		}
		w.paid(order(agentpay.LineItem{Name: "Cake", Quantity: 1, UnitAmount: 900})) // 10.00, fee 0.01
		if n, err := w.claims.CollectDebts(w.ctx); err != nil || n != 1 {
			t.Fatalf("collecting: %d, %v", n, err)
		}
		c, err := w.db.Claim(w.ctx, claim.ID)
		if err != nil || c.Recovered != 500+999 || c.Debt != 1600-999 || c.Version != 3 {
			t.Fatalf("after collecting: %+v, %v", c, err)
		}
		if bal := w.balance(payments.MerchantAccountID(w.merchant.ID, "USD")); bal != 0 {
			t.Fatalf("merchant balance %d", bal)
		}
		if got := strings.Join(w.events(claim.ID), ","); got != "claim.opened,claim.approved,claim.recovered" {
			t.Fatalf("events %s", got)
		}
		w.paid(order(tea)) // 21.00: more than the rest of the debt
		if n, err := w.claims.CollectDebts(w.ctx); err != nil || n != 1 {
			t.Fatalf("collecting the rest: %d, %v", n, err)
		}
		if c, err = w.db.Claim(w.ctx, claim.ID); err != nil || c.Recovered != 2100 || c.Debt != 0 {
			t.Fatalf("after collecting the rest: %+v, %v", c, err)
		}
		if n, err := w.claims.CollectDebts(w.ctx); err != nil || n != 0 {
			t.Fatalf("nothing left to collect: %d, %v", n, err)
		}
		w.checkLedger()
	})
}

// What cannot be claimed is refused with a stable code and nothing is
// written.
func TestFilingRefusals(t *testing.T) {
	engines(t, func(t *testing.T, w *world) {
		p := w.paid(order(tea))
		bob := w.newUser("bob@example.com")
		for _, c := range []struct {
			name string
			req  compensation.FileRequest
			code string
		}{
			{"unknown kind", compensation.FileRequest{UserID: w.user.ID, PaymentID: p.ID, Kind: "regret"}, "invalid_kind"},
			{"description too long", compensation.FileRequest{UserID: w.user.ID, PaymentID: p.ID, Kind: compensation.KindNotReceived,
				Description: strings.Repeat("x", compensation.DescriptionLengthMax+1)}, "invalid_description"},
			{"description with NUL", compensation.FileRequest{UserID: w.user.ID, PaymentID: p.ID, Kind: compensation.KindNotReceived,
				Description: "a\x00b"}, "invalid_description"},
			{"no payment", compensation.FileRequest{UserID: w.user.ID, Kind: compensation.KindNotReceived}, "missing_payment"},
			{"unknown payment", compensation.FileRequest{UserID: w.user.ID, PaymentID: "pay_nope", Kind: compensation.KindNotReceived}, "payment_not_found"},
			{"malformed payment id", compensation.FileRequest{UserID: w.user.ID, PaymentID: "pay_\x00", Kind: compensation.KindNotReceived}, "payment_not_found"},
			{"another user's payment", compensation.FileRequest{UserID: bob.ID, PaymentID: p.ID, Kind: compensation.KindUnauthorized}, "payment_not_found"},
		} {
			t.Run(c.name, func(t *testing.T) {
				_, err := w.claims.File(w.ctx, c.req)
				wantCode(t, c.name, err, c.code)
			})
		}

		// Not captured yet: only held.
		held, u, err := w.pay.PrepareCreate(w.ctx, payments.CreateRequest{Grant: w.grant, MerchantID: w.merchant.ID, Asset: "USD", Order: order(tea)})
		if err == nil {
			held, err = w.pay.Commit(w.ctx, held, u)
		}
		if err != nil {
			t.Fatal(err)
		}
		_, err = w.file(held, compensation.KindUnauthorized)
		wantCode(t, "a payment waiting for approval", err, "payment_not_captured")

		// Refunded in full: nothing to claim; in part: the rest.
		full := w.paid(order(tea))
		if _, err := w.refund(full, 2100-2); err != nil { // the merchant's balance lacks the fee
			t.Fatal(err)
		}
		if full, err = w.refund(full, 2); err != nil {
			t.Fatal(err)
		}
		_, err = w.file(full, compensation.KindNotReceived)
		wantCode(t, "a payment refunded in full", err, "nothing_to_claim")
		part := w.paid(order(tea))
		if part, err = w.refund(part, 600); err != nil {
			t.Fatal(err)
		}
		if c := w.mustFile(part, compensation.KindNotReceived); c.Amount != 1500 {
			t.Fatalf("claim on a partly refunded payment: %+v", c)
		}

		// One claim at a time per payment.
		first := w.mustFile(p, compensation.KindNotReceived)
		_, err = w.file(p, compensation.KindUnauthorized)
		wantCode(t, "a second claim", err, "claim_exists")
		if list, err := w.db.ClaimsOfPayment(w.ctx, p.ID); err != nil || len(list) != 1 || list[0].ID != first.ID {
			t.Fatalf("claims of the payment: %v, %v", list, err)
		}

		// The claim window: 90 days after the capture, and not a second more.
		late := w.paid(order(tea))
		w.clock.advance(compensation.Window)
		edge := w.mustFile(late, compensation.KindNotReceived)
		if _, err := w.claims.Decide(w.ctx, edge.ID, compensation.Decision{}); err != nil {
			t.Fatal(err)
		}
		w.clock.advance(time.Second)
		_, err = w.file(late, compensation.KindNotReceived)
		wantCode(t, "a claim after the window", err, "claim_window_passed")
		w.checkLedger()
	})
}

// A merchant refund between filing and approval is not paid twice: the
// claim pays what is left, or closes without payment when nothing is.
func TestRefundBeforeApproval(t *testing.T) {
	engines(t, func(t *testing.T, w *world) {
		w.paid(order(tea)) // the merchant has money beyond each payment
		part := w.paid(order(tea))
		full := w.paid(order(tea))
		cp := w.mustFile(part, compensation.KindNotReceived)
		cf := w.mustFile(full, compensation.KindNotReceived)
		if _, err := w.refund(part, 700); err != nil {
			t.Fatal(err)
		}
		if _, err := w.refund(full, 2100); err != nil {
			t.Fatal(err)
		}
		before := w.money()
		c, err := w.claims.Decide(w.ctx, cp.ID, compensation.Decision{Approve: true})
		if err != nil || c.Status != compensation.StatusApproved || c.Amount != 1400 || evidenceOf(t, c).RefundedMeanwhile != 700 {
			t.Fatalf("approved after a partial refund: %+v, %v", c, err)
		}
		c, err = w.claims.Decide(w.ctx, cf.ID, compensation.Decision{Approve: true})
		if err != nil || c.Status != compensation.StatusDenied || c.DecisionCode != compensation.CodeAlreadyRefunded {
			t.Fatalf("approved after a full refund: %+v, %v", c, err)
		}
		if after := w.money(); after.wallet != before.wallet+1400 || after.fund != before.fund-1400 {
			t.Fatalf("money %+v → %+v", before, after)
		}
		w.checkLedger()
	})
}

// Many deciders at once — operators, the filing request, the background
// job — reimburse a claim once.
func TestConcurrentDecisionsReimburseOnce(t *testing.T) {
	engines(t, func(t *testing.T, w *world) {
		w.paid(order(tea))
		p := w.paid(order(tea))
		claim := w.mustFile(p, compensation.KindNotReceived)
		before := w.money()
		var wg sync.WaitGroup
		var mu sync.Mutex
		outcomes := map[string]int{}
		for range 20 {
			wg.Go(func() {
				_, err := w.claims.Decide(w.ctx, claim.ID, compensation.Decision{Approve: true, Recover: true})
				code := "ok"
				if err != nil {
					code = agentpay.ErrorCode(err)
				}
				mu.Lock()
				outcomes[code]++
				mu.Unlock()
			})
		}
		wg.Wait()
		if outcomes["ok"] != 1 || outcomes["claim_decided"] != 19 {
			t.Fatalf("outcomes %v", outcomes)
		}
		if after := w.money(); after.wallet != before.wallet+2100 || after.fund != before.fund {
			t.Fatalf("money %+v → %+v", before, after)
		}

		// Filing races: one claim per payment.
		q := w.paid(order(tea))
		outcomes = map[string]int{}
		for range 10 {
			wg.Go(func() {
				_, err := w.file(q, compensation.KindNotReceived)
				code := "ok"
				if err != nil {
					code = agentpay.ErrorCode(err)
				}
				mu.Lock()
				outcomes[code]++
				mu.Unlock()
			})
		}
		wg.Wait()
		if list, err := w.db.ClaimsOfPayment(w.ctx, q.ID); err != nil || len(list) != 1 || outcomes["ok"] != 1 {
			t.Fatalf("claims %v, %v after %v", list, err, outcomes)
		}
		for code := range outcomes {
			if code != "ok" && code != "claim_exists" {
				t.Fatalf("outcomes %v", outcomes)
			}
		}
		w.checkLedger()
	})
}

// A claim left open (its node stopped before adjudicating) is decided by
// the background job once its grace has passed.
func TestJobAdjudicatesOpenClaims(t *testing.T) {
	engines(t, func(t *testing.T, w *world) {
		p := w.paid(order(tea))
		c, u, err := w.claims.PrepareFile(w.ctx, compensation.FileRequest{UserID: w.user.ID, PaymentID: p.ID, Kind: compensation.KindNotReceived})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.db.Committer.Submit(w.ctx, u).Err; err != nil {
			t.Fatal(err)
		}
		if n, err := w.claims.AdjudicateOpen(w.ctx); err != nil || n != 0 {
			t.Fatalf("within the grace: %d, %v", n, err)
		}
		w.clock.advance(time.Minute)
		if err := w.claims.Job().Run(w.ctx); err != nil {
			t.Fatal(err)
		}
		if c, err = w.db.Claim(w.ctx, c.ID); err != nil || c.Status != compensation.StatusInReview {
			t.Fatalf("after the job: %+v, %v", c, err)
		}
		w.checkLedger()
	})
}
