package agentpay

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
)

// AgentLinkStatus is where a linking request stands.
type AgentLinkStatus string

// Agent link statuses. Only a pending link can change, and only once.
const (
	AgentLinkPending  AgentLinkStatus = "pending"
	AgentLinkApproved AgentLinkStatus = "approved"
	AgentLinkDenied   AgentLinkStatus = "denied"
	AgentLinkExpired  AgentLinkStatus = "expired"
)

// Limits and formats of agent linking (RFC 8628 device authorization).
const (
	// AgentLinkTTL is how long a user has to decide.
	AgentLinkTTL = 15 * time.Minute
	// AgentLinkInterval is the least time between two polls; polling
	// faster answers slow_down and adds AgentLinkSlowDown to the interval.
	AgentLinkInterval = 5 * time.Second
	AgentLinkSlowDown = 5 * time.Second
	// AgentLinkIntervalMax caps how far slow_down raises the interval.
	AgentLinkIntervalMax = 60 * time.Second
	// AgentNameLengthMax bounds agent_name and software_id.
	AgentNameLengthMax = 100
	// UserAgentLengthMax bounds the recorded User-Agent of a link request.
	UserAgentLengthMax = 256
	// UserCodeAlphabet is RFC 8628 §6.1's: no vowels (no words), no
	// look-alike characters.
	UserCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"
	// UserCodeLength is the characters of a user code, shown as XXXX-XXXX:
	// 20^8 ≈ 2^34.6 codes.
	UserCodeLength = 8
)

// AgentLink is an agent installation's request to be linked to a user.
// Its device code is a secret the agent polls with; only its SHA-256 is
// stored (DeviceCodeHash). AgentName and SoftwareID are what the agent
// says about itself: unverified.
type AgentLink struct {
	ID               string // "lnk_…"
	DeviceCodeHash   string // hex SHA-256 of the device code
	UserCode         string // UserCodeLength characters of UserCodeAlphabet, without the hyphen
	PublicKeyJWK     string // the agent's public key, as canonical JWK
	KeyID            string // its RFC 7638 thumbprint: the fingerprint shown to the user
	AgentName        string
	SoftwareID       string
	RequestedScopes  []Scope
	RequestedLimits  GrantLimits
	RequestIP        string
	RequestUserAgent string
	Status           AgentLinkStatus
	CreatedAt        int64 // microseconds since the Unix epoch, UTC
	ExpiresAt        int64
	Interval         time.Duration // the least time between polls
	LastPolledAt     int64         // 0: never polled
	UserID           string        // who approved or denied it
	GrantID          string        // the grant an approval made
	Version          int64

	// The tip terms the agent asks for, in minor units of
	// RequestedLimits.Asset: tips up to TipAutoApproveMax each, and up to
	// TipBudgetPerDay a day in all, given without a tap. 0: none.
	RequestedTipAutoApproveMax int64
	RequestedTipBudgetPerDay   int64
}

// ValidateAgentText checks what an agent says about itself (agent_name,
// software_id): 1 to AgentNameLengthMax bytes of printable ASCII. ASCII
// only, so no look-alike letters or bidirectional controls can make one
// name pass for another on the linking page.
func ValidateAgentText(param, s string) error {
	if s == "" || len(s) > AgentNameLengthMax {
		return ParamErrorf(param, "invalid_"+param, "%s must be 1 to %d bytes", param, AgentNameLengthMax)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return ParamErrorf(param, "invalid_"+param, "%s must be printable ASCII", param)
		}
	}
	return nil
}

// NewUserCode returns a random user code of UserCodeLength characters from
// UserCodeAlphabet, without the hyphen. Rejection sampling keeps every
// character equally likely.
func NewUserCode() string {
	out := make([]byte, 0, UserCodeLength)
	var buf [16]byte
	for len(out) < UserCodeLength {
		if _, err := rand.Read(buf[:]); err != nil {
			panic("agentpay: crypto/rand failed: " + err.Error())
		}
		for _, b := range buf {
			if int(b) < 240 && len(out) < UserCodeLength { // 240 = 12 × 20
				out = append(out, UserCodeAlphabet[int(b)%len(UserCodeAlphabet)])
			}
		}
	}
	return string(out)
}

// FormatUserCode shows a user code as XXXX-XXXX.
func FormatUserCode(code string) string {
	if len(code) != UserCodeLength {
		return code
	}
	return code[:4] + "-" + code[4:]
}

// NormalizeUserCode turns what a user typed into a stored user code:
// upper case, without hyphens or spaces. ok is false if the result is not a
// well-formed code.
func NormalizeUserCode(typed string) (code string, ok bool) {
	if len(typed) > 4*UserCodeLength {
		return "", false
	}
	code = strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(typed))
	if len(code) != UserCodeLength || strings.Trim(code, UserCodeAlphabet) != "" {
		return "", false
	}
	return code, true
}

// NewDeviceCode returns a new device code: 32 random bytes in unpadded
// base64url.
func NewDeviceCode() string { return randomBase64(32) }

// HashDeviceCode returns the hex SHA-256 of a device code: what is stored
// and looked up. Codes have 256 random bits, so no salt is needed.
func HashDeviceCode(code string) string {
	h := sha256.Sum256([]byte(code))
	return hex.EncodeToString(h[:])
}
