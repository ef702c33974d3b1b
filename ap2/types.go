package ap2

import "encoding/json"

// The shared AP2 types (spec/ap2/types/*.json); field names are the
// schemas'.

// Amount is an amount in the minor units of an ISO 4217 currency
// (types/amount.json): 27999 USD is 279.99 dollars.
type Amount struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

// Merchant is a payee or seller (types/merchant.json). Constraints match
// merchants by ID alone: name and website are for people and anyone can
// copy them (the reference SDK's merchant_matches, AP2 issue #315).
type Merchant struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Website string `json:"website,omitempty"`
}

// PaymentInstrument is what pays (types/payment_instrument.json).
type PaymentInstrument struct {
	ID          string `json:"id"`
	Type        string `json:"type"`
	Description string `json:"description,omitempty"`
}

// PISP is a payment initiation service provider (types/pisp.json).
type PISP struct {
	LegalName  string `json:"legal_name"`
	BrandName  string `json:"brand_name"`
	DomainName string `json:"domain_name"`
}

// AcceptableItem is a product a line-item requirement of an open checkout
// mandate accepts (open_checkout_mandate.json $defs/item).
type AcceptableItem struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

// CNF is the RFC 7800 confirmation claim of an open mandate: the public
// key of the agent allowed to close it.
type CNF struct {
	JWK json.RawMessage `json:"jwk"`
}
