package agentauth

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/dunglas/httpsfv"
)

// testNow is the verifier's clock in tests.
var testNow = time.Unix(1_800_000_000, 0).UTC()

// testNonce is the nonce of requests signed by signAt unless a test says
// otherwise.
const testNonce = "bm9uY2Utbm9uY2UtMDE"

type testKey struct {
	private ed25519.PrivateKey
	public  ed25519.PublicKey
	id      string
}

// newTestKey derives a key pair from one seed byte.
func newTestKey(seed byte) testKey {
	private := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
	public := private.Public().(ed25519.PublicKey)
	return testKey{private: private, public: public, id: Thumbprint(public)}
}

var (
	keyA = newTestKey(1)
	keyB = newTestKey(2)
)

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// testVerifier verifies for https://pay.example at testNow and knows keys.
func testVerifier(t testing.TB, keys ...testKey) *Verifier {
	byID := map[string]ed25519.PublicKey{}
	for _, k := range keys {
		byID[k.id] = k.public
	}
	return &Verifier{
		BaseURL: mustURL(t, "https://pay.example"),
		Now:     func() time.Time { return testNow },
		Keys: func(_ context.Context, keyID string) (ed25519.PublicKey, error) {
			if key, ok := byID[keyID]; ok {
				return key, nil
			}
			return nil, agentpay.Errorf(agentpay.ENOTFOUND, "agent_key_not_found", "no such key")
		},
	}
}

// signAt builds a client request for method and rawURL with body, signed
// by key with the given params (created defaults to testNow, the nonce to
// testNonce).
func signAt(t testing.TB, method, rawURL string, body []byte, key testKey, p SignParams) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if p.Created.IsZero() {
		p.Created = testNow
	}
	if p.Nonce == "" {
		p.Nonce = testNonce
	}
	if err := Sign(req, body, key.private, key.id, p); err != nil {
		t.Fatal(err)
	}
	return req
}

// receive returns req as the server sees it behind a proxy: an origin-form
// request target, the proxy's Host, and the client's header fields.
func receive(t testing.TB, req *http.Request, body []byte, host string) *http.Request {
	t.Helper()
	r := httptest.NewRequest(req.Method, req.URL.RequestURI(), bytes.NewReader(body))
	r.Host = host
	r.Header = req.Header.Clone()
	return r
}

// checkCode fails unless err is an EUNAUTHORIZED refusal with code, or nil
// when code is empty.
func checkCode(t testing.TB, err error, code string) {
	t.Helper()
	if code == "" {
		if err != nil {
			t.Fatalf("Verify: %v; want success", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("Verify succeeded; want %s", code)
	}
	if kind, got := agentpay.ErrorKind(err), agentpay.ErrorCode(err); kind != agentpay.EUNAUTHORIZED || got != code {
		t.Fatalf("Verify: %v (kind %s, code %s); want kind %s, code %s", err, kind, got, agentpay.EUNAUTHORIZED, code)
	}
}

// replaceHeader replaces old with new in header name of r, failing the test
// if old is absent.
func replaceHeader(t testing.TB, r *http.Request, name, old, new string) {
	t.Helper()
	value := r.Header.Get(name)
	if !strings.Contains(value, old) {
		t.Fatalf("%s %q does not contain %q", name, value, old)
	}
	r.Header.Set(name, strings.Replace(value, old, new, 1))
}

// orderedParams returns the signature parameters in p in the order Sign
// uses.
func orderedParams(p map[string]any) *httpsfv.Params {
	params := httpsfv.NewParams()
	for _, name := range []string{"created", "expires", "nonce", "keyid", "alg", "tag"} {
		if value, ok := p[name]; ok {
			params.Add(name, value)
		}
	}
	return params
}
