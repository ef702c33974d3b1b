package ap2

import (
	"crypto"
	"testing"
	"time"
)

func TestPaymentChainEndToEnd(t *testing.T) {
	for _, tc := range []struct {
		name  string
		agent crypto.Signer
	}{
		{"Ed25519 agent", agentEd},
		{"P-256 agent", agentP256},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newScenario(t, tc.agent)
			v := testVerifier()
			pc, err := v.VerifyPaymentChain(s.paymentChain, testNonce)
			if err != nil {
				t.Fatal(err)
			}
			if pc.MandateID != testMandateID || pc.Closed.PaymentAmount != usd(980) || pc.Closed.Payee != shop {
				t.Fatalf("chain = %+v", pc)
			}
			if !sameKey(pc.AgentKey, tc.agent.Public()) {
				t.Fatal("the chain does not report the agent's key")
			}
			if pc.Reference != Reference(s.paymentChain) || pc.OpenReference != MandateReference(s.openPayment) {
				t.Fatal("references differ")
			}
			limits, err := EvaluatePayment(pc.Open, pc.Closed, s.paymentInput(t))
			if err != nil {
				t.Fatal(err)
			}
			if limits.Amount.Amount != 980 || limits.Budget == nil || limits.Budget.Amount != 5000 || limits.Budget.Asset != "USD" {
				t.Fatalf("limits = %+v", limits)
			}
			if r := limits.Recurrence; r == nil || r.MaxOccurrences != 10 || r.Period.Unit != "week" || r.Period.Count != 1 {
				t.Fatalf("recurrence = %+v", limits.Recurrence)
			}

			cc, err := v.VerifyCheckoutChain(s.checkoutChain, testNonce)
			if err != nil {
				t.Fatal(err)
			}
			checkout, err := EvaluateCheckout(cc.Open, cc.Closed, CheckoutInput{MerchantKey: &merchantKey.PublicKey, CheckoutHash: CheckoutHash(s.checkoutJWT)})
			if err != nil {
				t.Fatal(err)
			}
			if checkout.ID != "chk_1" || len(checkout.LineItems) != 2 {
				t.Fatalf("checkout = %+v", checkout)
			}
		})
	}
}

func TestClosedMandateDirect(t *testing.T) {
	checkoutJWT := signedCheckout(t, testCheckout())
	v := testVerifier()
	payment := mustIssue(t, closedPayment(checkoutJWT), testNow.Add(time.Hour))
	vp, err := v.VerifyPayment(payment)
	if err != nil {
		t.Fatal(err)
	}
	if vp.Mandate.TransactionID != CheckoutHash(checkoutJWT) || vp.MandateID != testMandateID || vp.Reference != Reference(payment) {
		t.Fatalf("verified = %+v", vp)
	}
	checkout := mustIssue(t, &CheckoutMandate{CheckoutJWT: checkoutJWT}, testNow.Add(time.Hour))
	vc, err := v.VerifyCheckout(checkout)
	if err != nil {
		t.Fatal(err)
	}
	if vc.Mandate.CheckoutJWT != checkoutJWT || vc.Mandate.CheckoutHash != CheckoutHash(checkoutJWT) {
		t.Fatalf("verified = %+v", vc)
	}
	_, err = v.VerifyCheckout(payment)
	wantCode(t, err, CodeInvalidMandate)
	receipt, err := testReceiptSigner().SignPayment(PaymentReceipt{Status: ReceiptSuccess, Reference: vp.Reference, PaymentID: "pay_1", PSPConfirmationID: "a", NetworkConfirmationID: "b"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.VerifyPayment(receipt + "~")
	wantCode(t, err, CodeInvalidCredential)
	_, err = v.VerifyPaymentChain(payment, testNonce)
	wantCode(t, err, CodeInvalidCredential)
}
