package x402

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"

	"github.com/agentpay/agentpay/agentauth"
	"github.com/gowebpki/jcs"
)

// AuthorizationPrefix starts every message an agent signs to authorize a
// ledger payment; the RFC 8785 canonical JSON of the Authorization follows
// it. The signature is Ed25519 over prefix || JCS(authorization).
//
// Why the prefix keeps authorizations and other signatures apart: the same
// agent key also signs its API requests (agentauth, RFC 9421), and
// Ed25519 signs exactly the bytes given, so what matters is that no byte
// string is both kinds of message.
//   - An RFC 9421 signature base begins with a quoted component identifier
//     (`"@method": ...`), so its first byte is '"'; an authorization message
//     begins with 'a'. Two messages with different first bytes are different
//     messages, so a signature over one never verifies as the other.
//   - The prefix also holds a NUL byte, which no signature base can contain
//     (agentauth refuses control characters in component values, and
//     structured-field serializations are printable ASCII), nor can a JWS
//     signing input (base64url and '.'), as in AP2 key-binding JWTs.
//   - "v1" lets a future format change the prefix, so old and new messages
//     cannot be confused either.
//
// After the prefix comes canonical JSON, which has one spelling per
// authorization: the signer and the verifier each build it from the parsed
// members, so neither member order nor whitespace nor escapes can make two
// byte strings of one authorization, or one of two.
const AuthorizationPrefix = "agentpay-x402-authorization-v1\x00"

// signatureLen is the length of an Ed25519 signature in unpadded base64url.
const signatureLen = 86

// Message returns the bytes an agent signs to authorize a.
func (a *Authorization) Message() ([]byte, error) {
	b, err := json.Marshal(a)
	if err != nil {
		return nil, err
	}
	canonical, err := jcs.Transform(b)
	if err != nil {
		return nil, err
	}
	return append([]byte(AuthorizationPrefix), canonical...), nil
}

// SignAuthorization validates a and signs it with key, whose thumbprint
// must be a.From. It returns the signature, unpadded base64url.
func SignAuthorization(a *Authorization, key ed25519.PrivateKey) (string, error) {
	if len(key) != ed25519.PrivateKeySize {
		return "", errors.New("x402: the signing key is not an Ed25519 private key")
	}
	if err := a.Validate(); err != nil {
		return "", err
	}
	if agentauth.Thumbprint(key.Public().(ed25519.PublicKey)) != a.From {
		return "", errorf(ReasonLedgerPayer, "from is not the thumbprint of the signing key")
	}
	msg, err := a.Message()
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(ed25519.Sign(key, msg)), nil
}

// VerifyAuthorization checks that signature is pub's signature of a and
// that a.From is pub's thumbprint. It does not check the time (CheckTime)
// or anything about the payment requested (LedgerVerifier).
func VerifyAuthorization(a *Authorization, signature string, pub ed25519.PublicKey) error {
	if err := a.Validate(); err != nil {
		return err
	}
	if len(pub) != ed25519.PublicKeySize || agentauth.Thumbprint(pub) != a.From {
		return errorf(ReasonLedgerPayer, "from is not the thumbprint of the payer's key")
	}
	sig, ok := decodeSignature(signature)
	if !ok {
		return errorf(ReasonLedgerSignature, "signature must be 64 bytes, unpadded base64url")
	}
	msg, err := a.Message()
	if err != nil {
		return errorf(ReasonLedgerAuthorization, "the authorization cannot be canonicalized")
	}
	if !ed25519.Verify(pub, msg, sig) {
		return errorf(ReasonLedgerSignature, "the signature does not verify")
	}
	return nil
}

func decodeSignature(s string) ([]byte, bool) {
	if len(s) != signatureLen {
		return nil, false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	return b, err == nil && len(b) == ed25519.SignatureSize
}

// LedgerPayload is the payload member of a ledger-scheme PaymentPayload,
// shaped like the exact EVM scheme's (spec §5.2.2: signature and
// authorization).
type LedgerPayload struct {
	Authorization Authorization `json:"authorization"`
	Signature     string        `json:"signature"`
}

// NewLedgerPayload signs a with key and returns the payload JSON.
func NewLedgerPayload(a *Authorization, key ed25519.PrivateKey) (json.RawMessage, error) {
	sig, err := SignAuthorization(a, key)
	if err != nil {
		return nil, err
	}
	return json.Marshal(LedgerPayload{Authorization: *a, Signature: sig})
}

// ParseLedgerPayload decodes a ledger-scheme payload strictly: no unknown
// or duplicate members anywhere, every authorization member valid, and a
// signature of the right form. Unknown members are refused here, unlike in
// the protocol envelope, because this is signed content: a member the
// verifier ignores is one a signer never agreed to.
func ParseLedgerPayload(raw json.RawMessage) (*LedgerPayload, error) {
	if err := checkJSON(raw); err != nil {
		return nil, errorf(ReasonInvalidPayload, "payload: %v", err)
	}
	var members struct {
		Authorization json.RawMessage `json:"authorization"`
	}
	if err := exactMembers(raw, "authorization", "signature"); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, &members); err != nil {
		return nil, errorf(ReasonInvalidPayload, "payload must be {authorization, signature}")
	}
	if err := exactMembers(members.Authorization, authorizationMembers...); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var p LedgerPayload
	if err := dec.Decode(&p); err != nil {
		return nil, errorf(ReasonInvalidPayload, "payload must be {authorization, signature} with string members only")
	}
	if err := p.Authorization.Validate(); err != nil {
		return nil, err
	}
	if _, ok := decodeSignature(p.Signature); !ok {
		return nil, errorf(ReasonLedgerSignature, "signature must be 64 bytes, unpadded base64url")
	}
	return &p, nil
}

// authorizationMembers are the JSON names of Authorization's members.
var authorizationMembers = []string{"scheme", "network", "asset", "from", "to", "value", "resource", "validAfter", "validBefore", "nonce"}

// exactMembers checks that raw is an object with exactly the named members,
// spelled exactly so (encoding/json alone would match names
// case-insensitively).
func exactMembers(raw json.RawMessage, names ...string) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return errorf(ReasonInvalidPayload, "payload members must be JSON objects")
	}
	for _, n := range names {
		if _, ok := m[n]; !ok {
			return errorf(ReasonInvalidPayload, "payload member %s is missing", quoteShort(n))
		}
	}
	if len(m) != len(names) {
		for k := range m {
			if !slices.Contains(names, k) {
				return errorf(ReasonInvalidPayload, "payload member %s is not allowed", quoteShort(k))
			}
		}
	}
	return nil
}
