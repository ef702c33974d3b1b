package agentpay

import (
	"errors"
	"fmt"
	"sync"
	"testing"
)

// checkError fails t unless err is an *Error with the given kind, code and
// param.
func checkError(t *testing.T, err error, kind, code, param string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("got error %v (%T), want *Error %s/%s", err, err, kind, code)
	}
	if e.Kind != kind || e.Code != code || e.Param != param {
		t.Fatalf("got kind=%q code=%q param=%q (%v), want kind=%q code=%q param=%q",
			e.Kind, e.Code, e.Param, e, kind, code, param)
	}
}

func TestISO4217Table(t *testing.T) {
	if n := len(iso4217); n <= 150 {
		t.Fatalf("ISO 4217 table has %d currencies, want more than 150", n)
	}
	seen := make(map[string]bool)
	for _, c := range iso4217 {
		if len(c.code) != 3 {
			t.Errorf("%q: code is not 3 characters", c.code)
		}
		for i := 0; i < len(c.code); i++ {
			if c.code[i] < 'A' || c.code[i] > 'Z' {
				t.Errorf("%q: code is not upper-case letters", c.code)
				break
			}
		}
		if seen[c.code] {
			t.Errorf("%q: duplicate", c.code)
		}
		seen[c.code] = true
		switch c.scale {
		case 0, 2, 3, 4:
		default:
			t.Errorf("%q: implausible ISO exponent %d", c.code, c.scale)
		}
		if c.name == "" {
			t.Errorf("%q: no name", c.code)
		}
		a, ok := LookupAsset(c.code)
		if !ok || a.Code != c.code || a.Scale != c.scale || a.Name != c.name || a.Digital {
			t.Errorf("LookupAsset(%q) = %+v, %v", c.code, a, ok)
		}
	}
	for _, c := range isoReservedCodes {
		if seen[c] {
			t.Errorf("%q is both usable and reserved", c)
		}
		if _, ok := LookupAsset(c); ok {
			t.Errorf("reserved code %q resolves to an asset", c)
		}
	}
}

func TestLookupAssetScales(t *testing.T) {
	tests := []struct {
		code    string
		scale   int
		digital bool
	}{
		{"JPY", 0, false}, {"KRW", 0, false}, {"VND", 0, false}, {"CLP", 0, false},
		{"ISK", 0, false}, {"UGX", 0, false}, {"XAF", 0, false}, {"XOF", 0, false},
		{"PYG", 0, false}, {"RWF", 0, false}, {"KMF", 0, false}, {"GNF", 0, false},
		{"DJF", 0, false}, {"VUV", 0, false}, {"XPF", 0, false}, {"BIF", 0, false},
		{"UYI", 0, false},
		{"USD", 2, false}, {"CNY", 2, false}, {"EUR", 2, false}, {"GBP", 2, false},
		{"CHF", 2, false}, {"INR", 2, false}, {"IDR", 2, false}, {"MGA", 2, false},
		{"XCG", 2, false}, {"ZWG", 2, false}, {"SLE", 2, false}, {"VES", 2, false},
		{"KWD", 3, false}, {"BHD", 3, false}, {"OMR", 3, false}, {"JOD", 3, false},
		{"IQD", 3, false}, {"LYD", 3, false}, {"TND", 3, false},
		{"CLF", 4, false}, {"UYW", 4, false},
		{"USDC", 6, true},
	}
	for _, tt := range tests {
		a, ok := LookupAsset(tt.code)
		if !ok {
			t.Errorf("LookupAsset(%q): not found", tt.code)
			continue
		}
		if a.Code != tt.code || a.Scale != tt.scale || a.Digital != tt.digital || a.Name == "" {
			t.Errorf("LookupAsset(%q) = %+v, want scale %d digital %v", tt.code, a, tt.scale, tt.digital)
		}
	}
}

func TestLookupAssetUnknown(t *testing.T) {
	for _, code := range []string{"", "usd", "Usd", " USD", "USD ", "US", "USDX", "XAU", "XXX", "XTS", "HRK", "ZWL", "usdc"} {
		if a, ok := LookupAsset(code); ok {
			t.Errorf("LookupAsset(%q) = %+v, want not found", code, a)
		}
	}
}

func TestValidateAssetCode(t *testing.T) {
	for _, code := range []string{"USD", "JPY", "USDC", "KWD"} {
		if err := ValidateAssetCode(code); err != nil {
			t.Errorf("ValidateAssetCode(%q) = %v", code, err)
		}
	}
	for _, code := range []string{"", "usd", "XAU", "NOPE", "US"} {
		checkError(t, ValidateAssetCode(code), EINVALID, "unknown_asset", "asset")
	}
}

