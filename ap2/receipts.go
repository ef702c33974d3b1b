package ap2

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/json"
	"time"

	"github.com/agentpay/agentpay"
)

// Receipt statuses (types/receipt_status.json).
const (
	ReceiptSuccess = "Success"
	ReceiptError   = "Error"
)

// typReceipt is the typ of a receipt JWT; the verifier requires it, so
// that nothing else agentpay signs passes for a receipt.
const typReceipt = "JWT"

// PaymentReceipt is the final state of a payment under a payment mandate
// (payment_receipt.json).
type PaymentReceipt struct {
	Status                string `json:"status"`
	Iss                   string `json:"iss"`
	Iat                   int64  `json:"iat"`
	Reference             string `json:"reference"`
	Error                 string `json:"error,omitempty"`
	ErrorDescription      string `json:"error_description,omitempty"`
	PaymentID             string `json:"payment_id"`
	PSPConfirmationID     string `json:"psp_confirmation_id,omitempty"`
	NetworkConfirmationID string `json:"network_confirmation_id,omitempty"`
}

// CheckoutReceipt is the final state of a checkout under a checkout
// mandate (checkout_receipt.json).
type CheckoutReceipt struct {
	Status           string `json:"status"`
	Iss              string `json:"iss"`
	Iat              int64  `json:"iat"`
	Reference        string `json:"reference"`
	Error            string `json:"error,omitempty"`
	ErrorDescription string `json:"error_description,omitempty"`
	OrderID          string `json:"order_id,omitempty"`
}

// ReceiptSigner signs receipts as agentpay (Name is iss) with a P-256 key.
type ReceiptSigner struct {
	Key   crypto.Signer
	KeyID string
	Name  string
	Now   func() time.Time // nil means time.Now
}

// Fail turns the error that refused a mandate into the error and
// error_description of a receipt: the AP2 code, or invalid_mandate for an
// error that carries none.
func Fail(err error) (code, description string) {
	switch c := agentpay.ErrorCode(err); c {
	case CodeInvalidCredential, CodeUnresolvedConstraint, CodeInvalidMandate, CodeMandatesNotSupported, CodeMandateAlreadyUsed:
		return c, reason(err)
	}
	return CodeInvalidMandate, "the mandate was refused"
}

// SignPayment signs r, setting its iss and iat. The status decides the
// rest, as the schema's oneOf does: Success needs psp_confirmation_id and
// network_confirmation_id and no error; Error needs error and
// error_description and no confirmation ids. payment_id and reference are
// always required.
func (s *ReceiptSigner) SignPayment(r PaymentReceipt) (string, error) {
	r.Iss, r.Iat = s.Name, s.now().Unix()
	if err := checkPaymentReceipt(r); err != nil {
		return "", err
	}
	return s.sign(r)
}

// SignCheckout signs r, setting its iss and iat: Success needs order_id,
// Error needs error and error_description.
func (s *ReceiptSigner) SignCheckout(r CheckoutReceipt) (string, error) {
	r.Iss, r.Iat = s.Name, s.now().Unix()
	if err := checkCheckoutReceipt(r); err != nil {
		return "", err
	}
	return s.sign(r)
}

func (s *ReceiptSigner) sign(r any) (string, error) {
	if s.Key == nil || s.Name == "" {
		return "", badTerms("key", "a receipt signer has a key and a name")
	}
	if pub, ok := s.Key.Public().(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
		return "", badTerms("key", "receipts are signed with ES256, a P-256 key")
	}
	payload, err := json.Marshal(r)
	if err != nil {
		return "", err
	}
	return signJWS(s.Key, typReceipt, s.KeyID, payload)
}

func (s *ReceiptSigner) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func checkPaymentReceipt(r PaymentReceipt) error {
	if r.Iss == "" || r.Reference == "" || r.PaymentID == "" {
		return badTerms("receipt", "a payment receipt has iss, reference and payment_id")
	}
	success := r.PSPConfirmationID != "" && r.NetworkConfirmationID != ""
	return checkStatus(r.Status, success, r.PSPConfirmationID != "" || r.NetworkConfirmationID != "", r.Error, r.ErrorDescription)
}

func checkCheckoutReceipt(r CheckoutReceipt) error {
	if r.Iss == "" || r.Reference == "" {
		return badTerms("receipt", "a checkout receipt has iss and reference")
	}
	return checkStatus(r.Status, r.OrderID != "", r.OrderID != "", r.Error, r.ErrorDescription)
}

// checkStatus applies "present if and only if" of the schemas' fields:
// successFields says the Success-only fields are all there, anySuccess
// that any is.
func checkStatus(status string, successFields, anySuccess bool, errCode, errDesc string) error {
	switch status {
	case ReceiptSuccess:
		if !successFields || errCode != "" || errDesc != "" {
			return badTerms("status", "a Success receipt has its confirmation fields and no error")
		}
	case ReceiptError:
		if errCode == "" || errDesc == "" || anySuccess {
			return badTerms("status", "an Error receipt has error and error_description and no confirmation fields")
		}
	default:
		return badTerms("status", "status is Success or Error")
	}
	return nil
}

// VerifyPaymentReceipt verifies a payment receipt under the issuer's key
// and returns it. Errors are invalid_credential.
func VerifyPaymentReceipt(receipt string, key *ecdsa.PublicKey) (PaymentReceipt, error) {
	var r PaymentReceipt
	if err := verifyReceipt(receipt, key, &r); err != nil {
		return PaymentReceipt{}, err
	}
	if err := checkPaymentReceipt(r); err != nil {
		return PaymentReceipt{}, invalidCredential("the receipt: %s", reason(err))
	}
	return r, nil
}

// VerifyCheckoutReceipt verifies a checkout receipt under the issuer's key.
func VerifyCheckoutReceipt(receipt string, key *ecdsa.PublicKey) (CheckoutReceipt, error) {
	var r CheckoutReceipt
	if err := verifyReceipt(receipt, key, &r); err != nil {
		return CheckoutReceipt{}, err
	}
	if err := checkCheckoutReceipt(r); err != nil {
		return CheckoutReceipt{}, invalidCredential("the receipt: %s", reason(err))
	}
	return r, nil
}

func verifyReceipt(receipt string, key *ecdsa.PublicKey, r any) error {
	if key == nil {
		return invalidCredential("no key to verify the receipt")
	}
	if len(receipt) > PresentationSizeMax {
		return invalidCredential("the receipt is too large")
	}
	j, err := parseJWS(receipt)
	if err != nil {
		return invalidCredential("the receipt: %v", err)
	}
	if j.header.Typ != typReceipt {
		return invalidCredential("not a receipt (typ %q)", j.header.Typ)
	}
	if err := j.verify(key); err != nil {
		return invalidCredential("the receipt's signature: %v", err)
	}
	if err := decodeJSON(j.payload, r); err != nil {
		return invalidCredential("the receipt's payload is malformed")
	}
	return nil
}
