package ap2

import (
	"crypto"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestIssueRefuses(t *testing.T) {
	expires := testNow.Add(time.Hour)
	openPay := func(edit func(m *OpenPaymentMandate)) Mandate {
		m := openPaymentTerms(t, agentEd, "open-checkout")
		edit(m)
		return m
	}
	openCheckout := func(edit func(m *OpenCheckoutMandate)) Mandate {
		m := openCheckoutTerms(t, agentEd)
		edit(m)
		return m
	}
	for _, tc := range []struct {
		name    string
		m       Mandate
		expires time.Time
		key     crypto.Signer
	}{
		{name: "no payment.reference", m: openPay(func(m *OpenPaymentMandate) {
			m.Constraints = Constraints{AmountRange{Currency: "USD", Max: 100}}
		})},
		{name: "no checkout.line_items", m: openCheckout(func(m *OpenCheckoutMandate) { m.Constraints = m.Constraints[:1] })},
		{name: "unknown constraint", m: openPay(func(m *OpenPaymentMandate) {
			m.Constraints = append(m.Constraints, UnknownConstraint{Type: "payment.velocity", Raw: json.RawMessage(`{"type":"payment.velocity"}`)})
		})},
		{name: "pointer constraint", m: openPay(func(m *OpenPaymentMandate) {
			m.Constraints = append(m.Constraints, &AmountRange{Currency: "USD", Max: 1})
		})},
		{name: "recurrence without budget", m: openPay(func(m *OpenPaymentMandate) {
			m.Constraints = Constraints{PaymentReference{ConditionalTransactionID: "x"}, AmountRange{Currency: "USD", Max: 1}, AgentRecurrence{Frequency: FrequencyDaily}}
		})},
		{name: "unknown frequency", m: openPay(func(m *OpenPaymentMandate) {
			m.Constraints = append(m.Constraints, AgentRecurrence{Frequency: "HOURLY"})
		})},
		{name: "min above max", m: openPay(func(m *OpenPaymentMandate) {
			m.Constraints[0] = AmountRange{Currency: "USD", Max: 10, Min: int64Ptr(11)}
		})},
		{name: "unknown currency", m: openPay(func(m *OpenPaymentMandate) { m.Constraints[0] = AmountRange{Currency: "ZZZ", Max: 10} })},
		{name: "no allowed payee", m: openPay(func(m *OpenPaymentMandate) { m.Constraints[1] = AllowedPayees{} })},
		{name: "payee without id", m: openPay(func(m *OpenPaymentMandate) { m.Constraints[1] = AllowedPayees{Allowed: []Merchant{{Name: "x"}}} })},
		{name: "empty execution window", m: openPay(func(m *OpenPaymentMandate) { m.Constraints[3] = ExecutionDate{} })},
		{name: "inverted execution window", m: openPay(func(m *OpenPaymentMandate) {
			m.Constraints[3] = ExecutionDate{NotBefore: "2027-02-01", NotAfter: "2027-01-01"}
		})},
		{name: "zero budget", m: openPay(func(m *OpenPaymentMandate) { m.Constraints[5] = Budget{Max: "0", Currency: "USD"} })},
		{name: "no agent key", m: openPay(func(m *OpenPaymentMandate) { m.CNF = CNF{} })},
		{name: "private agent key", m: openPay(func(m *OpenPaymentMandate) {
			m.CNF = CNF{JWK: json.RawMessage(`{"kty":"OKP","crv":"Ed25519","x":"` + strings.Repeat("A", 43) + `","d":"AA"}`)}
		})},
		{name: "requirement without items", m: openCheckout(func(m *OpenCheckoutMandate) {
			m.Constraints[1] = LineItems{Items: []LineItemRequirement{{ID: "r", Quantity: 1}}}
		})},
		{name: "requirement of zero units", m: openCheckout(func(m *OpenCheckoutMandate) {
			m.Constraints[1] = LineItems{Items: []LineItemRequirement{{ID: "r", AcceptableItems: []AcceptableItem{{ID: "a", Title: "a"}}}}}
		})},
		{name: "closed payment of nothing", m: &PaymentMandate{TransactionID: "t", Payee: shop, PaymentAmount: usd(0), PaymentInstrument: wallet}},
		{name: "closed payment without transaction", m: &PaymentMandate{Payee: shop, PaymentAmount: usd(1), PaymentInstrument: wallet}},
		{name: "closed checkout without a JWT", m: &CheckoutMandate{CheckoutJWT: "not a jwt"}},
		{name: "closed checkout with a wrong hash", m: &CheckoutMandate{CheckoutJWT: signedCheckout(t, testCheckout()), CheckoutHash: "x"}},
		{name: "vct of another type", m: &PaymentMandate{VCT: VCTOpenPayment, TransactionID: "t", Payee: shop, PaymentAmount: usd(1), PaymentInstrument: wallet}},
		{name: "nil mandate", m: (*PaymentMandate)(nil)},
		{name: "already expired", m: closedPayment("x"), expires: testNow},
		{name: "Ed25519 issuer key", m: closedPayment("x"), key: agentEd},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := testIssuer()
			if tc.key != nil {
				is.Key = tc.key
			}
			exp := expires
			if !tc.expires.IsZero() {
				exp = tc.expires
			}
			_, err := is.Issue(tc.m, "", exp)
			wantCode(t, err, CodeInvalidMandate)
		})
	}
}

