package ap2

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"encoding/json"
	"errors"

	"github.com/agentpay/agentpay/agentauth"
)

// PublicJWK returns the public JWK (RFC 7517) of an agent's key, as cnf.jwk
// carries it: {"crv","kty","x"} for Ed25519 (agentauth.JWK, the form
// agentpay agents register) and {"crv","kty","x","y"} for P-256, members in
// RFC 7638 order.
func PublicJWK(key crypto.PublicKey) (json.RawMessage, error) {
	switch k := key.(type) {
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return nil, errors.New("an Ed25519 public key is 32 bytes")
		}
		return agentauth.JWK(k), nil
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, errors.New("ECDSA keys must be on P-256")
		}
		raw, err := k.Bytes()
		if err != nil {
			return nil, err
		}
		return json.Marshal(struct {
			Crv string `json:"crv"`
			Kty string `json:"kty"`
			X   string `json:"x"`
			Y   string `json:"y"`
		}{"P-256", "EC", b64.EncodeToString(raw[1:33]), b64.EncodeToString(raw[33:])})
	}
	return nil, errors.New("keys are P-256 ECDSA or Ed25519")
}

// parseJWK parses the public key in a cnf.jwk: OKP Ed25519 through
// agentauth.ParseJWK, which also refuses small-order points, or EC P-256,
// whose point must lie on the curve. Private keys are refused.
func parseJWK(raw json.RawMessage) (crypto.PublicKey, error) {
	var members map[string]json.RawMessage
	if err := decodeJSON(raw, &members); err != nil || members == nil {
		return nil, errors.New("cnf.jwk is not a JSON object")
	}
	var kty string
	if err := json.Unmarshal(members["kty"], &kty); err != nil {
		return nil, errors.New("cnf.jwk has no kty")
	}
	switch kty {
	case "OKP":
		return agentauth.ParseJWK(raw)
	case "EC":
		return parseECJWK(members)
	}
	return nil, errors.New("cnf.jwk is neither an OKP Ed25519 nor an EC P-256 key")
}

func parseECJWK(members map[string]json.RawMessage) (*ecdsa.PublicKey, error) {
	if _, ok := members["d"]; ok {
		return nil, errors.New("cnf.jwk holds a private key")
	}
	str := func(name string) string {
		var s string
		_ = json.Unmarshal(members[name], &s)
		return s
	}
	if str("crv") != "P-256" {
		return nil, errors.New("cnf.jwk is not on P-256")
	}
	if _, ok := members["alg"]; ok && str("alg") != algES256 {
		return nil, errors.New("cnf.jwk alg is not ES256")
	}
	if _, ok := members["use"]; ok && str("use") != "sig" {
		return nil, errors.New("cnf.jwk use is not sig")
	}
	x, errX := b64Decode(str("x"))
	y, errY := b64Decode(str("y"))
	if errX != nil || errY != nil || len(x) != 32 || len(y) != 32 {
		return nil, errors.New("cnf.jwk x and y are 32-byte base64url coordinates")
	}
	point := append(append([]byte{4}, x...), y...)
	key, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
	if err != nil {
		return nil, errors.New("cnf.jwk is not a point on P-256")
	}
	return key, nil
}
