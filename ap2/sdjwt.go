package ap2

import (
	"errors"
	"strings"
)

// Typ header values. An issuer-signed mandate is an SD-JWT VC, "dc+sd-jwt"
// (draft-ietf-oauth-sd-jwt-vc); "vc+sd-jwt" is its former name and
// "example+sd-jwt" what the reference SDK's SD-JWT library writes, both
// accepted so that mandates from those issuers verify too. An agent-signed
// closed mandate is a KB-SD-JWT, "kb+sd-jwt"; "kb+sd-jwt+kb" marks a hop
// that delegates further, which AP2 v0.2 leaves out of scope.
const (
	typSDJWTVC         = "dc+sd-jwt"
	typKBSDJWT         = "kb+sd-jwt"
	typKBSDJWTDelegate = "kb+sd-jwt+kb"
)

var rootTypes = []string{typSDJWTVC, "vc+sd-jwt", "example+sd-jwt"}

// PresentationSizeMax bounds what the verifiers read: an open mandate with
// its disclosures and a closed one fit in a few kilobytes.
const PresentationSizeMax = 64 << 10

// sdJWT is one SD-JWT of a presentation: a JWT and its disclosures.
type sdJWT struct {
	jwt         string
	disclosures []string
}

// serialize returns the SD-JWT form "<JWT>~<D1>~...~<Dn>~" (RFC 9901 §4),
// which sd_hash covers.
func (s sdJWT) serialize() string {
	var b strings.Builder
	b.WriteString(s.jwt)
	b.WriteByte('~')
	for _, d := range s.disclosures {
		b.WriteString(d)
		b.WriteByte('~')
	}
	return b.String()
}

// splitPresentation splits a presentation into its SD-JWTs: one
// ("<JWT>~<D>~...~") or several joined by "~~", each but the last having
// lost its final "~" to the join, as the reference SDK's
// MandateClient.present writes them. No trailing KB-JWT is accepted: in AP2
// the key binding is the KB-SD-JWT itself.
func splitPresentation(token string) ([]sdJWT, error) {
	if len(token) > PresentationSizeMax {
		return nil, errors.New("the presentation is too large")
	}
	if !strings.HasSuffix(token, "~") {
		return nil, errors.New("a presentation ends with ~")
	}
	segments := strings.Split(token, "~~")
	out := make([]sdJWT, 0, len(segments))
	for i, seg := range segments {
		if i == len(segments)-1 {
			seg = strings.TrimSuffix(seg, "~")
		}
		parts := strings.Split(seg, "~")
		for _, p := range parts {
			if p == "" {
				return nil, errors.New("a presentation has an empty part")
			}
		}
		out = append(out, sdJWT{jwt: parts[0], disclosures: parts[1:]})
	}
	return out, nil
}

// leafJWT returns the last JWT of a presentation: the closed mandate.
func leafJWT(token string) string {
	last := token[strings.LastIndex(token, "~~")+1:]
	last = strings.TrimPrefix(last, "~")
	jwt, _, _ := strings.Cut(last, "~")
	return jwt
}

// Reference returns the receipt reference of a presented mandate: the
// base64url SHA-256 of its closed JWT (the KB-SD-JWT of a chain, the issuer
// JWT of a single closed mandate), as the reference SDK computes it from
// get_closed_mandate_jwt. Whoever holds the presentation (the agent,
// agentpay, the merchant) computes the same value, and it does not depend
// on how many hops precede the closed mandate.
func Reference(presentation string) string {
	return hashB64(leafJWT(presentation))
}
