package agentauth

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strings"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/dunglas/httpsfv"
)

// label is the signature label Sign uses. Verify finds the signature by its
// tag, so other labels are accepted too.
const label = "sig1"

// LifetimeDefault is the validity window Sign gives a signature by default.
const LifetimeDefault = 60 * time.Second

// SignParams are the optional parameters of Sign.
type SignParams struct {
	// Created is the signature's creation time; zero means now.
	Created time.Time
	// Lifetime is expires − created; zero means LifetimeDefault. A
	// Verifier refuses windows longer than its MaxAge (5 minutes by
	// default).
	Lifetime time.Duration
	// Nonce is the nonce parameter, 16 to 128 printable ASCII characters;
	// empty means a random 128-bit value, base64url-encoded.
	Nonce string
}

// Sign signs req for agentpay with key, whose Thumbprint is keyID. body must
// be the exact bytes req will send (Sign neither reads nor sets req.Body);
// req.URL must be the absolute URL the request is sent to, as the service's
// public base URL spells it.
//
// If body is not empty, Sign sets Content-Digest to its SHA-256 (RFC 9530);
// otherwise it removes any Content-Digest. It then sets Signature-Input and
// Signature (RFC 9421) with label "sig1", covering ("@method" "@target-uri")
// and, with a body, "content-digest", with the parameters created, expires,
// nonce, keyid, alg="ed25519" and tag="agentpay", in that order.
func Sign(req *http.Request, body []byte, key ed25519.PrivateKey, keyID string, p SignParams) error {
	created := p.Created
	if created.IsZero() {
		created = time.Now()
	}
	lifetime := p.Lifetime
	if lifetime == 0 {
		lifetime = LifetimeDefault
	}
	if lifetime < time.Second {
		return signError("Lifetime must be at least one second")
	}
	nonce := p.Nonce
	if nonce == "" {
		nonce = randomNonce()
	}
	if len(nonce) < nonceLengthMin || len(nonce) > nonceLengthMax || !printable(nonce) {
		return signError("the nonce must be %d to %d printable ASCII characters", nonceLengthMin, nonceLengthMax)
	}
	if keyID == "" || len(keyID) > keyIDLengthMax || !printable(keyID) {
		return signError("the keyid must be 1 to %d printable ASCII characters", keyIDLengthMax)
	}
	components := []string{"@method", "@target-uri"}
	if len(body) > 0 {
		components = append(components, "content-digest")
	}
	params := httpsfv.NewParams()
	params.Add("created", created.Unix())
	params.Add("expires", created.Add(lifetime).Unix())
	params.Add("nonce", nonce)
	params.Add("keyid", keyID)
	params.Add("alg", alg)
	params.Add("tag", tag)
	return sign(req, body, key, components, params)
}

// sign sets Content-Digest (or removes it when body is empty), then signs
// the given components and parameters of req under label "sig1".
func sign(req *http.Request, body []byte, key ed25519.PrivateKey, components []string, params *httpsfv.Params) error {
	if len(key) != ed25519.PrivateKeySize {
		return signError("the private key is not an Ed25519 private key")
	}
	m, err := clientMessage(req)
	if err != nil {
		return err
	}
	if req.Header == nil {
		req.Header = http.Header{}
	}
	if len(body) > 0 {
		req.Header.Set(headerContentDigest, ContentDigest(body))
	} else {
		req.Header.Del(headerContentDigest)
	}
	list := httpsfv.InnerList{Params: params}
	for _, name := range components {
		list.Items = append(list.Items, httpsfv.NewItem(name))
	}
	base, _, err := signatureBase(m, list)
	if err != nil {
		return signError("cannot build the signature base: %v", err)
	}
	input := httpsfv.NewDictionary()
	input.Add(label, list)
	inputValue, err := httpsfv.Marshal(input)
	if err != nil {
		return signError("cannot serialize Signature-Input: %v", err)
	}
	signature := httpsfv.NewDictionary()
	signature.Add(label, httpsfv.NewItem(ed25519.Sign(key, []byte(base))))
	signatureValue, err := httpsfv.Marshal(signature)
	if err != nil {
		return signError("cannot serialize Signature: %v", err)
	}
	req.Header.Set(headerSignatureInput, inputValue)
	req.Header.Set(headerSignature, signatureValue)
	return nil
}

// clientMessage is the signature base's view of an outgoing request: the
// target URI is req.URL, normalized (lowercase scheme and host, default
// port dropped) as the Verifier normalizes its base URL.
func clientMessage(req *http.Request) (*message, error) {
	u := req.URL
	if u == nil || u.Host == "" || u.Opaque != "" {
		return nil, signError("the request URL must be absolute")
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "https" && scheme != "http" {
		return nil, signError("the request URL must be http or https")
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	return &message{
		method:    method,
		scheme:    scheme,
		authority: normalAuthority(scheme, u.Host),
		path:      escapedPath(u),
		query:     u.RawQuery,
		hasQuery:  u.ForceQuery || u.RawQuery != "",
		header:    req.Header,
	}, nil
}

// randomNonce returns 128 random bits, base64url-encoded (22 characters).
func randomNonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails; it crashes instead
	return base64.RawURLEncoding.EncodeToString(b)
}

// printable reports whether s is printable ASCII, as structured-field
// strings must be.
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func signError(format string, args ...any) *agentpay.Error {
	return agentpay.Errorf(agentpay.EINVALID, "sign_invalid", "agentauth: "+format, args...)
}