func TestPresentWithholds(t *testing.T) {
	s := newScenario(t, agentEd)
	// The agent shows agentpay only the payee it pays, not the user's
	// other allowed merchants.
	p := testPresentation(agentEd)
	p.Withhold = func(name string, value json.RawMessage) bool {
		return name == "" && strings.Contains(string(value), bakery.ID)
	}
	chain := mustPresent(t, s.openPayment, closedPayment(s.checkoutJWT), p)
	if strings.Count(chain, "~") >= strings.Count(s.paymentChain, "~") {
		t.Fatal("nothing was withheld")
	}
	pc, err := testVerifier().VerifyPaymentChain(chain, testNonce)
	if err != nil {
		t.Fatal(err)
	}
	payees := pc.Open.Constraints[1].(AllowedPayees).Allowed
	if len(payees) != 1 || payees[0] != shop {
		t.Fatalf("allowed payees shown = %+v", payees)
	}
	if _, err := EvaluatePayment(pc.Open, pc.Closed, s.paymentInput(t)); err != nil {
		t.Fatal(err)
	}

	// Withholding the payee paid makes the payment fall outside the
	// constraint: hiding a disclosure never widens a mandate.
	p.Withhold = func(name string, value json.RawMessage) bool {
		return name == "" && strings.Contains(string(value), shop.ID)
	}
	chain = mustPresent(t, s.openPayment, closedPayment(s.checkoutJWT), p)
	pc, err = testVerifier().VerifyPaymentChain(chain, testNonce)
	if err != nil {
		t.Fatal(err)
	}
	_, err = EvaluatePayment(pc.Open, pc.Closed, s.paymentInput(t))
	wantCode(t, err, CodeInvalidMandate)
}

func TestPresentRefuses(t *testing.T) {
	s := newScenario(t, agentEd)
	closed := closedPayment(s.checkoutJWT)
	for _, tc := range []struct {
		name   string
		open   string
		closed Mandate
		p      Presentation
	}{
		{"no nonce", s.openPayment, closed, Presentation{Key: agentEd, Audience: testAudience}},
		{"no audience", s.openPayment, closed, Presentation{Key: agentEd, Nonce: testNonce}},
		{"no key", s.openPayment, closed, Presentation{Audience: testAudience, Nonce: testNonce}},
		{"open closing open", s.openPayment, openPaymentTerms(t, agentEd, "x"), testPresentation(agentEd)},
		{"a chain as the open mandate", s.paymentChain, closed, testPresentation(agentEd)},
		{"malformed closed mandate", s.openPayment, &PaymentMandate{}, testPresentation(agentEd)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Present(tc.open, tc.closed, tc.p)
			wantCode(t, err, CodeInvalidMandate)
		})
	}
}
