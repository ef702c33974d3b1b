package agentpay

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of users' fields.
const (
	DisplayNameLengthMax = 100
	EmailLengthMax       = 254 // RFC 5321's limit on a forward path, less the angle brackets
	emailLocalLengthMax  = 64
)

// Tier is how far a user's identity is verified. Tiers only go up through
// verification; each caps what the user's agents may pay (see Limits).
type Tier int

// Tiers.
const (
	// TierUnverified: signed up, nothing verified. Agents may not pay.
	TierUnverified Tier = 0
	// TierContact: the user proved they receive messages at their email
	// address or phone number (a one-time code).
	TierContact Tier = 1
	// TierDocument: an identity document was verified.
	TierDocument Tier = 2
)

// Valid reports whether t is a known tier.
func (t Tier) Valid() bool { return t >= TierUnverified && t <= TierDocument }

// User is a person who pays through their agents. Email and phone are
// personal data and never go into events.
//
// At least one of Email and Phone is required; both may be given. Each is
// unique among users: one address or number belongs to one user.
type User struct {
	ID          string // "usr_…"
	Email       string // lower case; optional if Phone is set
	Phone       string // E.164: "+" and 8 to 15 digits; optional if Email is set
	DisplayName string
	Country     string // ISO 3166-1 alpha-2
	Tier        Tier
	CreatedAt   int64 // microseconds since the Unix epoch, UTC
	Version     int64 // the stored row's version, for updates
}

// Validate checks every field. Errors name the API field at fault.
// Email must already be normalized (see NormalizeEmail).
func (u User) Validate() error {
	if !strings.HasPrefix(u.ID, "usr_") || !ValidID(u.ID) {
		return ParamErrorf("id", "invalid_id", "a user id is \"usr_\" and letters or digits")
	}
	if u.Email == "" && u.Phone == "" {
		return ParamErrorf("email", "contact_required", "an email address or a phone number is required")
	}
	if u.Email != "" && !ValidEmail(u.Email) {
		return ParamErrorf("email", "invalid_email", "email must be an address such as name@example.com")
	}
	if u.Email != "" && NormalizeEmail(u.Email) != u.Email {
		return ParamErrorf("email", "invalid_email", "email must be in lower case without surrounding spaces")
	}
	if u.Phone != "" && !ValidPhone(u.Phone) {
		return ParamErrorf("phone", "invalid_phone", "phone must be in E.164 form: \"+\" and 8 to 15 digits")
	}
	if err := ValidateDisplayName(u.DisplayName); err != nil {
		return err
	}
	if len(u.Country) != 2 || strings.Trim(u.Country, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
		return ParamErrorf("country", "invalid_country", "country must be an ISO 3166-1 alpha-2 code: two upper-case letters")
	}
	if !u.Tier.Valid() {
		return ParamErrorf("tier", "invalid_tier", "tier must be 0, 1 or 2")
	}
	return nil
}

// ValidateDisplayName checks a display name: 1 to DisplayNameLengthMax bytes
// of UTF-8 text without control characters or surrounding spaces.
func ValidateDisplayName(name string) error {
	if name == "" || len(name) > DisplayNameLengthMax || strings.TrimSpace(name) != name {
		return ParamErrorf("display_name", "invalid_display_name", "display_name must be 1 to %d bytes without surrounding spaces", DisplayNameLengthMax)
	}
	if !utf8.ValidString(name) || strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return ParamErrorf("display_name", "invalid_display_name", "display_name must be UTF-8 text without control characters")
	}
	return nil
}

// NormalizeEmail trims surrounding spaces and lower-cases an address, so that
// one mailbox has one spelling. (RFC 5321 lets the local part be case
// sensitive; no mail system people use today makes it so.)
func NormalizeEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

// ValidEmail reports whether email is a plain address: a dot-atom local part
// of ASCII letters, digits and !#$%&'*+/=?^_`{|}~- (at most 64 bytes), "@",
// and a DNS domain of at least two labels whose last is letters only. Quoted
// local parts, comments and IP-literal domains are refused: they are legal
// but serve mostly to smuggle input.
func ValidEmail(email string) bool {
	if len(email) > EmailLengthMax {
		return false
	}
	at := strings.IndexByte(email, '@')
	if at <= 0 || at != strings.LastIndexByte(email, '@') {
		return false
	}
	local, domain := email[:at], email[at+1:]
	if len(local) > emailLocalLengthMax || !dotAtom(local) {
		return false
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 || len(domain) > 253 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	tld := labels[len(labels)-1]
	return len(tld) >= 2 && strings.Trim(strings.ToLower(tld), "abcdefghijklmnopqrstuvwxyz") == ""
}

func dotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' ||
			strings.IndexByte("!#$%&'*+/=?^_`{|}~-", c) >= 0) {
			return false
		}
	}
	return true
}

// ValidPhone reports whether phone is an E.164 number: "+", a country code
// that does not start with 0, and 8 to 15 digits in all.
func ValidPhone(phone string) bool {
	if len(phone) < 9 || len(phone) > 16 || phone[0] != '+' || phone[1] == '0' {
		return false
	}
	return strings.Trim(phone[1:], "0123456789") == ""
}

// TierLimits cap what a user of one tier may pay in one asset, in the
// asset's minor units. No grant or mandate can exceed them. The zero
// TierLimits, and any TierLimits of TierUnverified, allow nothing.
type TierLimits struct {
	Tier       Tier
	Asset      string
	PerPayment int64
	PerDay     int64
	PerMonth   int64
}

