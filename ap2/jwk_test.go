package ap2

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"encoding/json"
	"strings"
	"testing"

	"github.com/agentpay/agentpay/agentauth"
)

func TestJWKRoundTrip(t *testing.T) {
	ed, err := PublicJWK(agentEd.Public())
	if err != nil || string(ed) != string(agentauth.JWK(agentEd.Public().(ed25519.PublicKey))) {
		t.Fatalf("Ed25519 JWK = %s, %v", ed, err)
	}
	for _, raw := range []json.RawMessage{ed, jwkOf(t, agentP256)} {
		key, err := parseJWK(raw)
		if err != nil {
			t.Fatalf("parseJWK(%s): %v", raw, err)
		}
		if !sameKey(key, agentEd.Public()) && !sameKey(key, agentP256.Public()) {
			t.Fatalf("parseJWK(%s) gave another key", raw)
		}
	}
	if _, err := PublicJWK(&ecdsa.PublicKey{}); err == nil {
		t.Fatal("a key off P-256 got a JWK")
	}
}

func TestParseJWKRefuses(t *testing.T) {
	var ec map[string]any
	_ = json.Unmarshal(jwkOf(t, agentP256), &ec)
	with := func(k, v string) string {
		m := map[string]any{}
		for a, b := range ec {
			m[a] = b
		}
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
		data, _ := json.Marshal(m)
		return string(data)
	}
	offCurve := func() string {
		y, _ := b64Decode(ec["y"].(string))
		y[31] ^= 1
		return with("y", b64.EncodeToString(y))
	}
	for _, tc := range []struct{ name, jwk string }{
		{"private EC key", with("d", "AAAA")},
		{"P-384", with("crv", "P-384")},
		{"ES384 alg", with("alg", "ES384")},
		{"encryption key", with("use", "enc")},
		{"no y", with("y", "")},
		{"short x", with("x", "AAAA")},
		{"point off the curve", offCurve()},
		{"private OKP key", `{"kty":"OKP","crv":"Ed25519","x":"` + strings.Repeat("A", 43) + `","d":"AA"}`},
		{"small-order Ed25519 point", `{"kty":"OKP","crv":"Ed25519","x":"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`},
		{"RSA", `{"kty":"RSA","n":"AQAB","e":"AQAB"}`},
		{"no kty", `{"crv":"P-256"}`},
		{"not an object", `[]`},
		{"duplicate member", `{"kty":"EC","kty":"OKP"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := parseJWK(json.RawMessage(tc.jwk)); err == nil {
				t.Fatalf("parseJWK(%s) accepted it", tc.jwk)
			}
		})
	}
}
