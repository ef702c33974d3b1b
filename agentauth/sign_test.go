package agentauth

import (
	"crypto/ed25519"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/dunglas/httpsfv"
)

// TestSignHeaders pins the exact header fields Sign writes and the exact
// signature base it signs, written out by hand from RFC 9421 §2.5 (the digest computed
// independently with Python's hashlib).
func TestSignHeaders(t *testing.T) {
	req := signAt(t, "POST", testURL, []byte(testBody), keyA, SignParams{})
	wantInput := `sig1=("@method" "@target-uri" "content-digest");created=1800000000;expires=1800000060` +
		`;nonce="bm9uY2Utbm9uY2UtMDE";keyid="` + keyA.id + `";alg="ed25519";tag="agentpay"`
	if got := req.Header.Get("Signature-Input"); got != wantInput {
		t.Errorf("Signature-Input\n got %s\nwant %s", got, wantInput)
	}
	wantDigest := "sha-256=:TUu+Wcaq0iRCzeGZpqil8DRAX814+1qBwk7ySd4cRfE=:"
	if got := req.Header.Get("Content-Digest"); got != wantDigest {
		t.Errorf("Content-Digest %s; want %s", got, wantDigest)
	}
	wantBase := `"@method": POST` + "\n" +
		`"@target-uri": https://pay.example/v1/payments?expand=items` + "\n" +
		`"content-digest": ` + wantDigest + "\n" +
		`"@signature-params": ("@method" "@target-uri" "content-digest");created=1800000000;expires=1800000060` +
		`;nonce="bm9uY2Utbm9uY2UtMDE";keyid="` + keyA.id + `";alg="ed25519";tag="agentpay"`
	sig := req.Header.Get("Signature")
	if !strings.HasPrefix(sig, "sig1=:") || !strings.HasSuffix(sig, ":") {
		t.Fatalf("Signature %q is not sig1=:BASE64:", sig)
	}
	raw, err := base64.StdEncoding.DecodeString(sig[len("sig1=:") : len(sig)-1])
	if err != nil {
		t.Fatal(err)
	}
	if !ed25519.Verify(keyA.public, []byte(wantBase), raw) {
		t.Errorf("the signature does not verify over the hand-built base\n%s", wantBase)
	}
}

