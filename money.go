package agentpay

import (
	"math"
	"strconv"
)

// Money is an amount of one asset. Amount counts the asset's minor units
// (cents for USD, yen for JPY, 10^-6 USDC for USDC) so that every value the
// ledger stores is exact; there is deliberately no float anywhere on the path
// from request to database.
type Money struct {
	Amount int64  `json:"amount"`
	Asset  string `json:"asset"`
}

// errOverflow is the error for a result outside int64. It is EINVALID rather
// than EINTERNAL because only absurd inputs can cause it.
func errOverflow(format string, args ...any) error {
	return Errorf(EINVALID, "amount_overflow", format, args...)
}

// AddAmounts returns a+b, or an "amount_overflow" error instead of wrapping
// around, because a wrapped balance is a silently wrong balance.
func AddAmounts(a, b int64) (int64, error) {
	if (b > 0 && a > math.MaxInt64-b) || (b < 0 && a < math.MinInt64-b) {
		return 0, errOverflow("%d + %d overflows", a, b)
	}
	return a + b, nil
}

// SubAmounts returns a-b, or an "amount_overflow" error instead of wrapping
// around.
func SubAmounts(a, b int64) (int64, error) {
	if (b < 0 && a > math.MaxInt64+b) || (b > 0 && a < math.MinInt64+b) {
		return 0, errOverflow("%d - %d overflows", a, b)
	}
	return a - b, nil
}

// MulAmount returns a*n, or an "amount_overflow" error instead of wrapping
// around. It exists for quantity × unit price; rates and percentages need a
// rounding rule and do not belong here.
func MulAmount(a int64, n int64) (int64, error) {
	if a == 0 || n == 0 {
		return 0, nil
	}
	// Go defines MinInt64 / -1 as MinInt64 rather than trapping, so the
	// division check below cannot see these two cases.
	if (a == -1 && n == math.MinInt64) || (n == -1 && a == math.MinInt64) {
		return 0, errOverflow("%d * %d overflows", a, n)
	}
	p := a * n
	if p/n != a {
		return 0, errOverflow("%d * %d overflows", a, n)
	}
	return p, nil
}

// Add returns m+o. Adding different assets is a bug in the caller, not a
// conversion request, so it fails with "asset_mismatch".
func (m Money) Add(o Money) (Money, error) {
	if m.Asset != o.Asset {
		return Money{}, assetMismatch(m.Asset, o.Asset)
	}
	s, err := AddAmounts(m.Amount, o.Amount)
	if err != nil {
		return Money{}, err
	}
	return Money{Amount: s, Asset: m.Asset}, nil
}

// Sub returns m-o; like Add it refuses to mix assets.
func (m Money) Sub(o Money) (Money, error) {
	if m.Asset != o.Asset {
		return Money{}, assetMismatch(m.Asset, o.Asset)
	}
	d, err := SubAmounts(m.Amount, o.Amount)
	if err != nil {
		return Money{}, err
	}
	return Money{Amount: d, Asset: m.Asset}, nil
}

func assetMismatch(a, b string) error {
	return ParamErrorf("asset", "asset_mismatch", "cannot combine %q with %q", truncateForMessage(a), truncateForMessage(b))
}

// ParseAmount converts a decimal string in major units ("12.34") into minor
// units of asset (1234 for USD). It is the one way amounts enter the system
// as text, so the grammar is strict and exact:
//
//	-?(0|[1-9][0-9]*)(\.[0-9]+)?
//
// At most the asset's Scale digits may follow the point, with no trailing
// zeros beyond it ("1.0" is refused for JPY, "1.000" for USD) so a value is
// never rounded or truncated behind the caller's back. A '+' sign, spaces,
// exponents, grouping separators, a point without digits on both sides
// (".5", "5.") and leading zeros ("007", "00.5") are refused: every parser
// in the chain must read an amount identically, and "1,00" or "010" do not
// mean the same thing everywhere. "-0" is accepted as zero. Negative values
// parse; callers that forbid them check.
//
// Errors are EINVALID with param "amount" and code "invalid_amount",
// "too_many_decimals" or "amount_overflow"; an unknown asset gives
// "unknown_asset" with param "asset", as from ValidateAssetCode.
func ParseAmount(s string, asset string) (int64, error) {
	a, ok := LookupAsset(asset)
	if !ok {
		return 0, unknownAsset(asset)
	}
	return parseAmount(s, a.Scale)
}

