package subscriptions_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/agentauth"
	"github.com/agentpay/agentpay/consent"
	"github.com/agentpay/agentpay/consent/consenttest"
	"github.com/agentpay/agentpay/identity"
	"github.com/agentpay/agentpay/linking"
	"github.com/agentpay/agentpay/payments"
	"github.com/agentpay/agentpay/risk"
	"github.com/agentpay/agentpay/store"
	"github.com/agentpay/agentpay/store/storetest"
	"github.com/agentpay/agentpay/subscriptions"
)

const origin = "https://pay.example.com"

// clock is the injectable test clock: tests advance it by months.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type codeBox struct {
	mu   sync.Mutex
	code string
}

var sixDigits = regexp.MustCompile(`\b\d{6}\b`)

func (c *codeBox) Send(_ context.Context, _, _, message string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.code = sixDigits.FindString(message)
	return nil
}

// world is a store with a verified user holding a passkey and a funded USD
// wallet, a merchant, an agent grant of the user, and a scheduler.
type world struct {
	t        *testing.T
	ctx      context.Context
	db       *store.DB
	clock    *clock
	ids      *identity.Service
	pk       *consent.Passkeys
	pay      *payments.Service
	svc      *subscriptions.Service
	user     agentpay.User
	key      *consenttest.Authenticator
	merchant agentpay.Merchant
	grant    agentpay.Grant
	wallet   string
	open     func() *store.DB
}

var start = time.Date(2024, time.January, 31, 9, 0, 0, 0, time.UTC)

func engines(t *testing.T, f func(t *testing.T, w *world)) {
	storetest.Engines(t, "subscriptions", func(t *testing.T, open func() *store.DB) {
		w := newWorld(t, open())
		w.open = open
		f(t, w)
	})
}

func newWorld(t *testing.T, db *store.DB) *world {
	ctx := context.Background()
	c := &clock{now: start}
	codes := &codeBox{}
	ids := &identity.Service{DB: db, Notifier: codes, Now: c.Now}
	pk, err := consent.NewPasskeys(db, origin)
	if err != nil {
		t.Fatal(err)
	}
	pk.Now = c.Now
	w := &world{t: t, ctx: ctx, db: db, clock: c, ids: ids, pk: pk}
	w.pay, w.svc = w.services(db)
	w.user = w.newUser("ada@example.com")
	w.key = w.passkey(w.user.ID)
	w.merchant = w.newMerchant("Tea Club", "5499", "USD")
	w.grant = w.newGrant(w.user.ID)
	w.wallet = w.topUp(1_000_00)
	return w
}

// services returns a payments service and a scheduler over db on the
// test clock: a second pair over the same database is a second node.
func (w *world) services(db *store.DB) (*payments.Service, *subscriptions.Service) {
	// The scheduler charges many periods in a few milliseconds of the
	// database's time: velocity rules would rightly hold such a burst, and
	// these tests are about the schedule, not risk control.
	pay := &payments.Service{DB: db, Identity: &identity.Service{DB: db, Now: w.clock.Now}, Now: w.clock.Now,
		Risk: risk.NewEngine(risk.MustCompile(""), 0), ProtectionFeeBPS: -1}
	return pay, &subscriptions.Service{DB: db, Payments: pay, Now: w.clock.Now}
}

func (w *world) newUser(email string) agentpay.User {
	w.t.Helper()
	u, err := w.ids.SignUp(w.ctx, identity.SignUpRequest{Email: email, DisplayName: "Ada Lovelace", Country: "GB"})
	if err != nil {
		w.t.Fatal(err)
	}
	v := &identity.CodeVerifier{Service: w.ids}
	ch, err := v.Start(w.ctx, u.ID)
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := v.Confirm(w.ctx, u.ID, ch, w.ids.Notifier.(*codeBox).code); err != nil {
		w.t.Fatal(err)
	}
	u.Tier = agentpay.TierContact
	return u
}

func (w *world) passkey(userID string) *consenttest.Authenticator {
	w.t.Helper()
	a := consenttest.New(w.t, origin)
	id, creation, err := w.pk.BeginRegistration(w.ctx, userID)
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.pk.FinishRegistration(w.ctx, userID, id, a.Create(w.t, creation)); err != nil {
		w.t.Fatal(err)
	}
	return a
}

func (w *world) newMerchant(name, mcc, asset string) agentpay.Merchant {
	w.t.Helper()
	m := agentpay.Merchant{ID: agentpay.NewID("mer"), Name: name, MCC: mcc, Country: "GB", SettlementAsset: asset,
		Status: agentpay.MerchantActive, CreatedAt: w.clock.Now().UnixMicro()}
	if err := w.db.Committer.Submit(w.ctx, &store.Unit{Rows: []store.Row{store.MerchantRow(m, agentpay.NewWebhookSecret())},
		Accounts: []agentpay.Account{payments.MerchantAccount(m.ID, asset)}}).Err; err != nil {
		w.t.Fatal(err)
	}
	return m
}

func (w *world) newGrant(userID string) agentpay.Grant {
	w.t.Helper()
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	links := &linking.Service{DB: w.db, Now: w.clock.Now}
	st, err := links.Start(w.ctx, linking.StartRequest{PublicKeyJWK: agentauth.JWK(pub), AgentName: "Subscriber",
		SoftwareID: "com.example.subs", Scopes: []agentpay.Scope{agentpay.ScopeSubscriptions},
		Limits: agentpay.GrantLimits{Asset: "USD", PerPayment: 150_00, PerDay: 400_00, PerMonth: 1_000_00}},
		linking.RequestMeta{RemoteIP: "203.0.113.9"})
	if err != nil {
		w.t.Fatal(err)
	}
	g, err := links.Approve(w.ctx, st.Link.UserCode, linking.Approval{UserID: userID, ExpiresIn: 3 * 365 * 24 * time.Hour})
	if err != nil {
		w.t.Fatal(err)
	}
	return g
}

