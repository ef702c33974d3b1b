package ap2

import (
	"crypto"
	"crypto/ecdsa"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// rewriteDisclosure re-encodes the disclosure at segs[seg][idx] after edit
// changes its decoded value: what an attacker who changes a disclosed
// amount or payee sends.
func rewriteDisclosure(t *testing.T, token string, seg, idx int, edit func(arr []any)) string {
	t.Helper()
	segs := segments(token)
	arr := decodeSegment(t, segs[seg][idx]).([]any)
	edit(arr)
	segs[seg][idx] = encodeSegment(t, arr)
	return join(segs)
}

// contentIndex finds the disclosure of segment seg whose value is the
// mandate content (an object with a vct).
func contentIndex(t *testing.T, token string, seg int) int {
	t.Helper()
	for i, d := range segments(token)[seg][1:] {
		arr := decodeSegment(t, d).([]any)
		if m, ok := arr[len(arr)-1].(map[string]any); ok && m["vct"] != nil {
			return i + 1
		}
	}
	t.Fatal("no content disclosure")
	return 0
}

// resignKB replaces the closed mandate's JWT with one whose payload edit
// changed, signed by key with typ.
func resignKB(t *testing.T, token string, key crypto.Signer, typ string, edit func(map[string]any)) string {
	t.Helper()
	segs := segments(token)
	payload := decodeSegment(t, strings.Split(segs[1][0], ".")[1]).(map[string]any)
	edit(payload)
	data, _ := json.Marshal(payload)
	jwt, err := signJWS(key, typ, "", data)
	if err != nil {
		t.Fatal(err)
	}
	segs[1][0] = jwt
	return join(segs)
}

// withHeader replaces the header of the JWT at segs[seg][0] and drops the
// signature, as an "alg": "none" token does.
func withHeader(t *testing.T, token string, seg int, header map[string]any) string {
	t.Helper()
	segs := segments(token)
	parts := strings.Split(segs[seg][0], ".")
	segs[seg][0] = encodeSegment(t, header) + "." + parts[1] + "."
	return join(segs)
}

func TestPaymentChainTamper(t *testing.T) {
	s := newScenario(t, agentEd)
	chain := s.paymentChain
	closedIdx := contentIndex(t, chain, 1)
	openIdx := contentIndex(t, chain, 0)
	otherAgent := newScenario(t, agentP256)
	expiredOpen := func() string {
		is := testIssuer()
		is.Now = func() time.Time { return testNow.Add(-2 * time.Hour) }
		open, err := is.Issue(openPaymentTerms(t, agentEd, s.openCheckout), testMandateID, testNow.Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return mustPresent(t, open, closedPayment(s.checkoutJWT), testPresentation(agentEd))
	}

	for _, tc := range []struct {
		name  string
		token string
		nonce string
		code  string
	}{
		{"untouched", chain, testNonce, ""},
		{"changed amount", rewriteDisclosure(t, chain, 1, closedIdx, func(a []any) {
			a[1].(map[string]any)["payment_amount"] = map[string]any{"amount": 1, "currency": "USD"}
		}), testNonce, CodeInvalidCredential},
		{"changed payee", rewriteDisclosure(t, chain, 1, closedIdx, func(a []any) {
			a[1].(map[string]any)["payee"] = map[string]any{"id": "mer_evil", "name": "Corner Shop"}
		}), testNonce, CodeInvalidCredential},
		{"changed open disclosure", rewriteDisclosure(t, chain, 0, 1, func(a []any) {
			a[1] = map[string]any{"id": "mer_evil", "name": "Evil"}
		}), testNonce, CodeInvalidCredential},
		{"changed open constraints", rewriteDisclosure(t, chain, 0, openIdx, func(a []any) {
			a[1].(map[string]any)["constraints"] = []any{}
		}), testNonce, CodeInvalidCredential},
		{"salt changed", rewriteDisclosure(t, chain, 1, closedIdx, func(a []any) { a[0] = "AAAAAAAAAAAAAAAAAAAAAA" }), testNonce, CodeInvalidCredential},
		{"expired open mandate", expiredOpen(), testNonce, CodeInvalidCredential},
		{"closed signed by another key", resignKB(t, chain, intruderEd, typKBSDJWT, func(map[string]any) {}), testNonce, CodeInvalidCredential},
		{"closed signed by another agent's chain key", join([][]string{segments(chain)[0], segments(otherAgent.paymentChain)[1]}), testNonce, CodeInvalidCredential},
		{"closed mandate content dropped", func() string {
			segs := segments(chain)
			segs[1] = segs[1][:1]
			return join(segs)
		}(), testNonce, CodeInvalidCredential},
		{"open mandate content dropped", func() string {
			segs := segments(chain)
			segs[0] = append(segs[0][:openIdx:openIdx], segs[0][openIdx+1:]...)
			return join(segs)
		}(), testNonce, CodeInvalidCredential},
		{"open disclosure dropped after signing", func() string {
			segs := segments(chain)
			segs[0] = append(segs[0][:1:1], segs[0][2:]...)
			return join(segs)
		}(), testNonce, CodeInvalidCredential},
		{"extra disclosure", func() string {
			segs := segments(chain)
			var b sdBuilder
			d, _ := b.newDisclosure(false, "payee", map[string]any{"id": "mer_evil"})
			segs[1] = append(segs[1], d.encoded)
			return join(segs)
		}(), testNonce, CodeInvalidCredential},
		{"duplicate disclosure", func() string {
			segs := segments(chain)
			segs[1] = append(segs[1], segs[1][closedIdx])
			return join(segs)
		}(), testNonce, CodeInvalidCredential},
		{"open alg none", withHeader(t, chain, 0, map[string]any{"alg": "none", "typ": typSDJWTVC, "kid": testKID}), testNonce, CodeInvalidCredential},
		{"closed alg none", withHeader(t, chain, 1, map[string]any{"alg": "none", "typ": typKBSDJWT}), testNonce, CodeInvalidCredential},
		{"closed alg HS256", withHeader(t, chain, 1, map[string]any{"alg": "HS256", "typ": typKBSDJWT}), testNonce, CodeInvalidCredential},
		{"open signature flipped", func() string {
			segs := segments(chain)
			jwt := []byte(segs[0][0])
			last := len(jwt) - 5
			jwt[last] ^= 'A' ^ 'B'
			segs[0][0] = string(jwt)
			return join(segs)
		}(), testNonce, CodeInvalidCredential},
		{"wrong nonce", chain, "another-nonce", CodeInvalidCredential},
		{"wrong audience", resignKB(t, chain, agentEd, typKBSDJWT, func(p map[string]any) { p["aud"] = "https://merchant.example" }), testNonce, CodeInvalidCredential},
		{"stale closed mandate", resignKB(t, chain, agentEd, typKBSDJWT, func(p map[string]any) { p["iat"] = testNow.Add(-time.Hour).Unix() }), testNonce, CodeInvalidCredential},
		{"closed mandate from the future", resignKB(t, chain, agentEd, typKBSDJWT, func(p map[string]any) { p["iat"] = testNow.Add(time.Hour).Unix() }), testNonce, CodeInvalidCredential},
		{"sd_hash over another open mandate", resignKB(t, chain, agentEd, typKBSDJWT, func(p map[string]any) { p["sd_hash"] = hashB64(s.openCheckout) }), testNonce, CodeInvalidCredential},
		{"issuer_jwt_hash binding", resignKB(t, chain, agentEd, typKBSDJWT, func(p map[string]any) {
			delete(p, "sd_hash")
			p["issuer_jwt_hash"] = hashB64(segments(chain)[0][0])
		}), testNonce, CodeInvalidCredential},
		{"closed typ kb+jwt", resignKB(t, chain, agentEd, "kb+jwt", func(map[string]any) {}), testNonce, CodeInvalidCredential},
		{"further delegation typ", resignKB(t, chain, agentEd, typKBSDJWTDelegate, func(map[string]any) {}), testNonce, CodeMandatesNotSupported},
		{"three hops", chain[:len(chain)-1] + "~~" + segments(chain)[1][0] + "~", testNonce, CodeMandatesNotSupported},
		{"open mandate alone", s.openPayment, testNonce, CodeInvalidCredential},
		{"checkout chain as payment chain", s.checkoutChain, testNonce, CodeInvalidMandate},
		{"trailing KB-JWT", chain + segments(chain)[1][0], testNonce, CodeInvalidCredential},
		{"empty", "", testNonce, CodeInvalidCredential},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := testVerifier().VerifyPaymentChain(tc.token, tc.nonce)
			wantCode(t, err, tc.code)
		})
	}
}

