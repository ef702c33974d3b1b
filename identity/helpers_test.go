package identity_test

import (
	"context"
	"fmt"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/identity"
	"github.com/agentpay/agentpay/store"
	"github.com/agentpay/agentpay/store/storetest"
)

// engines runs f against every engine (storetest.Engines).
func engines(t *testing.T, f func(t *testing.T, open func() *store.DB)) {
	storetest.Engines(t, "identity", f)
}

// clock is a settable clock.
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

// outbox is a Notifier that keeps every message.
type outbox struct {
	mu   sync.Mutex
	sent []message
	fail bool
}

type message struct{ channel, destination, text string }

func (o *outbox) Send(_ context.Context, channel, destination, text string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.fail {
		return fmt.Errorf("provider down")
	}
	o.sent = append(o.sent, message{channel, destination, text})
	return nil
}

var codeRE = regexp.MustCompile(`\b(\d{6})\b`)

// last returns the newest message and the code in it.
func (o *outbox) last(t *testing.T) (message, string) {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.sent) == 0 {
		t.Fatal("nothing sent")
	}
	m := o.sent[len(o.sent)-1]
	c := codeRE.FindStringSubmatch(m.text)
	if c == nil {
		t.Fatalf("no code in %q", m.text)
	}
	return m, c[1]
}

type env struct {
	t     *testing.T
	ctx   context.Context
	db    *store.DB
	clock *clock
	out   *outbox
	svc   *identity.Service
	code  *identity.CodeVerifier
	doc   *identity.DocumentVerifier
}

func newEnv(t *testing.T, db *store.DB) *env {
	e := &env{t: t, ctx: context.Background(), db: db, clock: &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}, out: &outbox{}}
	e.svc = &identity.Service{DB: db, Notifier: e.out, Now: e.clock.Now}
	e.code = &identity.CodeVerifier{Service: e.svc}
	e.doc = &identity.DocumentVerifier{Service: e.svc}
	return e
}

func (e *env) signUp(email string) agentpay.User {
	e.t.Helper()
	u, err := e.svc.SignUp(e.ctx, identity.SignUpRequest{Email: email, DisplayName: "Ada", Country: "GB"})
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

func (e *env) tier(id string) agentpay.Tier {
	e.t.Helper()
	u, err := e.svc.User(e.ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return u.Tier
}

// verifyContact takes a user to tier 1.
func (e *env) verifyContact(id string) {
	e.t.Helper()
	ch, err := e.code.Start(e.ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	_, code := e.out.last(e.t)
	if tier, err := e.code.Confirm(e.ctx, id, ch, code); err != nil || tier != agentpay.TierContact && tier != agentpay.TierDocument {
		e.t.Fatalf("confirm = %v, %v", tier, err)
	}
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if agentpay.ErrorCode(err) != code {
		t.Fatalf("%s: got %v, want %s", what, err, code)
	}
}
