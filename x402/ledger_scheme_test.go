package x402

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

const testResource = "https://api.example/weather?city=Z%C3%BCrich&a=1&b=<2>"

func TestLedgerNetwork(t *testing.T) {
	if n, err := LedgerNetwork("main"); err != nil || n != "agentpay:main" || !IsLedgerNetwork(n) {
		t.Fatalf("LedgerNetwork(main) = %q, %v", n, err)
	}
	for _, id := range []string{"", "a:b", "ä", strings.Repeat("x", 33), "a b"} {
		if _, err := LedgerNetwork(id); err == nil {
			t.Errorf("ledger id %q was accepted", id)
		}
		if IsLedgerNetwork("agentpay:" + id) {
			t.Errorf("network agentpay:%s was accepted", id)
		}
	}
	for _, n := range []string{"eip155:8453", "agentpay", "agentpayx:main", "AGENTPAY:main"} {
		if IsLedgerNetwork(n) {
			t.Errorf("%s is not a ledger network", n)
		}
	}
}

// TestAuthorizationValidate refuses each malformed member on its own.
func TestAuthorizationValidate(t *testing.T) {
	base := testAuthorization(SchemeExact, "1500", testResource)
	if err := base.Validate(); err != nil {
		t.Fatalf("the base case must be valid: %v", err)
	}
	b64nonce := base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	for _, c := range []struct {
		name   string
		change func(a *Authorization)
		ok     bool
	}{
		{"upto", func(a *Authorization) { a.Scheme = SchemeUpto }, true},
		{"base64url nonce", func(a *Authorization) { a.Nonce = b64nonce }, true},
		{"largest value", func(a *Authorization) { a.Value = "9223372036854775807" }, true},
		{"longest window", func(a *Authorization) { a.ValidBefore = "1800003570" }, true},
		{"other scheme", func(a *Authorization) { a.Scheme = "permit" }, false},
		{"EVM network", func(a *Authorization) { a.Network = "eip155:8453" }, false},
		{"lower-case asset", func(a *Authorization) { a.Asset = "usdc" }, false},
		{"short asset", func(a *Authorization) { a.Asset = "US" }, false},
		{"from not a thumbprint", func(a *Authorization) { a.From = "agt_1" }, false},
		{"from padded", func(a *Authorization) { a.From = a.From[:42] + "=" }, false},
		{"to empty", func(a *Authorization) { a.To = "" }, false},
		{"to with a slash", func(a *Authorization) { a.To = "mer/1" }, false},
		{"value zero", func(a *Authorization) { a.Value = "0" }, false},
		{"value negative", func(a *Authorization) { a.Value = "-1" }, false},
		{"value leading zero", func(a *Authorization) { a.Value = "01" }, false},
		{"value decimal", func(a *Authorization) { a.Value = "1.0" }, false},
		{"value beyond int64", func(a *Authorization) { a.Value = "9223372036854775808" }, false},
		{"value with space", func(a *Authorization) { a.Value = " 1" }, false},
		{"resource empty", func(a *Authorization) { a.Resource = "" }, false},
		{"resource with newline", func(a *Authorization) { a.Resource = "https://a/\n" }, false},
		{"resource too long", func(a *Authorization) { a.Resource = "https://a/" + strings.Repeat("x", urlBytesMax) }, false},
		{"validAfter not a number", func(a *Authorization) { a.ValidAfter = "soon" }, false},
		{"validBefore negative", func(a *Authorization) { a.ValidBefore = "-1" }, false},
		{"validBefore beyond year 9999", func(a *Authorization) { a.ValidBefore = "253402300800" }, false},
		{"empty window", func(a *Authorization) { a.ValidBefore = a.ValidAfter }, false},
		{"reversed window", func(a *Authorization) { a.ValidAfter, a.ValidBefore = a.ValidBefore, a.ValidAfter }, false},
		{"window over an hour", func(a *Authorization) { a.ValidBefore = "1800003571" }, false},
		{"nonce short", func(a *Authorization) { a.Nonce = a.Nonce[:64] }, false},
		{"nonce upper-case hex", func(a *Authorization) { a.Nonce = "0x" + strings.ToUpper(a.Nonce[2:]) }, false},
		{"nonce hex without 0x", func(a *Authorization) { a.Nonce = a.Nonce[2:] }, false},
		{"nonce base64url padded", func(a *Authorization) { a.Nonce = b64nonce + "=" }, false},
		{"nonce base64 std alphabet", func(a *Authorization) { a.Nonce = base64.RawStdEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 32)) }, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := base
			a.ValidAfter = "1799999970"
			c.change(&a)
			err := a.Validate()
			if c.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !c.ok {
				wantReason(t, err, ReasonLedgerAuthorization)
			}
		})
	}
}

