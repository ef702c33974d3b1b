package payments_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/agentauth"
	"github.com/agentpay/agentpay/compensation"
	"github.com/agentpay/agentpay/linking"
	"github.com/agentpay/agentpay/payments"
	"github.com/agentpay/agentpay/risk"
	"github.com/agentpay/agentpay/store"
)

// grantForKey links the agent key pub to userID, as a second user linking
// the same agent software would (or a thief holding its key).
func (w *world) grantForKey(userID string, pub ed25519.PublicKey, l agentpay.GrantLimits) agentpay.Grant {
	w.t.Helper()
	links := &linking.Service{DB: w.db, Now: w.clock.Now}
	st, err := links.Start(w.ctx, linking.StartRequest{PublicKeyJWK: agentauth.JWK(pub), AgentName: "Shopper", SoftwareID: "com.example.shopper",
		Scopes: []agentpay.Scope{agentpay.ScopePaymentsCreate, agentpay.ScopePaymentsRead}, Limits: l}, linking.RequestMeta{RemoteIP: "203.0.113.9"})
	if err != nil {
		w.t.Fatal(err)
	}
	g, err := links.Approve(w.ctx, st.Link.UserCode, linking.Approval{UserID: userID})
	if err != nil {
		w.t.Fatal(err)
	}
	return g
}

// decisions returns a payment's stored risk decisions.
func (w *world) decisions(id string) []store.RiskDecision {
	w.t.Helper()
	ds, err := w.db.RiskDecisions(w.ctx, id)
	if err != nil {
		w.t.Fatal(err)
	}
	return ds
}

// reasonCodes returns the reason codes of a stored decision.
func reasonCodes(t testing.TB, d store.RiskDecision) []string {
	t.Helper()
	var rs []risk.Reason
	if err := json.Unmarshal([]byte(d.Reasons), &rs); err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, r := range rs {
		codes = append(codes, r.Code)
	}
	return codes
}

// wantDecision checks a payment's last decision: its stage, outcome and
// that it names reason (if given).
func (w *world) wantDecision(p agentpay.Payment, stage string, outcome risk.Outcome, reason string) store.RiskDecision {
	w.t.Helper()
	ds := w.decisions(p.ID)
	if len(ds) == 0 {
		w.t.Fatalf("payment %s has no risk decision", p.ID)
	}
	d := ds[len(ds)-1]
	codes := reasonCodes(w.t, d)
	if d.Stage != stage || d.Outcome != string(outcome) || (reason != "" && !strings.Contains(strings.Join(codes, ","), reason)) {
		w.t.Fatalf("last decision of %s: %s %s %v; want %s %s naming %q", p.ID, d.Stage, d.Outcome, codes, stage, outcome, reason)
	}
	if d.PaymentVersion != p.Version || d.RulesVersion < 0 || !json.Valid([]byte(d.Signals)) {
		w.t.Fatalf("decision %+v does not record the version or signals", d)
	}
	return d
}

func (w *world) wantStatus(p agentpay.Payment, status agentpay.PaymentStatus) {
	w.t.Helper()
	got, err := w.db.Payment(w.ctx, p.ID)
	if err != nil {
		w.t.Fatal(err)
	}
	if got.Status != status {
		w.t.Fatalf("payment %s is %s, want %s", p.ID, got.Status, status)
	}
}

// Every creation and approval is decided, and the decision is stored with
// the signals it used: a first payment to a merchant is a challenge shown
// to the user; once the user paid there, the next is allowed; the user's
// history and the counters add up across payments.
func TestRiskDecisionsAreStoredWithTheirSignals(t *testing.T) {
	engines(t, func(t *testing.T, w *world) {
		p := w.create(order(tea))
		d := w.wantDecision(p, "create", risk.Challenge, "first_payment_to_merchant")
		var sig risk.Signals
		if err := json.Unmarshal([]byte(d.Signals), &sig); err != nil {
			t.Fatal(err)
		}
		if !sig.Merchant.FirstPayment || sig.Payment.Amount != p.Totals.Total || sig.Velocity.Grant.M1.Count != 0 ||
			sig.AgentKey.UsersH1 != 1 || sig.User.Tier != int64(agentpay.TierContact) {
			t.Fatalf("signals of the first payment: %+v", sig)
		}
		if _, err := w.approve(p); err != nil {
			t.Fatal(err)
		}
		w.wantDecision(p, "approve", risk.Challenge, "first_payment_to_merchant")

		q := w.create(order(tea))
		d = w.wantDecision(q, "create", risk.Allow, "")
		if err := json.Unmarshal([]byte(d.Signals), &sig); err != nil {
			t.Fatal(err)
		}
		if sig.Merchant.FirstPayment || sig.Velocity.Grant.M1.Count != 1 || sig.Velocity.User.M1.Amount != p.Totals.Total ||
			sig.User.HistoryCount != 1 || sig.AgentKey.UsersH1 != 1 || sig.AgentKey.Decisions24h != 2 {
			t.Fatalf("signals of the second payment: %+v", sig)
		}
		w.checkLedger()
	})
}

