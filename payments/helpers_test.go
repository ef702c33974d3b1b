package payments_test

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
	"github.com/agentpay/agentpay/consent"
	"github.com/agentpay/agentpay/consent/consenttest"
	"github.com/agentpay/agentpay/identity"
	"github.com/agentpay/agentpay/linking"
	"github.com/agentpay/agentpay/payments"
	"github.com/agentpay/agentpay/store"
	"github.com/agentpay/agentpay/store/storetest"
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
// wallet, a merchant taking USD, and an agent grant of the user.
type world struct {
	t        testing.TB
	ctx      context.Context
	db       *store.DB
	clock    *clock
	ids      *identity.Service
	pk       *consent.Passkeys
	svc      *payments.Service
	user     agentpay.User
	key      *consenttest.Authenticator
	merchant agentpay.Merchant
	grant    agentpay.Grant
	wallet   string
}

func engines(t *testing.T, f func(t *testing.T, w *world)) {
	storetest.Engines(t, "payments", func(t *testing.T, open func() *store.DB) { f(t, newWorld(t, open())) })
}

func newWorld(t testing.TB, db *store.DB) *world {
	ctx := context.Background()
	c := &clock{now: time.Now().UTC().Truncate(time.Second)}
	codes := &codeBox{}
	ids := &identity.Service{DB: db, Notifier: codes, Now: c.Now}
	pk, err := consent.NewPasskeys(db, origin)
	if err != nil {
		t.Fatal(err)
	}
	pk.Now = c.Now
	w := &world{t: t, ctx: ctx, db: db, clock: c, ids: ids, pk: pk,
		svc: &payments.Service{DB: db, Identity: ids, Now: c.Now}}
	w.user = w.newUser("ada@example.com", true)
	w.key = w.passkey(w.user.ID)
	w.merchant = w.newMerchant("Tea Shop", "5499", "USD")
	w.grant = w.newGrant(w.user.ID, agentpay.GrantLimits{Asset: "USD", PerPayment: 150_00, PerDay: 400_00, PerMonth: 1_000_00}, nil)
	w.wallet = w.topUp(w.user.ID, "USD", 1_000_00)
	return w
}

func (w *world) newUser(email string, verified bool) agentpay.User {
	w.t.Helper()
	u, err := w.ids.SignUp(w.ctx, identity.SignUpRequest{Email: email, DisplayName: "Ada Lovelace", Country: "GB"})
	if err != nil {
		w.t.Fatal(err)
	}
	if verified {
		codes := w.ids.Notifier.(*codeBox)
		v := &identity.CodeVerifier{Service: w.ids}
		ch, err := v.Start(w.ctx, u.ID)
		if err != nil {
			w.t.Fatal(err)
		}
		if _, err := v.Confirm(w.ctx, u.ID, ch, codes.code); err != nil {
			w.t.Fatal(err)
		}
		u.Tier = agentpay.TierContact
	}
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
	acc := payments.MerchantAccount(m.ID, asset)
	if err := w.db.Committer.Submit(w.ctx, &store.Unit{Rows: []store.Row{store.MerchantRow(m, agentpay.NewWebhookSecret())},
		Accounts: []agentpay.Account{acc}}).Err; err != nil {
		w.t.Fatal(err)
	}
	return m
}

func (w *world) newGrant(userID string, l agentpay.GrantLimits, categories []string) agentpay.Grant {
	w.t.Helper()
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	links := &linking.Service{DB: w.db, Now: w.clock.Now}
	st, err := links.Start(w.ctx, linking.StartRequest{PublicKeyJWK: agentauth.JWK(pub), AgentName: "Shopper", SoftwareID: "com.example.shopper",
		Scopes: []agentpay.Scope{agentpay.ScopePaymentsCreate, agentpay.ScopePaymentsRead}, Limits: l}, linking.RequestMeta{RemoteIP: "203.0.113.9"})
	if err != nil {
		w.t.Fatal(err)
	}
	g, err := links.Approve(w.ctx, st.Link.UserCode, linking.Approval{UserID: userID, Categories: categories})
	if err != nil {
		w.t.Fatal(err)
	}
	return g
}

// topUp funds a wallet from the funding account and returns its id.
func (w *world) topUp(userID, asset string, amount int64) string {
	w.t.Helper()
	wallet, err := w.ids.TopUp(w.ctx, userID, agentpay.Money{Amount: amount, Asset: asset}, "test")
	if err != nil {
		w.t.Fatal(err)
	}
	return wallet
}

func order(items ...agentpay.LineItem) agentpay.Order {
	var sub int64
	for _, it := range items {
		sub += it.Quantity * it.UnitAmount
	}
	return agentpay.Order{Items: items, Totals: agentpay.Totals{Subtotal: sub, Tax: 100, Total: sub + 100},
		Description: "Tea", Purpose: "the user asked for tea"}
}

var tea = agentpay.LineItem{Name: "Green tea", Quantity: 2, UnitAmount: 1000}

func (w *world) create(o agentpay.Order) agentpay.Payment {
	w.t.Helper()
	p, err := w.commit(w.prepareCreate(w.grant, o))
	if err != nil {
		w.t.Fatal(err)
	}
	return p
}

func (w *world) prepareCreate(g agentpay.Grant, o agentpay.Order) (agentpay.Payment, *store.Unit, error) {
	return w.svc.PrepareCreate(w.ctx, payments.CreateRequest{Grant: g, MerchantID: w.merchant.ID, Asset: "USD", Order: o})
}

// evidence runs the passkey approval of p as it is now, by userID with a.
func (w *world) evidence(userID string, a *consenttest.Authenticator, p agentpay.Payment, shared ...string) consent.Evidence {
	w.t.Helper()
	obj, err := w.svc.Approval(w.ctx, p, shared)
	if err != nil {
		w.t.Fatal(err)
	}
	id, assertion, err := w.pk.BeginApproval(w.ctx, userID, p.ID, obj)
	if err != nil {
		w.t.Fatal(err)
	}
	ev, err := w.pk.FinishApproval(w.ctx, userID, id, a.Get(w.t, assertion))
	if err != nil {
		w.t.Fatal(err)
	}
	return ev
}

func (w *world) approve(p agentpay.Payment, shared ...string) (agentpay.Payment, error) {
	w.t.Helper()
	return w.svc.Approve(w.ctx, w.user.ID, p.ID, w.evidence(w.user.ID, w.key, p, shared...))
}

func (w *world) balance(id string) (posted, pending int64) {
	w.t.Helper()
	a, err := w.db.Account(w.ctx, id)
	if err != nil {
		w.t.Fatal(err)
	}
	return a.CreditsPosted - a.DebitsPosted, a.DebitsPending
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

// commit commits a prepared payment change.
func (w *world) commit(p agentpay.Payment, u *store.Unit, err error) (agentpay.Payment, error) {
	if err != nil {
		return agentpay.Payment{}, err
	}
	return w.svc.Commit(w.ctx, p, u)
}