func TestSignWithoutBody(t *testing.T) {
	req, _ := http.NewRequest("GET", "https://pay.example/v1/payments", nil)
	req.Header.Set("Content-Digest", "sha-256=:stale:")
	if err := Sign(req, nil, keyA.private, keyA.id, SignParams{Created: testNow, Nonce: testNonce, Lifetime: 2 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	if got := req.Header.Get("Content-Digest"); got != "" {
		t.Errorf("Content-Digest %q left on a request without body", got)
	}
	want := `sig1=("@method" "@target-uri");created=1800000000;expires=1800000120;nonce="bm9uY2Utbm9uY2UtMDE";keyid="` +
		keyA.id + `";alg="ed25519";tag="agentpay"`
	if got := req.Header.Get("Signature-Input"); got != want {
		t.Errorf("Signature-Input\n got %s\nwant %s", got, want)
	}
}

func TestSignRefuses(t *testing.T) {
	tests := []struct {
		name  string
		url   string
		key   ed25519.PrivateKey
		keyID string
		p     SignParams
	}{
		{"relative URL", "/v1/payments", keyA.private, keyA.id, SignParams{}},
		{"ftp URL", "ftp://pay.example/x", keyA.private, keyA.id, SignParams{}},
		{"short key", testURL, keyA.private[:32], keyA.id, SignParams{}},
		{"empty keyid", testURL, keyA.private, "", SignParams{}},
		{"keyid with newline", testURL, keyA.private, "a\nb", SignParams{}},
		{"short nonce", testURL, keyA.private, keyA.id, SignParams{Nonce: "short"}},
		{"long nonce", testURL, keyA.private, keyA.id, SignParams{Nonce: strings.Repeat("n", 129)}},
		{"non-ASCII nonce", testURL, keyA.private, keyA.id, SignParams{Nonce: "nonce-nonce-nonce-é"}},
		{"negative lifetime", testURL, keyA.private, keyA.id, SignParams{Lifetime: -time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest("GET", tt.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = Sign(req, nil, tt.key, tt.keyID, tt.p)
			if agentpay.ErrorKind(err) != agentpay.EINVALID {
				t.Fatalf("Sign: %v; want an EINVALID error", err)
			}
			if req.Header.Get("Signature") != "" {
				t.Fatal("Sign set Signature despite failing")
			}
		})
	}
}

// TestRFC9421Ed25519 reproduces RFC 9421 Appendix B.2.6: the signature base
// of the test request and its Ed25519 signature with test-key-ed25519
// (Appendix B.1.4). Ed25519 is deterministic, so the signature must match
// byte for byte.
func TestRFC9421Ed25519(t *testing.T) {
	const (
		privatePEM = "MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF"
		publicJWK  = `{"kty":"OKP","crv":"Ed25519","kid":"test-key-ed25519","x":"JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs"}`
		input      = `sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"`
		signature  = `sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:`
		wantBase   = `"date": Tue, 20 Apr 2021 02:07:55 GMT` + "\n" +
			`"@method": POST` + "\n" +
			`"@path": /foo` + "\n" +
			`"@authority": example.com` + "\n" +
			`"content-type": application/json` + "\n" +
			`"content-length": 18` + "\n" +
			`"@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"`
	)
	// The PKCS #8 private key ends with the 32-byte seed.
	der, err := base64.StdEncoding.DecodeString(privatePEM)
	if err != nil {
		t.Fatal(err)
	}
	private := ed25519.NewKeyFromSeed(der[len(der)-ed25519.SeedSize:])
	public, err := ParseJWK([]byte(publicJWK))
	if err != nil {
		t.Fatal(err)
	}
	if !public.Equal(private.Public()) {
		t.Fatal("the B.1.4 private key does not match its public key")
	}

	req, _ := http.NewRequest("POST", "http://example.com/foo?param=Value&Pet=dog", strings.NewReader(`{"hello": "world"}`))
	req.Header.Set("Date", "Tue, 20 Apr 2021 02:07:55 GMT")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Length", "18")
	req.Header.Set("Signature-Input", input)
	req.Header.Set("Signature", signature)
	m, err := clientMessage(req)
	if err != nil {
		t.Fatal(err)
	}
	dict, err := httpsfv.UnmarshalDictionary([]string{input})
	if err != nil {
		t.Fatal(err)
	}
	member, _ := dict.Get("sig-b26")
	base, _, err := signatureBase(m, member.(httpsfv.InnerList))
	if err != nil {
		t.Fatal(err)
	}
	if base != wantBase {
		t.Fatalf("signature base\n%s\nwant\n%s", base, wantBase)
	}
	got := "sig-b26=:" + base64.StdEncoding.EncodeToString(ed25519.Sign(private, []byte(base))) + ":"
	if got != signature {
		t.Fatalf("signature %s; want %s", got, signature)
	}
	raw, err := signatureValue(req.Header, "sig-b26")
	if err != nil {
		t.Fatal(err)
	}
	if !ed25519.Verify(public, []byte(base), raw) {
		t.Fatal("the RFC signature does not verify")
	}
	// The vector has no tag, so it is not an agentpay signature.
	if _, err := selectSignature(req.Header); agentpay.ErrorCode(err) != CodeSignatureMissing {
		t.Fatalf("selectSignature: %v; want %s", err, CodeSignatureMissing)
	}
}

// TestTargetURI checks the @target-uri of RFC 9421 §2.2.2 and the query
// and path forms on both sides.
func TestTargetURI(t *testing.T) {
	tests := []struct{ client, want string }{
		{"https://www.example.com/path?param=value", "https://www.example.com/path?param=value"},
		{"https://WWW.Example.COM:443/path", "https://www.example.com/path"},
		{"http://example.com:80", "http://example.com/"},
		{"http://example.com:8080/?", "http://example.com:8080/?"},
		{"https://example.com/a%2Fb%20c?x=%41", "https://example.com/a%2Fb%20c?x=%41"},
		{"https://[2001:db8::1]:443/x", "https://[2001:db8::1]/x"},
	}
	for _, tt := range tests {
		req, err := http.NewRequest("GET", tt.client, nil)
		if err != nil {
			t.Fatal(err)
		}
		m, err := clientMessage(req)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.targetURI(); got != tt.want {
			t.Errorf("client %s: @target-uri %s; want %s", tt.client, got, tt.want)
		}
		v := testVerifier(t)
		base := *req.URL
		base.Path, base.RawPath, base.RawQuery, base.ForceQuery = "", "", "", false
		v.BaseURL = &base
		sm, err := v.message(receive(t, req, nil, "internal"))
		if err != nil {
			t.Fatal(err)
		}
		if got := sm.targetURI(); got != tt.want {
			t.Errorf("server for %s: @target-uri %s; want %s", tt.client, got, tt.want)
		}
	}
}
