package agentpay

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MerchantStatus says whether a merchant may use the API.
type MerchantStatus string

// Merchant statuses.
const (
	MerchantActive    MerchantStatus = "active"
	MerchantSuspended MerchantStatus = "suspended"
)

// MerchantKind says who a merchant is: a business selling things, or a
// creator (a writer, streamer, open-source maintainer) who receives tips.
// Agents see it in the directory, so they can tell whom a tip may go to.
type MerchantKind string

// Merchant kinds.
const (
	MerchantBusiness MerchantKind = "business" // the default
	MerchantCreator  MerchantKind = "creator"
)

// Valid reports whether k is one of the kinds.
func (k MerchantKind) Valid() bool { return k == MerchantBusiness || k == MerchantCreator }

// ParseMerchantKind reads a kind as the API takes it: "" is a business.
// param names the field in the error (invalid_kind).
func ParseMerchantKind(param, s string) (MerchantKind, error) {
	if s == "" {
		return MerchantBusiness, nil
	}
	if k := MerchantKind(s); k.Valid() {
		return k, nil
	}
	return "", ParamErrorf(param, "invalid_kind", "%s must be business or creator", param)
}

// Limits and formats of merchants and their secrets.
const (
	MerchantNameLengthMax = 200
	WebhookURLLengthMax   = 2048
	// APIKeySecretPrefix starts every merchant API key secret.
	APIKeySecretPrefix = "sk_"
	// WebhookSecretPrefix starts every webhook signing secret.
	WebhookSecretPrefix = "whsec_"
	// APIKeyDisplayPrefixLength is how much of a secret is kept in clear
	// for people to tell keys apart: "sk_" and 9 random characters.
	APIKeyDisplayPrefixLength = 12
)

// Merchant is a business or creator agents pay. Its secrets (API keys, the webhook
// signing secret) are not part of it.
type Merchant struct {
	ID              string // "mer_…"
	Name            string
	Kind            MerchantKind
	MCC             string // ISO 18245 merchant category code: four digits
	Country         string // ISO 3166-1 alpha-2
	SettlementAsset string
	WebhookURL      string // optional
	Status          MerchantStatus
	CreatedAt       int64 // microseconds since the Unix epoch, UTC
}

// Validate checks every field. Errors name the API field at fault.
func (m Merchant) Validate() error {
	if !strings.HasPrefix(m.ID, "mer_") || !ValidID(m.ID) {
		return ParamErrorf("id", "invalid_id", "a merchant id is \"mer_\" and letters or digits")
	}
	if m.Name == "" || len(m.Name) > MerchantNameLengthMax {
		return ParamErrorf("name", "invalid_name", "name must be 1 to %d bytes", MerchantNameLengthMax)
	}
	if !utf8.ValidString(m.Name) || strings.IndexFunc(m.Name, unicode.IsControl) >= 0 {
		return ParamErrorf("name", "invalid_name", "name must be UTF-8 text without control characters")
	}
	if !m.Kind.Valid() {
		return ParamErrorf("kind", "invalid_kind", "kind must be business or creator")
	}
	if len(m.MCC) != 4 || strings.Trim(m.MCC, "0123456789") != "" {
		return ParamErrorf("mcc", "invalid_mcc", "mcc must be a merchant category code of exactly 4 digits")
	}
	if len(m.Country) != 2 || strings.Trim(m.Country, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
		return ParamErrorf("country", "invalid_country", "country must be an ISO 3166-1 alpha-2 code: two upper-case letters")
	}
	if err := ValidateAssetCode(m.SettlementAsset); err != nil {
		return ParamErrorf("settlement_asset", "unknown_asset", "unknown settlement_asset %q", truncateForMessage(m.SettlementAsset))
	}
	if m.WebhookURL != "" {
		if err := ValidateWebhookURL("webhook_url", m.WebhookURL); err != nil {
			return err
		}
	}
	if m.Status != MerchantActive && m.Status != MerchantSuspended {
		return ParamErrorf("status", "invalid_status", "status must be active or suspended")
	}
	return nil
}

// ValidateWebhookURL checks a webhook endpoint: an absolute https URL, or
// http to localhost or 127.0.0.1 for development; no credentials, no
// fragment. param names the field in the error. Checks of where the host
// resolves to (SSRF) belong to delivery, which comes with webhooks.
func ValidateWebhookURL(param, raw string) error {
	bad := func(why string) error {
		return ParamErrorf(param, "invalid_webhook_url", "%s %s", param, why)
	}
	if len(raw) > WebhookURLLengthMax {
		return bad("must be at most 2048 bytes")
	}
	if strings.IndexFunc(raw, func(r rune) bool { return r <= ' ' || r == 0x7f || r > unicode.MaxASCII }) >= 0 {
		return bad("must be an ASCII URL without spaces or control characters")
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Opaque != "" || u.Host == "" {
		return bad("must be an absolute https URL")
	}
	if u.User != nil || u.Fragment != "" || strings.Contains(raw, "#") {
		return bad("must not contain credentials or a fragment")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if h := u.Hostname(); h != "localhost" && h != "127.0.0.1" {
			return bad("must use https (http only to localhost or 127.0.0.1)")
		}
	default:
		return bad("must use https")
	}
	return nil
}

// APIKey is a merchant's API key as stored: never its secret, only the
// SHA-256 of it (kept by the store) and a prefix for display.
type APIKey struct {
	ID         string // "key_…"
	MerchantID string
	Prefix     string // the first APIKeyDisplayPrefixLength characters of the secret
	CreatedAt  int64
	RevokedAt  int64 // 0 while the key is active
	LastUsedAt int64 // 0 if never used; updated at most about once a minute
}

// Active reports whether the key has not been revoked.
func (k APIKey) Active() bool { return k.RevokedAt == 0 }

// NewAPIKeySecret returns a new API key secret: "sk_" and 32 random bytes
// in unpadded base64url.
func NewAPIKeySecret() string { return APIKeySecretPrefix + randomBase64(32) }

// NewWebhookSecret returns a new webhook signing secret: "whsec_" and 32
// random bytes in standard, padded base64, the form the Standard Webhooks
// libraries decode (a receiver using one of them must be able to verify).
func NewWebhookSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("agentpay: crypto/rand failed: " + err.Error())
	}
	return WebhookSecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// HashAPIKey returns the hex SHA-256 of a secret: what is stored and looked
// up. Secrets have 256 random bits, so no salt or slow hash is needed.
func HashAPIKey(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// APIKeyDisplayPrefix returns the part of a secret kept for display.
func APIKeyDisplayPrefix(secret string) string {
	if len(secret) < APIKeyDisplayPrefixLength {
		return secret
	}
	return secret[:APIKeyDisplayPrefixLength]
}

func randomBase64(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("agentpay: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
