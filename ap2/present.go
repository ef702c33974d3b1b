package ap2

import (
	"crypto"
	"crypto/ed25519"
	"encoding/json"
	"time"

	"github.com/agentpay/agentpay/agentauth"
)

// Presentation is what an agent needs to close an open mandate: its own
// key (the one the open mandate's cnf.jwk names, Ed25519 or P-256) and the
// verifier's audience and nonce, which bind the presentation to one
// verifier and one challenge.
type Presentation struct {
	Key      crypto.Signer
	Audience string
	Nonce    string
	Now      time.Time // iat; zero means time.Now()
	// Withhold, if set, is asked about each disclosure of the open mandate
	// except the mandate content itself (name is "" for an array element:
	// an allowed merchant, payee or instrument, or an acceptable item);
	// returning true leaves it out, so the verifier does not see it. AP2
	// asks agents to show only what the verifier needs.
	Withhold func(name string, value json.RawMessage) bool
}

// Present closes the open mandate with closed, signed by the agent, and
// returns the chain to present: the open SD-JWT with the disclosures
// shown, "~~", and the closed mandate as a KB-SD-JWT (typ kb+sd-jwt; iat,
// aud, nonce, sd_hash over the open SD-JWT as shown; the closed content as
// the one disclosure of its delegate_payload), as the reference SDK's
// MandateClient.present and kb_sd_jwt.create make it. This is the agent's
// side; agentpay uses it in tests and for agents built on this module.
func Present(open string, closed Mandate, p Presentation) (string, error) {
	if p.Key == nil || p.Audience == "" || p.Nonce == "" {
		return "", badTerms("presentation", "a presentation needs the agent's key, an audience and a nonce")
	}
	if closed == nil || isOpen(closed.vct()) {
		return "", badTerms("closed", "an open mandate is closed by a closed mandate")
	}
	if err := fillIn(closed, closed.vct()); err != nil {
		return "", err
	}
	if err := validateMandate(closed, true); err != nil {
		return "", err
	}
	segs, err := splitPresentation(open)
	if err != nil || len(segs) != 1 {
		return "", badTerms("open", "the open mandate is not one SD-JWT")
	}
	shown, err := shownDisclosures(segs[0], p.Withhold)
	if err != nil {
		return "", err
	}
	prev := sdJWT{jwt: segs[0].jwt, disclosures: shown}.serialize()

	var b sdBuilder
	delegate, err := sealContent(&b, closed)
	if err != nil {
		return "", err
	}
	now := p.Now
	if now.IsZero() {
		now = time.Now()
	}
	payload, err := json.Marshal(map[string]any{
		delegateKey: delegate,
		"iat":       now.Unix(),
		"aud":       p.Audience,
		"nonce":     p.Nonce,
		"sd_hash":   hashB64(prev),
		"_sd_alg":   sdAlgSHA256,
	})
	if err != nil {
		return "", err
	}
	kid := ""
	if pub, ok := p.Key.Public().(ed25519.PublicKey); ok {
		kid = agentauth.Thumbprint(pub)
	}
	jwt, err := signJWS(p.Key, typKBSDJWT, kid, payload)
	if err != nil {
		return "", badTerms("key", "the agent's key: %v", err)
	}
	return joinChain(prev, joinSDJWT(jwt, b.encoded())), nil
}

// shownDisclosures returns the open mandate's disclosures minus those
// withheld; the one that carries the mandate content is always shown.
func shownDisclosures(s sdJWT, withhold func(string, json.RawMessage) bool) ([]string, error) {
	if withhold == nil {
		return s.disclosures, nil
	}
	j, err := parseJWS(s.jwt)
	if err != nil {
		return nil, badTerms("open", "the open mandate: %v", err)
	}
	var payload struct {
		Delegate []map[string]any `json:"delegate_payload"`
	}
	if err := json.Unmarshal(j.payload, &payload); err != nil || len(payload.Delegate) != 1 {
		return nil, badTerms("open", "the open mandate has no delegate_payload")
	}
	content, _ := payload.Delegate[0][sdElemKey].(string)
	var out []string
	for _, e := range s.disclosures {
		d, err := decodeDisclosure(e)
		if err != nil {
			return nil, badTerms("open", "the open mandate: %v", err)
		}
		if d.digest != content {
			value, err := json.Marshal(d.value)
			if err != nil {
				return nil, err
			}
			if withhold(d.name, value) {
				continue
			}
		}
		out = append(out, e)
	}
	return out, nil
}
