package linking_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/agentauth"
	"github.com/agentpay/agentpay/identity"
	"github.com/agentpay/agentpay/linking"
	"github.com/agentpay/agentpay/payments"
	"github.com/agentpay/agentpay/risk"
	"github.com/agentpay/agentpay/store"
	"github.com/agentpay/agentpay/store/storetest"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

var tipLimits = agentpay.GrantLimits{Asset: "USD", PerPayment: 10_00, PerDay: 20_00, PerMonth: 100_00}

// startTipper starts linking an agent that asks for payments and tips
// with tips, and returns its user code.
func startTipper(t *testing.T, svc *linking.Service, tips linking.TipTerms) string {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	st, err := svc.Start(context.Background(), linking.StartRequest{PublicKeyJWK: agentauth.JWK(pub), AgentName: "Reader",
		SoftwareID: "com.example.reader", Scopes: []agentpay.Scope{agentpay.ScopePaymentsCreate, agentpay.ScopeTips},
		Limits: tipLimits, Tips: tips}, linking.RequestMeta{})
	if err != nil {
		t.Fatal(err)
	}
	return st.Link.UserCode
}

func mandatesOf(t *testing.T, db *store.DB, grantID string) []agentpay.Mandate {
	t.Helper()
	ms, err := db.Mandates(context.Background(), store.MandatePage{Owner: "grant_id", ID: grantID, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func linkStatus(t *testing.T, svc *linking.Service, userCode string) agentpay.AgentLinkStatus {
	t.Helper()
	p, err := svc.Lookup(context.Background(), userCode)
	if err != nil {
		t.Fatal(err)
	}
	return p.Status
}

// An agent's tip terms are checked when it asks: nothing is recorded for
// terms that cannot be approved.
func TestStartTipTermsRefused(t *testing.T) {
	storetest.Engines(t, "linking", func(t *testing.T, open func() *store.DB) {
		svc := &linking.Service{DB: open()}
		pub, _, _ := ed25519.GenerateKey(rand.Reader)
		both := []agentpay.Scope{agentpay.ScopePaymentsCreate, agentpay.ScopeTips}
		for _, tt := range []struct {
			name        string
			scopes      []agentpay.Scope
			tips        linking.TipTerms
			code, param string
		}{
			{"negative per tip", both, linking.TipTerms{AutoApproveMax: -1}, "invalid_limit", "tip_auto_approve_max"},
			{"negative budget", both, linking.TipTerms{AutoApproveMax: 1_00, BudgetPerDay: -1}, "invalid_limit", "tip_budget_per_day"},
			{"budget above per day", both, linking.TipTerms{AutoApproveMax: 1_00, BudgetPerDay: 20_01}, "tip_budget_exceeds_per_day", "tip_budget_per_day"},
			{"per tip above per payment", both, linking.TipTerms{AutoApproveMax: 10_01, BudgetPerDay: 20_00}, "invalid_limit", "tip_auto_approve_max"},
			{"budget without tips scope", []agentpay.Scope{agentpay.ScopePaymentsCreate}, linking.TipTerms{AutoApproveMax: 1_00, BudgetPerDay: 5_00}, "tips_scope_required", "tip_budget_per_day"},
			{"per tip without tips scope", []agentpay.Scope{agentpay.ScopePaymentsCreate}, linking.TipTerms{AutoApproveMax: 1_00}, "tips_scope_required", "tip_auto_approve_max"},
			{"budget with auto-approve 0", both, linking.TipTerms{BudgetPerDay: 5_00}, "tip_auto_approve_required", "tip_budget_per_day"},
			{"budget below one tip", both, linking.TipTerms{AutoApproveMax: 5_00, BudgetPerDay: 4_99}, "tip_budget_below_auto_approve", "tip_budget_per_day"},
		} {
			_, err := svc.Start(context.Background(), linking.StartRequest{PublicKeyJWK: agentauth.JWK(pub), AgentName: "Reader",
				SoftwareID: "com.example.reader", Scopes: tt.scopes, Limits: tipLimits, Tips: tt.tips}, linking.RequestMeta{})
			var e *agentpay.Error
			if !asError(err, &e) || e.Kind != agentpay.EINVALID || e.Code != tt.code || e.Param != tt.param {
				t.Errorf("%s: %v, want invalid %s at %s", tt.name, err, tt.code, tt.param)
			}
		}
	})
}

func asError(err error, e **agentpay.Error) bool {
	x, ok := err.(*agentpay.Error)
	*e = x
	return ok
}

// Approving a link that asks for a tip budget makes the grant and its
// active tips mandate in one unit; the user may lower the terms, never
// raise them, and dropping the tips scope drops them.
func TestApproveMakesTipsMandate(t *testing.T) {
	storetest.Engines(t, "linking", func(t *testing.T, open func() *store.DB) {
		ctx := context.Background()
		db := open()
		c := &clock{now: time.Date(2026, 3, 10, 22, 30, 0, 0, time.UTC)}
		svc := &linking.Service{DB: db, Now: c.Now}
		ada := newUser(t, db, agentpay.TierContact)
		asked := linking.TipTerms{AutoApproveMax: 2_00, BudgetPerDay: 10_00}

		t.Run("refusals write nothing", func(t *testing.T) {
			code := startTipper(t, svc, asked)
			lowDay := agentpay.GrantLimits{Asset: "USD", PerPayment: 2_00, PerDay: 5_00, PerMonth: 100_00}
			for _, tt := range []struct {
				name string
				a    linking.Approval
				want string
			}{
				{"budget raised", linking.Approval{Tips: &linking.TipTerms{AutoApproveMax: 2_00, BudgetPerDay: 10_01}}, "tip_budget_raised"},
				{"per tip raised", linking.Approval{Tips: &linking.TipTerms{AutoApproveMax: 2_01, BudgetPerDay: 10_00}}, "tip_auto_approve_raised"},
				{"negative budget", linking.Approval{Tips: &linking.TipTerms{AutoApproveMax: 2_00, BudgetPerDay: -5}}, "invalid_limit"},
				{"budget with per tip 0", linking.Approval{Tips: &linking.TipTerms{BudgetPerDay: 5_00}}, "tip_auto_approve_required"},
				{"budget without the tips scope", linking.Approval{Scopes: []agentpay.Scope{agentpay.ScopePaymentsCreate}, Tips: &asked}, "tips_scope_required"},
				{"per day lowered below the budget", linking.Approval{Limits: &lowDay}, "tip_budget_exceeds_per_day"},
				{"unknown time zone", linking.Approval{TimeZone: "Mars/Olympus"}, "invalid_time_zone"},
				{"both ways of setting tips", linking.Approval{Tips: &asked, TipAutoApproveMax: 1_00}, "invalid_tips"},
			} {
				tt.a.UserID = ada
				if _, err := svc.Approve(ctx, code, tt.a); agentpay.ErrorCode(err) != tt.want {
					t.Errorf("%s: %v, want %s", tt.name, err, tt.want)
				}
			}
			if s := linkStatus(t, svc, code); s != agentpay.AgentLinkPending {
				t.Fatalf("after refusals the link is %s", s)
			}
			var n int
			if err := db.Reader().QueryRow(`SELECT COUNT(*) FROM mandates WHERE user_id = $1`, ada).Scan(&n); err != nil || n != 0 {
				t.Fatalf("%d mandates written by refusals (%v)", n, err)
			}
		})

		t.Run("as asked", func(t *testing.T) {
			code := startTipper(t, svc, asked)
			approved, unit, err := svc.PrepareApprove(ctx, code, linking.Approval{UserID: ada, TimeZone: "Europe/Paris"})
			if err != nil {
				t.Fatal(err)
			}
			if len(mandatesOf(t, db, approved.Grant.ID)) != 0 {
				t.Fatal("PrepareApprove wrote")
			}
			if err := db.Committer.Submit(ctx, unit).Err; err != nil {
				t.Fatal(err)
			}
			g := approved.Grant
			ms := mandatesOf(t, db, g.ID)
			if len(ms) != 1 || approved.TipsMandate == nil || ms[0].ID != approved.TipsMandate.ID {
				t.Fatalf("mandates %+v, approved %+v", ms, approved.TipsMandate)
			}
			m := ms[0]
			now := c.Now()
			// 22:30 UTC is 23:30 in Paris: its days start at Paris midnight.
			paris, _ := time.LoadLocation("Europe/Paris")
			if m.Kind != agentpay.MandateTips || m.Status != agentpay.MandateActive || m.UserID != ada || m.GrantID != g.ID ||
				m.MerchantID != "" || len(m.Categories) != 0 || m.Asset != "USD" || m.PerPaymentMax != 2_00 || m.Budget != 10_00 ||
				m.Period != (agentpay.Interval{Unit: agentpay.IntervalDay, Count: 1}) || m.TimeZone != "Europe/Paris" ||
				m.StartsAt != time.Date(2026, 3, 10, 0, 0, 0, 0, paris).UnixMicro() || m.EndsAt != g.ExpiresAt ||
				m.ApprovedAt != now.UnixMicro() || m.CreatedAt != g.CreatedAt || m.Description == "" {
				t.Fatalf("mandate %+v", m)
			}
			if g.TipAutoApproveMax != 2_00 {
				t.Fatalf("grant threshold %d", g.TipAutoApproveMax)
			}
			if got, ok, err := svc.TipsMandate(ctx, g); err != nil || !ok || got.ID != m.ID {
				t.Fatalf("TipsMandate = %+v %v %v", got, ok, err)
			}
			es, err := db.EventsOf(ctx, m.ID, 10)
			if err != nil || len(es) != 1 || es[0].Type != "mandate.approved" || es[0].Seq != 1 || es[0].UserID != ada {
				t.Fatalf("events %+v %v", es, err)
			}
			var data struct {
				Mandate, Grant, Status string
				Budget                 int64
			}
			if err := json.Unmarshal([]byte(es[0].Data), &data); err != nil || data.Mandate != m.ID || data.Grant != g.ID ||
				data.Status != "active" || data.Budget != 10_00 {
				t.Fatalf("event data %s (%v)", es[0].Data, err)
			}
		})

		t.Run("lowered, with the grant's categories", func(t *testing.T) {
			code := startTipper(t, svc, asked)
			g, err := svc.Approve(ctx, code, linking.Approval{UserID: ada, Categories: []string{"5815", "7929"},
				Tips: &linking.TipTerms{AutoApproveMax: 1_00, BudgetPerDay: 3_00}})
			if err != nil {
				t.Fatal(err)
			}
			ms := mandatesOf(t, db, g.ID)
			if len(ms) != 1 || ms[0].PerPaymentMax != 1_00 || ms[0].Budget != 3_00 || ms[0].TimeZone != "UTC" ||
				len(ms[0].Categories) != 2 || ms[0].Categories[0] != "5815" || ms[0].Categories[1] != "7929" || g.TipAutoApproveMax != 1_00 {
				t.Fatalf("grant %+v, mandates %+v", g, ms)
			}
		})

		for _, tt := range []struct {
			name    string
			a       linking.Approval
			autoMax int64
		}{
			{"budget lowered to 0", linking.Approval{Tips: &linking.TipTerms{AutoApproveMax: 2_00}}, 2_00},
			{"tips scope dropped", linking.Approval{Scopes: []agentpay.Scope{agentpay.ScopePaymentsCreate}}, 0},
		} {
			t.Run(tt.name, func(t *testing.T) {
				code := startTipper(t, svc, asked)
				tt.a.UserID = ada
				g, err := svc.Approve(ctx, code, tt.a)
				if err != nil {
					t.Fatal(err)
				}
				if ms := mandatesOf(t, db, g.ID); len(ms) != 0 || g.TipAutoApproveMax != tt.autoMax {
					t.Fatalf("grant %+v, mandates %+v", g, ms)
				}
			})
		}
	})
}

// Revoking the grant revokes its tips mandate in the same unit, and so
// does linking the same key again; RevokeAll does it for every grant.
func TestRevokingGrantRevokesTipsMandate(t *testing.T) {
	storetest.Engines(t, "linking", func(t *testing.T, open func() *store.DB) {
		ctx := context.Background()
		db := open()
		svc := &linking.Service{DB: db}
		ada := newUser(t, db, agentpay.TierContact)
		asked := linking.TipTerms{AutoApproveMax: 2_00, BudgetPerDay: 10_00}
		tipsStatus := func(g agentpay.Grant) agentpay.MandateStatus {
			t.Helper()
			ms := mandatesOf(t, db, g.ID)
			if len(ms) != 1 {
				t.Fatalf("%d mandates", len(ms))
			}
			return ms[0].Status
		}

		one, err := svc.Approve(ctx, startTipper(t, svc, asked), linking.Approval{UserID: ada})
		if err != nil {
			t.Fatal(err)
		}
		_, unit, err := svc.PrepareRevoke(ctx, one.ID, ada)
		if err != nil || len(unit.Updates) != 2 {
			t.Fatalf("revoke unit %+v %v", unit, err)
		}
		if err := svc.Revoke(ctx, one.ID, ada); err != nil {
			t.Fatal(err)
		}
		if s := tipsStatus(one); s != agentpay.MandateRevoked {
			t.Fatalf("after revoking the grant its tips mandate is %s", s)
		}
		m := mandatesOf(t, db, one.ID)[0]
		if es, err := db.EventsOf(ctx, m.ID, 10); err != nil || len(es) != 2 || es[1].Type != "mandate.revoked" || es[1].Seq != 2 {
			t.Fatalf("events %+v %v", es, err)
		}
		if _, ok, err := svc.TipsMandate(ctx, one); ok || err != nil {
			t.Fatalf("a revoked tips mandate is still the grant's: %v", err)
		}

		two, err := svc.Approve(ctx, startTipper(t, svc, asked), linking.Approval{UserID: ada})
		if err != nil {
			t.Fatal(err)
		}
		three, err := svc.Approve(ctx, startTipper(t, svc, asked), linking.Approval{UserID: ada})
		if err != nil {
			t.Fatal(err)
		}
		if n, err := svc.RevokeAll(ctx, ada); err != nil || n != 2 {
			t.Fatalf("revoke all: %d %v", n, err)
		}
		for _, g := range []agentpay.Grant{two, three} {
			if s := tipsStatus(g); s != agentpay.MandateRevoked {
				t.Fatalf("after revoking all, a tips mandate is %s", s)
			}
		}

		// Linking a key again replaces its grant and the grant's tips.
		pub, _, _ := ed25519.GenerateKey(rand.Reader)
		relink := func() agentpay.Grant {
			st, err := svc.Start(ctx, linking.StartRequest{PublicKeyJWK: agentauth.JWK(pub), AgentName: "Reader",
				SoftwareID: "com.example.reader", Scopes: []agentpay.Scope{agentpay.ScopeTips}, Limits: tipLimits, Tips: asked},
				linking.RequestMeta{})
			if err != nil {
				t.Fatal(err)
			}
			g, err := svc.Approve(ctx, st.Link.UserCode, linking.Approval{UserID: ada})
			if err != nil {
				t.Fatal(err)
			}
			return g
		}
		first := relink()
		second := relink()
		if tipsStatus(first) != agentpay.MandateRevoked || tipsStatus(second) != agentpay.MandateActive {
			t.Fatalf("after linking again: %s, %s", tipsStatus(first), tipsStatus(second))
		}
	})
}

// tipWorld is a funded user of tier 1, a merchant taking USD and the
// payments service, all on one injectable clock.
type tipWorld struct {
	t        *testing.T
	ctx      context.Context
	db       *store.DB
	clock    *clock
	links    *linking.Service
	svc      *payments.Service
	user     string
	merchant agentpay.Merchant
}

func newTipWorld(t *testing.T, db *store.DB) *tipWorld {
	ctx := context.Background()
	c := &clock{now: time.Date(2026, 5, 4, 15, 0, 0, 0, time.UTC)}
	ids := &identity.Service{DB: db, Now: c.Now}
	w := &tipWorld{t: t, ctx: ctx, db: db, clock: c, links: &linking.Service{DB: db, Now: c.Now},
		// No risk rules: the built-in ones ask the user about a first tip
		// to a merchant the mandate does not name, and about bursts; they
		// have tests of their own, and what decides here is the mandate.
		svc:  &payments.Service{DB: db, Identity: ids, Now: c.Now, Risk: risk.NewEngine(risk.MustCompile(""), 1)},
		user: newUser(t, db, agentpay.TierContact)}
	if _, err := ids.TopUp(ctx, w.user, agentpay.Money{Amount: 100_00, Asset: "USD"}, "test"); err != nil {
		t.Fatal(err)
	}
	w.merchant = agentpay.Merchant{ID: agentpay.NewID("mer"), Name: "Essays", MCC: "5815", Country: "GB", SettlementAsset: "USD",
		Status: agentpay.MerchantActive, CreatedAt: c.Now().UnixMicro()}
	if err := db.Committer.Submit(ctx, &store.Unit{Rows: []store.Row{store.MerchantRow(w.merchant, agentpay.NewWebhookSecret())},
		Accounts: []agentpay.Account{payments.MerchantAccount(w.merchant.ID, "USD")}}).Err; err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *tipWorld) tip(g agentpay.Grant, amount int64) agentpay.Payment {
	w.t.Helper()
	p, _, err := w.svc.Tip(w.ctx, payments.TipRequest{Grant: g, MerchantID: w.merchant.ID, Amount: amount, Asset: "USD",
		Note: "thanks", Key: agentpay.NewID("key")})
	if err != nil {
		w.t.Fatal(err)
	}
	return p
}

// With the tip budget set at linking, and no other approval, an agent's
// tips within the threshold and the day's budget are given without a
// tap; past the budget a tip asks the user; the next day's budget is
// fresh; once the grant is revoked nothing is charged under it.
func TestLinkedTipBudget(t *testing.T) {
	storetest.Engines(t, "linking", func(t *testing.T, open func() *store.DB) {
		w := newTipWorld(t, open())
		code := startTipper(t, w.links, linking.TipTerms{AutoApproveMax: 3_00, BudgetPerDay: 10_00})
		// The user lowers the budget to 5.00 a day and tips to 2.00 each.
		g, err := w.links.Approve(w.ctx, code, linking.Approval{UserID: w.user, Tips: &linking.TipTerms{AutoApproveMax: 2_00, BudgetPerDay: 5_00}})
		if err != nil {
			t.Fatal(err)
		}
		m, ok, err := w.links.TipsMandate(w.ctx, g)
		if err != nil || !ok {
			t.Fatalf("no tips mandate: %v", err)
		}

		steps := []struct {
			name   string
			amount int64
			status agentpay.PaymentStatus
			under  bool // charged under the mandate without a tap
		}{
			{"within", 2_00, agentpay.PaymentCaptured, true},
			{"above the threshold", 2_50, agentpay.PaymentRequiresApproval, false},
			{"within again", 2_00, agentpay.PaymentCaptured, true},
			{"past the day's budget", 1_50, agentpay.PaymentRequiresApproval, false},
			{"the rest of the day's budget", 1_00, agentpay.PaymentCaptured, true},
			{"nothing left today", 1, agentpay.PaymentRequiresApproval, false},
		}
		for _, s := range steps {
			p := w.tip(g, s.amount)
			if p.Status != s.status || (p.MandateID == m.ID) != s.under {
				t.Fatalf("%s: %s under %q", s.name, p.Status, p.MandateID)
			}
		}
		w.clock.advance(24 * time.Hour)
		if p := w.tip(g, 2_00); p.Status != agentpay.PaymentCaptured || p.MandateID != m.ID {
			t.Fatalf("the next day: %s under %q", p.Status, p.MandateID)
		}

		if err := w.links.Revoke(w.ctx, g.ID, w.user); err != nil {
			t.Fatal(err)
		}
		revoked, err := w.db.Grant(w.ctx, g.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := w.svc.Tip(w.ctx, payments.TipRequest{Grant: revoked, MerchantID: w.merchant.ID, Amount: 1_00, Asset: "USD",
			Key: agentpay.NewID("key")}); agentpay.ErrorCode(err) != "grant_revoked" {
			t.Fatalf("a tip under the revoked grant: %v", err)
		}
		if _, err := w.svc.Charge(w.ctx, payments.ChargeRequest{MandateID: m.ID, MerchantID: w.merchant.ID,
			Order: agentpay.Order{Items: []agentpay.LineItem{{Name: "Tip", Quantity: 1, UnitAmount: 1_00}},
				Totals: agentpay.Totals{Subtotal: 1_00, Total: 1_00}}}); agentpay.ErrorCode(err) != "mandate_revoked" {
			t.Fatalf("a charge under the revoked grant's mandate: %v", err)
		}
	})
}