func parseAmount(s string, scale int) (int64, error) {
	invalid := func(why string) error {
		return ParamErrorf("amount", "invalid_amount", "invalid amount %q: %s", truncateForMessage(s), why)
	}
	if s == "" {
		return 0, invalid("empty")
	}
	i := 0
	neg := s[0] == '-'
	if neg {
		i++
	}
	start := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	intPart := s[start:i]
	if intPart == "" {
		return 0, invalid("must start with a digit")
	}
	if len(intPart) > 1 && intPart[0] == '0' {
		return 0, invalid("leading zeros are not allowed")
	}
	var frac string
	if i < len(s) {
		if s[i] != '.' {
			return 0, invalid("only digits and one decimal point are allowed")
		}
		i++
		start = i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		frac = s[start:i]
		if frac == "" {
			return 0, invalid("a digit must follow the decimal point")
		}
		if i != len(s) {
			return 0, invalid("only digits and one decimal point are allowed")
		}
	}
	if len(frac) > scale {
		return 0, ParamErrorf("amount", "too_many_decimals", "amount %q has more than %d decimal places", truncateForMessage(s), scale)
	}

	// Accumulate the magnitude unsigned so that math.MinInt64, whose
	// magnitude exceeds math.MaxInt64, is still reachable.
	limit := uint64(math.MaxInt64)
	if neg {
		limit++
	}
	var mag uint64
	push := func(d uint64) bool {
		if mag > (limit-d)/10 {
			return false
		}
		mag = mag*10 + d
		return true
	}
	overflow := func() error {
		return ParamErrorf("amount", "amount_overflow", "amount %q is too large", truncateForMessage(s))
	}
	for j := 0; j < len(intPart); j++ {
		if !push(uint64(intPart[j] - '0')) {
			return 0, overflow()
		}
	}
	for j := 0; j < len(frac); j++ {
		if !push(uint64(frac[j] - '0')) {
			return 0, overflow()
		}
	}
	for j := len(frac); j < scale; j++ {
		if !push(0) {
			return 0, overflow()
		}
	}
	if neg {
		// Two's complement negation in uint64 maps 1<<63 to MinInt64.
		return int64(-mag), nil
	}
	return int64(mag), nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// FormatAmount is the inverse of ParseAmount: it renders minor units as a
// decimal in major units with exactly the asset's Scale fraction digits
// (1234 USD is "12.34", 5 JPY is "5"), which is also the canonical input
// form ParseAmount round-trips.
func FormatAmount(amount int64, asset string) (string, error) {
	a, ok := LookupAsset(asset)
	if !ok {
		return "", unknownAsset(asset)
	}
	return formatAmount(amount, a.Scale), nil
}

func formatAmount(amount int64, scale int) string {
	neg := amount < 0
	mag := uint64(amount)
	if neg {
		// Negating in uint64 is exact even for math.MinInt64.
		mag = -mag
	}
	var digitsBuf [20]byte
	digits := strconv.AppendUint(digitsBuf[:0], mag, 10)

	// sign + up to 20 digits + point + up to maxAssetScale leading zeros.
	out := make([]byte, 0, 2+len(digits)+maxAssetScale)
	if neg {
		out = append(out, '-')
	}
	if scale <= 0 {
		return string(append(out, digits...))
	}
	if len(digits) <= scale {
		out = append(out, '0', '.')
		for range scale - len(digits) {
			out = append(out, '0')
		}
		return string(append(out, digits...))
	}
	p := len(digits) - scale
	out = append(out, digits[:p]...)
	out = append(out, '.')
	out = append(out, digits[p:]...)
	return string(out)
}

// String renders m for people and logs, e.g. "12.34 CNY". It never fails, so
// an unknown asset falls back to the raw minor-unit count.
func (m Money) String() string {
	if a, ok := LookupAsset(m.Asset); ok {
		return formatAmount(m.Amount, a.Scale) + " " + m.Asset
	}
	return strconv.FormatInt(m.Amount, 10) + " " + m.Asset
}

// ParseMoney is ParseAmount returning the asset alongside, for callers that
// receive amount and asset as separate request fields.
func ParseMoney(s, asset string) (Money, error) {
	amount, err := ParseAmount(s, asset)
	if err != nil {
		return Money{}, err
	}
	return Money{Amount: amount, Asset: asset}, nil
}