func TestRegisterAsset(t *testing.T) {
	eurc := Asset{Code: "TSTEURC", Scale: 6, Name: "Test Euro Coin", Digital: true}
	if err := RegisterAsset(eurc); err != nil {
		t.Fatalf("RegisterAsset: %v", err)
	}
	if got, ok := LookupAsset("TSTEURC"); !ok || got != eurc {
		t.Fatalf("LookupAsset after register = %+v, %v", got, ok)
	}
	// Identical again, and identical apart from the Digital flag the registry
	// sets anyway, are both no-ops.
	if err := RegisterAsset(eurc); err != nil {
		t.Fatalf("re-register identical: %v", err)
	}
	plain := eurc
	plain.Digital = false
	if err := RegisterAsset(plain); err != nil {
		t.Fatalf("re-register without Digital: %v", err)
	}
	if err := RegisterAsset(Asset{Code: "USDC", Scale: 6, Name: "USD Coin", Digital: true}); err != nil {
		t.Fatalf("re-register built-in USDC identically: %v", err)
	}

	diffScale := eurc
	diffScale.Scale = 8
	checkError(t, RegisterAsset(diffScale), ECONFLICT, "asset_conflict", "code")
	diffName := eurc
	diffName.Name = "Other"
	checkError(t, RegisterAsset(diffName), ECONFLICT, "asset_conflict", "code")
	checkError(t, RegisterAsset(Asset{Code: "USDC", Scale: 2, Name: "USD Coin"}), ECONFLICT, "asset_conflict", "code")
	if got, _ := LookupAsset("TSTEURC"); got != eurc {
		t.Fatalf("conflicting registration changed the asset: %+v", got)
	}

	invalid := []struct {
		a           Asset
		code, param string
	}{
		{Asset{Code: "", Scale: 6}, "invalid_asset_code", "code"},
		{Asset{Code: "AB", Scale: 6}, "invalid_asset_code", "code"},
		{Asset{Code: "ABCDEFGHIJKLM", Scale: 6}, "invalid_asset_code", "code"},
		{Asset{Code: "tstusdt", Scale: 6}, "invalid_asset_code", "code"},
		{Asset{Code: "TST-USDT", Scale: 6}, "invalid_asset_code", "code"},
		{Asset{Code: "TST USDT", Scale: 6}, "invalid_asset_code", "code"},
		{Asset{Code: "TSTÜSDT", Scale: 6}, "invalid_asset_code", "code"},
		{Asset{Code: "TSTNEG", Scale: -1}, "invalid_scale", "scale"},
		{Asset{Code: "TSTBIG", Scale: 19}, "invalid_scale", "scale"},
		{Asset{Code: "USD", Scale: 2}, "reserved_asset_code", "code"},
		{Asset{Code: "JPY", Scale: 0}, "reserved_asset_code", "code"},
		{Asset{Code: "XAU", Scale: 6}, "reserved_asset_code", "code"},
		{Asset{Code: "HRK", Scale: 2}, "reserved_asset_code", "code"},
	}
	for _, tt := range invalid {
		checkError(t, RegisterAsset(tt.a), EINVALID, tt.code, tt.param)
		if _, ok := LookupAsset(tt.a.Code); ok && tt.code != "reserved_asset_code" {
			t.Errorf("invalid asset %q was registered", tt.a.Code)
		}
	}
	if a, _ := LookupAsset("USD"); a.Scale != 2 || a.Digital {
		t.Fatalf("USD changed: %+v", a)
	}

	// The limits themselves are accepted.
	for _, a := range []Asset{
		{Code: "TS3", Scale: 0, Name: "three"},
		{Code: "TSTTWELVE012", Scale: 18, Name: "twelve"},
	} {
		if err := RegisterAsset(a); err != nil {
			t.Errorf("RegisterAsset(%+v): %v", a, err)
		}
	}
}

func TestRegisterAssetConcurrent(t *testing.T) {
	const writers, perWriter = 4, 25
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				a := Asset{Code: fmt.Sprintf("TSTC%dX%d", w, i), Scale: i % 19, Name: "concurrent"}
				if err := RegisterAsset(a); err != nil {
					t.Errorf("RegisterAsset(%q): %v", a.Code, err)
				}
			}
		})
		wg.Go(func() {
			for range perWriter * 4 {
				if a, ok := LookupAsset("USD"); !ok || a.Scale != 2 {
					t.Errorf("LookupAsset(USD) = %+v, %v during registration", a, ok)
				}
				_ = ValidateAssetCode(fmt.Sprintf("TSTC%dX0", w))
			}
		})
	}
	wg.Wait()
	for w := range writers {
		for i := range perWriter {
			code := fmt.Sprintf("TSTC%dX%d", w, i)
			if a, ok := LookupAsset(code); !ok || a.Scale != i%19 || !a.Digital {
				t.Errorf("LookupAsset(%q) = %+v, %v after concurrent registration", code, a, ok)
			}
		}
	}
}

func BenchmarkLookupAsset(b *testing.B) {
	for b.Loop() {
		if _, ok := LookupAsset("USD"); !ok {
			b.Fatal("USD not found")
		}
	}
}
