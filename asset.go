package agentpay

import (
	"sync"
	"sync/atomic"
)

// Asset is something the ledger can hold a balance in: an ISO 4217 currency
// or a configured digital asset. Amounts of it are stored as int64 counts of
// its minor unit, so Scale fixes the meaning of every stored number and must
// never change once amounts exist.
type Asset struct {
	// Code is the upper-case identifier, e.g. "USD" or "USDC".
	Code string
	// Scale is the number of decimal digits of the minor unit (the ISO 4217
	// exponent): 2 for USD, 0 for JPY, 6 for USDC.
	Scale int
	// Name is for people only; nothing branches on it.
	Name string
	// Digital is true for assets that are not ISO 4217 currencies.
	Digital bool
}

// USDC is built in because the ledger settles in it out of the box; further
// digital assets come from RegisterAsset.
var usdc = Asset{Code: "USDC", Scale: 6, Name: "USD Coin", Digital: true}

// isoCurrency is one row of the ISO 4217 table; a separate type keeps the
// table terse without positional literals of Asset.
type isoCurrency struct {
	code  string
	scale int
	name  string
}

// Limits for RegisterAsset. maxAssetScale is 18 because 10^18 is the largest
// power of ten an int64 holds; a larger scale could not represent even one
// major unit.
const (
	minAssetCodeLen = 3
	maxAssetCodeLen = 12
	maxAssetScale   = 18
)

// Lookups are on the hot path of every request while writes happen only at
// start-up, so readers load an immutable map through an atomic pointer and
// writers copy it. registryMu only serialises writers.
var (
	registryMu sync.Mutex
	registry   atomic.Pointer[map[string]Asset]
	// reserved holds every code RegisterAsset must refuse; written once in
	// init and read-only afterwards.
	reserved map[string]struct{}
)

func init() {
	m := make(map[string]Asset, len(iso4217)+1)
	reserved = make(map[string]struct{}, len(iso4217)+len(isoReservedCodes))
	for _, c := range iso4217 {
		m[c.code] = Asset{Code: c.code, Scale: c.scale, Name: c.name}
		reserved[c.code] = struct{}{}
	}
	for _, c := range isoReservedCodes {
		reserved[c] = struct{}{}
	}
	m[usdc.Code] = usdc
	registry.Store(&m)
}

// LookupAsset returns the asset with exactly this code. It does not fold
// case: codes are stored and compared upper-case, and accepting "usd" in one
// place but not another would let two spellings of one asset into the ledger.
func LookupAsset(code string) (Asset, bool) {
	a, ok := (*registry.Load())[code]
	return a, ok
}

// ValidateAssetCode reports whether code names a known asset, as the error
// an API caller should see for a bad "asset" field.
func ValidateAssetCode(code string) error {
	if _, ok := LookupAsset(code); !ok {
		return unknownAsset(code)
	}
	return nil
}

// RegisterAsset makes a digital asset known to the ledger. It is meant for
// start-up configuration; it is safe to call concurrently with lookups.
// The asset is always recorded with Digital set, since ISO currencies are
// built in and cannot be registered. Registering the same definition again
// succeeds, so configuration can be applied idempotently; a different
// definition under an existing code is refused because amounts already stored
// in that asset would silently change meaning.
func RegisterAsset(a Asset) error {
	a.Digital = true
	if err := validateNewAssetCode(a.Code); err != nil {
		return err
	}
	if a.Scale < 0 || a.Scale > maxAssetScale {
		return ParamErrorf("scale", "invalid_scale", "asset scale must be between 0 and %d, got %d", maxAssetScale, a.Scale)
	}
	if _, ok := reserved[a.Code]; ok {
		return ParamErrorf("code", "reserved_asset_code", "asset code %q is an ISO 4217 currency code", a.Code)
	}

	registryMu.Lock()
	defer registryMu.Unlock()
	cur := *registry.Load()
	if old, ok := cur[a.Code]; ok {
		if old == a {
			return nil
		}
		return &Error{
			Kind:    ECONFLICT,
			Code:    "asset_conflict",
			Param:   "code",
			Message: "asset " + a.Code + " is already registered with a different definition",
		}
	}
	next := make(map[string]Asset, len(cur)+1)
	for k, v := range cur {
		next[k] = v
	}
	next[a.Code] = a
	registry.Store(&next)
	return nil
}

// validateNewAssetCode restricts codes to A-Z and 0-9 so they need no
// escaping in URLs, logs or file names, and no two codes differ only by case.
func validateNewAssetCode(code string) error {
	if len(code) < minAssetCodeLen || len(code) > maxAssetCodeLen {
		return ParamErrorf("code", "invalid_asset_code", "asset code must be %d to %d characters, got %d", minAssetCodeLen, maxAssetCodeLen, len(code))
	}
	for i := 0; i < len(code); i++ {
		c := code[i]
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return ParamErrorf("code", "invalid_asset_code", "asset code %q may contain only A-Z and 0-9", truncateForMessage(code))
		}
	}
	return nil
}

// unknownAsset builds the one error every function returns for an asset code
// that is not known, so clients see a single stable code.
func unknownAsset(code string) error {
	return ParamErrorf("asset", "unknown_asset", "unknown asset %q", truncateForMessage(code))
}

// truncateForMessage keeps error messages bounded when they echo untrusted
// input, which can be arbitrarily long.
func truncateForMessage(s string) string {
	const limit = 40
	if len(s) <= limit {
		return s
	}
	// Cut on a byte boundary; %q renders any split rune safely.
	return s[:limit] + "..."
}
