package agentauth

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"unicode/utf8"

	"github.com/agentpay/agentpay"
)

// jwkSizeMax bounds the JWK documents ParseJWK reads; a public Ed25519 JWK
// with the usual optional members is well under 300 bytes.
const jwkSizeMax = 4096

// ParseJWK parses an agent's public key, given as a JSON Web Key (RFC 7517,
// RFC 8037): kty "OKP", crv "Ed25519", and x the base64url (unpadded) encoding
// of the 32-byte public key. It is strict: the document must be one JSON
// object without duplicate members; x must be the canonical encoding of a
// point on the curve that is not of small order; the optional members use,
// alg and key_ops must, if present, say "sig", "EdDSA" (or "Ed25519") and
// only "verify"; a private key member "d" is refused with CodeJWKPrivate.
// Other members are ignored, as RFC 7517 requires. Errors are of kind
// agentpay.EINVALID with code CodeJWKInvalid or CodeJWKPrivate.
func ParseJWK(data []byte) (ed25519.PublicKey, error) {
	members, err := jwkMembers(data)
	if err != nil {
		return nil, err
	}
	if _, ok := members["d"]; ok {
		return nil, agentpay.ParamErrorf("d", CodeJWKPrivate, "the JWK holds a private key; send only the public key")
	}
	if err := jwkRequire(members, "kty", "OKP"); err != nil {
		return nil, err
	}
	if err := jwkRequire(members, "crv", "Ed25519"); err != nil {
		return nil, err
	}
	if err := jwkOptional(members); err != nil {
		return nil, err
	}
	x, ok := jwkString(members, "x")
	if !ok {
		return nil, jwkInvalid("x", "x must be a string")
	}
	key, err := base64.RawURLEncoding.Strict().DecodeString(x)
	if err != nil || len(key) != ed25519.PublicKeySize {
		return nil, jwkInvalid("x", "x must be the unpadded base64url encoding of 32 bytes")
	}
	if !pointValid(key) {
		return nil, jwkInvalid("x", "x is not a usable Ed25519 public key")
	}
	return ed25519.PublicKey(key), nil
}

// JWK returns the public JWK of key, with exactly the members crv, kty and x
// in that order (the RFC 7638 thumbprint input). It panics if key is not 32
// bytes long, which is a programming error.
func JWK(key ed25519.PublicKey) []byte {
	if len(key) != ed25519.PublicKeySize {
		panic("agentauth: JWK of an Ed25519 public key that is not 32 bytes")
	}
	return []byte(`{"crv":"Ed25519","kty":"OKP","x":"` + base64.RawURLEncoding.EncodeToString(key) + `"}`)
}

// Thumbprint returns the RFC 7638 JWK thumbprint of key: the unpadded
// base64url SHA-256 of its canonical JWK. It is the keyid agents sign with,
// and the fingerprint shown to users. It panics if key is not 32 bytes long.
func Thumbprint(key ed25519.PublicKey) string {
	sum := sha256.Sum256(JWK(key))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// jwkMembers decodes data as one JSON object, refusing duplicate member
// names (which different parsers resolve differently), invalid UTF-8 and
// trailing data.
func jwkMembers(data []byte) (map[string]json.RawMessage, error) {
	if len(data) > jwkSizeMax {
		return nil, jwkInvalid("", "the JWK is longer than %d bytes", jwkSizeMax)
	}
	if !utf8.Valid(data) {
		return nil, jwkInvalid("", "the JWK is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, jwkInvalid("", "the JWK must be a JSON object")
	}
	members := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, jwkInvalid("", "the JWK is not valid JSON")
		}
		name, ok := tok.(string)
		if !ok {
			return nil, jwkInvalid("", "the JWK is not valid JSON")
		}
		if _, dup := members[name]; dup {
			return nil, jwkInvalid(name, "the JWK has member %q twice", name)
		}
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, jwkInvalid("", "the JWK is not valid JSON")
		}
		members[name] = value
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, jwkInvalid("", "the JWK is not valid JSON")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, jwkInvalid("", "the JWK has data after its object")
	}
	return members, nil
}

// jwkOptional checks the optional members that, if present, must agree with
// an Ed25519 signature-verification key.
func jwkOptional(members map[string]json.RawMessage) error {
	if _, ok := members["use"]; ok {
		if err := jwkRequire(members, "use", "sig"); err != nil {
			return err
		}
	}
	if _, ok := members["alg"]; ok {
		if alg, _ := jwkString(members, "alg"); alg != "EdDSA" && alg != "Ed25519" {
			return jwkInvalid("alg", `alg must be "EdDSA" or "Ed25519"`)
		}
	}
	if raw, ok := members["key_ops"]; ok {
		var ops []string
		if err := json.Unmarshal(raw, &ops); err != nil || len(ops) != 1 || ops[0] != "verify" {
			return jwkInvalid("key_ops", `key_ops must be ["verify"]`)
		}
	}
	return nil
}

func jwkRequire(members map[string]json.RawMessage, name, want string) error {
	if got, ok := jwkString(members, name); !ok || got != want {
		return jwkInvalid(name, "%s must be %q", name, want)
	}
	return nil
}

// jwkString returns member name if it is present and a JSON string.
func jwkString(members map[string]json.RawMessage, name string) (string, bool) {
	raw, ok := members[name]
	if !ok {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

func jwkInvalid(param, format string, args ...any) *agentpay.Error {
	return agentpay.ParamErrorf(param, CodeJWKInvalid, format, args...)
}