func (w *world) topUp(amount int64) string {
	w.t.Helper()
	wallet, err := w.ids.TopUp(w.ctx, w.user.ID, agentpay.Money{Amount: amount, Asset: "USD"}, "test")
	if err != nil {
		w.t.Fatal(err)
	}
	return wallet
}

func (w *world) monthly(amount int64) subscriptions.CreateRequest {
	return subscriptions.CreateRequest{Grant: w.grant, MerchantID: w.merchant.ID, Plan: "Tea box", Asset: "USD",
		Amount: amount, Interval: agentpay.Interval{Unit: agentpay.IntervalMonth, Count: 1}, TimeZone: "UTC"}
}

// create proposes req and returns the subscription, incomplete.
func (w *world) create(req subscriptions.CreateRequest) store.Subscription {
	w.t.Helper()
	sub, u, err := w.svc.PrepareCreate(w.ctx, req)
	if err == nil {
		err = w.db.Committer.Submit(w.ctx, u).Err
	}
	if err != nil {
		w.t.Fatal(err)
	}
	return sub
}

// approve approves mandate id with the user's passkey.
func (w *world) approve(id string) {
	w.t.Helper()
	m, err := w.db.Mandate(w.ctx, id)
	if err != nil {
		w.t.Fatal(err)
	}
	obj, err := w.pay.MandateApproval(w.ctx, m)
	if err != nil {
		w.t.Fatal(err)
	}
	cid, assertion, err := w.pk.BeginApproval(w.ctx, w.user.ID, id, obj)
	if err != nil {
		w.t.Fatal(err)
	}
	ev, err := w.pk.FinishApproval(w.ctx, w.user.ID, cid, w.key.Get(w.t, assertion))
	if err != nil {
		w.t.Fatal(err)
	}
	_, u, err := w.pay.PrepareApproveMandate(w.ctx, w.user.ID, id, ev)
	if err == nil {
		err = w.db.Committer.Submit(w.ctx, u).Err
	}
	if err != nil {
		w.t.Fatal(err)
	}
}

// subscribe creates req's subscription, approves its mandate and runs the
// scheduler once.
func (w *world) subscribe(req subscriptions.CreateRequest) store.Subscription {
	w.t.Helper()
	sub := w.create(req)
	w.approve(sub.MandateID)
	w.run()
	return w.sub(sub.ID)
}

func (w *world) run() {
	w.t.Helper()
	if _, err := w.svc.RunDue(w.ctx); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) sub(id string) store.Subscription {
	w.t.Helper()
	s, err := w.db.Subscription(w.ctx, id)
	if err != nil {
		w.t.Fatal(err)
	}
	return s
}

// act commits a user's action on a subscription.
func (w *world) act(id, action string) (store.Subscription, error) {
	sub, err := w.svc.ForUser(w.ctx, w.user.ID, id)
	if err != nil {
		return sub, err
	}
	sub, u, err := w.svc.PrepareAction(w.ctx, sub, action, "user")
	if err == nil {
		err = w.db.Committer.Submit(w.ctx, u).Err
	}
	return sub, err
}

// charges returns the merchant's balance: what was captured for it.
func (w *world) merchantBalance() int64 {
	w.t.Helper()
	a, err := w.db.Account(w.ctx, payments.MerchantAccountID(w.merchant.ID, "USD"))
	if err != nil {
		w.t.Fatal(err)
	}
	return a.CreditsPosted - a.DebitsPosted
}

// events returns the types of a subscription's events, in order.
func (w *world) events(id string) []string {
	w.t.Helper()
	list, err := w.db.EventsOf(w.ctx, id, 1000)
	if err != nil {
		w.t.Fatal(err)
	}
	var out []string
	for _, e := range list {
		out = append(out, e.Type)
	}
	return out
}

// chargedDates returns the UTC dates of the subscription's charges.
func (w *world) chargedDates(id string) []string {
	return localDates(w, id, time.UTC)
}

func (w *world) checkLedger() {
	w.t.Helper()
	if err := w.db.CheckLedger(w.ctx); err != nil {
		w.t.Fatal(err)
	}
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if err == nil || agentpay.ErrorCode(err) != code {
		t.Fatalf("%s: %v, want %s", what, err, code)
	}
}

// paymentTimes returns when the payments of the subscription's
// subscription.charged events were made.
func (w *world) paymentTimes(id string) []time.Time {
	w.t.Helper()
	list, err := w.db.EventsOf(w.ctx, id, 1000)
	if err != nil {
		w.t.Fatal(err)
	}
	var out []time.Time
	for _, e := range list {
		if e.Type != "subscription.charged" {
			continue
		}
		var d struct {
			Payment string `json:"payment"`
		}
		if err := json.Unmarshal([]byte(e.Data), &d); err != nil {
			w.t.Fatal(err)
		}
		p, err := w.db.Payment(w.ctx, d.Payment)
		if err != nil {
			w.t.Fatal(err)
		}
		out = append(out, time.UnixMicro(p.CreatedAt))
	}
	return out
}
