package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/agentpay/agentpay"
)

// Headers of the Standard Webhooks specification.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// SecretKey returns the HMAC key of a signing secret: "whsec_" and the
// base64 of the key. Standard base64 is what the specification's libraries
// decode; secrets made before agentpay switched to it are base64url
// without padding, so every alphabet is accepted.
func SecretKey(secret string) ([]byte, error) {
	s := strings.TrimPrefix(secret, agentpay.WebhookSecretPrefix)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding,
		base64.RawURLEncoding} {
		if key, err := enc.DecodeString(s); err == nil && len(key) > 0 {
			return key, nil
		}
	}
	return nil, agentpay.Errorf(agentpay.EINVALID, "invalid_webhook_secret",
		"a webhook secret is \"whsec_\" and the base64 of its key")
}

// Signature returns "v1," and the base64 HMAC-SHA256 under key of the
// signed content: id "." timestamp (Unix seconds) "." body.
func Signature(key []byte, id string, timestamp int64, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + strconv.FormatInt(timestamp, 10) + "."))
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Sign returns the headers of one attempt: the webhook-id, the timestamp of
// at (Unix seconds), and a signature per secret, space-separated (several
// during a rotation). Secrets that do not decode are skipped; with none
// left it fails, so nothing unsigned is ever sent.
func Sign(id string, at time.Time, body []byte, secrets ...string) (map[string]string, error) {
	ts := at.Unix()
	var sigs []string
	for _, s := range secrets {
		key, err := SecretKey(s)
		if err != nil {
			continue
		}
		sigs = append(sigs, Signature(key, id, ts, body))
	}
	if len(sigs) == 0 {
		return nil, agentpay.Errorf(agentpay.EINTERNAL, "invalid_webhook_secret", "no usable webhook secret")
	}
	return map[string]string{
		HeaderID:        id,
		HeaderTimestamp: strconv.FormatInt(ts, 10),
		HeaderSignature: strings.Join(sigs, " "),
	}, nil
}
