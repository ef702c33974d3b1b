package agentauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"

	"github.com/dunglas/httpsfv"
)

// digestHeaderSizeMax bounds the Content-Digest header Verify parses.
const digestHeaderSizeMax = 4096

// ContentDigest returns the RFC 9530 Content-Digest field value of body:
// "sha-256=:BASE64:".
func ContentDigest(body []byte) string {
	sum := sha256.Sum256(body)
	return "sha-256=:" + base64.StdEncoding.EncodeToString(sum[:]) + ":"
}

// VerifyContentDigest checks body against the Content-Digest field of h.
// The field is parsed as a structured-field dictionary; its sha-256 member
// must be a 32-byte byte sequence equal to the SHA-256 of body, and other
// algorithms are ignored. A missing field is refused with CodeDigestMissing
// when body is not empty and accepted when it is. Errors are of kind
// agentpay.EUNAUTHORIZED.
func VerifyContentDigest(h http.Header, body []byte) error {
	values := h.Values(headerContentDigest)
	if len(values) == 0 {
		if len(body) == 0 {
			return nil
		}
		return refuse(CodeDigestMissing, headerContentDigest, "the request has a body but no Content-Digest header")
	}
	return checkDigest(values, body)
}

// checkDigest verifies the present Content-Digest field values against body.
func checkDigest(values []string, body []byte) error {
	if fieldSize(values) > digestHeaderSizeMax {
		return refuse(CodeDigestMalformed, headerContentDigest, "Content-Digest is longer than %d bytes", digestHeaderSizeMax)
	}
	dict, err := httpsfv.UnmarshalDictionary(values)
	if err != nil {
		return refuse(CodeDigestMalformed, headerContentDigest, "Content-Digest is not a structured-field dictionary")
	}
	member, ok := dict.Get("sha-256")
	if !ok {
		return refuse(CodeDigestMissing, headerContentDigest, "Content-Digest has no sha-256 digest")
	}
	item, ok := member.(httpsfv.Item)
	if !ok {
		return refuse(CodeDigestMalformed, headerContentDigest, "the sha-256 digest must be a byte sequence")
	}
	want, ok := item.Value.([]byte)
	if !ok || len(want) != sha256.Size {
		return refuse(CodeDigestMalformed, headerContentDigest, "the sha-256 digest must be a byte sequence of 32 bytes")
	}
	got := sha256.Sum256(body)
	if subtle.ConstantTimeCompare(got[:], want) != 1 {
		return refuse(CodeDigestMismatch, headerContentDigest, "the body does not match its sha-256 Content-Digest")
	}
	return nil
}

// fieldSize is the length of the field values joined as one line.
func fieldSize(values []string) int {
	n := 0
	for _, v := range values {
		n += len(v) + 2
	}
	return n
}