// TestAuthorizationMessage pins the signed bytes: the prefix, then RFC 8785
// JSON (members sorted, no whitespace, no HTML escaping of & < >).
func TestAuthorizationMessage(t *testing.T) {
	a := testAuthorization(SchemeExact, "1500", "https://a.example/x?y=1&z=<2>")
	msg, err := a.Message()
	if err != nil {
		t.Fatal(err)
	}
	want := "agentpay-x402-authorization-v1\x00" +
		`{"asset":"USDC","from":"` + keyA.id + `","network":"agentpay:test","nonce":"` + a.Nonce +
		`","resource":"https://a.example/x?y=1&z=<2>","scheme":"exact","to":"mer_01jd5x8m2v6q0c9k7r3t4w5y6z",` +
		`"validAfter":"1799999970","validBefore":"1800000060","value":"1500"}`
	if string(msg) != want {
		t.Fatalf("got  %q\nwant %q", msg, want)
	}
}

func TestSignVerifyAuthorization(t *testing.T) {
	a := testAuthorization(SchemeExact, "1500", testResource)
	sig, err := SignAuthorization(&a, keyA.private)
	if err != nil {
		t.Fatal(err)
	}
	if len(sig) != 86 {
		t.Fatalf("signature %q is not 86 base64url characters", sig)
	}
	if err := VerifyAuthorization(&a, sig, keyA.public); err != nil {
		t.Fatal(err)
	}
	// Signing with a key that is not from's is a mistake caught early.
	_, err = SignAuthorization(&a, keyB.private)
	wantReason(t, err, ReasonLedgerPayer)
	bad := a
	bad.Value = "0"
	_, err = SignAuthorization(&bad, keyA.private)
	wantReason(t, err, ReasonLedgerAuthorization)
	if _, err := SignAuthorization(&a, keyA.private[:10]); err == nil {
		t.Fatal("a truncated key signed")
	}
}

func TestCheckTime(t *testing.T) {
	a := testAuthorization(SchemeExact, "1", testResource) // valid over [now-30s, now+60s)
	for _, c := range []struct {
		at     time.Duration
		reason string
	}{
		{-31 * time.Second, ReasonLedgerValidAfter},
		{-30 * time.Second, ""},
		{59 * time.Second, ""},
		{60 * time.Second, ReasonLedgerValidBefore},
	} {
		err := a.CheckTime(testNow.Add(c.at))
		if c.reason == "" && err != nil {
			t.Errorf("at %v: %v", c.at, err)
		}
		if c.reason != "" {
			wantReason(t, err, c.reason)
		}
	}
	if !a.Expires().Equal(testNow.Add(60 * time.Second)) {
		t.Fatalf("Expires = %v", a.Expires())
	}
}

// TestNonceBytes keys replay protection on the nonce's bytes, whatever
// its spelling.
func TestNonceBytes(t *testing.T) {
	raw := bytes.Repeat([]byte{0xfe}, 32)
	hexA := Authorization{Nonce: "0x" + strings.Repeat("fe", 32)}
	b64A := Authorization{Nonce: base64.RawURLEncoding.EncodeToString(raw)}
	h, ok1 := hexA.NonceBytes()
	b, ok2 := b64A.NonceBytes()
	if !ok1 || !ok2 || h != b || !bytes.Equal(h[:], raw) {
		t.Fatalf("the two spellings of one nonce differ: %x %x", h, b)
	}
	n1, n2 := NewNonce(), NewNonce()
	if n1 == n2 {
		t.Fatal("NewNonce repeated itself")
	}
	if _, ok := (&Authorization{Nonce: n1}).NonceBytes(); !ok {
		t.Fatalf("NewNonce made an invalid nonce %q", n1)
	}
}

