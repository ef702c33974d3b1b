package ap2

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/json"
	"strings"
	"time"
)

// Issuer signs mandates as agentpay: the trusted surface where the user
// approved them with a passkey, and the credential provider that honours
// them. Its key must be P-256 (ES256); Name is the iss claim.
type Issuer struct {
	Key   crypto.Signer
	KeyID string
	Name  string
	Now   func() time.Time // nil means time.Now
}

// Issue signs m as an SD-JWT VC valid until expires and returns it in the
// form "<JWT>~<disclosure>~...~". id, when not empty, is the agentpay
// mandate the user approved (its jti), which a presented chain reports so
// that budgets are consumed against it.
//
// The payload follows the reference SDK's MandateClient.create (the content
// as the one disclosure of delegate_payload, _sd_alg sha-256) and adds the
// SD-JWT VC claims iss, iat, exp, vct and, for an open mandate, cnf, which
// the verifier checks against the content. The content's iat and exp are
// set to the same values, and its vct to m's type: Issue fills them in m. The terms are checked
// first: the fields the schemas require, only constraints agentpay knows,
// well formed, and the constraint each open schema insists on
// (payment.reference, checkout.line_items).
func (is *Issuer) Issue(m Mandate, id string, expires time.Time) (string, error) {
	if is.Key == nil || is.Name == "" {
		return "", badTerms("key", "an issuer has a key and a name (iss)")
	}
	if pub, ok := is.Key.Public().(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
		return "", badTerms("key", "mandates are signed with ES256, a P-256 key")
	}
	if m == nil {
		return "", badTerms("", "no mandate")
	}
	vct := m.vct()
	if err := fillIn(m, vct); err != nil {
		return "", err
	}
	if err := validateMandate(m, true); err != nil {
		return "", err
	}
	now := is.now().Unix()
	exp := expires.Unix()
	if exp <= now {
		return "", badTerms("expires", "a mandate expires in the future")
	}
	iat, expPtr := m.times()
	*iat, *expPtr = now, exp

	var b sdBuilder
	delegate, err := sealContent(&b, m)
	if err != nil {
		return "", err
	}
	payload := map[string]any{
		"iss":       is.Name,
		"iat":       now,
		"exp":       exp,
		"vct":       vct,
		"_sd_alg":   sdAlgSHA256,
		delegateKey: delegate,
	}
	if id != "" {
		payload["jti"] = id
	}
	if cnf, ok := openCNF(m); ok {
		payload["cnf"] = cnf
	}
	data, err := json.Marshal(payload)
	if err != nil {
		return "", err
	}
	jwt, err := signJWS(is.Key, typSDJWTVC, is.KeyID, data)
	if err != nil {
		return "", err
	}
	return joinSDJWT(jwt, b.encoded()), nil
}

func (is *Issuer) now() time.Time {
	if is.Now != nil {
		return is.Now()
	}
	return time.Now()
}

// fillIn sets m's vct, refusing one that names another type, and the
// checkout_hash of a closed checkout mandate that has none.
func fillIn(m Mandate, vct string) error {
	var field *string
	switch t := m.(type) {
	case *CheckoutMandate:
		if t != nil {
			field = &t.VCT
			if t.CheckoutHash == "" {
				t.CheckoutHash = CheckoutHash(t.CheckoutJWT)
			}
		}
	case *PaymentMandate:
		if t != nil {
			field = &t.VCT
		}
	case *OpenCheckoutMandate:
		if t != nil {
			field = &t.VCT
		}
	case *OpenPaymentMandate:
		if t != nil {
			field = &t.VCT
		}
	}
	if field == nil {
		return badTerms("", "no mandate")
	}
	if *field != "" && *field != vct {
		return badTerms("vct", "vct is %q for this mandate type", vct)
	}
	*field = vct
	return nil
}

// openCNF returns the cnf of an open mandate.
func openCNF(m Mandate) (CNF, bool) {
	switch t := m.(type) {
	case *OpenCheckoutMandate:
		return t.CNF, true
	case *OpenPaymentMandate:
		return t.CNF, true
	}
	return CNF{}, false
}

// MandateReference is the reference of an issued mandate: the base64url
// SHA-256 of its issuer-signed JWT. It is what agentpay writes as the
// conditional_transaction_id of the payment.reference constraint that
// ties an open payment mandate to the open checkout mandate approved with
// it (payment_mandate.md, "Reference": a hash with the SD-JWT's _sd_alg),
// and it does not change with the disclosures an agent later shows.
func MandateReference(mandate string) string {
	jwt, _, _ := strings.Cut(mandate, "~")
	return hashB64(jwt)
}