func TestVerifierPolicy(t *testing.T) {
	s := newScenario(t, agentEd)
	for _, tc := range []struct {
		name string
		edit func(v *Verifier)
		code string
	}{
		{"unknown issuer key id", func(v *Verifier) { v.IssuerKeys = map[string]*ecdsa.PublicKey{"other": &issuerKey.PublicKey} }, CodeInvalidCredential},
		{"another issuer's key", func(v *Verifier) { v.IssuerKeys = map[string]*ecdsa.PublicKey{testKID: &merchantKey.PublicKey} }, CodeInvalidCredential},
		{"another issuer name", func(v *Verifier) { v.Issuer = "https://elsewhere.example" }, CodeInvalidCredential},
		{"no audience configured", func(v *Verifier) { v.Audience = "" }, CodeInvalidCredential},
		{"a day later", func(v *Verifier) { v.Now = func() time.Time { return testNow.Add(25 * time.Hour) } }, CodeInvalidCredential},
		{"within leeway of expiry", func(v *Verifier) {
			v.Now = func() time.Time { return testNow.Add(24*time.Hour + 30*time.Second) }
			v.KBMaxAge = 48 * time.Hour
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := testVerifier()
			tc.edit(v)
			_, err := v.VerifyPaymentChain(s.paymentChain, testNonce)
			wantCode(t, err, tc.code)
		})
	}
}

