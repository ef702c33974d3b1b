package sdk_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentpay/agentpay/agentauth"
	"github.com/agentpay/agentpay/sdk"
)

func server(t *testing.T) *testServer {
	t.Helper()
	ts, err := newTestServer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ts.Close)
	return ts
}

func newKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	key, err := sdk.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return key
}

var linkReq = sdk.LinkRequest{AgentName: "Shopping Helper", SoftwareID: "com.example.helper",
	Scopes: []string{"payments:create", "tips"}, Limits: sdk.Limits{Asset: "USD", PerPayment: 5000, PerDay: 10000, PerMonth: 50000}}

func noSleep(context.Context, time.Duration) error { return nil }

// linked returns an agent whose key the user approved.
func linked(t *testing.T, ts *testServer) *sdk.Agent {
	t.Helper()
	a := sdk.NewAgent(ts.URL, newKey(t))
	a.Sleep = noSleep
	if _, err := a.Link(context.Background(), linkReq, func(p sdk.Pending) {
		if err := ts.approve(p.UserCode); err != nil {
			t.Error(err)
		}
	}); err != nil {
		t.Fatal(err)
	}
	return a
}

func TestLinkPollsAtTheIntervalThenSignedRequests(t *testing.T) {
	ts := server(t)
	ctx := context.Background()
	a := sdk.NewAgent(ts.URL, newKey(t))
	var shown sdk.Pending
	var sleeps []time.Duration
	a.Sleep = func(ctx context.Context, d time.Duration) error {
		sleeps = append(sleeps, d)
		if len(sleeps) == 2 { // the user approves while the agent waits
			return ts.approve(shown.UserCode)
		}
		return nil
	}
	g, err := a.Link(ctx, linkReq, func(p sdk.Pending) { shown = p })
	if err != nil {
		t.Fatal(err)
	}
	if len(shown.UserCode) != 9 || shown.VerificationURI != ts.URL+"/link" ||
		shown.VerificationURIComplete != shown.VerificationURI+"?code="+shown.UserCode ||
		shown.Interval != 5*time.Second || shown.ExpiresIn != 15*time.Minute || !strings.HasPrefix(shown.ID, "lnk_") {
		t.Fatalf("pending %+v", shown)
	}
	// First poll at once: pending, wait 5 s; the next poll (real time too
	// soon) gets slow_down, so the agent waits 5 s more.
	if !slices.Equal(sleeps, []time.Duration{5 * time.Second, 10 * time.Second}) {
		t.Fatalf("slept %v", sleeps)
	}
	if g.Status != "active" || g.AgentKeyID != a.KeyID() || !slices.Equal(g.Scopes, linkReq.Scopes) || g.Limits != linkReq.Limits ||
		g.ExpiresAt.Before(time.Now()) || g.CreatedAt.IsZero() {
		t.Fatalf("grant %+v", g)
	}
	got, err := a.Grant(ctx)
	if err != nil || got.ID != g.ID {
		t.Fatalf("Grant: %+v %v", got, err)
	}
	for range 2 { // each ping a fresh nonce and Idempotency-Key
		if err := a.Ping(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := nonces(t, ts); n != 2 {
		t.Fatalf("%d nonces recorded, want 2", n)
	}
	var out struct {
		OK      bool   `json:"ok"`
		GrantID string `json:"grant_id"`
	}
	if err := a.Do(ctx, http.MethodPost, "/v1/agent/ping", map[string]any{}, &out); err != nil || !out.OK || out.GrantID != g.ID {
		t.Fatalf("Do: %+v %v", out, err)
	}
}

func nonces(t *testing.T, ts *testServer) int {
	t.Helper()
	var n int
	if err := ts.DB.Reader().QueryRow(`SELECT COUNT(*) FROM agent_nonces`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestLinkDenied(t *testing.T) {
	ts := server(t)
	a := sdk.NewAgent(ts.URL, newKey(t))
	a.Sleep = noSleep
	_, err := a.Link(context.Background(), linkReq, func(p sdk.Pending) {
		if err := ts.deny(p.UserCode); err != nil {
			t.Error(err)
		}
	})
	var e *sdk.Error
	if !errors.As(err, &e) || e.Code != "access_denied" || e.Status != 400 || e.Type != "invalid_request_error" {
		t.Fatalf("want access_denied, got %v", err)
	}
	if _, err := a.Grant(context.Background()); sdk.ErrorCode(err) != "unknown_key" {
		t.Fatalf("grant of a denied key: %v", err)
	}
}

func TestLinkStopsWithTheContext(t *testing.T) {
	ts := server(t)
	a := sdk.NewAgent(ts.URL, newKey(t)) // real timer: the cancel must end the 5 s wait
	ctx, cancel := context.WithCancel(context.Background())
	start := time.Now()
	_, err := a.Link(ctx, linkReq, func(sdk.Pending) { cancel() })
	if !errors.Is(err, context.Canceled) || time.Since(start) > 3*time.Second {
		t.Fatalf("want context.Canceled at once, got %v after %v", err, time.Since(start))
	}
}

func TestLinkRefusedRequest(t *testing.T) {
	ts := server(t)
	a := sdk.NewAgent(ts.URL, newKey(t))
	req := linkReq
	req.Scopes = []string{"admin"}
	called := false
	_, err := a.Link(context.Background(), req, func(sdk.Pending) { called = true })
	var e *sdk.Error
	if !errors.As(err, &e) || e.Status != 400 || e.Param != "scopes" || called {
		t.Fatalf("want 400 param scopes, got %v (onCode called %v)", err, called)
	}
}

// attempt is one request the recording transport saw.
type attempt struct {
	method, path, idemKey, signature string
	status                           int
	replayed                         bool
	err                              error
}

// recorder records every attempt and can fail some: drop loses the
// response of a request the server processed; fake answers in its place.
type recorder struct {
	mu       sync.Mutex
	attempts []attempt
	drop     func(n int, r *http.Request) bool
	fake     func(n int, r *http.Request) *http.Response
}

func (rt *recorder) RoundTrip(r *http.Request) (*http.Response, error) {
	rt.mu.Lock()
	n := len(rt.attempts)
	at := attempt{method: r.Method, path: r.URL.Path, idemKey: r.Header.Get("Idempotency-Key"), signature: r.Header.Get("Signature")}
	rt.attempts = append(rt.attempts, at)
	rt.mu.Unlock()
	var resp *http.Response
	var err error
	if rt.fake != nil {
		resp = rt.fake(n, r)
	}
	if resp == nil {
		resp, err = http.DefaultTransport.RoundTrip(r)
	}
	status, replayed := 0, false
	if resp != nil {
		status, replayed = resp.StatusCode, resp.Header.Get("Idempotent-Replayed") == "true"
	}
	if err == nil && rt.drop != nil && rt.drop(n, r) {
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		resp, err = nil, errors.New("connection reset (test)")
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.attempts[n].err, rt.attempts[n].status, rt.attempts[n].replayed = err, status, replayed
	return resp, err
}

func (rt *recorder) seen() []attempt {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return slices.Clone(rt.attempts)
}

func TestRetryAfterLostResponseGetsTheReplay(t *testing.T) {
	ts := server(t)
	a := linked(t, ts)
	before := nonces(t, ts)
	rt := &recorder{drop: func(n int, r *http.Request) bool { return n == 0 && r.Method == http.MethodPost }}
	a.HTTPClient = &http.Client{Transport: rt}
	if err := a.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	at := rt.seen()
	if len(at) != 2 || at[0].err == nil || at[0].status != 200 || at[0].replayed {
		t.Fatalf("attempts %+v", at)
	}
	if at[1].status != 200 || !at[1].replayed || at[1].err != nil {
		t.Fatalf("retry was not the replay: %+v", at[1])
	}
	if at[0].idemKey == "" || at[1].idemKey != at[0].idemKey {
		t.Fatalf("Idempotency-Keys %q %q", at[0].idemKey, at[1].idemKey)
	}
	if at[0].signature == "" || at[1].signature == at[0].signature {
		t.Fatal("the retry was not signed afresh")
	}
	// One effect: the first attempt's nonce only; the replay wrote nothing.
	if n := nonces(t, ts); n != before+1 {
		t.Fatalf("%d nonces recorded, want %d", n, before+1)
	}
}

func TestRetryOn503AndInFlight(t *testing.T) {
	ts := server(t)
	a := linked(t, ts)
	var sleeps []time.Duration
	a.Sleep = func(_ context.Context, d time.Duration) error { sleeps = append(sleeps, d); return nil }
	rt := &recorder{fake: func(n int, r *http.Request) *http.Response {
		switch n {
		case 0:
			return fakeResponse(r, 503, `{"error":{"type":"api_error","code":"unavailable","message":"busy"}}`, "2")
		case 1:
			return fakeResponse(r, 409, `{"error":{"type":"conflict_error","code":"idempotency_in_flight","message":"wait"}}`, "1")
		}
		return nil
	}}
	a.HTTPClient = &http.Client{Transport: rt}
	g, err := a.Grant(context.Background())
	if err != nil || g.Status != "active" {
		t.Fatalf("%+v %v", g, err)
	}
	at := rt.seen()
	if len(at) != 3 || at[2].status != 200 || at[0].idemKey != "" {
		t.Fatalf("attempts %+v", at)
	}
	// Retry-After raises the backoff (200 ms, then 400 ms) to 2 s and 1 s.
	if !slices.Equal(sleeps, []time.Duration{2 * time.Second, time.Second}) {
		t.Fatalf("backoff %v", sleeps)
	}
}

func fakeResponse(r *http.Request, status int, body, retryAfter string) *http.Response {
	h := http.Header{"Content-Type": {"application/json"}, "Retry-After": {retryAfter}}
	return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader(body)), Request: r,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}
}

func TestRetriesAreBounded(t *testing.T) {
	ts := server(t)
	a := sdk.NewAgent(ts.URL, newKey(t))
	var sleeps []time.Duration
	a.Sleep = func(_ context.Context, d time.Duration) error { sleeps = append(sleeps, d); return nil }
	rt := &recorder{drop: func(int, *http.Request) bool { return true }}
	a.HTTPClient = &http.Client{Transport: rt}
	err := a.Ping(context.Background())
	if err == nil || !strings.Contains(err.Error(), "connection reset (test)") {
		t.Fatalf("want the network error, got %v", err)
	}
	at := rt.seen()
	if len(at) != sdk.DefaultMaxRetries+1 {
		t.Fatalf("%d attempts", len(at))
	}
	for _, x := range at[1:] {
		if x.idemKey != at[0].idemKey {
			t.Fatal("Idempotency-Key changed between retries")
		}
	}
	if !slices.Equal(sleeps, []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond}) {
		t.Fatalf("backoff %v", sleeps)
	}
	a.MaxRetries = 0
	n := len(rt.seen())
	_ = a.Ping(context.Background())
	if len(rt.seen()) != n+1 {
		t.Fatal("MaxRetries 0 retried")
	}
}

func TestNoRetryOn4xx(t *testing.T) {
	ts := server(t)
	a := sdk.NewAgent(ts.URL, newKey(t)) // never linked
	rt := &recorder{}
	a.HTTPClient = &http.Client{Transport: rt}
	for _, f := range []func() error{
		func() error { _, err := a.Grant(context.Background()); return err },
		func() error { return a.Ping(context.Background()) },
	} {
		err := f()
		var e *sdk.Error
		if !errors.As(err, &e) || e.Status != 401 || e.Code != "unknown_key" || e.Type != "authentication_error" {
			t.Fatalf("want 401 unknown_key, got %v", err)
		}
	}
	if n := len(rt.seen()); n != 2 {
		t.Fatalf("%d attempts for two refused calls", n)
	}
	// Signatures cover the base URL: an agent using another URL for the
	// same server is refused.
	other := sdk.NewAgent(strings.Replace(ts.URL, "127.0.0.1", "localhost", 1), newKey(t))
	if _, err := other.Grant(context.Background()); sdk.ErrorCode(err) == "" {
		t.Fatalf("want a refusal, got %v", err)
	}
}

func TestErrorOfANonJSONAnswer(t *testing.T) {
	m := sdk.NewMerchant("http://127.0.0.1:1", "sk_x")
	m.MaxRetries = 0
	m.HTTPClient = &http.Client{Transport: &recorder{fake: func(_ int, r *http.Request) *http.Response {
		return fakeResponse(r, 502, "Bad Gateway\n", "")
	}}}
	_, err := m.Me(context.Background())
	var e *sdk.Error
	if !errors.As(err, &e) || e.Status != 502 || e.Code != "http_502" || e.Message != "Bad Gateway" || e.Error() != "agentpay: 502 http_502: Bad Gateway" {
		t.Fatalf("got %#v", err)
	}
}

func TestMerchant(t *testing.T) {
	ts := server(t)
	ctx := context.Background()
	apiKey, err := ts.onboard("Corner Shop")
	if err != nil {
		t.Fatal(err)
	}
	rt := &recorder{}
	m := sdk.NewMerchant(ts.URL, apiKey)
	m.HTTPClient = &http.Client{Transport: rt}
	me, err := m.Me(ctx)
	if err != nil || me.Name != "Corner Shop" || me.Status != "active" || !strings.HasPrefix(me.ID, "mer_") || me.CreatedAt.IsZero() {
		t.Fatalf("Me: %+v %v", me, err)
	}
	accounts, err := m.Accounts(ctx)
	if err != nil || len(accounts) != 1 || accounts[0].Asset != "USD" || accounts[0].OwnerID != me.ID {
		t.Fatalf("Accounts: %+v %v", accounts, err)
	}
	keys, err := m.APIKeys(ctx)
	if err != nil || len(keys) != 1 || keys[0].RevokedAt != nil || keys[0].Secret != "" {
		t.Fatalf("APIKeys: %+v %v", keys, err)
	}
	first := keys[0].ID
	if _, err := m.RevokeAPIKey(ctx, first); sdk.ErrorCode(err) != "last_active_key" {
		t.Fatalf("revoking the last key: %v", err)
	}
	created, err := m.CreateAPIKey(ctx)
	if err != nil || !strings.HasPrefix(created.Secret, "sk_") || created.ID == first {
		t.Fatalf("CreateAPIKey: %+v %v", created, err)
	}
	// The new key works; revoke the first with it.
	m2 := sdk.NewMerchant(ts.URL, created.Secret)
	revoked, err := m2.RevokeAPIKey(ctx, first)
	if err != nil || revoked.ID != first || revoked.RevokedAt == nil {
		t.Fatalf("RevokeAPIKey: %+v %v", revoked, err)
	}
	if _, err := m.Me(ctx); sdk.ErrorCode(err) == "" || err.(*sdk.Error).Status != 401 {
		t.Fatalf("revoked key: %v", err)
	}
	if _, err := m2.RevokeAPIKey(ctx, "key_nope"); sdk.ErrorCode(err) != "api_key_not_found" {
		t.Fatalf("unknown key: %v", err)
	}
	// Mutations carried distinct automatic Idempotency-Keys; reads none;
	// the refusals were not retried.
	var posts []string
	for _, x := range rt.seen() {
		if x.method == http.MethodPost {
			posts = append(posts, x.idemKey)
		} else if x.idemKey != "" {
			t.Fatalf("GET with Idempotency-Key %q", x.idemKey)
		}
	}
	if len(posts) != 2 || posts[0] == "" || posts[1] == "" || posts[0] == posts[1] {
		t.Fatalf("POST Idempotency-Keys %q", posts)
	}
	if n := len(rt.seen()); n != 6 {
		t.Fatalf("%d attempts, want 6", n)
	}
}

func TestMerchantRetryAfterLostResponse(t *testing.T) {
	ts := server(t)
	apiKey, err := ts.onboard("Shop")
	if err != nil {
		t.Fatal(err)
	}
	rt := &recorder{drop: func(n int, r *http.Request) bool { return n == 0 }}
	m := sdk.NewMerchant(ts.URL, apiKey)
	m.Sleep = noSleep
	m.HTTPClient = &http.Client{Transport: rt}
	created, err := m.CreateAPIKey(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	at := rt.seen()
	if len(at) != 2 || !at[1].replayed || at[0].idemKey != at[1].idemKey {
		t.Fatalf("attempts %+v", at)
	}
	keys, err := m.APIKeys(context.Background())
	if err != nil || len(keys) != 2 || (keys[0].ID != created.ID && keys[1].ID != created.ID) {
		t.Fatalf("one key created, keys %+v %v", keys, err)
	}
}

func TestKeys(t *testing.T) {
	key := newKey(t)
	path := filepath.Join(t.TempDir(), "agent.pem")
	if err := sdk.WritePrivateKeyPEM(path, key); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v %v", fi.Mode(), err)
	}
	data, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(data), "-----BEGIN PRIVATE KEY-----\n") {
		t.Fatalf("not PKCS #8 PEM:\n%s", data)
	}
	got, err := sdk.ReadPrivateKeyPEM(path)
	if err != nil || !got.Equal(key) {
		t.Fatalf("round trip: %v", err)
	}
	other := newKey(t)
	if err := sdk.WritePrivateKeyPEM(path, other); !errors.Is(err, os.ErrExist) {
		t.Fatalf("overwrite: %v", err)
	}
	if got, _ := sdk.ReadPrivateKeyPEM(path); !got.Equal(key) {
		t.Fatal("the file changed")
	}
	if err := os.WriteFile(path+".bad", []byte("nope"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := sdk.ReadPrivateKeyPEM(path + ".bad"); err == nil {
		t.Fatal("read a file with no PEM")
	}
	pub, err := agentauth.ParseJWK(sdk.PublicJWK(key))
	if err != nil || !pub.Equal(key.Public()) {
		t.Fatalf("PublicJWK: %v", err)
	}
	if sdk.NewAgent("http://x", key).KeyID() != agentauth.Thumbprint(pub) {
		t.Fatal("KeyID is not the thumbprint")
	}
	if err := sdk.NewAgent("http://x", ed25519.PrivateKey{1}).Ping(context.Background()); sdk.ErrorCode(err) != "invalid_key" {
		t.Fatalf("bad key: %v", err)
	}
}

// The SDK names itself: the linking page shows the user where a request
// came from.
func TestUserAgent(t *testing.T) {
	ts := server(t)
	a := sdk.NewAgent(ts.URL, newKey(t))
	a.Sleep = noSleep
	var code string
	if _, err := a.Link(context.Background(), linkReq, func(p sdk.Pending) {
		code = p.UserCode
		if err := ts.approve(p.UserCode); err != nil {
			t.Error(err)
		}
	}); err != nil {
		t.Fatal(err)
	}
	l, err := ts.DB.AgentLinkByUserCode(context.Background(), strings.ReplaceAll(code, "-", ""))
	if err != nil || l.RequestUserAgent != sdk.UserAgent {
		t.Fatalf("link recorded user agent %q (%v), want %q", l.RequestUserAgent, err, sdk.UserAgent)
	}
}