func TestParseLedgerPayload(t *testing.T) {
	a := testAuthorization(SchemeExact, "1500", testResource)
	payload, err := NewLedgerPayload(&a, keyA.private)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParseLedgerPayload(payload)
	if err != nil || p.Authorization != a {
		t.Fatalf("round trip: %v %+v", err, p)
	}
	var m map[string]any
	if err := json.Unmarshal(payload, &m); err != nil {
		t.Fatal(err)
	}
	auth := m["authorization"].(map[string]any)
	for _, c := range []struct {
		name   string
		change func()
		reason string
	}{
		{"extra payload member", func() { m["note"] = "x" }, ReasonInvalidPayload},
		{"extra authorization member", func() { auth["memo"] = "x" }, ReasonInvalidPayload},
		{"member in other case", func() { auth["Value"] = auth["value"]; delete(auth, "value") }, ReasonInvalidPayload},
		{"missing nonce", func() { delete(auth, "nonce") }, ReasonInvalidPayload},
		{"value as number", func() { auth["value"] = 1500 }, ReasonInvalidPayload},
		{"signature missing", func() { delete(m, "signature") }, ReasonInvalidPayload},
		{"signature padded", func() { m["signature"] = m["signature"].(string)[:85] + "=" }, ReasonLedgerSignature},
		{"signature hex", func() { m["signature"] = strings.Repeat("ab", 64) }, ReasonLedgerSignature},
		{"bad member", func() { auth["validBefore"] = "x" }, ReasonLedgerAuthorization},
	} {
		t.Run(c.name, func(t *testing.T) {
			m = nil
			if err := json.Unmarshal(payload, &m); err != nil {
				t.Fatal(err)
			}
			auth = m["authorization"].(map[string]any)
			c.change()
			_, err := ParseLedgerPayload(mustJSON(t, m))
			wantReason(t, err, c.reason)
		})
	}
	_, err = ParseLedgerPayload(json.RawMessage(`{"authorization":{},"signature":"","signature":""}`))
	wantReason(t, err, ReasonInvalidPayload)
}

