package compensation_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/agentauth"
	"github.com/agentpay/agentpay/compensation"
	"github.com/agentpay/agentpay/consent"
	"github.com/agentpay/agentpay/consent/consenttest"
	"github.com/agentpay/agentpay/identity"
	"github.com/agentpay/agentpay/linking"
	"github.com/agentpay/agentpay/payments"
	"github.com/agentpay/agentpay/risk"
	"github.com/agentpay/agentpay/store"
	"github.com/agentpay/agentpay/store/storetest"
	"github.com/agentpay/agentpay/webhook"
)

const origin = "https://pay.example.com"

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
// wallet, a merchant taking USD (with a webhook URL, so claim events are
// queued for it), an agent grant of the user, and the payments and claims
// services over them.
type world struct {
	t        *testing.T
	ctx      context.Context
	db       *store.DB
	clock    *clock
	ids      *identity.Service
	pk       *consent.Passkeys
	pay      *payments.Service
	claims   *compensation.Service
	user     agentpay.User
	key      *consenttest.Authenticator
	merchant agentpay.Merchant
	grant    agentpay.Grant
	wallet   string
}

func engines(t *testing.T, f func(t *testing.T, w *world)) {
	storetest.Engines(t, "compensation", func(t *testing.T, open func() *store.DB) { f(t, newWorld(t, open())) })
}

