package ap2

import (
	"crypto/ecdsa"
	"slices"
)

// CheckoutInput is what the verifier knows of the checkout it is asked to
// complete, independently of the mandates.
type CheckoutInput struct {
	// MerchantKey verifies the checkout JWT (ES256).
	MerchantKey *ecdsa.PublicKey
	// CheckoutHash is the hash of the checkout JWT the verifier issued or
	// is completing; the closed mandate must carry that very JWT. Empty
	// fails.
	CheckoutHash string
}

// EvaluateCheckout checks a closed checkout mandate against the open one
// it was signed under (checkout_mandate.md): checkout_hash is the hash of
// checkout_jwt, which is the checkout being completed, signed by the
// merchant; checkout.allowed_merchants and checkout.line_items hold for
// the checkout it contains. It returns that checkout. An unknown
// constraint is unresolved_constraint; a violated one invalid_mandate.
func EvaluateCheckout(open OpenCheckoutMandate, closed CheckoutMandate, in CheckoutInput) (Checkout, error) {
	for _, c := range open.Constraints {
		if u, ok := c.(UnknownConstraint); ok {
			return Checkout{}, unresolvedConstraint("constraint %q: %s", u.Type, u.Reason)
		}
	}
	if closed.VCT != VCTCheckout || open.VCT != VCTOpenCheckout {
		return Checkout{}, invalidMandate("not an open and a closed checkout mandate")
	}
	if closed.CheckoutHash != CheckoutHash(closed.CheckoutJWT) {
		return Checkout{}, invalidMandate("checkout_hash is not the hash of checkout_jwt")
	}
	if in.CheckoutHash == "" || closed.CheckoutHash != in.CheckoutHash {
		return Checkout{}, invalidMandate("the checkout mandate is not for this checkout")
	}
	checkout, err := ParseCheckoutJWT(closed.CheckoutJWT, in.MerchantKey)
	if err != nil {
		return Checkout{}, err
	}
	for _, c := range open.Constraints {
		switch t := c.(type) {
		case AllowedMerchants:
			// checkout_mandate.md: with no revealed element, the
			// constraint fails.
			if checkout.Merchant == nil || !slices.ContainsFunc(t.Allowed, func(m Merchant) bool { return sameMerchant(m, *checkout.Merchant) }) {
				return Checkout{}, invalidMandate("the merchant is not among checkout.allowed_merchants")
			}
		case LineItems:
			if err := matchLineItems(t.Items, checkout.LineItems); err != nil {
				return Checkout{}, err
			}
		default:
			return Checkout{}, unresolvedConstraint("constraint %q does not apply to checkout mandates", c.ConstraintType())
		}
	}
	return checkout, nil
}
