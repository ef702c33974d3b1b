package ap2

import (
	"crypto"
	"crypto/ecdsa"
	"encoding/json"
	"slices"
	"time"
)

// Defaults of a Verifier.
const (
	LeewayDefault   = time.Minute     // clock skew allowed on iat, nbf and exp
	KBMaxAgeDefault = 5 * time.Minute // how old a closed mandate's iat may be
)

// Verifier verifies mandates agentpay issued and the chains agents close
// them with. IssuerKeys are agentpay's mandate keys by kid (several while
// keys rotate); Issuer, if set, is the iss they must carry; Audience is the
// aud a closed mandate must be addressed to.
type Verifier struct {
	IssuerKeys map[string]*ecdsa.PublicKey
	Issuer     string
	Audience   string
	Now        func() time.Time // nil means time.Now
	Leeway     time.Duration    // 0 means LeewayDefault
	KBMaxAge   time.Duration    // 0 means KBMaxAgeDefault
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

func (v *Verifier) leeway() int64 {
	if v.Leeway > 0 {
		return int64(v.Leeway / time.Second)
	}
	return int64(LeewayDefault / time.Second)
}

func (v *Verifier) kbMaxAge() int64 {
	if v.KBMaxAge > 0 {
		return int64(v.KBMaxAge / time.Second)
	}
	return int64(KBMaxAgeDefault / time.Second)
}

// verified is one verified SD-JWT of a presentation.
type verified struct {
	jws     *jws
	content map[string]any   // the mandate content, disclosures resolved
	vct     string           // content's vct
	jti     string           // the issuer's mandate id
	key     crypto.PublicKey // the content's cnf key (open mandates)
}

// rootClaims are the issuer-signed JWT's own claims.
type rootClaims struct {
	Iss   string `json:"iss"`
	Iat   *int64 `json:"iat"`
	Exp   *int64 `json:"exp"`
	Nbf   *int64 `json:"nbf"`
	Vct   string `json:"vct"`
	Jti   string `json:"jti"`
	Cnf   *CNF   `json:"cnf"`
	SDAlg string `json:"_sd_alg"`
}

// verifyRoot verifies an issuer-signed mandate (RFC 9901 §7.1; SD-JWT VC):
// an accepted typ, the signature under the issuer key its kid names, the
// issuer, sha-256 as _sd_alg, the disclosures (each referenced once, none
// extra), one mandate in delegate_payload, and its validity: an expiry is
// required, a past one refused. Open mandates must bind a key in cnf.jwk;
// the top-level vct and cnf, when present, must agree with the content.
func (v *Verifier) verifyRoot(s sdJWT, now int64) (*verified, error) {
	j, err := parseJWS(s.jwt)
	if err != nil {
		return nil, invalidCredential("the mandate: %v", err)
	}
	if !slices.Contains(rootTypes, j.header.Typ) {
		return nil, invalidCredential("the mandate is not an SD-JWT VC (typ %q)", j.header.Typ)
	}
	key := v.IssuerKeys[j.header.Kid]
	if key == nil {
		return nil, invalidCredential("the mandate is signed with a key agentpay does not know")
	}
	if err := j.verify(key); err != nil {
		return nil, invalidCredential("the mandate's signature: %v", err)
	}
	var claims rootClaims
	if err := json.Unmarshal(j.payload, &claims); err != nil {
		return nil, invalidCredential("the mandate's claims are malformed")
	}
	if v.Issuer != "" && claims.Iss != v.Issuer {
		return nil, invalidCredential("the mandate is not issued by %s", v.Issuer)
	}
	out, err := resolveContent(j, s.disclosures)
	if err != nil {
		return nil, err
	}
	out.jti = claims.Jti
	if claims.Vct != "" && claims.Vct != out.vct {
		return nil, invalidCredential("the mandate's vct and its content's differ")
	}
	if err := v.checkTimes(now, claims.Iat, claims.Nbf, claims.Exp, out.content); err != nil {
		return nil, err
	}
	if !isOpen(out.vct) {
		return out, nil
	}
	var cnf CNF
	if err := fromTree(out.content["cnf"], &cnf); err != nil || cnf.JWK == nil {
		return nil, invalidCredential("the open mandate binds no key (cnf.jwk)")
	}
	if out.key, err = parseJWK(cnf.JWK); err != nil {
		return nil, invalidCredential("the open mandate's cnf.jwk: %v", err)
	}
	if claims.Cnf != nil {
		top, err := parseJWK(claims.Cnf.JWK)
		if err != nil || !sameKey(top, out.key) {
			return nil, invalidCredential("the mandate's cnf and its content's differ")
		}
	}
	return out, nil
}

// checkTimes applies iat, nbf and exp from the JWT and the content: the
// earliest expiry of the two counts, and there must be one.
func (v *Verifier) checkTimes(now int64, iat, nbf, exp *int64, content map[string]any) error {
	var inner struct {
		Iat *int64 `json:"iat"`
		Exp *int64 `json:"exp"`
	}
	if err := fromTree(content, &inner); err != nil {
		return invalidMandate("the mandate's iat or exp is not an integer")
	}
	leeway := v.leeway()
	for _, t := range []*int64{iat, inner.Iat} {
		if t != nil && *t > now+leeway {
			return invalidCredential("the mandate is issued in the future")
		}
	}
	if nbf != nil && *nbf > now+leeway {
		return invalidCredential("the mandate is not valid yet")
	}
	if exp == nil && inner.Exp == nil {
		return invalidCredential("the mandate has no expiry")
	}
	for _, t := range []*int64{exp, inner.Exp} {
		if t != nil && now > *t+leeway {
			return invalidCredential("the mandate has expired")
		}
	}
	return nil
}

// resolveContent decodes a JWS payload, resolves its disclosures and
// returns the one mandate its delegate_payload holds.
func resolveContent(j *jws, disclosures []string) (*verified, error) {
	var payload map[string]any
	if err := decodeJSON(j.payload, &payload); err != nil || payload == nil {
		return nil, invalidCredential("the mandate's payload is not a JSON object")
	}
	if alg, ok := payload["_sd_alg"]; ok && alg != sdAlgSHA256 {
		return nil, invalidCredential("_sd_alg is not sha-256")
	}
	if raw, _ := payload[delegateKey].([]any); len(raw) != 1 {
		return nil, invalidCredential("delegate_payload holds exactly one mandate")
	}
	resolved, err := resolveDisclosures(payload, disclosures)
	if err != nil {
		return nil, invalidCredential("the mandate's disclosures: %v", err)
	}
	items, _ := resolved[delegateKey].([]any)
	if len(items) != 1 {
		return nil, invalidCredential("the mandate's content is not disclosed")
	}
	content, ok := items[0].(map[string]any)
	if !ok {
		return nil, invalidCredential("the mandate's content is not an object")
	}
	vct, _ := content["vct"].(string)
	if !knownVCT(vct) {
		return nil, notSupported("agentpay does not accept mandates of type %q", vct)
	}
	return &verified{jws: j, content: content, vct: vct}, nil
}

// sameKey reports whether two public keys are the same key.
func sameKey(a, b crypto.PublicKey) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}