func newWorld(t *testing.T, db *store.DB) *world {
	ctx := context.Background()
	c := &clock{now: time.Now().UTC().Truncate(time.Second)}
	ids := &identity.Service{DB: db, Notifier: &codeBox{}, Now: c.Now}
	pk, err := consent.NewPasskeys(db, origin)
	if err != nil {
		t.Fatal(err)
	}
	pk.Now = c.Now
	// No risk rules: these tests pay in quick bursts, which the default
	// rules would hold for review.
	pay := &payments.Service{DB: db, Identity: ids, Now: c.Now, Outbox: webhook.Enqueue, Risk: risk.NewEngine(risk.MustCompile(""), 1)}
	w := &world{t: t, ctx: ctx, db: db, clock: c, ids: ids, pk: pk, pay: pay,
		claims: &compensation.Service{DB: db, Payments: pay, Passkeys: pk, Outbox: webhook.Enqueue, Now: c.Now}}
	w.user = w.newUser("ada@example.com")
	w.key = w.passkey(w.user.ID)
	w.merchant = w.newMerchant("Tea Shop")
	w.grant = w.newGrant(w.user.ID)
	w.wallet = w.topUp(w.user.ID, 1_000_00)
	return w
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

func (w *world) newMerchant(name string) agentpay.Merchant {
	w.t.Helper()
	m := agentpay.Merchant{ID: agentpay.NewID("mer"), Name: name, MCC: "5499", Country: "GB", SettlementAsset: "USD",
		WebhookURL: "https://shop.example.com/hooks", Status: agentpay.MerchantActive, CreatedAt: w.clock.Now().UnixMicro()}
	if err := w.db.Committer.Submit(w.ctx, &store.Unit{Rows: []store.Row{store.MerchantRow(m, agentpay.NewWebhookSecret())},
		Accounts: []agentpay.Account{payments.MerchantAccount(m.ID, "USD")}}).Err; err != nil {
		w.t.Fatal(err)
	}
	return m
}

func (w *world) newGrant(userID string) agentpay.Grant {
	w.t.Helper()
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	links := &linking.Service{DB: w.db, Now: w.clock.Now}
	st, err := links.Start(w.ctx, linking.StartRequest{PublicKeyJWK: agentauth.JWK(pub), AgentName: "Shopper", SoftwareID: "com.example.shopper",
		Scopes: []agentpay.Scope{agentpay.ScopePaymentsCreate, agentpay.ScopePaymentsRead},
		Limits: agentpay.GrantLimits{Asset: "USD", PerPayment: 150_00, PerDay: 400_00, PerMonth: 1_000_00}}, linking.RequestMeta{RemoteIP: "203.0.113.9"})
	if err != nil {
		w.t.Fatal(err)
	}
	g, err := links.Approve(w.ctx, st.Link.UserCode, linking.Approval{UserID: userID})
	if err != nil {
		w.t.Fatal(err)
	}
	return g
}

func (w *world) topUp(userID string, amount int64) string {
	w.t.Helper()
	wallet, err := w.ids.TopUp(w.ctx, userID, agentpay.Money{Amount: amount, Asset: "USD"}, "test")
	if err != nil {
		w.t.Fatal(err)
	}
	return wallet
}

var tea = agentpay.LineItem{Name: "Green tea", Quantity: 2, UnitAmount: 1000}

func order(items ...agentpay.LineItem) agentpay.Order {
	var sub int64
	for _, it := range items {
		sub += it.Quantity * it.UnitAmount
	}
	return agentpay.Order{Items: items, Totals: agentpay.Totals{Subtotal: sub, Tax: 100, Total: sub + 100}, Description: "Tea"}
}

// paid is a payment of o by the world's user, approved with their passkey
// and captured whole by the merchant.
func (w *world) paid(o agentpay.Order) agentpay.Payment {
	w.t.Helper()
	p, u, err := w.pay.PrepareCreate(w.ctx, payments.CreateRequest{Grant: w.grant, MerchantID: w.merchant.ID, Asset: "USD", Order: o})
	if err != nil {
		w.t.Fatal(err)
	}
	if p, err = w.pay.Commit(w.ctx, p, u); err != nil {
		w.t.Fatal(err)
	}
	obj, err := w.pay.Approval(w.ctx, p, nil)
	if err != nil {
		w.t.Fatal(err)
	}
	id, assertion, err := w.pk.BeginApproval(w.ctx, w.user.ID, p.ID, obj)
	if err != nil {
		w.t.Fatal(err)
	}
	ev, err := w.pk.FinishApproval(w.ctx, w.user.ID, id, w.key.Get(w.t, assertion))
	if err != nil {
		w.t.Fatal(err)
	}
	if p, err = w.pay.Approve(w.ctx, w.user.ID, p.ID, ev); err != nil {
		w.t.Fatal(err)
	}
	return w.capture(p, 0)
}

func (w *world) capture(p agentpay.Payment, amount int64) agentpay.Payment {
	w.t.Helper()
	p, u, err := w.pay.PrepareCapture(w.ctx, w.merchant.ID, p.ID, amount)
	if err == nil {
		p, err = w.pay.Commit(w.ctx, p, u)
	}
	if err != nil {
		w.t.Fatal(err)
	}
	return p
}

func (w *world) refund(p agentpay.Payment, amount int64) (agentpay.Payment, error) {
	w.t.Helper()
	p, _, u, err := w.pay.PrepareRefund(w.ctx, w.merchant.ID, p.ID, amount, "")
	if err != nil {
		return p, err
	}
	return w.pay.Commit(w.ctx, p, u)
}

// file files a claim on p as the world's user.
func (w *world) file(p agentpay.Payment, kind string) (store.Claim, error) {
	return w.claims.File(w.ctx, compensation.FileRequest{UserID: w.user.ID, PaymentID: p.ID, Kind: kind,
		Description: "something went wrong"})
}

func (w *world) mustFile(p agentpay.Payment, kind string) store.Claim {
	w.t.Helper()
	c, err := w.file(p, kind)
	if err != nil {
		w.t.Fatal(err)
	}
	return c
}

func (w *world) balance(id string) int64 {
	w.t.Helper()
	a, err := w.db.Account(w.ctx, id)
	if agentpay.ErrorKind(err) == agentpay.ENOTFOUND {
		return 0
	}
	if err != nil {
		w.t.Fatal(err)
	}
	return a.Balance()
}

// payout moves all but keep of the merchant's balance to the outside
// world.
func (w *world) payout(keep int64) {
	w.t.Helper()
	acc := payments.MerchantAccountID(w.merchant.ID, "USD")
	funding, err := w.db.EnsureSystemAccount(w.ctx, agentpay.AccountFunding, "USD")
	if err != nil {
		w.t.Fatal(err)
	}
	if amount := w.balance(acc) - keep; amount > 0 {
		if err := w.db.Committer.Submit(w.ctx, &store.Unit{Transfers: []agentpay.Transfer{{ID: agentpay.NewID("trf"),
			DebitAccountID: acc, CreditAccountID: funding, Amount: amount, Asset: "USD", Code: "payout"}}}).Err; err != nil {
			w.t.Fatal(err)
		}
	}
}

// exec changes the database behind the services' back: what a forged or
// corrupted record looks like.
func (w *world) exec(query string, args ...any) {
	w.t.Helper()
	if _, err := w.db.Writer().ExecContext(w.ctx, query, args...); err != nil {
		w.t.Fatal(err)
	}
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
