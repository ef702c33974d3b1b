package agentauth

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"math/big"
	"strings"
	"testing"

	"github.com/agentpay/agentpay"
)

// RFC 8037 Appendix A: an Ed25519 key pair (A.1, A.2) and the thumbprint of
// its public key (A.3).
const (
	rfc8037D          = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
	rfc8037X          = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
	rfc8037Thumbprint = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
)

func TestRFC8037(t *testing.T) {
	seed, err := base64.RawURLEncoding.DecodeString(rfc8037D)
	if err != nil {
		t.Fatal(err)
	}
	public := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	key, err := ParseJWK([]byte(`{"kty":"OKP","crv":"Ed25519","x":"` + rfc8037X + `"}`))
	if err != nil {
		t.Fatal(err)
	}
	if !key.Equal(public) {
		t.Fatal("the RFC 8037 public key does not match its private key")
	}
	if got := Thumbprint(key); got != rfc8037Thumbprint {
		t.Fatalf("Thumbprint = %s; want %s", got, rfc8037Thumbprint)
	}
	want := `{"crv":"Ed25519","kty":"OKP","x":"` + rfc8037X + `"}`
	if got := string(JWK(key)); got != want {
		t.Fatalf("JWK = %s; want %s", got, want)
	}
}

func TestParseJWKAccepts(t *testing.T) {
	for _, doc := range []string{
		`{"kty":"OKP","crv":"Ed25519","x":"` + rfc8037X + `"}`,
		` { "x" : "` + rfc8037X + `", "crv":"Ed25519", "kty":"OKP" } `,
		`{"kty":"OKP","crv":"Ed25519","x":"` + rfc8037X + `","kid":"my agent","use":"sig","alg":"EdDSA","key_ops":["verify"]}`,
		`{"kty":"OKP","crv":"Ed25519","x":"` + rfc8037X + `","alg":"Ed25519","x5t":"ignored","ext":true}`,
	} {
		key, err := ParseJWK([]byte(doc))
		if err != nil {
			t.Errorf("ParseJWK(%s): %v", doc, err)
			continue
		}
		if Thumbprint(key) != rfc8037Thumbprint {
			t.Errorf("ParseJWK(%s): wrong key", doc)
		}
	}
}

func TestParseJWKRefuses(t *testing.T) {
	jwk := func(x string, extra string) string {
		return `{"kty":"OKP","crv":"Ed25519","x":"` + x + `"` + extra + `}`
	}
	xOf := func(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
	identity := make([]byte, 32)
	identity[0] = 1
	tests := []struct {
		name, doc, code string
	}{
		{"private key", jwk(rfc8037X, `,"d":"`+rfc8037D+`"`), CodeJWKPrivate},
		{"private key null", jwk(rfc8037X, `,"d":null`), CodeJWKPrivate},
		{"empty", ``, CodeJWKInvalid},
		{"array", `[]`, CodeJWKInvalid},
		{"null", `null`, CodeJWKInvalid},
		{"truncated", jwk(rfc8037X, "")[:40], CodeJWKInvalid},
		{"trailing data", jwk(rfc8037X, "") + `{}`, CodeJWKInvalid},
		{"duplicate x", jwk(rfc8037X, `,"x":"`+xOf(keyA.public)+`"`), CodeJWKInvalid},
		{"duplicate kty", jwk(rfc8037X, `,"kty":"OKP"`), CodeJWKInvalid},
		{"invalid UTF-8", `{"kty":"OKP","crv":"Ed25519","x":"` + rfc8037X + `","kid":"` + "\xff" + `"}`, CodeJWKInvalid},
		{"kty EC", `{"kty":"EC","crv":"Ed25519","x":"` + rfc8037X + `"}`, CodeJWKInvalid},
		{"kty lowercase", `{"kty":"okp","crv":"Ed25519","x":"` + rfc8037X + `"}`, CodeJWKInvalid},
		{"kty missing", `{"crv":"Ed25519","x":"` + rfc8037X + `"}`, CodeJWKInvalid},
		{"crv X25519", `{"kty":"OKP","crv":"X25519","x":"` + rfc8037X + `"}`, CodeJWKInvalid},
		{"crv Ed448", `{"kty":"OKP","crv":"Ed448","x":"` + rfc8037X + `"}`, CodeJWKInvalid},
		{"crv number", `{"kty":"OKP","crv":25519,"x":"` + rfc8037X + `"}`, CodeJWKInvalid},
		{"x missing", `{"kty":"OKP","crv":"Ed25519"}`, CodeJWKInvalid},
		{"x number", `{"kty":"OKP","crv":"Ed25519","x":1}`, CodeJWKInvalid},
		{"x padded", jwk(rfc8037X+"=", ""), CodeJWKInvalid},
		{"x standard base64", jwk(base64.StdEncoding.EncodeToString(keyA.public), ""), CodeJWKInvalid},
		{"x with trailing bits", jwk(rfc8037X[:42]+"p", ""), CodeJWKInvalid},
		{"x 31 bytes", jwk(xOf(keyA.public[:31]), ""), CodeJWKInvalid},
		{"x 33 bytes", jwk(xOf(append(append([]byte{}, keyA.public...), 0)), ""), CodeJWKInvalid},
		{"x identity", jwk(xOf(identity), ""), CodeJWKInvalid},
		{"x order 2", jwk(xOf(littleEndian(new(big.Int).Sub(curveP, big.NewInt(1)))), ""), CodeJWKInvalid},
		{"x order 4", jwk(xOf(make([]byte, 32)), ""), CodeJWKInvalid},
		{"x non-canonical", jwk(xOf(littleEndian(new(big.Int).Add(curveP, big.NewInt(2)))), ""), CodeJWKInvalid},
		{"x not on the curve", jwk(xOf(offCurve(t)), ""), CodeJWKInvalid},
		{"x zero with sign", jwk(xOf(append(append([]byte{}, identity[:31]...), 0x80)), ""), CodeJWKInvalid},
		{"use enc", jwk(rfc8037X, `,"use":"enc"`), CodeJWKInvalid},
		{"alg ES256", jwk(rfc8037X, `,"alg":"ES256"`), CodeJWKInvalid},
		{"key_ops sign", jwk(rfc8037X, `,"key_ops":["sign","verify"]`), CodeJWKInvalid},
		{"too long", jwk(rfc8037X, `,"kid":"`+strings.Repeat("k", jwkSizeMax)+`"`), CodeJWKInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := ParseJWK([]byte(tt.doc))
			if err == nil {
				t.Fatalf("ParseJWK(%s) = %x; want %s", tt.doc, key, tt.code)
			}
			if kind, code := agentpay.ErrorKind(err), agentpay.ErrorCode(err); kind != agentpay.EINVALID || code != tt.code {
				t.Fatalf("ParseJWK: %v; want kind %s code %s", err, agentpay.EINVALID, tt.code)
			}
		})
	}
}