// Allow decides whether a payment of amount fits, given what the user already
// spent (or holds pending) today and this calendar month, both counting
// neither this payment nor anything refunded. It is a pure function:
//   - tier 0: forbidden, tier_unverified;
//   - no limits configured for this tier and asset: forbidden, tier_limit_unconfigured;
//   - amount above PerPayment: forbidden, tier_limit_per_payment (the payment can never fit);
//   - today's or this month's total above its limit: conflict, tier_limit_per_day or
//     tier_limit_per_month (it may fit later);
//   - a non-positive amount or a negative total: invalid.
//
// Sums are overflow-checked; a sum that does not fit exceeds every limit.
func (l TierLimits) Allow(amount, spentToday, spentThisMonth int64) error {
	if l.Tier <= TierUnverified {
		return Errorf(EFORBIDDEN, "tier_unverified", "the user must verify their email address or phone number before agents may pay")
	}
	if l.PerPayment <= 0 || l.PerDay <= 0 || l.PerMonth <= 0 {
		return Errorf(EFORBIDDEN, "tier_limit_unconfigured", "no limits are configured for tier %d in %s", l.Tier, truncateForMessage(l.Asset))
	}
	if amount <= 0 {
		return ParamErrorf("amount", "invalid_amount", "amount must be positive")
	}
	if spentToday < 0 || spentThisMonth < 0 {
		return Errorf(EINVALID, "invalid_spent", "amounts spent cannot be negative")
	}
	if amount > l.PerPayment {
		return Errorf(EFORBIDDEN, "tier_limit_per_payment", "amount %d exceeds the tier %d limit of %d per payment", amount, l.Tier, l.PerPayment)
	}
	if day, err := AddAmounts(spentToday, amount); err != nil || day > l.PerDay {
		return Errorf(ECONFLICT, "tier_limit_per_day", "the payment would exceed the tier %d limit of %d per day", l.Tier, l.PerDay)
	}
	if month, err := AddAmounts(spentThisMonth, amount); err != nil || month > l.PerMonth {
		return Errorf(ECONFLICT, "tier_limit_per_month", "the payment would exceed the tier %d limit of %d per month", l.Tier, l.PerMonth)
	}
	return nil
}

// Limits maps a tier and an asset to its limits: Limits[tier][asset].
// Limits do not convert between assets: an asset without an entry allows
// nothing at any tier.
type Limits map[Tier]map[string]TierLimits

// For returns the limits of a tier in an asset, with Tier and Asset set;
// all zero (allowing nothing) if none are configured.
func (ls Limits) For(tier Tier, asset string) TierLimits {
	l := ls[tier][asset]
	l.Tier, l.Asset = tier, asset
	if tier <= TierUnverified {
		l.PerPayment, l.PerDay, l.PerMonth = 0, 0, 0
	}
	return l
}

// Allow is For(tier, asset).Allow(amount, spentToday, spentThisMonth).
func (ls Limits) Allow(tier Tier, asset string, amount, spentToday, spentThisMonth int64) error {
	return ls.For(tier, asset).Allow(amount, spentToday, spentThisMonth)
}

// Validate checks that every entry names a verified tier and a known asset
// and that per payment ≤ per day ≤ per month, all positive.
func (ls Limits) Validate() error {
	for tier, assets := range ls {
		if !tier.Valid() || tier == TierUnverified {
			return Errorf(EINVALID, "invalid_limits", "limits can only be configured for tiers 1 and 2, not %d", tier)
		}
		for asset, l := range assets {
			if err := ValidateAssetCode(asset); err != nil {
				return Errorf(EINVALID, "invalid_limits", "limits for unknown asset %q", truncateForMessage(asset))
			}
			if l.PerPayment <= 0 || l.PerPayment > l.PerDay || l.PerDay > l.PerMonth {
				return Errorf(EINVALID, "invalid_limits", "tier %d %s: limits must be 0 < per payment ≤ per day ≤ per month", tier, asset)
			}
		}
	}
	return nil
}

// DefaultTierLimits returns the limits used when none are configured, for a
// few assets only (amounts in minor units are not comparable across assets;
// configure others explicitly):
//
//	tier 1: USD/EUR/GBP 200.00 per payment, 500.00 per day, 2,000.00 per month;
//	        USDC the same in its scale 6; JPY ¥30,000 / ¥75,000 / ¥300,000.
//	tier 2: USD/EUR/GBP 5,000.00 / 10,000.00 / 50,000.00; USDC the same;
//	        JPY ¥750,000 / ¥1,500,000 / ¥7,500,000.
func DefaultTierLimits() Limits {
	t1 := TierLimits{PerPayment: 200_00, PerDay: 500_00, PerMonth: 2_000_00}
	t2 := TierLimits{PerPayment: 5_000_00, PerDay: 10_000_00, PerMonth: 50_000_00}
	usdc := func(l TierLimits) TierLimits { // scale 6: four more digits than cents
		return TierLimits{PerPayment: l.PerPayment * 10_000, PerDay: l.PerDay * 10_000, PerMonth: l.PerMonth * 10_000}
	}
	return Limits{
		TierContact: {"USD": t1, "EUR": t1, "GBP": t1, "USDC": usdc(t1),
			"JPY": {PerPayment: 30_000, PerDay: 75_000, PerMonth: 300_000}},
		TierDocument: {"USD": t2, "EUR": t2, "GBP": t2, "USDC": usdc(t2),
			"JPY": {PerPayment: 750_000, PerDay: 1_500_000, PerMonth: 7_500_000}},
	}
}
