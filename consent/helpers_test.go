package consent_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/consent"
	"github.com/agentpay/agentpay/identity"
	"github.com/agentpay/agentpay/store"
	"github.com/agentpay/agentpay/store/storetest"
	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
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

// authenticator is a software passkey: one ES256 credential with a
// settable signature counter.
type authenticator struct {
	key     *ecdsa.PrivateKey
	id      []byte
	user    []byte
	counter uint32
	rpID    string
	origin  string
}

var b64 = base64.RawURLEncoding

func newAuthenticator(t *testing.T) *authenticator {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 16)
	rand.Read(id)
	return &authenticator{key: key, id: id, rpID: "pay.example.com", origin: origin}
}

func (a *authenticator) clientData(typ string, challenge string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": a.origin, "crossOrigin": false})
	return b
}

func (a *authenticator) authData(flags byte, attested []byte) []byte {
	rp := sha256.Sum256([]byte(a.rpID))
	out := append(rp[:], flags)
	out = binary.BigEndian.AppendUint32(out, a.counter)
	return append(out, attested...)
}

// create answers navigator.credentials.create for the options.
func (a *authenticator) create(t *testing.T, creation *protocol.CredentialCreation) []byte {
	t.Helper()
	a.user = creation.Response.User.ID.(protocol.URLEncodedBase64)
	x, y := a.key.X.FillBytes(make([]byte, 32)), a.key.Y.FillBytes(make([]byte, 32))
	cose, err := webauthncbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: x, -3: y})
	if err != nil {
		t.Fatal(err)
	}
	attested := make([]byte, 16) // AAGUID
	attested = binary.BigEndian.AppendUint16(attested, uint16(len(a.id)))
	attested = append(attested, a.id...)
	attested = append(attested, cose...)
	att, err := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{},
		"authData": a.authData(0x45, attested)}) // UP, UV, AT
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{"id": b64.EncodeToString(a.id), "rawId": b64.EncodeToString(a.id), "type": "public-key",
		"response": map[string]any{"clientDataJSON": b64.EncodeToString(a.clientData("webauthn.create", creation.Response.Challenge.String())),
			"attestationObject": b64.EncodeToString(att), "transports": []string{"internal"}}})
	return b
}

// get answers navigator.credentials.get with the counter as it is.
func (a *authenticator) get(t *testing.T, assertion *protocol.CredentialAssertion) []byte {
	t.Helper()
	cd := a.clientData("webauthn.get", assertion.Response.Challenge.String())
	ad := a.authData(0x05, nil) // UP, UV
	h := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, ad...), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{"id": b64.EncodeToString(a.id), "rawId": b64.EncodeToString(a.id), "type": "public-key",
		"response": map[string]any{"clientDataJSON": b64.EncodeToString(cd), "authenticatorData": b64.EncodeToString(ad),
			"signature": b64.EncodeToString(sig), "userHandle": b64.EncodeToString(a.user)}})
	return b
}

// register adds a's credential to the user.
func (e *env) register(userID string, a *authenticator) {
	e.t.Helper()
	id, creation, err := e.pk.BeginRegistration(e.ctx, userID)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.pk.FinishRegistration(e.ctx, userID, id, a.create(e.t, creation)); err != nil {
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
	return e.pk.FinishLogin(e.ctx, id, a.get(e.t, assertion))
}
