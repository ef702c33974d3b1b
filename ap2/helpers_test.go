package ap2

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/agentpay/agentpay"
)

// testNow is every clock in these tests.
var testNow = time.Unix(1_800_000_000, 0).UTC()

const (
	testIssuerName = "https://agentpay.example"
	testKID        = "mandates-1"
	testAudience   = "https://agentpay.example/ap2"
	testNonce      = "n-0123456789abcdef"
	testMandateID  = "man_01J0000000000000000000000"
)

func newP256() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

// Keys shared by the tests: agentpay's mandate key, two agents (Ed25519, as
// agentpay agents hold, and P-256), an intruder and a merchant.
var (
	issuerKey   = newP256()
	agentEd     = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	agentP256   = newP256()
	intruderEd  = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize))
	merchantKey = newP256()
)

func testIssuer() *Issuer {
	return &Issuer{Key: issuerKey, KeyID: testKID, Name: testIssuerName, Now: func() time.Time { return testNow }}
}

func testVerifier() *Verifier {
	return &Verifier{
		IssuerKeys: map[string]*ecdsa.PublicKey{testKID: &issuerKey.PublicKey},
		Issuer:     testIssuerName,
		Audience:   testAudience,
		Now:        func() time.Time { return testNow },
	}
}

func jwkOf(t testing.TB, key crypto.Signer) json.RawMessage {
	t.Helper()
	jwk, err := PublicJWK(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	return jwk
}

var (
	shop     = Merchant{ID: "mer_shop", Name: "Corner Shop", Website: "https://shop.example"}
	bakery   = Merchant{ID: "mer_bakery", Name: "Bakery"}
	elsewhr  = Merchant{ID: "mer_elsewhere", Name: "Elsewhere"}
	wallet   = PaymentInstrument{ID: "acc_usr_1_USD", Type: "agentpay_wallet", Description: "agentpay wallet"}
	card     = PaymentInstrument{ID: "card_2", Type: "card"}
	usd      = func(n int64) Amount { return Amount{Amount: n, Currency: "USD"} }
	int64Ptr = func(n int64) *int64 { return &n }
)

// testCheckout is the checkout the tests pay: two flat whites and a
// croissant at the corner shop.
func testCheckout() Checkout {
	return Checkout{
		ID:       "chk_1",
		Merchant: &shop,
		LineItems: []LineItem{
			{ID: "li_1", Item: Item{ID: "SKU-FLAT-WHITE", Title: "Flat white", Price: 350}, Quantity: 2, Totals: []Total{{Type: "total", Amount: 700}}},
			{ID: "li_2", Item: Item{ID: "SKU-CROISSANT", Title: "Croissant", Price: 280}, Quantity: 1, Totals: []Total{{Type: "total", Amount: 280}}},
		},
		Status:   "ready_for_complete",
		Currency: "USD",
		Totals:   []Total{{Type: "subtotal", Amount: 980}, {Type: "total", Amount: 980}},
		Links:    []Link{{Type: "privacy_policy", URL: "https://shop.example/privacy"}},
	}
}

func signedCheckout(t testing.TB, c Checkout) string {
	t.Helper()
	jwt, err := SignCheckoutJWT(merchantKey, "merchant-1", c)
	if err != nil {
		t.Fatal(err)
	}
	return jwt
}

// openCheckoutTerms are the open checkout mandate the user approves for an
// agent: coffee and pastry from the corner shop or the bakery.
func openCheckoutTerms(t testing.TB, agent crypto.Signer) *OpenCheckoutMandate {
	return &OpenCheckoutMandate{
		CNF: CNF{JWK: jwkOf(t, agent)},
		Constraints: Constraints{
			AllowedMerchants{Allowed: []Merchant{shop, bakery}},
			LineItems{Items: []LineItemRequirement{
				{ID: "coffee", Quantity: 2, AcceptableItems: []AcceptableItem{{ID: "SKU-FLAT-WHITE", Title: "Flat white"}, {ID: "SKU-LATTE", Title: "Latte"}}},
				{ID: "pastry", Quantity: 1, AcceptableItems: []AcceptableItem{{ID: "SKU-CROISSANT", Title: "Croissant"}}},
			}},
		},
	}
}

// openPaymentTerms are the matching open payment mandate, referring to the
// open checkout mandate issued with it.
func openPaymentTerms(t testing.TB, agent crypto.Signer, openCheckout string) *OpenPaymentMandate {
	return &OpenPaymentMandate{
		CNF: CNF{JWK: jwkOf(t, agent)},
		Constraints: Constraints{
			AmountRange{Currency: "USD", Max: 2000, Min: int64Ptr(100)},
			AllowedPayees{Allowed: []Merchant{shop, bakery}},
			AllowedPaymentInstruments{Allowed: []PaymentInstrument{wallet}},
			ExecutionDate{NotBefore: "2027-01-01", NotAfter: "2027-12-31T23:59:59Z"},
			PaymentReference{ConditionalTransactionID: MandateReference(openCheckout)},
			Budget{Max: "50.00", Currency: "USD"},
			AgentRecurrence{Frequency: FrequencyWeekly, MaxOccurrences: int64Ptr(10)},
		},
	}
}

// closedPayment pays checkoutJWT at the corner shop.
func closedPayment(checkoutJWT string) *PaymentMandate {
	return &PaymentMandate{
		TransactionID:     CheckoutHash(checkoutJWT),
		Payee:             shop,
		PaymentAmount:     usd(980),
		PaymentInstrument: wallet,
	}
}

func mustIssue(t testing.TB, m Mandate, expires time.Time) string {
	t.Helper()
	token, err := testIssuer().Issue(m, testMandateID, expires)
	if err != nil {
		t.Fatal(err)
	}
	return token
}

func testPresentation(agent crypto.Signer) Presentation {
	return Presentation{Key: agent, Audience: testAudience, Nonce: testNonce, Now: testNow}
}

func mustPresent(t testing.TB, open string, closed Mandate, p Presentation) string {
	t.Helper()
	chain, err := Present(open, closed, p)
	if err != nil {
		t.Fatal(err)
	}
	return chain
}

// scenario is one autonomous purchase: the mandates issued, the checkout
// signed, and both chains presented by the agent.
type scenario struct {
	checkoutJWT   string
	openCheckout  string
	openPayment   string
	checkoutChain string
	paymentChain  string
}

func newScenario(t testing.TB, agent crypto.Signer) scenario {
	t.Helper()
	var s scenario
	expires := testNow.Add(24 * time.Hour)
	s.checkoutJWT = signedCheckout(t, testCheckout())
	s.openCheckout = mustIssue(t, openCheckoutTerms(t, agent), expires)
	s.openPayment = mustIssue(t, openPaymentTerms(t, agent, s.openCheckout), expires)
	s.checkoutChain = mustPresent(t, s.openCheckout, &CheckoutMandate{CheckoutJWT: s.checkoutJWT}, testPresentation(agent))
	s.paymentChain = mustPresent(t, s.openPayment, closedPayment(s.checkoutJWT), testPresentation(agent))
	return s
}

// paymentInput is what agentpay knows when it pays s's checkout.
func (s scenario) paymentInput(t testing.TB) PaymentInput {
	t.Helper()
	cc, err := testVerifier().VerifyCheckoutChain(s.checkoutChain, testNonce)
	if err != nil {
		t.Fatal(err)
	}
	return PaymentInput{
		CheckoutHash:           CheckoutHash(s.checkoutJWT),
		OpenCheckoutReferences: cc.OpenReferences(),
		Now:                    time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC),
	}
}

// wantCode fails t unless err is an *agentpay.Error with code (or nil when
// code is "").
func wantCode(t testing.TB, err error, code string) {
	t.Helper()
	if code == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	var e *agentpay.Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("error = %v, want code %s", err, code)
	}
}

// segments splits a presentation into its parts for tampering: the
// SD-JWTs, each a JWT and its disclosures.
func segments(token string) [][]string {
	var out [][]string
	for _, seg := range strings.Split(strings.TrimSuffix(token, "~"), "~~") {
		out = append(out, strings.Split(seg, "~"))
	}
	return out
}

// join is the inverse of segments.
func join(segs [][]string) string {
	parts := make([]string, len(segs))
	for i, s := range segs {
		parts[i] = strings.Join(s, "~")
	}
	return strings.Join(parts, "~~") + "~"
}

// decodeSegment decodes a base64url JSON part (a JWT header or payload, or
// a disclosure).
func decodeSegment(t testing.TB, s string) any {
	t.Helper()
	data, err := b64Decode(s)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func encodeSegment(t testing.TB, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b64.EncodeToString(data)
}

func agentpayMoney(amount int64, asset string) agentpay.Money {
	return agentpay.Money{Amount: amount, Asset: asset}
}
