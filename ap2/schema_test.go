package ap2

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// schemaBase is where the AP2 schemas place themselves ($id); their
// relative $refs ("types/merchant.json") resolve against it, and the UCP
// types they use live under types/ too.
const schemaBase = "https://ap2-protocol.org/schemas/"

// compileSchemas compiles every schema in spec/ and returns them by file
// name ("payment_mandate.json", "types/jwk.json", "ucp/types/checkout.json").
func compileSchemas(t *testing.T) map[string]*jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	urls := map[string]string{}
	err := fs.WalkDir(os.DirFS("spec"), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".json" {
			return err
		}
		data, err := os.ReadFile(path.Join("spec", p))
		if err != nil {
			return err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p, "ap2/"), "ucp/")
		urls[strings.TrimPrefix(p, "ap2/")] = schemaBase + rel
		return c.AddResource(schemaBase+rel, doc)
	})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*jsonschema.Schema{}
	for name, url := range urls {
		s, err := c.Compile(url)
		if err != nil {
			t.Fatalf("compile %s: %v", name, err)
		}
		out[name] = s
	}
	return out
}

// validate checks v, marshalled to JSON, against the schema named.
func validate(t *testing.T, schemas map[string]*jsonschema.Schema, name string, v any) error {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	s := schemas[name]
	if s == nil {
		t.Fatalf("no schema %s", name)
	}
	return s.Validate(inst)
}

// contents returns the mandate content of each SD-JWT of a presentation,
// disclosures resolved (signatures are the verifier tests' business).
func contents(t *testing.T, presentation string) []map[string]any {
	t.Helper()
	segs, err := splitPresentation(presentation)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, s := range segs {
		j, err := parseJWS(s.jwt)
		if err != nil {
			t.Fatal(err)
		}
		v, err := resolveContent(j, s.disclosures)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v.content)
	}
	return out
}

func TestIssuedObjectsMatchSchemas(t *testing.T) {
	schemas := compileSchemas(t)
	for _, agent := range []struct {
		name string
		s    scenario
	}{{"Ed25519 agent", newScenario(t, agentEd)}, {"P-256 agent", newScenario(t, agentP256)}} {
		s := agent.s
		for _, tc := range []struct {
			name, token string
			schemas     []string
		}{
			{"open payment mandate", s.openPayment, []string{"open_payment_mandate.json"}},
			{"open checkout mandate", s.openCheckout, []string{"open_checkout_mandate.json"}},
			{"payment chain", s.paymentChain, []string{"open_payment_mandate.json", "payment_mandate.json"}},
			{"checkout chain", s.checkoutChain, []string{"open_checkout_mandate.json", "checkout_mandate.json"}},
			{"closed payment mandate", mustIssue(t, closedPayment(s.checkoutJWT), testNow.Add(time.Hour)), []string{"payment_mandate.json"}},
			{"closed checkout mandate", mustIssue(t, &CheckoutMandate{CheckoutJWT: s.checkoutJWT}, testNow.Add(time.Hour)), []string{"checkout_mandate.json"}},
		} {
			t.Run(agent.name+"/"+tc.name, func(t *testing.T) {
				for i, content := range contents(t, tc.token) {
					if err := validate(t, schemas, tc.schemas[i], content); err != nil {
						t.Fatalf("%s: %v", tc.schemas[i], err)
					}
				}
			})
		}
	}

	t.Run("checkout JWT", func(t *testing.T) {
		j, err := parseJWS(signedCheckout(t, testCheckout()))
		if err != nil {
			t.Fatal(err)
		}
		var payload any
		if err := json.Unmarshal(j.payload, &payload); err != nil {
			t.Fatal(err)
		}
		if err := validate(t, schemas, "ucp/types/checkout.json", payload); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("P-256 cnf.jwk", func(t *testing.T) {
		var jwk any
		_ = json.Unmarshal(jwkOf(t, agentP256), &jwk)
		if err := validate(t, schemas, "types/jwk.json", jwk); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("receipts", func(t *testing.T) {
		rs := testReceiptSigner()
		for _, tc := range []struct {
			schema string
			sign   func() (string, error)
		}{
			{"payment_receipt.json", func() (string, error) {
				return rs.SignPayment(PaymentReceipt{Status: ReceiptSuccess, Reference: "r", PaymentID: "pay_1", PSPConfirmationID: "trf_1", NetworkConfirmationID: "n_1"})
			}},
			{"payment_receipt.json", func() (string, error) {
				return rs.SignPayment(PaymentReceipt{Status: ReceiptError, Reference: "r", PaymentID: "pay_1", Error: CodeInvalidMandate, ErrorDescription: "no"})
			}},
			{"checkout_receipt.json", func() (string, error) {
				return rs.SignCheckout(CheckoutReceipt{Status: ReceiptSuccess, Reference: "r", OrderID: "ord_1"})
			}},
			{"checkout_receipt.json", func() (string, error) {
				return rs.SignCheckout(CheckoutReceipt{Status: ReceiptError, Reference: "r", Error: CodeUnresolvedConstraint, ErrorDescription: "no"})
			}},
		} {
			token, err := tc.sign()
			if err != nil {
				t.Fatal(err)
			}
			j, _ := parseJWS(token)
			var payload any
			_ = json.Unmarshal(j.payload, &payload)
			if err := validate(t, schemas, tc.schema, payload); err != nil {
				t.Fatalf("%s: %v", tc.schema, err)
			}
		}
	})
}

// TestSchemasRefuse shows the schemas are live: objects that break them
// fail, so the test above is not vacuous.
func TestSchemasRefuse(t *testing.T) {
	schemas := compileSchemas(t)
	s := newScenario(t, agentEd)
	chain := contents(t, s.paymentChain)
	without := func(m map[string]any, key string) map[string]any {
		out := map[string]any{}
		for k, v := range m {
			if k != key {
				out[k] = v
			}
		}
		return out
	}
	for _, tc := range []struct {
		name, schema string
		v            any
	}{
		{"closed payment without payee", "payment_mandate.json", without(chain[1], "payee")},
		{"closed payment with the open vct", "payment_mandate.json", func() map[string]any { m := without(chain[1], ""); m["vct"] = VCTOpenPayment; return m }()},
		{"open payment without payment.reference", "open_payment_mandate.json", func() map[string]any {
			m := without(chain[0], "")
			m["constraints"] = []any{map[string]any{"type": ConstraintAmountRange, "currency": "USD", "max": 1}}
			return m
		}()},
		{"payment receipt with another status", "payment_receipt.json", map[string]any{"status": "Pending", "iss": "i", "iat": 1, "reference": "r", "payment_id": "p"}},
		{"Ed25519 key as jwk.json", "types/jwk.json", json.RawMessage(jwkOf(t, agentEd))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := validate(t, schemas, tc.schema, tc.v); err == nil {
				t.Fatal("the schema accepted it")
			}
		})
	}
}