// The scenarios of attacks on agents: each is stopped (denied, or held
// for an operator) or shown to the user with its reason, and no money
// moves without a passkey approval.
func TestRiskScenarios(t *testing.T) {
	limits := agentpay.GrantLimits{Asset: "USD", PerPayment: 150_00, PerDay: 400_00, PerMonth: 1_000_00}

	t.Run("prompt-injected payee swap", func(t *testing.T) {
		engines(t, func(t *testing.T, w *world) {
			// The agent was asked for tea; an injected instruction makes it
			// pay a gift-card seller the user never paid.
			thief := w.newMerchant("Crypto Gift Cards Ltd", "5999", "USD")
			o := agentpay.Order{Items: []agentpay.LineItem{{Name: "Gift card 100", Quantity: 1, UnitAmount: 100_00}},
				Totals: agentpay.Totals{Subtotal: 100_00, Total: 100_00}, Purpose: "buy green tea for the office"}
			// A grant kept to food shops refuses it outright.
			food := w.newGrant(w.user.ID, limits, []string{"5499"})
			_, err := w.commit(w.svc.PrepareCreate(w.ctx, payments.CreateRequest{Grant: food, MerchantID: thief.ID, Asset: "USD", Order: o}))
			wantCode(t, "a payee outside the grant's categories", err, "merchant_category_not_allowed")
			// Without categories, the user is shown both reasons before
			// any passkey prompt, and declining moves nothing.
			p, err := w.commit(w.svc.PrepareCreate(w.ctx, payments.CreateRequest{Grant: w.grant, MerchantID: thief.ID, Asset: "USD", Order: o}))
			if err != nil {
				t.Fatal(err)
			}
			w.wantDecision(p, "create", risk.Challenge, "first_payment_to_merchant,intent_mismatch")
			if _, err := w.commit(w.svc.PrepareCancel(w.ctx, agentpay.ActorUser, p, "not what I asked for")); err != nil {
				t.Fatal(err)
			}
			if posted, pending := w.balance(w.wallet); posted != 1_000_00 || pending != 0 {
				t.Fatalf("wallet %d, %d held", posted, pending)
			}
			w.checkLedger()
		})
	})

	t.Run("prompt-injected payee swap approved anyway is made whole", func(t *testing.T) {
		engines(t, func(t *testing.T, w *world) {
			thief := w.newMerchant("Crypto Gift Cards Ltd", "5999", "USD")
			o := agentpay.Order{Items: []agentpay.LineItem{{Name: "Gift card 100", Quantity: 1, UnitAmount: 100_00}},
				Totals: agentpay.Totals{Subtotal: 100_00, Total: 100_00}, Purpose: "buy green tea for the office"}
			p, err := w.commit(w.svc.PrepareCreate(w.ctx, payments.CreateRequest{Grant: w.grant, MerchantID: thief.ID, Asset: "USD", Order: o}))
			if err != nil {
				t.Fatal(err)
			}
			w.wantDecision(p, "create", risk.Challenge, "intent_mismatch")
			// The user approved in a hurry, the merchant took the money.
			if _, err := w.approve(p); err != nil {
				t.Fatal(err)
			}
			if _, err := w.commit(w.svc.PrepareCapture(w.ctx, thief.ID, p.ID, 0)); err != nil {
				t.Fatal(err)
			}
			claims := &compensation.Service{DB: w.db, Payments: w.svc, Passkeys: w.pk, Now: w.clock.Now}
			c, err := claims.File(w.ctx, compensation.FileRequest{UserID: w.user.ID, PaymentID: p.ID, Kind: compensation.KindAgentError,
				Description: "my agent bought gift cards instead of tea"})
			if err != nil {
				t.Fatal(err)
			}
			// A valid approval of exactly this is on record: a person
			// decides, and decides for the user.
			if c.Status != compensation.StatusInReview || c.DecisionCode != "approval_on_record" {
				t.Fatalf("claim %+v", c)
			}
			if c, err = claims.Decide(w.ctx, c.ID, compensation.Decision{Approve: true, Recover: true, Note: "injected payee"}); err != nil {
				t.Fatal(err)
			}
			if posted, pending := w.balance(w.wallet); posted != 1_000_00 || pending != 0 || c.Recovered+c.Debt != 100_00 {
				t.Fatalf("after the claim: wallet %d (%d held), claim %+v", posted, pending, c)
			}
			w.checkLedger()
		})
	})

	t.Run("amount inflation", func(t *testing.T) {
		engines(t, func(t *testing.T, w *world) {
			small := agentpay.LineItem{Name: "Green tea", Quantity: 1, UnitAmount: 900} // 10.00 with tax
			for range 6 {
				p := w.create(order(small))
				if _, err := w.approve(p); err != nil {
					t.Fatal(err)
				}
				w.clock.advance(10 * time.Minute) // not a burst
			}
			// Three times the usual: the user is shown why.
			p := w.create(order(agentpay.LineItem{Name: "Green tea", Quantity: 3, UnitAmount: 1000}))
			w.wantDecision(p, "create", risk.Challenge, "amount_unusual")
			if p.Status != agentpay.PaymentRequiresApproval {
				t.Fatalf("status %s", p.Status)
			}
			// Far beyond anything the user pays: held for an operator.
			p = w.create(order(agentpay.LineItem{Name: "Green tea", Quantity: 14, UnitAmount: 1000}))
			w.wantDecision(p, "create", risk.Review, "amount_extreme")
			if p.Status != agentpay.PaymentInReview {
				t.Fatalf("status %s, want in_review", p.Status)
			}
			w.checkLedger()
		})
	})

	t.Run("one stolen agent key across 50 users", func(t *testing.T) {
		engines(t, func(t *testing.T, w *world) {
			pub, _, _ := ed25519.GenerateKey(rand.Reader)
			var held, open int
			for i := range 50 {
				u := w.newUser(fmt.Sprintf("victim%d@example.com", i), true)
				g := w.grantForKey(u.ID, pub, limits)
				p, err := w.commit(w.prepareCreate(g, order(tea)))
				if err != nil {
					t.Fatal(err)
				}
				switch p.Status {
				case agentpay.PaymentInReview:
					held++
					w.wantDecision(p, "create", risk.Review, "agent_key_fanout")
				case agentpay.PaymentRequiresApproval:
					open++
					if held > 0 {
						t.Fatalf("user %d's payment was let through after others were held", i)
					}
				default:
					if i != 49 || p.Status != agentpay.PaymentDeclined || p.DeclineCode != payments.DeclineRisk {
						t.Fatalf("user %d: %s %s", i, p.Status, p.DeclineCode)
					}
					w.wantDecision(p, "create", risk.Deny, "agent_key_fanout_extreme")
				}
			}
			// The first 19 users' payments still wait for each user's own
			// passkey; from the 20th user on, the key is held.
			if open != 19 || held != 30 {
				t.Fatalf("%d waiting for their users, %d held; want 19 and 30", open, held)
			}
			w.checkLedger()
		})
	})

	t.Run("rapid small payments under the limit", func(t *testing.T) {
		engines(t, func(t *testing.T, w *world) {
			// Start on a minute: the burst stays in one minute's bucket.
			now := w.clock.Now()
			w.clock.advance(now.Truncate(time.Minute).Add(time.Minute).Sub(now))
			coin := agentpay.LineItem{Name: "Sticker", Quantity: 1, UnitAmount: 1}
			var statuses []agentpay.PaymentStatus
			for i := range 8 {
				p := w.create(order(coin))
				statuses = append(statuses, p.Status)
				w.clock.advance(time.Second)
				if i == 4 {
					// Approving the fifth counts it once, not twice: four
					// others in the minute do not hold it.
					if a, err := w.approve(p); err != nil || a.Status != agentpay.PaymentAuthorized {
						t.Fatalf("approving the fifth: %s, %v", a.Status, err)
					}
				}
			}
			// Five in a minute from one user is the most that passes.
			for i, s := range statuses {
				want := agentpay.PaymentRequiresApproval
				if i >= 5 {
					want = agentpay.PaymentInReview
				}
				if s != want {
					t.Fatalf("payment %d is %s, want %s (all: %v)", i, s, want, statuses)
				}
			}
			last, err := w.db.Payments(w.ctx, store.PaymentPage{Owner: "grant_id", ID: w.grant.ID, Limit: 1})
			if err != nil {
				t.Fatal(err)
			}
			w.wantDecision(last[0], "create", risk.Review, "velocity_user_m1")
			w.checkLedger()
		})
	})
}

