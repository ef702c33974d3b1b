package ap2

import (
	"crypto"
)

// PaymentChain is a verified payment chain: the open payment mandate
// agentpay issued and the closed one its agent signed under it.
type PaymentChain struct {
	Open      OpenPaymentMandate
	Closed    PaymentMandate
	AgentKey  crypto.PublicKey // the key cnf.jwk binds, which signed Closed
	MandateID string           // the jti agentpay gave the open mandate
	// OpenReference is MandateReference of the open mandate.
	OpenReference string
	// Reference is the receipt reference (see Reference).
	Reference string
	// ReplayKey identifies the closed mandate for "mandate_already_used":
	// the base64url SHA-256 of its signed header and payload. Unlike
	// Reference it does not change if someone re-encodes an ECDSA
	// signature (s and n-s both verify), so record this one as used.
	ReplayKey string
}

// CheckoutChain is a verified checkout chain: the open checkout mandate
// agentpay issued and the closed one its agent signed under it. Its
// checkout_hash has been checked against its checkout_jwt; the checkout
// JWT's signature is the evaluator's business (EvaluateCheckout).
type CheckoutChain struct {
	Open          OpenCheckoutMandate
	Closed        CheckoutMandate
	AgentKey      crypto.PublicKey
	MandateID     string
	OpenReference string
	// OpenSDHash is the sd_hash of the open mandate as presented, which
	// AP2's examples use as the payment.reference of the matching open
	// payment mandate.
	OpenSDHash string
	Reference  string
	ReplayKey  string
}

// OpenReferences returns the values a payment.reference constraint may
// name to refer to this checkout chain's open mandate.
func (c *CheckoutChain) OpenReferences() []string {
	return []string{c.OpenReference, c.OpenSDHash}
}

// VerifyPaymentChain verifies a presentation of an open payment mandate
// closed by the agent, answering the challenge nonce. It checks
// everything but the constraints (EvaluatePayment does those).
func (v *Verifier) VerifyPaymentChain(presentation, nonce string) (*PaymentChain, error) {
	root, leaf, segs, err := v.verifyChain(presentation, nonce, VCTOpenPayment, VCTPayment)
	if err != nil {
		return nil, err
	}
	c := &PaymentChain{
		AgentKey:      root.key,
		MandateID:     root.jti,
		OpenReference: hashB64(segs[0].jwt),
		Reference:     hashB64(segs[1].jwt),
		ReplayKey:     hashB64(leaf.jws.signingInput()),
	}
	if err := decodeContent(root, &c.Open); err != nil {
		return nil, err
	}
	if err := decodeContent(leaf, &c.Closed); err != nil {
		return nil, err
	}
	return c, nil
}

// VerifyCheckoutChain verifies a presentation of an open checkout mandate
// closed by the agent, answering the challenge nonce.
func (v *Verifier) VerifyCheckoutChain(presentation, nonce string) (*CheckoutChain, error) {
	root, leaf, segs, err := v.verifyChain(presentation, nonce, VCTOpenCheckout, VCTCheckout)
	if err != nil {
		return nil, err
	}
	c := &CheckoutChain{
		AgentKey:      root.key,
		MandateID:     root.jti,
		OpenReference: hashB64(segs[0].jwt),
		OpenSDHash:    hashB64(segs[0].serialize()),
		Reference:     hashB64(segs[1].jwt),
		ReplayKey:     hashB64(leaf.jws.signingInput()),
	}
	if err := decodeContent(root, &c.Open); err != nil {
		return nil, err
	}
	if err := decodeContent(leaf, &c.Closed); err != nil {
		return nil, err
	}
	return c, nil
}

