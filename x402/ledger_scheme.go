package x402

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/agentpay/agentpay"
)

// The agentpay ledger scheme settles x402 payments as transfers on an
// agentpay ledger. In x402 a mechanism is registered per (scheme, network)
// pair, networks being CAIP-2 "namespace:reference" strings matched by
// patterns such as "eip155:*" (typescript/packages/core/src/types/
// mechanisms.ts, SchemeNetworkClient/SchemeNetworkFacilitator, and
// utils/index.ts findByNetworkAndScheme). So the ledger scheme keeps the
// standard scheme names, whose amount semantics it shares, and gets its own
// network namespace:
//
//   - scheme "exact": Amount is the price, paid in full;
//   - scheme "upto": Amount is a maximum; the resource server settles the
//     actual usage, at most that (specs/schemes/upto/scheme_upto.md);
//   - network "agentpay:<ledger id>", the ledger id being a CAIP-2
//     reference (1 to 32 of [-_a-zA-Z0-9]), e.g. "agentpay:main". A client
//     registers the mechanism for the pattern "agentpay:*".
const (
	SchemeExact      = "exact"
	SchemeUpto       = "upto"
	NetworkNamespace = "agentpay"
	NetworkPattern   = NetworkNamespace + ":*"
)

// AuthorizationWindowMax bounds validBefore − validAfter. An authorization
// is a bearer instrument until it settles; a short life limits what a
// leaked one is worth and how long its nonce must be remembered.
const AuthorizationWindowMax = time.Hour

// timestampMax is 9999-12-31T23:59:59Z: timestamps past it are nonsense and
// would overflow time arithmetic elsewhere.
const timestampMax = 253402300799

// LedgerNetwork returns the network name of the ledger with the given id.
func LedgerNetwork(ledgerID string) (string, error) {
	if !validCAIP2Reference(ledgerID) {
		return "", errorf(ReasonInvalidNetwork, "a ledger id must be 1 to 32 of [-_a-zA-Z0-9]")
	}
	return NetworkNamespace + ":" + ledgerID, nil
}

// IsLedgerNetwork reports whether network is an agentpay ledger network.
func IsLedgerNetwork(network string) bool {
	id, ok := strings.CutPrefix(network, NetworkNamespace+":")
	return ok && validCAIP2Reference(id)
}

// IsLedgerScheme reports whether scheme is one the ledger mechanism handles.
func IsLedgerScheme(scheme string) bool {
	return scheme == SchemeExact || scheme == SchemeUpto
}