// Risk control decides again at approval: a payment it would hold now is
// held even though the user approved it, and nothing is held in the
// ledger. An operator's release hands it back to the user, who approves
// again; a rejection declines it; an undecided one expires.
func TestReviewAtApprovalAndOperatorDecisions(t *testing.T) {
	engines(t, func(t *testing.T, w *world) {
		held := "hold_at_approval review \"held at approval\" stage == \"approve\"\n"
		p := w.create(order(tea))
		if _, err := w.svc.SaveRules(w.ctx, risk.DefaultRules+held); err != nil {
			t.Fatal(err)
		}
		got, err := w.approve(p)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != agentpay.PaymentInReview || got.Authorized != 0 || got.HoldID != "" {
			t.Fatalf("approved under review: %+v", got)
		}
		w.wantDecision(got, "approve", risk.Review, "hold_at_approval")
		if _, pending := w.balance(w.wallet); pending != 0 {
			t.Fatalf("%d held for a payment under review", pending)
		}

		// Released: back to the user, with a fresh approval window.
		if _, err := w.svc.SaveRules(w.ctx, risk.DefaultRules); err != nil {
			t.Fatal(err)
		}
		w.clock.advance(time.Hour)
		rel, err := w.commit(w.svc.PrepareRelease(w.ctx, p.ID, "the user confirmed by phone"))
		if err != nil {
			t.Fatal(err)
		}
		if rel.Status != agentpay.PaymentRequiresApproval || rel.ApprovalExpiresAt <= w.clock.Now().UnixMicro() {
			t.Fatalf("released: %+v", rel)
		}
		_, err = w.commit(w.svc.PrepareRelease(w.ctx, p.ID, ""))
		wantCode(t, "release twice", err, "payment_requires_approval")
		auth, err := w.approve(rel)
		if err != nil {
			t.Fatal(err)
		}
		if auth.Status != agentpay.PaymentAuthorized {
			t.Fatalf("after release and approval: %s", auth.Status)
		}
		ds := w.decisions(p.ID)
		stages := make([]string, len(ds))
		for i, d := range ds {
			stages[i] = d.Stage + ":" + d.Outcome
		}
		if strings.Join(stages, " ") != "create:challenge approve:review review:allow approve:challenge" {
			t.Fatalf("decisions: %v", stages)
		}

		// Rejected: declined, and the operator's note is kept with it.
		if _, err := w.svc.SaveRules(w.ctx, risk.DefaultRules+"hold_all review \"held\" true\n"); err != nil {
			t.Fatal(err)
		}
		q := w.create(order(tea))
		w.wantStatus(q, agentpay.PaymentInReview)
		rej, err := w.commit(w.svc.PrepareReject(w.ctx, q.ID, "card testing pattern"))
		if err != nil {
			t.Fatal(err)
		}
		if rej.Status != agentpay.PaymentDeclined || rej.DeclineCode != payments.DeclineReview {
			t.Fatalf("rejected: %+v", rej)
		}
		d := w.decisions(q.ID)[1]
		if d.Stage != "review" || d.Outcome != "deny" || !strings.Contains(d.Reasons, "card testing pattern") {
			t.Fatalf("the rejection was not recorded: %+v", d)
		}
		_, err = w.commit(w.svc.PrepareReject(w.ctx, q.ID, ""))
		wantCode(t, "reject a declined payment", err, "payment_declined")

		// Undecided: expires after the review window.
		x := w.create(order(tea))
		w.clock.advance(agentpay.PaymentReviewTTL - time.Minute)
		if n, err := w.svc.ExpireDue(w.ctx); err != nil || n != 0 {
			t.Fatalf("expired %d early: %v", n, err)
		}
		w.clock.advance(2 * time.Minute)
		if _, err := w.svc.ExpireDue(w.ctx); err != nil {
			t.Fatal(err)
		}
		w.wantStatus(x, agentpay.PaymentExpired)
		w.checkLedger()
	})
}

