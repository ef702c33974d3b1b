package ap2

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
)

// JWS algorithms. ES256 is what AP2's examples and the reference SDK use;
// EdDSA is for agents, whose keys are Ed25519. Nothing else is accepted,
// "none" least of all.
const (
	algES256 = "ES256"
	algEdDSA = "EdDSA"
)

// jwsHeader is the protected header of every JWS this package makes.
type jwsHeader struct {
	Alg string `json:"alg"`
	Typ string `json:"typ,omitempty"`
	Kid string `json:"kid,omitempty"`
}

// jws is a parsed compact JWS whose signature has not been checked yet.
type jws struct {
	compact string
	header  jwsHeader
	payload []byte
	sig     []byte
}

// signingInput is the header.payload prefix the signature covers.
func (j *jws) signingInput() string {
	return j.compact[:strings.LastIndexByte(j.compact, '.')]
}

// algFor returns the JWS alg of a signing key: ES256 for P-256 ECDSA,
// EdDSA for Ed25519.
func algFor(pub crypto.PublicKey) (string, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P256() {
			return algES256, nil
		}
	case ed25519.PublicKey:
		return algEdDSA, nil
	}
	return "", errors.New("keys are P-256 ECDSA or Ed25519")
}

// signJWS returns the compact JWS of payload under key, with alg chosen by
// the key. ECDSA signatures are randomized, which AP2 requires of anything
// whose hash identifies a transaction (the checkout JWT).
func signJWS(key crypto.Signer, typ, kid string, payload []byte) (string, error) {
	alg, err := algFor(key.Public())
	if err != nil {
		return "", err
	}
	header, err := json.Marshal(jwsHeader{Alg: alg, Typ: typ, Kid: kid})
	if err != nil {
		return "", err
	}
	input := b64.EncodeToString(header) + "." + b64.EncodeToString(payload)
	var sig []byte
	if alg == algEdDSA {
		if sig, err = key.Sign(rand.Reader, []byte(input), crypto.Hash(0)); err != nil {
			return "", err
		}
	} else {
		digest := sha256.Sum256([]byte(input))
		der, err := key.Sign(rand.Reader, digest[:], crypto.SHA256)
		if err != nil {
			return "", err
		}
		var rs struct{ R, S *big.Int }
		if rest, err := asn1.Unmarshal(der, &rs); err != nil || len(rest) > 0 {
			return "", errors.New("the signer returned a malformed ECDSA signature")
		}
		// JWS wants R and S as fixed 32-byte big-endian integers (RFC 7518 §3.4).
		sig = make([]byte, 64)
		rs.R.FillBytes(sig[:32])
		rs.S.FillBytes(sig[32:])
	}
	return input + "." + b64.EncodeToString(sig), nil
}

// parseJWS splits and decodes a compact JWS without checking its
// signature. The header must be a JSON object without "crit" (agentpay
// understands no extension) naming an alg this package knows.
func parseJWS(compact string) (*jws, error) {
	parts := strings.Split(compact, ".")
	if len(parts) != 3 {
		return nil, errors.New("a JWS has three parts")
	}
	rawHeader, err := b64Decode(parts[0])
	if err != nil {
		return nil, errors.New("the JWS header is not base64url")
	}
	var members map[string]json.RawMessage
	if err := decodeJSON(rawHeader, &members); err != nil || members == nil {
		return nil, errors.New("the JWS header is not a JSON object")
	}
	if _, ok := members["crit"]; ok {
		return nil, errors.New("the JWS header has crit, which agentpay does not understand")
	}
	var h jwsHeader
	if err := json.Unmarshal(rawHeader, &h); err != nil {
		return nil, errors.New("the JWS header is malformed")
	}
	if h.Alg != algES256 && h.Alg != algEdDSA {
		return nil, errors.New("the JWS alg is not ES256 or EdDSA")
	}
	payload, err := b64Decode(parts[1])
	if err != nil {
		return nil, errors.New("the JWS payload is not base64url")
	}
	sig, err := b64Decode(parts[2])
	if err != nil {
		return nil, errors.New("the JWS signature is not base64url")
	}
	return &jws{compact: compact, header: h, payload: payload, sig: sig}, nil
}

// verify checks j's signature under key. The alg in the header must be the
// one the key is for: the key decides, never the token.
func (j *jws) verify(key crypto.PublicKey) error {
	alg, err := algFor(key)
	if err != nil {
		return err
	}
	if j.header.Alg != alg {
		return errors.New("the JWS alg does not match the key")
	}
	input := []byte(j.signingInput())
	switch k := key.(type) {
	case ed25519.PublicKey:
		if len(j.sig) != ed25519.SignatureSize || !ed25519.Verify(k, input, j.sig) {
			return errors.New("the signature does not verify")
		}
	case *ecdsa.PublicKey:
		if len(j.sig) != 64 {
			return errors.New("the signature does not verify")
		}
		digest := sha256.Sum256(input)
		r := new(big.Int).SetBytes(j.sig[:32])
		s := new(big.Int).SetBytes(j.sig[32:])
		if !ecdsa.Verify(k, digest[:], r, s) {
			return errors.New("the signature does not verify")
		}
	}
	return nil
}