func validCAIP2Reference(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Authorization is what a paying agent signs: "move Value of Asset on
// Network from me to To, for Resource, between ValidAfter and ValidBefore,
// once". Every member is a string so that its canonical JSON is the same in
// every language (no number formatting to disagree on).
//
//   - Scheme is "exact" or "upto". It is signed so that an authorization
//     for one cannot be presented as the other.
//   - From is the RFC 7638 thumbprint of the agent's Ed25519 key
//     (agentauth.Thumbprint): the key id a verifier looks the key up by.
//   - To is the payee: the requirements' payTo, an agentpay id.
//   - Value is atomic units (minor units of Asset), a positive int64: the
//     price for exact, the maximum for upto.
//   - Resource is the URL of what is paid for.
//   - ValidAfter and ValidBefore are Unix seconds; the authorization is
//     usable while ValidAfter <= now < ValidBefore.
//   - Nonce is 32 random bytes, "0x" + 64 lowercase hex digits or 43
//     unpadded base64url characters. A ledger settles each (From, Nonce)
//     at most once; NonceBytes is the key to record.
type Authorization struct {
	Scheme      string `json:"scheme"`
	Network     string `json:"network"`
	Asset       string `json:"asset"`
	From        string `json:"from"`
	To          string `json:"to"`
	Value       string `json:"value"`
	Resource    string `json:"resource"`
	ValidAfter  string `json:"validAfter"`
	ValidBefore string `json:"validBefore"`
	Nonce       string `json:"nonce"`
}

// Validate checks every member of a on its own, and the window.
func (a *Authorization) Validate() error {
	bad := func(format string, args ...any) error {
		return errorf(ReasonLedgerAuthorization, format, args...)
	}
	if !IsLedgerScheme(a.Scheme) {
		return bad(`scheme must be "exact" or "upto"`)
	}
	if !IsLedgerNetwork(a.Network) {
		return bad("network must be agentpay:<ledger id>")
	}
	if !validAssetCode(a.Asset) {
		return bad("asset must be an agentpay asset code: 3 to 12 upper-case letters or digits")
	}
	if !validKeyID(a.From) {
		return bad("from must be the RFC 7638 thumbprint of the payer's key: 43 base64url characters")
	}
	if !agentpay.ValidID(a.To) {
		return bad("to must be an agentpay id: 1 to 64 of [A-Za-z0-9_-]")
	}
	if v, ok := parseAmount64(a.Value); !ok || v <= 0 {
		return bad("value must be a positive decimal integer of atomic units that fits in 64 bits")
	}
	if a.Resource == "" || len(a.Resource) > urlBytesMax || !visibleText(a.Resource) {
		return bad("resource must be a URL of at most %d bytes", urlBytesMax)
	}
	after, okA := parseTimestamp(a.ValidAfter)
	before, okB := parseTimestamp(a.ValidBefore)
	if !okA || !okB {
		return bad("validAfter and validBefore must be Unix seconds as decimal strings")
	}
	if after >= before {
		return bad("validAfter must be before validBefore")
	}
	if time.Duration(before-after)*time.Second > AuthorizationWindowMax {
		return bad("validBefore - validAfter must be at most %v", AuthorizationWindowMax)
	}
	if _, ok := decodeNonce(a.Nonce); !ok {
		return bad(`nonce must be 32 bytes as "0x" + 64 lowercase hex digits or 43 base64url characters`)
	}
	return nil
}

// CheckTime reports whether a is usable at now.
func (a *Authorization) CheckTime(now time.Time) error {
	after, _ := parseTimestamp(a.ValidAfter)
	before, _ := parseTimestamp(a.ValidBefore)
	if now.Unix() < after {
		return errorf(ReasonLedgerValidAfter, "the authorization is not valid before %d", after)
	}
	if now.Unix() >= before {
		return errorf(ReasonLedgerValidBefore, "the authorization expired at %d", before)
	}
	return nil
}

// ValueAmount returns Value as a number; 0 if a is not valid.
func (a *Authorization) ValueAmount() int64 {
	v, _ := parseAmount64(a.Value)
	return v
}

// NonceBytes returns the nonce's 32 bytes, whichever encoding it was sent
// in, so that replay protection keys on the nonce and not its spelling.
func (a *Authorization) NonceBytes() ([32]byte, bool) {
	return decodeNonce(a.Nonce)
}

// Expires returns when a stops being usable: how long its nonce must be
// remembered.
func (a *Authorization) Expires() time.Time {
	before, _ := parseTimestamp(a.ValidBefore)
	return time.Unix(before, 0).UTC()
}

// NewNonce returns a fresh random nonce in hex form.
func NewNonce() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("x402: crypto/rand failed: " + err.Error())
	}
	return "0x" + hex.EncodeToString(b[:])
}

func decodeNonce(s string) ([32]byte, bool) {
	var out [32]byte
	if h, ok := strings.CutPrefix(s, "0x"); ok {
		if len(h) != 64 || strings.ToLower(h) != h {
			return out, false
		}
		if _, err := hex.Decode(out[:], []byte(h)); err != nil {
			return out, false
		}
		return out, true
	}
	if len(s) != 43 {
		return out, false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != 32 {
		return out, false
	}
	copy(out[:], b)
	return out, true
}

// parseTimestamp parses canonical decimal Unix seconds in [0, timestampMax].
func parseTimestamp(s string) (int64, bool) {
	if !validAtomicAmount(s) || len(s) > 12 {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n > timestampMax {
		return 0, false
	}
	return n, true
}

// validKeyID reports whether s looks like an RFC 7638 SHA-256 thumbprint:
// 43 unpadded base64url characters encoding 32 bytes.
func validKeyID(s string) bool {
	if len(s) != 43 {
		return false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	return err == nil && len(b) == 32
}

// validAssetCode checks the syntax of an agentpay asset code; whether the
// asset exists is the ledger's business.
func validAssetCode(s string) bool {
	if len(s) < 3 || len(s) > 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}
