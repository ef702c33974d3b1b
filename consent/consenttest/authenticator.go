// Package consenttest is a software passkey for tests and the load tool: it
// answers WebAuthn registration and assertion options the way a platform
// authenticator would, with user presence and verification, so ceremonies
// run without a browser. Its keys live in memory; it is not for real users.
package consenttest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/url"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
)

var b64 = base64.RawURLEncoding

// Authenticator holds one ES256 credential with a settable signature
// counter (0 means the authenticator keeps no counter).
type Authenticator struct {
	Key     *ecdsa.PrivateKey
	ID      []byte // credential id
	User    []byte // the user handle it was registered for
	Counter uint32
	RPID    string
	Origin  string
}

// New makes an authenticator for the site at origin (scheme://host[:port]).
func New(tb testing.TB, origin string) *Authenticator {
	tb.Helper()
	a, err := NewAuthenticator(origin)
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

// NewAuthenticator is New returning its error.
func NewAuthenticator(origin string) (*Authenticator, error) {
	u, err := url.Parse(origin)
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	id := make([]byte, 16)
	rand.Read(id)
	return &Authenticator{Key: key, ID: id, RPID: u.Hostname(), Origin: origin}, nil
}

func (a *Authenticator) clientData(typ string, challenge string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": a.Origin, "crossOrigin": false})
	return b
}

func (a *Authenticator) authData(flags byte, attested []byte) []byte {
	rp := sha256.Sum256([]byte(a.RPID))
	out := append(rp[:], flags)
	out = binary.BigEndian.AppendUint32(out, a.Counter)
	return append(out, attested...)
}

// Create answers navigator.credentials.create for the options, as
// PublicKeyCredential.toJSON() would.
func (a *Authenticator) Create(tb testing.TB, creation *protocol.CredentialCreation) []byte {
	tb.Helper()
	b, err := a.CreateResponse(creation)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// CreateResponse is Create returning its error.
func (a *Authenticator) CreateResponse(creation *protocol.CredentialCreation) ([]byte, error) {
	switch id := creation.Response.User.ID.(type) {
	case protocol.URLEncodedBase64:
		a.User = id
	case string: // options decoded from JSON
		user, err := b64.DecodeString(id)
		if err != nil {
			return nil, fmt.Errorf("user id %q: %w", id, err)
		}
		a.User = user
	default:
		return nil, fmt.Errorf("user id of type %T", id)
	}
	x, y := a.Key.X.FillBytes(make([]byte, 32)), a.Key.Y.FillBytes(make([]byte, 32))
	cose, err := webauthncbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: x, -3: y})
	if err != nil {
		return nil, err
	}
	attested := make([]byte, 16) // AAGUID
	attested = binary.BigEndian.AppendUint16(attested, uint16(len(a.ID)))
	attested = append(attested, a.ID...)
	attested = append(attested, cose...)
	att, err := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{},
		"authData": a.authData(0x45, attested)}) // UP, UV, AT
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{"id": b64.EncodeToString(a.ID), "rawId": b64.EncodeToString(a.ID), "type": "public-key",
		"response": map[string]any{"clientDataJSON": b64.EncodeToString(a.clientData("webauthn.create", creation.Response.Challenge.String())),
			"attestationObject": b64.EncodeToString(att), "transports": []string{"internal"}}})
}

// Get answers navigator.credentials.get with the counter as it is.
func (a *Authenticator) Get(tb testing.TB, assertion *protocol.CredentialAssertion) []byte {
	tb.Helper()
	b, err := a.GetResponse(assertion)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// GetResponse is Get returning its error.
func (a *Authenticator) GetResponse(assertion *protocol.CredentialAssertion) ([]byte, error) {
	cd := a.clientData("webauthn.get", assertion.Response.Challenge.String())
	ad := a.authData(0x05, nil) // UP, UV
	h := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, ad...), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.Key, digest[:])
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{"id": b64.EncodeToString(a.ID), "rawId": b64.EncodeToString(a.ID), "type": "public-key",
		"response": map[string]any{"clientDataJSON": b64.EncodeToString(cd), "authenticatorData": b64.EncodeToString(ad),
			"signature": b64.EncodeToString(sig), "userHandle": b64.EncodeToString(a.User)}})
}