// An agent key whose payments risk control keeps denying is suspended for
// every user, once, with an event; an operator who lifts the suspension
// is not overruled by the next denial.
func TestContainmentSuspendsAKey(t *testing.T) {
	engines(t, func(t *testing.T, w *world) {
		w.svc.Risk = risk.NewEngine(risk.MustCompile("deny_all deny \"no\" true\n"), 1)
		id := store.AgentSuspensionID("key", w.grant.AgentKeyID)
		for i := range 20 {
			if _, found, err := w.db.AgentSuspensionByID(w.ctx, id); err != nil || found {
				t.Fatalf("suspended after %d denials: %v", i, err)
			}
			p := w.create(order(tea))
			if p.Status != agentpay.PaymentDeclined || p.DeclineCode != payments.DeclineRisk {
				t.Fatalf("payment %d: %s %s", i, p.Status, p.DeclineCode)
			}
			w.clock.advance(time.Minute)
		}
		s, found, err := w.db.AgentSuspensionByID(w.ctx, id)
		if err != nil || !found || !s.Suspended {
			t.Fatalf("after 20 denials: %+v %v %v", s, found, err)
		}
		var events int
		if err := w.db.Reader().QueryRow(`SELECT COUNT(*) FROM events WHERE type = 'agent_key.suspended' AND object_id = $1`, id).Scan(&events); err != nil {
			t.Fatal(err)
		}
		if events != 1 {
			t.Fatalf("%d suspension events, want 1", events)
		}
		// The operator lifts it; more denials do not suspend it again.
		if err := w.db.Committer.Submit(w.ctx, &store.Unit{Updates: []store.Update{{Table: store.AgentSuspensionsTable, Key: id,
			Version: s.Version, Set: []string{"suspended"}, Values: []any{int64(0)}}}}).Err; err != nil {
			t.Fatal(err)
		}
		w.create(order(tea))
		if s, _, _ := w.db.AgentSuspensionByID(w.ctx, id); s.Suspended {
			t.Fatal("containment overruled the operator")
		}
	})
}

