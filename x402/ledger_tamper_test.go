package x402

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/agentpay/agentpay/agentauth"
)

// TestTamperedAuthorization: any change to a signed authorization breaks
// its signature, including respelling the nonce in its other encoding.
func TestTamperedAuthorization(t *testing.T) {
	a := testAuthorization(SchemeExact, "1500", testResource)
	sig, err := SignAuthorization(&a, keyA.private)
	if err != nil {
		t.Fatal(err)
	}
	nonce, _ := a.NonceBytes()
	for _, c := range []struct {
		name   string
		change func(a *Authorization)
	}{
		{"value", func(a *Authorization) { a.Value = "1501" }},
		{"to", func(a *Authorization) { a.To = "mer_attacker" }},
		{"nonce", func(a *Authorization) { a.Nonce = "0x" + strings.Repeat("00", 32) }},
		{"nonce respelled", func(a *Authorization) { a.Nonce = base64.RawURLEncoding.EncodeToString(nonce[:]) }},
		{"network", func(a *Authorization) { a.Network = "agentpay:prod" }},
		{"scheme", func(a *Authorization) { a.Scheme = SchemeUpto }},
		{"asset", func(a *Authorization) { a.Asset = "USD" }},
		{"resource", func(a *Authorization) { a.Resource = "https://api.example/other" }},
		{"validAfter", func(a *Authorization) { a.ValidAfter = "1799999971" }},
		{"validBefore", func(a *Authorization) { a.ValidBefore = "1800000061" }},
	} {
		t.Run(c.name, func(t *testing.T) {
			changed := a
			c.change(&changed)
			wantReason(t, VerifyAuthorization(&changed, sig, keyA.public), ReasonLedgerSignature)
		})
	}
	t.Run("wrong key", func(t *testing.T) {
		wantReason(t, VerifyAuthorization(&a, sig, keyB.public), ReasonLedgerPayer)
	})
	t.Run("from claims another key", func(t *testing.T) {
		changed := a
		changed.From = keyB.id
		wantReason(t, VerifyAuthorization(&changed, sig, keyB.public), ReasonLedgerSignature)
	})
	t.Run("signature bit flips", func(t *testing.T) {
		raw, _ := base64.RawURLEncoding.DecodeString(sig)
		for i := 0; i < len(raw); i += 7 {
			flipped := bytes.Clone(raw)
			flipped[i] ^= 1
			wantReason(t, VerifyAuthorization(&a, base64.RawURLEncoding.EncodeToString(flipped), keyA.public), ReasonLedgerSignature)
		}
	})
}

// TestAuthorizationIsNotARequestSignature: the agent's key signs both its
// API requests (RFC 9421, agentauth) and ledger authorizations. Neither
// kind of signature verifies as the other: a signature base starts with
// '"' and holds no NUL, an authorization message starts with
// AuthorizationPrefix (see its comment).
func TestAuthorizationIsNotARequestSignature(t *testing.T) {
	// A real request signature, and the signature base it covers rebuilt
	// per RFC 9421 §2.5 to show its shape.
	req, err := http.NewRequest(http.MethodGet, "https://pay.example/v1/payments/pay_1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := agentauth.Sign(req, nil, keyA.private, keyA.id, agentauth.SignParams{Created: testNow}); err != nil {
		t.Fatal(err)
	}
	input, _ := strings.CutPrefix(req.Header.Get("Signature-Input"), "sig1=")
	sigField, _ := strings.CutPrefix(req.Header.Get("Signature"), "sig1=:")
	requestSig, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(sigField, ":"))
	if err != nil {
		t.Fatal(err)
	}
	base := `"@method": GET` + "\n" + `"@target-uri": https://pay.example/v1/payments/pay_1` + "\n" + `"@signature-params": ` + input
	if !ed25519.Verify(keyA.public, []byte(base), requestSig) {
		t.Fatalf("the rebuilt signature base is not what agentauth signs:\n%s", base)
	}
	if base[0] != '"' || strings.IndexByte(base, 0) >= 0 {
		t.Fatal("a signature base starting other than with '\"', or holding NUL, breaks the disjointness argument")
	}

	a := testAuthorization(SchemeExact, "1500", testResource)
	msg, _ := a.Message()
	if !bytes.HasPrefix(msg, []byte(AuthorizationPrefix)) || msg[0] == '"' || bytes.IndexByte(msg, 0) < 0 {
		t.Fatalf("the authorization message %q lost its prefix", msg)
	}

	t.Run("request signature as authorization", func(t *testing.T) {
		err := VerifyAuthorization(&a, base64.RawURLEncoding.EncodeToString(requestSig), keyA.public)
		wantReason(t, err, ReasonLedgerSignature)
	})

	t.Run("authorization signature as request signature", func(t *testing.T) {
		authSig, err := SignAuthorization(&a, keyA.private)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := base64.RawURLEncoding.DecodeString(authSig)
		forged := req.Clone(context.Background())
		forged.Header.Set("Signature", "sig1=:"+base64.StdEncoding.EncodeToString(raw)+":")
		v := &agentauth.Verifier{
			BaseURL: &url.URL{Scheme: "https", Host: "pay.example"},
			Now:     func() time.Time { return testNow },
			Keys:    testKeys,
		}
		if _, err := v.Verify(req, nil); err != nil {
			t.Fatalf("the genuine request must verify: %v", err)
		}
		if _, err := v.Verify(forged, nil); err == nil {
			t.Fatal("an authorization signature verified as a request signature")
		}
	})
}