func TestCheckoutChainTamper(t *testing.T) {
	s := newScenario(t, agentEd)
	chain := s.checkoutChain
	otherCheckout := func() Checkout {
		c := testCheckout()
		c.LineItems[0].Quantity = 20
		return c
	}()
	var jwtIdx int
	for i, d := range segments(chain)[1][1:] {
		if decodeSegment(t, d).([]any)[1] == "checkout_jwt" {
			jwtIdx = i + 1
		}
	}
	for _, tc := range []struct {
		name  string
		token string
		code  string
	}{
		{"untouched", chain, ""},
		{"another checkout JWT swapped in", rewriteDisclosure(t, chain, 1, jwtIdx, func(a []any) { a[2] = signedCheckout(t, otherCheckout) }), CodeInvalidCredential},
		{"checkout JWT withheld", func() string {
			segs := segments(chain)
			segs[1] = append(segs[1][:jwtIdx:jwtIdx], segs[1][jwtIdx+1:]...)
			return join(segs)
		}(), CodeInvalidMandate},
		{"agent signs a checkout_hash of another JWT", resignKBContent(t, chain, func(c map[string]any) {
			c["checkout_jwt"] = signedCheckout(t, otherCheckout)
		}), CodeInvalidMandate},
		{"merchant constraints changed", rewriteDisclosure(t, chain, 0, 1, func(a []any) { a[1] = map[string]any{"id": "mer_evil", "name": "Evil"} }), CodeInvalidCredential},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := testVerifier().VerifyCheckoutChain(tc.token, testNonce)
			wantCode(t, err, tc.code)
		})
	}
}