// kbClaims are the claims of an agent-signed closed mandate.
type kbClaims struct {
	Iat           *int64  `json:"iat"`
	Exp           *int64  `json:"exp"`
	Aud           string  `json:"aud"`
	Nonce         string  `json:"nonce"`
	SDHash        string  `json:"sd_hash"`
	IssuerJWTHash *string `json:"issuer_jwt_hash"`
}

// verifyLeaf verifies the agent-signed closed mandate that closes prev
// (kb_sd_jwt.verify of the reference SDK): typ kb+sd-jwt, signed by the
// key prev's cnf binds, sd_hash over prev as presented, the expected aud
// and nonce, an iat neither in the future nor older than KBMaxAge, and one
// closed mandate that binds no further key.
func (v *Verifier) verifyLeaf(s sdJWT, prev string, key crypto.PublicKey, nonce string, now int64) (*verified, error) {
	j, err := parseJWS(s.jwt)
	if err != nil {
		return nil, invalidCredential("the closed mandate: %v", err)
	}
	switch j.header.Typ {
	case typKBSDJWT:
	case typKBSDJWTDelegate:
		return nil, notSupported("agentpay does not accept delegation from one agent to another")
	default:
		return nil, invalidCredential("the closed mandate is not a KB-SD-JWT (typ %q)", j.header.Typ)
	}
	if err := j.verify(key); err != nil {
		return nil, invalidCredential("the closed mandate is not signed by the key the open mandate binds: %v", err)
	}
	var claims kbClaims
	if err := json.Unmarshal(j.payload, &claims); err != nil {
		return nil, invalidCredential("the closed mandate's claims are malformed")
	}
	if claims.IssuerJWTHash != nil || claims.SDHash != hashB64(prev) {
		return nil, invalidCredential("the closed mandate is not bound to this open mandate (sd_hash)")
	}
	if v.Audience == "" || claims.Aud != v.Audience {
		return nil, invalidCredential("the closed mandate is not addressed to agentpay (aud)")
	}
	if nonce == "" || claims.Nonce != nonce {
		return nil, invalidCredential("the closed mandate does not answer this challenge (nonce)")
	}
	leeway := v.leeway()
	if claims.Iat == nil || *claims.Iat > now+leeway || *claims.Iat < now-v.kbMaxAge()-leeway {
		return nil, invalidCredential("the closed mandate's iat is missing, in the future or too old")
	}
	if claims.Exp != nil && now > *claims.Exp+leeway {
		return nil, invalidCredential("the closed mandate has expired")
	}
	out, err := resolveContent(j, s.disclosures)
	if err != nil {
		return nil, err
	}
	if _, ok := out.content["cnf"]; ok {
		return nil, notSupported("a closed mandate that delegates further (cnf) is not accepted")
	}
	return out, nil
}
