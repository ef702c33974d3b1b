package agentauth

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/agentpay/agentpay"
)

// Defaults of a Verifier.
const (
	// MaxAgeDefault is how old a signature may be, and how long its
	// validity window (expires − created) may be, by default.
	MaxAgeDefault = 5 * time.Minute
	// SkewDefault is how far in the future created may be by default, to
	// allow for clocks that run a little ahead of the server's.
	SkewDefault = 30 * time.Second
)

// Verifier verifies the RFC 9421 signatures of agent requests. Its zero
// value is not usable: BaseURL and Keys are required. A Verifier is safe for
// concurrent use if Keys and Now are.
type Verifier struct {
	// BaseURL is the public base URL of the service as agents address it,
	// e.g. https://pay.example. Its scheme, host and path prefix replace
	// whatever the request says about where it was sent, so a proxy that
	// rewrites Host or adds X-Forwarded-* fields changes nothing. The
	// request's path is appended to the prefix: give a prefix only when a
	// proxy strips it before requests reach this server.
	BaseURL *url.URL
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// MaxAge is the oldest a signature's created time may be, and the
	// longest its validity window may be; zero means MaxAgeDefault.
	MaxAge time.Duration
	// Skew is how far in the future created may be; zero means
	// SkewDefault.
	Skew time.Duration
	// Keys returns the public key with the given keyid (its Thumbprint). It
	// returns an *agentpay.Error of kind agentpay.ENOTFOUND if there is no
	// such key; any other error is passed on unchanged.
	Keys func(ctx context.Context, keyID string) (ed25519.PublicKey, error)
}

// Verified describes a request whose signature verified.
type Verified struct {
	// KeyID is the keyid parameter: the Thumbprint of the agent's key.
	KeyID string
	// Nonce is the nonce parameter. For mutating requests the caller must
	// record it in the request's unit of work, keyed with KeyID and kept at
	// least until Expires, and refuse the request if it was seen before;
	// Verify alone does not stop replays within the validity window.
	Nonce string
	// Created and Expires are the signature's validity window.
	Created time.Time
	Expires time.Time
	// Components are the covered components, in signed order.
	Components []string
}

// Verify checks the agentpay signature of r, whose body the caller has
// already read into body (bounded by its own limit). It returns what was
// signed, or an *agentpay.Error of kind agentpay.EUNAUTHORIZED with one of
// the Code* constants. Errors from Keys other than ENOTFOUND, and a
// misconfigured Verifier, yield errors of other kinds.
func (v *Verifier) Verify(r *http.Request, body []byte) (*Verified, error) {
	m, err := v.message(r)
	if err != nil {
		return nil, err
	}
	sig, err := selectSignature(r.Header)
	if err != nil {
		return nil, err
	}
	params, err := checkParams(sig.list.Params, v.maxAge())
	if err != nil {
		return nil, err
	}
	if err := v.checkTime(params); err != nil {
		return nil, err
	}
	base, names, err := signatureBase(m, sig.list)
	if err != nil {
		return nil, err
	}
	if err := checkBody(r.Header, body, names); err != nil {
		return nil, err
	}
	key, err := v.key(r.Context(), params.keyID)
	if err != nil {
		return nil, err
	}
	if !ed25519.Verify(key, []byte(base), sig.signature) {
		return nil, refuse(CodeSignatureInvalid, headerSignature,
			"the signature does not verify over the signature base of this request (target URI %s)", m.targetURI())
	}
	return &Verified{
		KeyID:      params.keyID,
		Nonce:      params.nonce,
		Created:    params.created,
		Expires:    params.expires,
		Components: names,
	}, nil
}

// message builds the signature base's view of r, taking scheme, authority
// and path prefix from BaseURL.
func (v *Verifier) message(r *http.Request) (*message, error) {
	base := v.BaseURL
	if base == nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" ||
		base.User != nil || base.RawQuery != "" || base.ForceQuery || base.Fragment != "" || base.Opaque != "" {
		return nil, agentpay.Errorf(agentpay.EINTERNAL, "agentauth_config", "agentauth: Verifier.BaseURL must be an absolute http(s) URL without query or fragment")
	}
	if v.Keys == nil {
		return nil, agentpay.Errorf(agentpay.EINTERNAL, "agentauth_config", "agentauth: Verifier.Keys is nil")
	}
	scheme := strings.ToLower(base.Scheme)
	return &message{
		method:    r.Method,
		scheme:    scheme,
		authority: normalAuthority(scheme, base.Host),
		path:      strings.TrimSuffix(base.EscapedPath(), "/") + escapedPath(r.URL),
		query:     r.URL.RawQuery,
		hasQuery:  r.URL.ForceQuery || r.URL.RawQuery != "",
		header:    r.Header,
	}, nil
}

// checkTime refuses signatures created too long ago, expired, or created
// too far in the future.
func (v *Verifier) checkTime(p signatureParams) error {
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	t := now()
	if age := t.Sub(p.created); age > v.maxAge() {
		return refuse(CodeSignatureExpired, headerSignatureInput, "the signature was created %s ago; the limit is %s", age.Truncate(time.Second), v.maxAge())
	}
	if !t.Before(p.expires) {
		return refuse(CodeSignatureExpired, headerSignatureInput, "the signature expired at %s", p.expires.Format(time.RFC3339))
	}
	skew := v.Skew
	if skew == 0 {
		skew = SkewDefault
	}
	if ahead := p.created.Sub(t); ahead > skew {
		return refuse(CodeSignatureFuture, headerSignatureInput, "the signature was created %s in the future; check the clock", ahead.Truncate(time.Second))
	}
	return nil
}

// checkBody checks any Content-Digest against the body, and requires the
// signature to cover @method, @target-uri and, when there is a body,
// content-digest.
func checkBody(h http.Header, body []byte, components []string) error {
	if err := VerifyContentDigest(h, body); err != nil {
		return err
	}
	required := []string{"@method", "@target-uri"}
	if len(body) > 0 {
		required = append(required, "content-digest")
	}
	for _, name := range required {
		if !slices.Contains(components, name) {
			return refuse(CodeSignatureComponents, headerSignatureInput, "the signature must cover %s", strings.Join(required, ", "))
		}
	}
	return nil
}

// key looks up the public key of keyID.
func (v *Verifier) key(ctx context.Context, keyID string) (ed25519.PublicKey, error) {
	key, err := v.Keys(ctx, keyID)
	if err != nil {
		if agentpay.ErrorKind(err) == agentpay.ENOTFOUND {
			return nil, refuse(CodeUnknownKey, headerSignatureInput, "no agent key has keyid %q", keyID)
		}
		return nil, fmt.Errorf("agentauth: looking up key %q: %w", keyID, err)
	}
	if len(key) != ed25519.PublicKeySize {
		return nil, errors.New("agentauth: Keys returned a key that is not 32 bytes")
	}
	return key, nil
}

func (v *Verifier) maxAge() time.Duration {
	if v.MaxAge == 0 {
		return MaxAgeDefault
	}
	return v.MaxAge
}
