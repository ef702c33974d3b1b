package ap2

import (
	"crypto"
	"crypto/ecdsa"
	"encoding/json"
)

// Checkout is the UCP checkout (spec/ucp/types/checkout.json) a merchant
// signs as the checkout JWT of a closed checkout mandate; Merchant is AP2's
// extension that binds it to the seller.
type Checkout struct {
	ID          string          `json:"id"`
	Merchant    *Merchant       `json:"merchant,omitempty"`
	LineItems   []LineItem      `json:"line_items"`
	Status      string          `json:"status"`
	Currency    string          `json:"currency"`
	Totals      []Total         `json:"totals"`
	Links       []Link          `json:"links"`
	Buyer       json.RawMessage `json:"buyer,omitempty"`
	Messages    json.RawMessage `json:"messages,omitempty"`
	ExpiresAt   string          `json:"expires_at,omitempty"`
	ContinueURL string          `json:"continue_url,omitempty"`
}

// LineItem is one line of a checkout (ucp/types/line_item.json).
type LineItem struct {
	ID       string  `json:"id"`
	Item     Item    `json:"item"`
	Quantity int64   `json:"quantity"`
	Totals   []Total `json:"totals"`
	ParentID string  `json:"parent_id,omitempty"`
}

// Item is the product of a line (ap2/types/item.json).
type Item struct {
	ID       string `json:"id"`
	Title    string `json:"title"`
	Price    int64  `json:"price"`
	ImageURL string `json:"image_url,omitempty"`
}

// Total is one entry of a cost breakdown (ucp/types/total.json): subtotal,
// tax, fulfillment, fee, total, ..., in minor units.
type Total struct {
	Type        string `json:"type"`
	DisplayText string `json:"display_text,omitempty"`
	Amount      int64  `json:"amount"`
}

// Link is a typed URL, such as the privacy policy (ucp/types/link.json).
type Link struct {
	Type  string `json:"type"`
	URL   string `json:"url"`
	Title string `json:"title,omitempty"`
}

// CheckoutHash is the checkout_hash of a checkout JWT, and the
// transaction_id of the payment mandate that pays it: the base64url SHA-256
// of the JWT's compact form (checkout_mandate.md).
func CheckoutHash(checkoutJWT string) string {
	return hashB64(checkoutJWT)
}

// SignCheckoutJWT signs c as a merchant's checkout JWT. The key must be
// P-256 ECDSA: AP2 forbids deterministic signatures such as Ed25519 here,
// because the hash of this JWT identifies the transaction and a guessable
// checkout must not have a guessable hash.
func SignCheckoutJWT(key crypto.Signer, kid string, c Checkout) (string, error) {
	if _, ok := key.Public().(*ecdsa.PublicKey); !ok {
		return "", badTerms("key", "a checkout JWT is signed with ES256")
	}
	if c.ID == "" || c.Currency == "" || c.Status == "" {
		return "", badTerms("checkout", "a checkout has an id, a status and a currency")
	}
	// The schema requires these arrays; a nil slice would encode as null.
	c.LineItems = nonNil(c.LineItems)
	c.Totals = nonNil(c.Totals)
	c.Links = nonNil(c.Links)
	for i := range c.LineItems {
		c.LineItems[i].Totals = nonNil(c.LineItems[i].Totals)
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	return signJWS(key, "JWT", kid, payload)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// ParseCheckoutJWT verifies a checkout JWT under the merchant's key (ES256
// only) and returns its checkout. Errors are invalid_mandate: the mandate
// names a checkout that is not the merchant's.
func ParseCheckoutJWT(checkoutJWT string, merchantKey *ecdsa.PublicKey) (Checkout, error) {
	if merchantKey == nil {
		return Checkout{}, invalidMandate("no merchant key to verify the checkout JWT")
	}
	j, err := parseJWS(checkoutJWT)
	if err != nil {
		return Checkout{}, invalidMandate("the checkout JWT: %v", err)
	}
	if err := j.verify(merchantKey); err != nil {
		return Checkout{}, invalidMandate("the checkout JWT is not signed by the merchant: %v", err)
	}
	var c Checkout
	if err := decodeJSON(j.payload, &c); err != nil {
		return Checkout{}, invalidMandate("the checkout JWT does not hold a checkout")
	}
	if c.ID == "" {
		return Checkout{}, invalidMandate("the checkout has no id")
	}
	return c, nil
}
