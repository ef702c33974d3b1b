package consent_test

import (
	"context"
	"encoding/base64"
	"sync"
	"testing"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/consent"
	"github.com/agentpay/agentpay/consent/consenttest"
	"github.com/agentpay/agentpay/identity"
	"github.com/agentpay/agentpay/store"
	"github.com/agentpay/agentpay/store/storetest"
)

// engines runs f against every engine (storetest.Engines), on one node.
func engines(t *testing.T, f func(t *testing.T, db *store.DB)) {
	storetest.Engines(t, "consent", func(t *testing.T, open func() *store.DB) { f(t, open()) })
}

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

const origin = "https://pay.example.com"

type env struct {
	t     *testing.T
	ctx   context.Context
	db    *store.DB
	clock *clock
	pk    *consent.Passkeys
	ids   *identity.Service
}

func newEnv(t *testing.T, db *store.DB) *env {
	pk, err := consent.NewPasskeys(db, origin)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, ctx: context.Background(), db: db, clock: &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}, pk: pk}
	pk.Now = e.clock.Now
	e.ids = &identity.Service{DB: db, Now: e.clock.Now}
	return e
}

func (e *env) signUp(email string) agentpay.User {
	e.t.Helper()
	u, err := e.ids.SignUp(e.ctx, identity.SignUpRequest{Email: email, DisplayName: "Ada", Country: "GB"})
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if agentpay.ErrorCode(err) != code {
		t.Fatalf("%s: got %v, want %s", what, err, code)
	}
}

type authenticator = consenttest.Authenticator

var b64 = base64.RawURLEncoding

func newAuthenticator(t *testing.T) *authenticator { return consenttest.New(t, origin) }

// register adds a's credential to the user.
func (e *env) register(userID string, a *authenticator) {
	e.t.Helper()
	id, creation, err := e.pk.BeginRegistration(e.ctx, userID)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.pk.FinishRegistration(e.ctx, userID, id, a.Create(e.t, creation)); err != nil {
		e.t.Fatal(err)
	}
}

// login logs in with a, discoverable when userID is "".
func (e *env) login(userID string, a *authenticator) (string, error) {
	e.t.Helper()
	id, assertion, err := e.pk.BeginLogin(e.ctx, userID)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.pk.FinishLogin(e.ctx, id, a.Get(e.t, assertion))
}
