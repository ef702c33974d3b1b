package ap2

import (
	"crypto/ed25519"
	"encoding/json"
	"maps"
	"testing"
	"time"
)

// craftRoot signs, with agentpay's key, a mandate whose content and
// top-level claims the test chose freely: what a bug in the issuer, or a
// mandate type agentpay does not know, would look like.
func craftRoot(t *testing.T, content map[string]any, top map[string]any) string {
	t.Helper()
	var b sdBuilder
	placeholder, err := b.element(content)
	if err != nil {
		t.Fatal(err)
	}
	payload := map[string]any{
		"iss": testIssuerName, "iat": testNow.Unix(), "exp": testNow.Add(time.Hour).Unix(),
		"_sd_alg": sdAlgSHA256, delegateKey: []any{placeholder},
	}
	maps.Copy(payload, top)
	for k, v := range top {
		if v == nil {
			delete(payload, k)
		}
	}
	data, _ := json.Marshal(payload)
	jwt, err := signJWS(issuerKey, typSDJWTVC, testKID, data)
	if err != nil {
		t.Fatal(err)
	}
	return joinSDJWT(jwt, b.encoded())
}

// openContent is a valid open payment mandate's content as a tree.
func openContent(t *testing.T, s scenario) map[string]any {
	t.Helper()
	m := openPaymentTerms(t, agentEd, s.openCheckout)
	m.VCT = VCTOpenPayment
	tree, err := jsonTree(m)
	if err != nil {
		t.Fatal(err)
	}
	return tree.(map[string]any)
}

func TestCraftedMandates(t *testing.T) {
	s := newScenario(t, agentEd)
	closed := closedPayment(s.checkoutJWT)
	present := func(open string) string {
		return mustPresent(t, open, closed, testPresentation(agentEd))
	}
	with := func(edit func(c map[string]any)) map[string]any {
		c := openContent(t, s)
		edit(c)
		return c
	}
	unknown := func(c map[string]any) {
		c["constraints"] = append(c["constraints"].([]any), map[string]any{"type": "payment.max_per_day", "max": 1})
	}
	extraMember := func(c map[string]any) {
		cs := c["constraints"].([]any)
		cs[0].(map[string]any)["exclude_weekends"] = true
	}

	for _, tc := range []struct {
		name       string
		token      string
		verifyCode string
		evalCode   string
	}{
		{"as issued", present(craftRoot(t, openContent(t, s), nil)), "", ""},
		{"unknown vct", present(craftRoot(t, with(func(c map[string]any) { c["vct"] = "mandate.payment.open.2" }), nil)), CodeMandatesNotSupported, ""},
		{"closed vct where open expected", present(craftRoot(t, with(func(c map[string]any) { c["vct"] = VCTPayment }), nil)), CodeInvalidMandate, ""},
		{"top-level vct differs", present(craftRoot(t, openContent(t, s), map[string]any{"vct": VCTOpenCheckout})), CodeInvalidCredential, ""},
		{"top-level cnf differs", present(craftRoot(t, openContent(t, s), map[string]any{"cnf": map[string]any{"jwk": json.RawMessage(jwkOf(t, intruderEd))}})), CodeInvalidCredential, ""},
		{"no expiry", present(craftRoot(t, with(func(c map[string]any) { delete(c, "exp") }), map[string]any{"exp": nil})), CodeInvalidCredential, ""},
		{"content expired", present(craftRoot(t, with(func(c map[string]any) { c["exp"] = testNow.Add(-time.Hour).Unix() }), nil)), CodeInvalidCredential, ""},
		{"issued in the future", present(craftRoot(t, openContent(t, s), map[string]any{"iat": testNow.Add(time.Hour).Unix()})), CodeInvalidCredential, ""},
		{"no cnf", present(craftRoot(t, with(func(c map[string]any) { delete(c, "cnf") }), nil)), CodeInvalidCredential, ""},
		{"private key in cnf", present(craftRoot(t, with(func(c map[string]any) {
			c["cnf"] = map[string]any{"jwk": map[string]any{"kty": "OKP", "crv": "Ed25519", "x": b64.EncodeToString(agentEd.Public().(ed25519.PublicKey)), "d": "AAAA"}}
		}), nil)), CodeInvalidCredential, ""},
		{"_sd_alg sha-512", present(craftRoot(t, openContent(t, s), map[string]any{"_sd_alg": "sha-512"})), CodeInvalidCredential, ""},
		{"malformed amount range", present(craftRoot(t, with(func(c map[string]any) {
			c["constraints"].([]any)[0].(map[string]any)["max"] = "2000"
		}), nil)), CodeInvalidMandate, ""},
		{"unknown constraint", present(craftRoot(t, with(unknown), nil)), "", CodeUnresolvedConstraint},
		{"known constraint, unknown member", present(craftRoot(t, with(extraMember), nil)), "", CodeUnresolvedConstraint},
		{"checkout constraint in a payment mandate", present(craftRoot(t, with(func(c map[string]any) {
			c["constraints"] = append(c["constraints"].([]any), map[string]any{"type": ConstraintAllowedMerchants, "allowed": []any{}})
		}), nil)), "", CodeUnresolvedConstraint},
		{"recurrence without budget", present(craftRoot(t, with(func(c map[string]any) {
			var kept []any
			for _, x := range c["constraints"].([]any) {
				if x.(map[string]any)["type"] != ConstraintBudget {
					kept = append(kept, x)
				}
			}
			c["constraints"] = kept
		}), nil)), "", CodeInvalidMandate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pc, err := testVerifier().VerifyPaymentChain(tc.token, testNonce)
			wantCode(t, err, tc.verifyCode)
			if err != nil {
				return
			}
			_, err = EvaluatePayment(pc.Open, pc.Closed, s.paymentInput(t))
			wantCode(t, err, tc.evalCode)
		})
	}
}

func TestClosedMandateMustNotDelegate(t *testing.T) {
	s := newScenario(t, agentEd)
	token := resignKBContent(t, s.paymentChain, func(c map[string]any) {
		c["cnf"] = map[string]any{"jwk": json.RawMessage(jwkOf(t, intruderEd))}
	})
	_, err := testVerifier().VerifyPaymentChain(token, testNonce)
	wantCode(t, err, CodeMandatesNotSupported)
}

// resignKBContent rebuilds the closed mandate of a chain with edited
// content, correctly bound and signed by the agent: what a misbehaving
// agent can do.
func resignKBContent(t *testing.T, chain string, edit func(map[string]any)) string {
	t.Helper()
	segs := segments(chain)
	idx := contentIndex(t, chain, 1)
	content := decodeSegment(t, segs[1][idx]).([]any)[1].(map[string]any)
	edit(content)
	var b sdBuilder
	placeholder, err := b.element(content)
	if err != nil {
		t.Fatal(err)
	}
	prev := sdJWT{jwt: segs[0][0], disclosures: segs[0][1:]}.serialize()
	payload, _ := json.Marshal(map[string]any{
		delegateKey: []any{placeholder}, "iat": testNow.Unix(), "aud": testAudience, "nonce": testNonce,
		"sd_hash": hashB64(prev), "_sd_alg": sdAlgSHA256,
	})
	jwt, err := signJWS(agentEd, typKBSDJWT, "", payload)
	if err != nil {
		t.Fatal(err)
	}
	return joinChain(prev, joinSDJWT(jwt, b.encoded()))
}