// TestPointValidAgreesWithStdlib checks the curve arithmetic of pointValid
// against crypto/ed25519, which refuses keys that are not points: random
// keys are accepted, random byte strings are points exactly when the
// standard library can use them.
func TestPointValidAgreesWithStdlib(t *testing.T) {
	for range 500 {
		public, _, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if !pointValid(public) {
			t.Fatalf("pointValid(%x) = false for a generated key", []byte(public))
		}
		if _, err := ParseJWK(JWK(public)); err != nil {
			t.Fatalf("ParseJWK(JWK(%x)): %v", []byte(public), err)
		}
	}
	points := 0
	for range 2000 {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		y, canonical := pointY(b)
		if !canonical {
			continue // the standard library accepts non-canonical encodings
		}
		ours := pointOnCurve(y, b[31]>>7)
		err := ed25519.VerifyWithOptions(b, []byte("m"), make([]byte, 64), &ed25519.Options{})
		theirs := err == nil || !strings.Contains(err.Error(), "bad public key")
		if ours != theirs {
			t.Fatalf("%x: pointOnCurve = %v, crypto/ed25519 %v", b, ours, err)
		}
		if ours {
			points++
		}
	}
	if points < 800 || points > 1200 {
		t.Fatalf("%d of 2000 random strings are points; about half should be", points)
	}
}

// offCurve returns a canonical encoding that is not a point.
func offCurve(t *testing.T) []byte {
	for i := int64(2); i < 100; i++ {
		b := littleEndian(big.NewInt(i))
		if y, _ := pointY(b); !pointOnCurve(y, 0) {
			return b
		}
	}
	t.Fatal("no small y off the curve")
	return nil
}

func littleEndian(n *big.Int) []byte {
	be := n.FillBytes(make([]byte, 32))
	le := make([]byte, 32)
	for i := range be {
		le[31-i] = be[i]
	}
	return le
}

// TestPointLowOrder checks that every point of order dividing 8 is refused
// and that points of large order, even with a small-order component, are
// not. The order-8 encodings were checked by repeated doubling with
// independent arithmetic (a Python model of RFC 8032 §5.1).
func TestPointLowOrder(t *testing.T) {
	low := []string{
		"0100000000000000000000000000000000000000000000000000000000000000", // identity
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // order 2: y = −1
		"0000000000000000000000000000000000000000000000000000000000000000", // order 4: y = 0
		"0000000000000000000000000000000000000000000000000000000000000080", // order 4, other sign
		"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", // order 8
		"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85", // order 8
		"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", // order 8
		"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa", // order 8
	}
	for _, h := range low {
		b := mustHex(t, h)
		y, ok := pointY(b)
		if !ok || !pointOnCurve(y, b[31]>>7) {
			t.Errorf("%s: not a point", h)
		}
		if pointValid(b) {
			t.Errorf("pointValid(%s) = true for a small-order point", h)
		}
	}
	for _, h := range []string{
		"5866666666666666666666666666666666666666666666666666666666666666", // the base point
		"98519eadf35b995233b51b5cd23e9cc5a28b639b5a4af0ec903cb960d81b7819", // base point + an order-8 point
	} {
		if !pointValid(mustHex(t, h)) {
			t.Errorf("pointValid(%s) = false", h)
		}
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
