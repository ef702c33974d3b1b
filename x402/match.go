package x402

import (
	"bytes"
	"encoding/json"

	"github.com/gowebpki/jcs"
)

// matchV2 returns the requirement among accepts that the client's accepted
// echoes, or a refusal saying what did not match. A v2 client echoes the
// requirement it chose, so every member must be equal; extra is compared
// as canonical JSON, absent and {} being the same (the reference's
// OptionalRecord defaults it to {}).
func matchV2(accepts []PaymentRequirements, accepted *PaymentRequirements) (*PaymentRequirements, *Error) {
	for i := range accepts {
		r := &accepts[i]
		if r.Scheme == accepted.Scheme && r.Network == accepted.Network && r.Amount == accepted.Amount &&
			r.Asset == accepted.Asset && r.PayTo == accepted.PayTo && r.MaxTimeoutSeconds == accepted.MaxTimeoutSeconds &&
			sameExtra(r.Extra, accepted.Extra) {
			return r, nil
		}
	}
	return nil, noMatch(accepts, accepted.Scheme, accepted.Network)
}

// matchV1 returns the requirement with the scheme and network a v1 client
// named: a v1 payload does not echo the rest, as the reference's v1
// matching does not compare it either.
func matchV1(accepts []PaymentRequirements, scheme, network string) (*PaymentRequirements, *Error) {
	for i := range accepts {
		if accepts[i].Scheme == scheme && accepts[i].Network == network {
			return &accepts[i], nil
		}
	}
	return nil, noMatch(accepts, scheme, network)
}

// noMatch says as precisely as the spec's reasons allow why nothing matched.
func noMatch(accepts []PaymentRequirements, scheme, network string) *Error {
	schemeOffered := false
	for i := range accepts {
		if accepts[i].Scheme == scheme {
			schemeOffered = true
			if accepts[i].Network == network {
				return errorf(ReasonInvalidPaymentRequirements, "the payment does not match the requirements offered for %s on %s", quoteShort(scheme), quoteShort(network))
			}
		}
	}
	if !schemeOffered {
		return errorf(ReasonUnsupportedScheme, "scheme %s is not offered for this resource", quoteShort(scheme))
	}
	return errorf(ReasonInvalidNetwork, "network %s is not offered for scheme %s", quoteShort(network), quoteShort(scheme))
}

func sameExtra(a, b json.RawMessage) bool {
	ca, okA := canonicalExtra(a)
	cb, okB := canonicalExtra(b)
	return okA && okB && bytes.Equal(ca, cb)
}

func canonicalExtra(raw json.RawMessage) ([]byte, bool) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return []byte("{}"), true
	}
	c, err := jcs.Transform(t)
	return c, err == nil
}
