package agentauth

import (
	"time"

	"github.com/dunglas/httpsfv"
)

// Limits on signature parameters.
const (
	nonceLengthMin = 16  // characters; 22 for the 128-bit nonces Sign makes
	nonceLengthMax = 128 // characters
	keyIDLengthMax = 256 // characters; a thumbprint is 43
)

// alg is the only signature algorithm accepted (RFC 9421 §3.3.6).
const alg = "ed25519"

// signatureParams are the checked parameters of an agentpay signature.
type signatureParams struct {
	created time.Time
	expires time.Time
	nonce   string
	keyID   string
}

// checkParams checks the parameters of a signature tagged "agentpay": alg
// must be "ed25519"; created, expires, nonce and keyid must be present and
// well-typed; the validity window must be positive and at most maxAge; no
// other parameter may be present.
func checkParams(params *httpsfv.Params, maxAge time.Duration) (signatureParams, error) {
	if value, _ := params.Get("alg"); value != alg {
		return signatureParams{}, refuse(CodeSignatureAlg, headerSignatureInput, "alg must be %q", alg)
	}
	for _, name := range params.Names() {
		switch name {
		case "created", "expires", "nonce", "keyid", "alg", "tag":
		default:
			return signatureParams{}, refuse(CodeSignatureParams, headerSignatureInput, "unknown signature parameter %q", name)
		}
	}
	created, ok := timeParam(params, "created")
	if !ok {
		return signatureParams{}, refuse(CodeSignatureParams, headerSignatureInput, "created must be a positive integer (Unix seconds)")
	}
	expires, ok := timeParam(params, "expires")
	if !ok {
		return signatureParams{}, refuse(CodeSignatureParams, headerSignatureInput, "expires must be a positive integer (Unix seconds)")
	}
	if !expires.After(created) || expires.Sub(created) > maxAge {
		return signatureParams{}, refuse(CodeSignatureParams, headerSignatureInput, "expires must be after created by at most %s", maxAge)
	}
	nonce, ok := stringParam(params, "nonce", nonceLengthMin, nonceLengthMax)
	if !ok {
		return signatureParams{}, refuse(CodeSignatureParams, headerSignatureInput, "nonce must be a string of %d to %d characters", nonceLengthMin, nonceLengthMax)
	}
	keyID, ok := stringParam(params, "keyid", 1, keyIDLengthMax)
	if !ok {
		return signatureParams{}, refuse(CodeSignatureParams, headerSignatureInput, "keyid must be a string of 1 to %d characters", keyIDLengthMax)
	}
	return signatureParams{created: created, expires: expires, nonce: nonce, keyID: keyID}, nil
}

// timeParam returns the positive integer parameter name as Unix seconds.
func timeParam(params *httpsfv.Params, name string) (time.Time, bool) {
	value, _ := params.Get(name)
	seconds, ok := value.(int64)
	if !ok || seconds <= 0 {
		return time.Time{}, false
	}
	return time.Unix(seconds, 0).UTC(), true
}

// stringParam returns the string parameter name if its length is within
// [lengthMin, lengthMax] characters. Structured-field strings are printable
// ASCII, so characters are bytes.
func stringParam(params *httpsfv.Params, name string, lengthMin, lengthMax int) (string, bool) {
	value, _ := params.Get(name)
	s, ok := value.(string)
	if !ok {
		return "", false
	}
	return s, len(s) >= lengthMin && len(s) <= lengthMax
}
