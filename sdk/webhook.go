package sdk

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultWebhookTolerance is how far a webhook's timestamp may be from the
// receiver's clock when VerifyWebhook is given no tolerance.
const DefaultWebhookTolerance = 5 * time.Minute

// Errors of webhook verification; VerifyWebhook wraps nothing else.
var (
	ErrWebhookHeaders   = errors.New("sdk: webhook-id, webhook-timestamp or webhook-signature header missing or malformed")
	ErrWebhookTimestamp = errors.New("sdk: webhook timestamp outside the tolerance: a replay, or a clock off")
	ErrWebhookSignature = errors.New("sdk: no webhook signature matches the secret")
	ErrWebhookSecret    = errors.New("sdk: a webhook secret is \"whsec_\" and the base64 of its key")
)

// VerifyWebhook checks a webhook agentpay sent, per the Standard Webhooks
// specification: webhook-timestamp is within tolerance of now (0 means
// DefaultWebhookTolerance), and one of the "v1,…" signatures of
// webhook-signature is the HMAC-SHA256, under secret ("whsec_…"), of
// webhook-id "." webhook-timestamp "." body. body must be the raw request
// body, unparsed. During a rotation of your secret, use WebhookVerifier
// with both secrets.
func VerifyWebhook(secret string, header http.Header, body []byte, tolerance time.Duration) error {
	return WebhookVerifier{Secrets: []string{secret}, Tolerance: tolerance}.Verify(header, body)
}

// WebhookVerifier checks webhooks against any of several secrets.
type WebhookVerifier struct {
	Secrets   []string
	Tolerance time.Duration    // 0: DefaultWebhookTolerance
	Now       func() time.Time // nil: time.Now
}

// Verify is VerifyWebhook with every secret of v: one match is enough.
func (v WebhookVerifier) Verify(header http.Header, body []byte) error {
	id := header.Get("webhook-id")
	tsText := header.Get("webhook-timestamp")
	sigs := header.Get("webhook-signature")
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if id == "" || sigs == "" || err != nil {
		return ErrWebhookHeaders
	}
	tolerance, now := v.Tolerance, time.Now()
	if tolerance <= 0 {
		tolerance = DefaultWebhookTolerance
	}
	if v.Now != nil {
		now = v.Now()
	}
	if d := now.Unix() - ts; d > int64(tolerance/time.Second) || -d > int64(tolerance/time.Second) {
		return ErrWebhookTimestamp
	}
	keys := make([][]byte, 0, len(v.Secrets))
	for _, s := range v.Secrets {
		key, err := webhookKey(s)
		if err != nil {
			return err
		}
		keys = append(keys, key)
	}
	var expected [][]byte
	for _, key := range keys {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(id + "." + tsText + "."))
		m.Write(body)
		expected = append(expected, m.Sum(nil))
	}
	for _, sig := range strings.Fields(sigs) {
		version, b64, ok := strings.Cut(sig, ",")
		if !ok || version != "v1" {
			continue // another scheme, which this SDK does not know
		}
		got, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			continue
		}
		for _, want := range expected {
			if hmac.Equal(got, want) {
				return nil
			}
		}
	}
	return ErrWebhookSignature
}

// webhookKey decodes a secret: "whsec_" (optional) and the base64 of the
// key, in any alphabet, padded or not.
func webhookKey(secret string) ([]byte, error) {
	s := strings.TrimPrefix(secret, "whsec_")
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding,
		base64.RawURLEncoding} {
		if key, err := enc.DecodeString(s); err == nil && len(key) > 0 {
			return key, nil
		}
	}
	return nil, ErrWebhookSecret
}

// WebhookEvent is the body of a webhook. ID is also the webhook-id header
// and is the same on every attempt and redelivery: drop events you have
// seen. Seq orders the events of one object (ObjectID): apply an event
// only if its Seq is above the last one you applied for that object.
type WebhookEvent struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"` // e.g. payment.captured, webhook_endpoint.disabled
	ObjectID  string          `json:"object_id"`
	Seq       int64           `json:"seq"`
	CreatedAt time.Time       `json:"created_at"`
	Data      json.RawMessage `json:"data"`
}

// ParseWebhook verifies a webhook with secret (as VerifyWebhook, with the
// default tolerance) and decodes its body.
func ParseWebhook(secret string, header http.Header, body []byte) (WebhookEvent, error) {
	var e WebhookEvent
	if err := VerifyWebhook(secret, header, body, 0); err != nil {
		return e, err
	}
	if err := json.Unmarshal(body, &e); err != nil {
		return e, err
	}
	return e, nil
}