// verifyChain verifies the two SD-JWTs of a chain: the open mandate of
// type openVCT under agentpay's key, then the closed one of type closedVCT
// under the open mandate's cnf key.
func (v *Verifier) verifyChain(presentation, nonce, openVCT, closedVCT string) (root, leaf *verified, segs []sdJWT, err error) {
	segs, err = splitPresentation(presentation)
	if err != nil {
		return nil, nil, nil, invalidCredential("the presentation: %v", err)
	}
	switch {
	case len(segs) == 1:
		return nil, nil, nil, invalidCredential("a chain is an open mandate and the closed mandate that closes it")
	case len(segs) > 2:
		return nil, nil, nil, notSupported("agentpay does not accept delegation from one agent to another")
	}
	now := v.now().Unix()
	if root, err = v.verifyRoot(segs[0], now); err != nil {
		return nil, nil, nil, err
	}
	if root.vct != openVCT {
		return nil, nil, nil, invalidMandate("the chain starts with a %s mandate, not %s", root.vct, openVCT)
	}
	if leaf, err = v.verifyLeaf(segs[1], segs[0].serialize(), root.key, nonce, now); err != nil {
		return nil, nil, nil, err
	}
	if leaf.vct != closedVCT {
		return nil, nil, nil, invalidMandate("the chain closes with a %s mandate, not %s", leaf.vct, closedVCT)
	}
	if err := v.checkClosedTimes(now, leaf.content); err != nil {
		return nil, nil, nil, err
	}
	return root, leaf, segs, nil
}

// checkClosedTimes applies the optional iat and exp of a closed mandate's
// content.
func (v *Verifier) checkClosedTimes(now int64, content map[string]any) error {
	var inner struct {
		Iat *int64 `json:"iat"`
		Exp *int64 `json:"exp"`
	}
	if err := fromTree(content, &inner); err != nil {
		return invalidMandate("the closed mandate's iat or exp is not an integer")
	}
	if inner.Iat != nil && *inner.Iat > now+v.leeway() {
		return invalidCredential("the closed mandate is issued in the future")
	}
	if inner.Exp != nil && now > *inner.Exp+v.leeway() {
		return invalidCredential("the closed mandate has expired")
	}
	return nil
}

// decodeContent decodes verified content into its Go type and checks it as
// the schema and agentpay require. Unknown constraints pass: the evaluator
// reports them.
func decodeContent(v *verified, m Mandate) error {
	if err := fromTree(v.content, m); err != nil {
		return invalidMandate("the %s mandate does not match its schema: %v", v.vct, err)
	}
	if err := validateMandate(m, false); err != nil {
		return invalidMandate("the %s mandate: %s", v.vct, reason(err))
	}
	return nil
}

// VerifiedPayment is a closed payment mandate agentpay issued itself,
// after the user approved it with a passkey (AP2's human-present mode).
type VerifiedPayment struct {
	Mandate   PaymentMandate
	MandateID string
	Reference string
	ReplayKey string
}

// VerifiedCheckout is a closed checkout mandate agentpay issued itself.
type VerifiedCheckout struct {
	Mandate   CheckoutMandate
	MandateID string
	Reference string
	ReplayKey string
}

// VerifyPayment verifies a closed payment mandate agentpay issued, presented
// as it was issued (or with nothing withheld: it has no optional parts).
func (v *Verifier) VerifyPayment(mandate string) (*VerifiedPayment, error) {
	root, s, err := v.verifyClosed(mandate, VCTPayment)
	if err != nil {
		return nil, err
	}
	out := &VerifiedPayment{MandateID: root.jti, Reference: hashB64(s.jwt), ReplayKey: hashB64(root.jws.signingInput())}
	if err := decodeContent(root, &out.Mandate); err != nil {
		return nil, err
	}
	return out, nil
}

// VerifyCheckout verifies a closed checkout mandate agentpay issued.
func (v *Verifier) VerifyCheckout(mandate string) (*VerifiedCheckout, error) {
	root, s, err := v.verifyClosed(mandate, VCTCheckout)
	if err != nil {
		return nil, err
	}
	out := &VerifiedCheckout{MandateID: root.jti, Reference: hashB64(s.jwt), ReplayKey: hashB64(root.jws.signingInput())}
	if err := decodeContent(root, &out.Mandate); err != nil {
		return nil, err
	}
	return out, nil
}

func (v *Verifier) verifyClosed(mandate, vct string) (*verified, sdJWT, error) {
	segs, err := splitPresentation(mandate)
	if err != nil {
		return nil, sdJWT{}, invalidCredential("the mandate: %v", err)
	}
	if len(segs) != 1 {
		return nil, sdJWT{}, invalidCredential("a closed mandate agentpay issued is one SD-JWT")
	}
	root, err := v.verifyRoot(segs[0], v.now().Unix())
	if err != nil {
		return nil, sdJWT{}, err
	}
	if root.vct != vct {
		return nil, sdJWT{}, invalidMandate("the mandate is a %s mandate, not %s", root.vct, vct)
	}
	return root, segs[0], nil
}
