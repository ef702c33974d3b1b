package agentauth

import (
	"fmt"

	"github.com/agentpay/agentpay"
)

// Refusal codes. Verify returns every refusal as an *agentpay.Error of kind
// agentpay.EUNAUTHORIZED carrying one of these codes; they are stable, and
// clients branch on them.
const (
	// CodeSignatureMissing: the request carries no signature tagged
	// "agentpay", or Signature has no value for its label.
	CodeSignatureMissing = "signature_missing"
	// CodeSignatureMalformed: Signature-Input or Signature is not a valid
	// structured-field dictionary, is too large, holds more than one
	// agentpay signature, or the signature value is not 64 bytes.
	CodeSignatureMalformed = "signature_malformed"
	// CodeSignatureComponents: the covered components are not acceptable:
	// @method, @target-uri (and content-digest when there is a body) are
	// required; duplicates, component parameters, unsupported derived
	// components and absent header fields are refused.
	CodeSignatureComponents = "signature_components"
	// CodeSignatureParams: a required parameter (created, expires, nonce,
	// keyid) is missing or ill-typed, the nonce is not 16–128 characters,
	// the validity window is empty or longer than the maximum age, or an
	// unknown parameter is present.
	CodeSignatureParams = "signature_params"
	// CodeSignatureAlg: alg is missing or not "ed25519".
	CodeSignatureAlg = "signature_alg"
	// CodeSignatureExpired: created is older than the maximum age, or
	// expires has passed.
	CodeSignatureExpired = "signature_expired"
	// CodeSignatureFuture: created is later than now plus the allowed skew.
	CodeSignatureFuture = "signature_future"
	// CodeUnknownKey: no agent key has the signature's keyid.
	CodeUnknownKey = "unknown_key"
	// CodeSignatureInvalid: the Ed25519 signature does not verify over the
	// signature base rebuilt from the request and the configured base URL.
	CodeSignatureInvalid = "signature_invalid"
	// CodeDigestMissing: the request has a body but no Content-Digest, or
	// Content-Digest has no sha-256 member.
	CodeDigestMissing = "digest_missing"
	// CodeDigestMalformed: Content-Digest is not a valid structured-field
	// dictionary, is too large, or its sha-256 member is not 32 bytes.
	CodeDigestMalformed = "digest_malformed"
	// CodeDigestMismatch: the body does not hash to the sha-256 digest.
	CodeDigestMismatch = "digest_mismatch"
)

// Codes of the errors ParseJWK returns (kind agentpay.EINVALID).
const (
	// CodeJWKInvalid: the JWK is not a well-formed public Ed25519 OKP key.
	CodeJWKInvalid = "jwk_invalid"
	// CodeJWKPrivate: the JWK carries a private key ("d"); agents must
	// never send it.
	CodeJWKPrivate = "jwk_private_key"
)

// Header names used by the scheme.
const (
	headerSignatureInput = "Signature-Input"
	headerSignature      = "Signature"
	headerContentDigest  = "Content-Digest"
)

// refuse returns the EUNAUTHORIZED error of a refused request. param names
// the header at fault.
func refuse(code, param, format string, args ...any) *agentpay.Error {
	return &agentpay.Error{
		Kind:    agentpay.EUNAUTHORIZED,
		Code:    code,
		Param:   param,
		Message: fmt.Sprintf(format, args...),
	}
}