// Rule sets are versioned: a broken one is refused naming its line, an
// unchanged one saves nothing, and another node sharing the database puts
// the newest in force.
func TestRiskRulesVersions(t *testing.T) {
	engines(t, func(t *testing.T, w *world) {
		_, err := w.svc.SaveRules(w.ctx, "# comment\n\nbad_rule review \"x\" payment.amont > 1\n")
		wantCode(t, "broken rules", err, "invalid_rules")
		if !strings.Contains(err.Error(), "line 3") {
			t.Fatalf("the error does not name line 3: %v", err)
		}
		v1, err := w.svc.SaveRules(w.ctx, risk.DefaultRules)
		if err != nil || v1 != 1 {
			t.Fatalf("first save: %d %v", v1, err)
		}
		if v, err := w.svc.SaveRules(w.ctx, risk.DefaultRules); err != nil || v != 1 {
			t.Fatalf("saving the same rules: %d %v", v, err)
		}
		other := &payments.Service{DB: w.db, Identity: w.ids, Now: w.clock.Now}
		v2, err := w.svc.SaveRules(w.ctx, "big review \"big\" payment.amount > 100\n")
		if err != nil || v2 != 2 {
			t.Fatalf("second save: %d %v", v2, err)
		}
		if v, err := other.LoadRules(w.ctx); err != nil || v != 2 {
			t.Fatalf("the other node loaded %d, %v", v, err)
		}
		if rs, v := other.RiskEngine().Rules(); v != 2 || rs.Len() != 1 {
			t.Fatalf("the other node's rules: version %d, %d rules", v, rs.Len())
		}
		p := w.create(order(tea))
		w.wantDecision(p, "create", risk.Review, "big")
		if d := w.decisions(p.ID)[0]; d.RulesVersion != 2 {
			t.Fatalf("decided by rules version %d, want 2", d.RulesVersion)
		}
	})
}
