package ap2

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/agentpay/agentpay"
)

// ap2Codes are the only codes the verifiers may answer with.
var ap2Codes = map[string]bool{
	CodeInvalidCredential: true, CodeUnresolvedConstraint: true, CodeInvalidMandate: true, CodeMandatesNotSupported: true,
}

func wantAP2Error(t *testing.T, err error) {
	t.Helper()
	var e *agentpay.Error
	if !errors.As(err, &e) || !ap2Codes[e.Code] {
		t.Fatalf("error %v is not an AP2 error", err)
	}
}

// FuzzVerifyPresentation feeds the SD-JWT parser and the verifiers
// arbitrary presentations. They must never panic, must answer with an AP2
// code, and must accept nothing but the presentations the agent made: with
// an Ed25519 agent, whose signatures cannot be re-encoded, any change to a
// presentation that still verifies would be a forgery.
func FuzzVerifyPresentation(f *testing.F) {
	s := newScenario(f, agentEd)
	direct := mustIssue(f, closedPayment(s.checkoutJWT), testNow.Add(time.Hour))
	legit := map[string]bool{s.paymentChain: true, s.checkoutChain: true, direct: true}
	for _, seed := range []string{
		s.paymentChain, s.checkoutChain, direct, s.openPayment,
		strings.ReplaceAll(s.paymentChain, "~~", "~"),
		s.paymentChain + s.paymentChain,
		"~", "~~", "a.b.c~", "e30.e30.~", "e30.e30.~WyJzIiwiYSIsMV0~",
	} {
		f.Add(seed)
	}
	v := testVerifier()
	f.Fuzz(func(t *testing.T, token string) {
		pc, err := v.VerifyPaymentChain(token, testNonce)
		if err == nil {
			if !legit[token] {
				t.Fatalf("a presentation the agent did not make verified: %q", token)
			}
			if _, err := EvaluatePayment(pc.Open, pc.Closed, PaymentInput{CheckoutHash: CheckoutHash(s.checkoutJWT), Now: testNow}); err != nil {
				wantAP2Error(t, err)
			}
		} else {
			wantAP2Error(t, err)
		}
		if _, err := v.VerifyCheckoutChain(token, testNonce); err == nil && !legit[token] {
			t.Fatalf("a checkout presentation the agent did not make verified: %q", token)
		} else if err != nil {
			wantAP2Error(t, err)
		}
		if _, err := v.VerifyPayment(token); err == nil && !legit[token] {
			t.Fatalf("a mandate agentpay did not issue verified: %q", token)
		} else if err != nil {
			wantAP2Error(t, err)
		}
		_ = Reference(token)
	})
}

// FuzzResolveDisclosures feeds the disclosure processor arbitrary payloads
// and disclosures: no panic, and whatever it accepts used every
// disclosure exactly once and left no digest behind.
func FuzzResolveDisclosures(f *testing.F) {
	for _, seed := range [][2]string{
		{`{"_sd":["x"]}`, ""},
		{`{"a":[{"...":"x"}],"_sd":[]}`, "WyJzIiwiYSIsMV0"},
		{`{"delegate_payload":[{"...":"x"}]}`, "WyJzIix7Il9zZCI6WyJ5Il19XQ~WyJzIiwiYiIsMl0"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, payload, disclosures string) {
		var obj map[string]any
		if decodeJSON([]byte(payload), &obj) != nil || obj == nil {
			return
		}
		var list []string
		if disclosures != "" {
			list = strings.Split(disclosures, "~")
		}
		out, err := resolveDisclosures(obj, list)
		if err == nil && !resolved(out) {
			t.Fatalf("a digest survived resolution: %v", out)
		}
	})
}

// resolved reports whether v holds no _sd member and no {"...": digest}
// array element: everything was either disclosed or removed.
func resolved(v any) bool {
	switch t := v.(type) {
	case map[string]any:
		if _, ok := t[sdKey]; ok {
			return false
		}
		for _, e := range t {
			if !resolved(e) {
				return false
			}
		}
	case []any:
		for _, e := range t {
			if m, ok := e.(map[string]any); ok && len(m) == 1 && m[sdElemKey] != nil {
				return false
			}
			if !resolved(e) {
				return false
			}
		}
	}
	return true
}

// FuzzCheckJSON checks that checkJSON accepts only valid JSON.
func FuzzCheckJSON(f *testing.F) {
	for _, seed := range []string{`{"a":1}`, `[{"a":[1,2]},{}]`, `{"a":1,"A":2}`, `"x"`, `1 2`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if checkJSON(data) == nil && !json.Valid(data) {
			t.Fatalf("checkJSON accepted invalid JSON %q", data)
		}
	})
}
