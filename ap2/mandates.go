package ap2

import "encoding/json"

// The vct values of the four mandates (docs/ap2/specification.md, "Mandate
// Versioning"): matched exactly, version suffix included.
const (
	VCTCheckout     = "mandate.checkout.1"
	VCTOpenCheckout = "mandate.checkout.open.1"
	VCTPayment      = "mandate.payment.1"
	VCTOpenPayment  = "mandate.payment.open.1"
)

// Mandate is the content of one of the four AP2 mandates: *CheckoutMandate,
// *PaymentMandate, *OpenCheckoutMandate or *OpenPaymentMandate.
type Mandate interface {
	vct() string
	times() (iat, exp *int64)
}

// CheckoutMandate is a closed checkout mandate (checkout_mandate.json): the
// approval of one checkout, identified by the hash of the merchant-signed
// checkout JWT.
type CheckoutMandate struct {
	VCT          string `json:"vct"`
	CheckoutJWT  string `json:"checkout_jwt"`
	CheckoutHash string `json:"checkout_hash"`
	IAT          int64  `json:"iat,omitempty"`
	EXP          int64  `json:"exp,omitempty"`
}

// PaymentMandate is a closed payment mandate (payment_mandate.json): the
// approval of one payment for the checkout whose hash is TransactionID.
type PaymentMandate struct {
	VCT               string            `json:"vct"`
	TransactionID     string            `json:"transaction_id"`
	Payee             Merchant          `json:"payee"`
	PISP              *PISP             `json:"pisp,omitempty"`
	PaymentAmount     Amount            `json:"payment_amount"`
	PaymentInstrument PaymentInstrument `json:"payment_instrument"`
	ExecutionDate     string            `json:"execution_date,omitempty"`
	RiskData          json.RawMessage   `json:"risk_data,omitempty"`
	IAT               int64             `json:"iat,omitempty"`
	EXP               int64             `json:"exp,omitempty"`
}

// OpenCheckoutMandate is an open checkout mandate
// (open_checkout_mandate.json): checkouts the agent whose key is CNF may
// approve, within Constraints (checkout.allowed_merchants,
// checkout.line_items).
type OpenCheckoutMandate struct {
	VCT         string      `json:"vct"`
	Constraints Constraints `json:"constraints"`
	CNF         CNF         `json:"cnf"`
	IAT         int64       `json:"iat,omitempty"`
	EXP         int64       `json:"exp,omitempty"`
}

// OpenPaymentMandate is an open payment mandate (open_payment_mandate.json):
// payments the agent whose key is CNF may approve, within Constraints. The
// optional fields, when set, are pre-set: the closed mandate must carry the
// same values.
type OpenPaymentMandate struct {
	VCT               string             `json:"vct"`
	Constraints       Constraints        `json:"constraints"`
	CNF               CNF                `json:"cnf"`
	Payee             *Merchant          `json:"payee,omitempty"`
	PaymentAmount     *Amount            `json:"payment_amount,omitempty"`
	PaymentInstrument *PaymentInstrument `json:"payment_instrument,omitempty"`
	PISP              *PISP              `json:"pisp,omitempty"`
	ExecutionDate     string             `json:"execution_date,omitempty"`
	RiskData          json.RawMessage    `json:"risk_data,omitempty"`
	IAT               int64              `json:"iat,omitempty"`
	EXP               int64              `json:"exp,omitempty"`
}

func (m *CheckoutMandate) vct() string     { return VCTCheckout }
func (m *PaymentMandate) vct() string      { return VCTPayment }
func (m *OpenCheckoutMandate) vct() string { return VCTOpenCheckout }
func (m *OpenPaymentMandate) vct() string  { return VCTOpenPayment }

func (m *CheckoutMandate) times() (iat, exp *int64)     { return &m.IAT, &m.EXP }
func (m *PaymentMandate) times() (iat, exp *int64)      { return &m.IAT, &m.EXP }
func (m *OpenCheckoutMandate) times() (iat, exp *int64) { return &m.IAT, &m.EXP }
func (m *OpenPaymentMandate) times() (iat, exp *int64)  { return &m.IAT, &m.EXP }

// isOpen reports whether vct names an open mandate, which must bind a key.
func isOpen(vct string) bool {
	return vct == VCTOpenCheckout || vct == VCTOpenPayment
}

// knownVCT reports whether vct is one of the four AP2 mandate types.
func knownVCT(vct string) bool {
	switch vct {
	case VCTCheckout, VCTOpenCheckout, VCTPayment, VCTOpenPayment:
		return true
	}
	return false
}