// TestLedgerVerifier checks a payment against what the server asked for.
func TestLedgerVerifier(t *testing.T) {
	ctx := context.Background()
	exact := testRequirements(SchemeExact, "1500")
	good := testAuthorization(SchemeExact, "1500", testResource)
	p, err := testVerifier().Verify(ctx, signedRequest(t, exact, good, keyA.private, testResource))
	if err != nil {
		t.Fatal(err)
	}
	nonce, _ := good.NonceBytes()
	if p.Payer != keyA.id || p.Amount != 1500 || p.Nonce != nonce || p.Authorization != good {
		t.Fatalf("verified payment: %+v", p)
	}

	other := func(change func(r *PaymentRequirements)) PaymentRequirements {
		r := exact
		change(&r)
		return r
	}
	for _, c := range []struct {
		name     string
		req      PaymentRequirements
		a        func(a *Authorization)
		resource string
		now      time.Time
		reason   string
	}{
		{name: "price differs", req: other(func(r *PaymentRequirements) { r.Amount = "1501" }), reason: ReasonLedgerValueMismatch},
		{name: "payee differs", req: other(func(r *PaymentRequirements) { r.PayTo = "mer_other" }), reason: ReasonLedgerRecipientMismatch},
		{name: "asset differs", req: other(func(r *PaymentRequirements) { r.Asset = "USD" }), reason: ReasonLedgerAssetMismatch},
		{name: "network differs", req: other(func(r *PaymentRequirements) { r.Network = "agentpay:prod" }), reason: ReasonLedgerNetworkMismatch},
		{name: "scheme differs", req: other(func(r *PaymentRequirements) { r.Scheme = SchemeUpto }), reason: ReasonLedgerSchemeMismatch},
		{name: "resource differs", req: exact, resource: "https://api.example/other", reason: ReasonLedgerResourceMismatch},
		{name: "EVM network", req: other(func(r *PaymentRequirements) { r.Network = "eip155:8453" }), reason: ReasonInvalidNetwork},
		{name: "other scheme", req: other(func(r *PaymentRequirements) { r.Scheme = "permit" }), reason: ReasonUnsupportedScheme},
		{name: "expired", req: exact, now: testNow.Add(time.Minute), reason: ReasonLedgerValidBefore},
		{name: "not yet valid", req: exact, now: testNow.Add(-time.Minute), reason: ReasonLedgerValidAfter},
		{name: "unknown key", req: exact, a: func(a *Authorization) { a.From = newTestKey(9).id }, reason: ReasonLedgerPayer},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := good
			key := keyA
			if c.a != nil {
				c.a(&a)
				key = newTestKey(9)
			}
			resource := testResource
			if c.resource != "" {
				resource = c.resource
			}
			payload, err := NewLedgerPayload(&a, key.private)
			if err != nil {
				t.Fatal(err)
			}
			req := &FacilitatorRequest{X402Version: Version, PaymentPayload: PaymentPayload{X402Version: Version, Resource: &ResourceInfo{URL: resource}, Accepted: c.req, Payload: payload}, PaymentRequirements: c.req}
			v := testVerifier()
			if !c.now.IsZero() {
				v.Now = func() time.Time { return c.now }
			}
			_, err = v.Verify(ctx, req)
			wantReason(t, err, c.reason)
		})
	}

	t.Run("key lookup failure is passed on", func(t *testing.T) {
		down := errors.New("database down")
		v := &LedgerVerifier{Keys: func(context.Context, string) (ed25519.PublicKey, error) { return nil, down }, Now: func() time.Time { return testNow }}
		_, err := v.Verify(ctx, signedRequest(t, exact, good, keyA.private, testResource))
		if !errors.Is(err, down) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("exact settles exactly the price", func(t *testing.T) {
		req := signedRequest(t, exact, good, keyA.private, testResource)
		req.PaymentRequirements.Amount = "1000"
		_, err := testVerifier().VerifySettle(ctx, req)
		wantReason(t, err, ReasonLedgerValueMismatch)
	})
}

// TestLedgerVerifierUpto: an upto authorization names a maximum; verify
// checks it against the requirements, settle accepts any usage up to it.
func TestLedgerVerifierUpto(t *testing.T) {
	ctx := context.Background()
	upto := testRequirements(SchemeUpto, "5000")
	a := testAuthorization(SchemeUpto, "5000", testResource)
	if p, err := testVerifier().Verify(ctx, signedRequest(t, upto, a, keyA.private, testResource)); err != nil || p.Amount != 5000 {
		t.Fatalf("verify: %v %+v", err, p)
	}
	for _, c := range []struct {
		usage  string
		reason string
		amount int64
	}{
		{usage: "0", amount: 0},
		{usage: "1234", amount: 1234},
		{usage: "5000", amount: 5000},
		{usage: "5001", reason: ReasonLedgerSettleAmountExceeded},
		{usage: "99999999999999999999", reason: ReasonInvalidPaymentRequirements},
	} {
		t.Run(c.usage, func(t *testing.T) {
			req := signedRequest(t, upto, a, keyA.private, testResource)
			req.PaymentRequirements.Amount = c.usage
			p, err := testVerifier().VerifySettle(ctx, req)
			if c.reason != "" {
				wantReason(t, err, c.reason)
				return
			}
			if err != nil || p.Amount != c.amount {
				t.Fatalf("settle %s: %v %+v", c.usage, err, p)
			}
		})
	}
	t.Run("verify needs the maximum itself", func(t *testing.T) {
		req := signedRequest(t, upto, a, keyA.private, testResource)
		req.PaymentRequirements.Amount = "4000"
		_, err := testVerifier().Verify(ctx, req)
		wantReason(t, err, ReasonLedgerValueMismatch)
	})
}
