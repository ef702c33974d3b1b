package ap2

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/agentpay/agentpay"
)

func testReceiptSigner() *ReceiptSigner {
	return &ReceiptSigner{Key: issuerKey, KeyID: "receipts-1", Name: testIssuerName, Now: func() time.Time { return testNow }}
}

func TestPaymentReceipts(t *testing.T) {
	s := newScenario(t, agentEd)
	pc, err := testVerifier().VerifyPaymentChain(s.paymentChain, testNonce)
	if err != nil {
		t.Fatal(err)
	}
	rs := testReceiptSigner()
	ok, err := rs.SignPayment(PaymentReceipt{Status: ReceiptSuccess, Reference: pc.Reference, PaymentID: "pay_1", PSPConfirmationID: "trf_1", NetworkConfirmationID: "agentpay:trf_1"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := VerifyPaymentReceipt(ok, &issuerKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	want := PaymentReceipt{Status: ReceiptSuccess, Iss: testIssuerName, Iat: testNow.Unix(), Reference: Reference(s.paymentChain), PaymentID: "pay_1", PSPConfirmationID: "trf_1", NetworkConfirmationID: "agentpay:trf_1"}
	if got != want {
		t.Fatalf("receipt = %+v, want %+v", got, want)
	}

	code, desc := Fail(invalidMandate("the amount is outside payment.amount_range"))
	failed, err := rs.SignPayment(PaymentReceipt{Status: ReceiptError, Reference: pc.Reference, PaymentID: "pay_2", Error: code, ErrorDescription: desc})
	if err != nil {
		t.Fatal(err)
	}
	got, err = VerifyPaymentReceipt(failed, &issuerKey.PublicKey)
	if err != nil || got.Error != CodeInvalidMandate || got.ErrorDescription != "the amount is outside payment.amount_range" {
		t.Fatalf("receipt = %+v, %v", got, err)
	}

	// Tampering: a receipt turned from Error to Success with the signature
	// kept, another key, a mandate offered as a receipt, alg none.
	parts := strings.Split(failed, ".")
	payload := decodeSegment(t, parts[1]).(map[string]any)
	payload["status"], payload["psp_confirmation_id"], payload["network_confirmation_id"] = ReceiptSuccess, "x", "y"
	delete(payload, "error")
	delete(payload, "error_description")
	for _, tc := range []struct {
		name    string
		receipt string
	}{
		{"status changed", parts[0] + "." + encodeSegment(t, payload) + "." + parts[2]},
		{"alg none", encodeSegment(t, map[string]any{"alg": "none", "typ": "JWT"}) + "." + parts[1] + "."},
		{"a mandate", s.openPayment[:strings.IndexByte(s.openPayment, '~')]},
		{"a checkout JWT", s.checkoutJWT},
		{"garbage", "a.b.c"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := VerifyPaymentReceipt(tc.receipt, &issuerKey.PublicKey)
			wantCode(t, err, CodeInvalidCredential)
		})
	}
	_, err = VerifyPaymentReceipt(ok, &merchantKey.PublicKey)
	wantCode(t, err, CodeInvalidCredential)
}

func TestCheckoutReceipts(t *testing.T) {
	rs := testReceiptSigner()
	r, err := rs.SignCheckout(CheckoutReceipt{Status: ReceiptSuccess, Reference: "ref", OrderID: "ord_1"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := VerifyCheckoutReceipt(r, &issuerKey.PublicKey)
	if err != nil || got.OrderID != "ord_1" || got.Iss != testIssuerName {
		t.Fatalf("receipt = %+v, %v", got, err)
	}
	if _, err := VerifyPaymentReceipt(r, &issuerKey.PublicKey); err == nil {
		t.Fatal("a checkout receipt passed as a payment receipt")
	}
}

func TestReceiptRules(t *testing.T) {
	rs := testReceiptSigner()
	for _, tc := range []struct {
		name string
		r    PaymentReceipt
	}{
		{"unknown status", PaymentReceipt{Status: "Pending", Reference: "r", PaymentID: "p"}},
		{"success without confirmation", PaymentReceipt{Status: ReceiptSuccess, Reference: "r", PaymentID: "p", PSPConfirmationID: "x"}},
		{"success with an error", PaymentReceipt{Status: ReceiptSuccess, Reference: "r", PaymentID: "p", PSPConfirmationID: "x", NetworkConfirmationID: "y", Error: "invalid_mandate"}},
		{"error without description", PaymentReceipt{Status: ReceiptError, Reference: "r", PaymentID: "p", Error: "invalid_mandate"}},
		{"error with a confirmation", PaymentReceipt{Status: ReceiptError, Reference: "r", PaymentID: "p", Error: "e", ErrorDescription: "d", PSPConfirmationID: "x"}},
		{"no payment id", PaymentReceipt{Status: ReceiptError, Reference: "r", Error: "e", ErrorDescription: "d"}},
		{"no reference", PaymentReceipt{Status: ReceiptError, PaymentID: "p", Error: "e", ErrorDescription: "d"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := rs.SignPayment(tc.r)
			wantCode(t, err, CodeInvalidMandate)
		})
	}
	_, err := (&ReceiptSigner{Key: agentEd, Name: "x"}).SignCheckout(CheckoutReceipt{Status: ReceiptSuccess, Reference: "r", OrderID: "o"})
	wantCode(t, err, CodeInvalidMandate)
}

func TestFail(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code string
	}{
		{unresolvedConstraint("x"), CodeUnresolvedConstraint},
		{invalidCredential("x"), CodeInvalidCredential},
		{notSupported("x"), CodeMandatesNotSupported},
		{agentpay.Errorf(agentpay.EINTERNAL, "db", "secret detail"), CodeInvalidMandate},
		{errors.New("secret detail"), CodeInvalidMandate},
	} {
		code, desc := Fail(tc.err)
		if code != tc.code || strings.Contains(desc, "secret") {
			t.Errorf("Fail(%v) = %q, %q", tc.err, code, desc)
		}
	}
}
