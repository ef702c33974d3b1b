package agentauth

import (
	"context"
	"crypto/ed25519"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agentpay/agentpay"
)

const (
	testURL  = "https://pay.example/v1/payments?expand=items"
	testBody = `{"amount":100}`
)

func TestVerifyRoundTrip(t *testing.T) {
	v := testVerifier(t, keyA)
	tests := []struct {
		method, url, body string
		components        []string
	}{
		{"POST", testURL, testBody, []string{"@method", "@target-uri", "content-digest"}},
		{"GET", "https://pay.example/v1/payments/pay_1", "", []string{"@method", "@target-uri"}},
		{"DELETE", "https://pay.example/v1/grants/grt_1?", "", []string{"@method", "@target-uri"}},
		{"GET", "https://pay.example", "", []string{"@method", "@target-uri"}},
		{"GET", "https://pay.example/a%2Fb/%E2%82%AC?q=%20x&q=y", "", []string{"@method", "@target-uri"}},
		{"POST", "https://PAY.Example:443/v1/payments", "x", []string{"@method", "@target-uri", "content-digest"}},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.url, func(t *testing.T) {
			req := signAt(t, tt.method, tt.url, []byte(tt.body), keyA, SignParams{})
			if got := req.Header.Get("Content-Digest") != ""; got != (tt.body != "") {
				t.Fatalf("Content-Digest present = %v with body %q", got, tt.body)
			}
			got, err := v.Verify(receive(t, req, []byte(tt.body), "internal:8080"), []byte(tt.body))
			checkCode(t, err, "")
			want := Verified{KeyID: keyA.id, Nonce: testNonce, Created: testNow, Expires: testNow.Add(time.Minute), Components: tt.components}
			if got.KeyID != want.KeyID || got.Nonce != want.Nonce || !got.Created.Equal(want.Created) ||
				!got.Expires.Equal(want.Expires) || !slices.Equal(got.Components, want.Components) {
				t.Fatalf("Verify = %+v; want %+v", got, want)
			}
		})
	}
}

func TestVerifyRandomNonce(t *testing.T) {
	req, _ := http.NewRequest("POST", testURL, strings.NewReader(testBody))
	if err := Sign(req, []byte(testBody), keyA.private, keyA.id, SignParams{}); err != nil {
		t.Fatal(err)
	}
	v := testVerifier(t, keyA)
	v.Now = time.Now
	got, err := v.Verify(receive(t, req, []byte(testBody), "pay.example"), []byte(testBody))
	checkCode(t, err, "")
	if len(got.Nonce) != 22 {
		t.Fatalf("nonce %q: want 22 base64url characters (128 bits)", got.Nonce)
	}
}

func TestVerifyBasePathPrefix(t *testing.T) {
	// A proxy serves https://pay.example/api/… and strips /api.
	req := signAt(t, "GET", "https://pay.example/api/v1/payments?limit=5", nil, keyA, SignParams{})
	r := receive(t, req, nil, "backend:8080")
	r.URL.Path = strings.TrimPrefix(r.URL.Path, "/api")
	for _, base := range []string{"https://pay.example/api", "https://pay.example/api/"} {
		v := testVerifier(t, keyA)
		v.BaseURL = mustURL(t, base)
		_, err := v.Verify(r, nil)
		checkCode(t, err, "")
	}
	v := testVerifier(t, keyA)
	_, err := v.Verify(r, nil)
	checkCode(t, err, CodeSignatureInvalid)
}

func TestVerifySignedForAnotherHost(t *testing.T) {
	// A signature made for another service does not verify here, even if
	// the proxy says the request was for that host.
	req := signAt(t, "GET", "https://evil.example/v1/payments", nil, keyA, SignParams{})
	r := receive(t, req, nil, "evil.example")
	r.Header.Set("X-Forwarded-Host", "evil.example")
	_, err := testVerifier(t, keyA).Verify(r, nil)
	checkCode(t, err, CodeSignatureInvalid)
}

func TestVerifyGetWithBodyNeedsDigest(t *testing.T) {
	req := signAt(t, "GET", testURL, nil, keyA, SignParams{})
	_, err := testVerifier(t, keyA).Verify(receive(t, req, nil, "pay.example"), []byte("x"))
	checkCode(t, err, CodeDigestMissing)
	req.Header.Set("Content-Digest", ContentDigest([]byte("x")))
	_, err = testVerifier(t, keyA).Verify(receive(t, req, nil, "pay.example"), []byte("x"))
	checkCode(t, err, CodeSignatureComponents)
}

func TestVerifyKeyErrors(t *testing.T) {
	req := signAt(t, "GET", testURL, nil, keyA, SignParams{})
	r := receive(t, req, nil, "pay.example")
	v := testVerifier(t)
	v.Keys = func(context.Context, string) (ed25519.PublicKey, error) {
		return nil, agentpay.Errorf(agentpay.EUNAVAILABLE, "db_down", "the database is unavailable")
	}
	if _, err := v.Verify(r, nil); agentpay.ErrorKind(err) != agentpay.EUNAVAILABLE {
		t.Fatalf("Verify with a failing key store: %v; want kind %s", err, agentpay.EUNAVAILABLE)
	}
	v.Keys = func(context.Context, string) (ed25519.PublicKey, error) { return nil, errors.New("boom") }
	if _, err := v.Verify(r, nil); err == nil || agentpay.ErrorKind(err) != agentpay.EINTERNAL {
		t.Fatalf("Verify with a broken key store: %v; want an internal error", err)
	}
	v.Keys = func(context.Context, string) (ed25519.PublicKey, error) { return ed25519.PublicKey{1, 2}, nil }
	if _, err := v.Verify(r, nil); err == nil || agentpay.ErrorKind(err) != agentpay.EINTERNAL {
		t.Fatalf("Verify with a short key: %v; want an internal error", err)
	}
}

func TestVerifyConfiguration(t *testing.T) {
	req := signAt(t, "GET", testURL, nil, keyA, SignParams{})
	r := receive(t, req, nil, "pay.example")
	for _, base := range []string{"", "pay.example", "ftp://pay.example", "https://pay.example?x=1", "https://u@pay.example", "https:///x"} {
		v := testVerifier(t, keyA)
		v.BaseURL = mustURL(t, base)
		if _, err := v.Verify(r, nil); agentpay.ErrorKind(err) != agentpay.EINTERNAL {
			t.Errorf("BaseURL %q: %v; want an internal error", base, err)
		}
	}
	v := testVerifier(t, keyA)
	v.BaseURL = nil
	if _, err := v.Verify(r, nil); agentpay.ErrorKind(err) != agentpay.EINTERNAL {
		t.Errorf("nil BaseURL: %v; want an internal error", err)
	}
	v = testVerifier(t, keyA)
	v.Keys = nil
	if _, err := v.Verify(r, nil); agentpay.ErrorKind(err) != agentpay.EINTERNAL {
		t.Errorf("nil Keys: %v; want an internal error", err)
	}
}

func BenchmarkVerify(b *testing.B) {
	body := []byte(strings.Repeat(`{"amount":100}`, 70)) // about 1 KiB
	req := signAt(b, "POST", testURL, body, keyA, SignParams{})
	r := receive(b, req, body, "pay.example")
	v := testVerifier(b, keyA)
	for b.Loop() {
		if _, err := v.Verify(r, body); err != nil {
			b.Fatal(err)
		}
	}
}
