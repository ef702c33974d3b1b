package agentpay

import (
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"testing"
)

const (
	maxI = math.MaxInt64
	minI = math.MinInt64
)

// arithCase is one row for AddAmounts, SubAmounts or MulAmount; overflow
// means an "amount_overflow" error is expected instead of want.
type arithCase struct {
	a, b     int64
	want     int64
	overflow bool
}

func runArith(t *testing.T, name string, f func(a, b int64) (int64, error), tests []arithCase) {
	t.Helper()
	for _, tt := range tests {
		got, err := f(tt.a, tt.b)
		if tt.overflow {
			if err == nil {
				t.Errorf("%s(%d, %d) = %d, want overflow", name, tt.a, tt.b, got)
				continue
			}
			checkError(t, err, EINVALID, "amount_overflow", "")
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s(%d, %d) = %d, %v; want %d", name, tt.a, tt.b, got, err, tt.want)
		}
	}
}

func TestAddAmounts(t *testing.T) {
	runArith(t, "AddAmounts", AddAmounts, []arithCase{
		{a: 1, b: 2, want: 3},
		{a: -1, b: -2, want: -3},
		{a: 0, b: 0, want: 0},
		{a: maxI, b: 0, want: maxI},
		{a: maxI - 1, b: 1, want: maxI},
		{a: maxI, b: 1, overflow: true},
		{a: 1, b: maxI, overflow: true},
		{a: maxI, b: maxI, overflow: true},
		{a: minI, b: 0, want: minI},
		{a: minI + 1, b: -1, want: minI},
		{a: minI, b: -1, overflow: true},
		{a: minI, b: minI, overflow: true},
		{a: maxI, b: minI, want: -1},
		{a: minI, b: maxI, want: -1},
	})
}

func TestSubAmounts(t *testing.T) {
	runArith(t, "SubAmounts", SubAmounts, []arithCase{
		{a: 3, b: 2, want: 1},
		{a: 2, b: 3, want: -1},
		{a: 0, b: maxI, want: -maxI},
		{a: -1, b: maxI, want: minI},
		{a: -2, b: maxI, overflow: true},
		{a: 0, b: minI, overflow: true},
		{a: -1, b: minI, want: maxI},
		{a: minI, b: 1, overflow: true},
		{a: minI, b: minI, want: 0},
		{a: maxI, b: -1, overflow: true},
		{a: maxI, b: maxI, want: 0},
		{a: maxI - 1, b: -1, want: maxI},
	})
}

func TestMulAmount(t *testing.T) {
	runArith(t, "MulAmount", MulAmount, []arithCase{
		{a: 0, b: maxI, want: 0},
		{a: minI, b: 0, want: 0},
		{a: 1234, b: 3, want: 3702},
		{a: -1234, b: 3, want: -3702},
		{a: -5, b: -5, want: 25},
		{a: maxI, b: 1, want: maxI},
		{a: maxI, b: -1, want: -maxI},
		{a: minI, b: 1, want: minI},
		{a: minI, b: -1, overflow: true},
		{a: -1, b: minI, overflow: true},
		{a: 1, b: minI, want: minI},
		{a: minI / 2, b: 2, want: minI},
		{a: minI / 2, b: -2, overflow: true},
		{a: maxI/2 + 1, b: 2, overflow: true},
		{a: 3037000500, b: 3037000500, overflow: true},
		{a: 3037000499, b: 3037000499, want: 3037000499 * 3037000499},
		{a: 1 << 32, b: 1 << 31, overflow: true},
		{a: 1 << 31, b: 1 << 31, want: 1 << 62},
	})
}

func TestMoneyAddSub(t *testing.T) {
	a := Money{Amount: 1234, Asset: "USD"}
	b := Money{Amount: 66, Asset: "USD"}
	if got, err := a.Add(b); err != nil || got != (Money{Amount: 1300, Asset: "USD"}) {
		t.Errorf("Add = %+v, %v", got, err)
	}
	if got, err := a.Sub(b); err != nil || got != (Money{Amount: 1168, Asset: "USD"}) {
		t.Errorf("Sub = %+v, %v", got, err)
	}
	if got, err := b.Sub(a); err != nil || got != (Money{Amount: -1168, Asset: "USD"}) {
		t.Errorf("Sub negative = %+v, %v", got, err)
	}

	other := Money{Amount: 1, Asset: "EUR"}
	_, err := a.Add(other)
	checkError(t, err, EINVALID, "asset_mismatch", "asset")
	_, err = a.Sub(other)
	checkError(t, err, EINVALID, "asset_mismatch", "asset")
	_, err = a.Add(Money{Amount: 1, Asset: "usd"})
	checkError(t, err, EINVALID, "asset_mismatch", "asset")

	_, err = Money{Amount: maxI, Asset: "USD"}.Add(Money{Amount: 1, Asset: "USD"})
	checkError(t, err, EINVALID, "amount_overflow", "")
	_, err = Money{Amount: minI, Asset: "USD"}.Sub(Money{Amount: 1, Asset: "USD"})
	checkError(t, err, EINVALID, "amount_overflow", "")
}

// scale18 is a test asset at the largest allowed scale, where one major unit
// is 10^18 minor units and int64 holds only about nine of them.
const scale18 = "TSTSCALE18"

func init() {
	if err := RegisterAsset(Asset{Code: scale18, Scale: 18, Name: "Test scale 18"}); err != nil {
		panic(err)
	}
}

func TestParseAmount(t *testing.T) {
	ok := []struct {
		s, asset string
		want     int64
	}{
		{"12.34", "CNY", 1234},
		{"12", "CNY", 1200},
		{"12.3", "CNY", 1230},
		{"0", "CNY", 0},
		{"0.01", "USD", 1},
		{"0.1", "USD", 10},
		{"-5.00", "USD", -500},
		{"-5", "USD", -500},
		{"-0.01", "USD", -1},
		{"-0", "USD", 0},
		{"-0.00", "USD", 0},
		{"5", "JPY", 5},
		{"1000000", "KRW", 1000000},
		{"-7", "JPY", -7},
		{"1.001", "KWD", 1001},
		{"1.5", "KWD", 1500},
		{"1.2345", "CLF", 12345},
		{"0.000001", "USDC", 1},
		{"1", "USDC", 1000000},
		{"123.456789", "USDC", 123456789},
		{"9223372036854775807", "JPY", maxI},
		{"-9223372036854775808", "JPY", minI},
		{"92233720368547758.07", "USD", maxI},
		{"-92233720368547758.08", "USD", minI},
		{"9223372036854.775807", "USDC", maxI},
		{"-9223372036854.775808", "USDC", minI},
		{"9.223372036854775807", scale18, maxI},
		{"-9.223372036854775808", scale18, minI},
		{"0.000000000000000001", scale18, 1},
		{"1", scale18, 1000000000000000000},
	}
	for _, tt := range ok {
		got, err := ParseAmount(tt.s, tt.asset)
		if err != nil || got != tt.want {
			t.Errorf("ParseAmount(%q, %q) = %d, %v; want %d", tt.s, tt.asset, got, err, tt.want)
		}
	}

	bad := []struct {
		s, asset    string
		code, param string
	}{
		{"1.001", "JPY", "too_many_decimals", "amount"},
		{"1.0", "JPY", "too_many_decimals", "amount"},
		{"1.001", "USD", "too_many_decimals", "amount"},
		{"1.000", "USD", "too_many_decimals", "amount"},
		{"0.0000001", "USDC", "too_many_decimals", "amount"},
		{"1.00001", "CLF", "too_many_decimals", "amount"},
		{"", "USD", "invalid_amount", "amount"},
		{"-", "USD", "invalid_amount", "amount"},
		{"+1", "USD", "invalid_amount", "amount"},
		{"--1", "USD", "invalid_amount", "amount"},
		{"1e5", "USD", "invalid_amount", "amount"},
		{"1E5", "USD", "invalid_amount", "amount"},
		{" 1", "USD", "invalid_amount", "amount"},
		{"1 ", "USD", "invalid_amount", "amount"},
		{"1\n", "USD", "invalid_amount", "amount"},
		{"1,00", "USD", "invalid_amount", "amount"},
		{"1_000", "USD", "invalid_amount", "amount"},
		{".5", "USD", "invalid_amount", "amount"},
		{"-.5", "USD", "invalid_amount", "amount"},
		{"5.", "USD", "invalid_amount", "amount"},
		{".", "USD", "invalid_amount", "amount"},
		{"1.2.3", "USD", "invalid_amount", "amount"},
		{"0x10", "USD", "invalid_amount", "amount"},
		{"00", "USD", "invalid_amount", "amount"},
		{"01", "USD", "invalid_amount", "amount"},
		{"00.5", "USD", "invalid_amount", "amount"},
		{"-01", "USD", "invalid_amount", "amount"},
		{"NaN", "USD", "invalid_amount", "amount"},
		{"Inf", "USD", "invalid_amount", "amount"},
		{"\u0661\u0662", "USD", "invalid_amount", "amount"}, // Arabic-Indic digits
		{"\uff11", "USD", "invalid_amount", "amount"},       // full-width digit
		{"1.-5", "USD", "invalid_amount", "amount"},
		{"1.5 ", "USD", "invalid_amount", "amount"},
		{"9223372036854775808", "JPY", "amount_overflow", "amount"},
		{"-9223372036854775809", "JPY", "amount_overflow", "amount"},
		{"99999999999999999999999999", "JPY", "amount_overflow", "amount"},
		{"92233720368547758.08", "USD", "amount_overflow", "amount"},
		{"-92233720368547758.09", "USD", "amount_overflow", "amount"},
		{"92233720368547759", "USD", "amount_overflow", "amount"},
		{"9223372036854.775808", "USDC", "amount_overflow", "amount"},
		{"10", scale18, "amount_overflow", "amount"},
		{"9.223372036854775808", scale18, "amount_overflow", "amount"},
		{"1", "XXX", "unknown_asset", "asset"},
		{"1", "usd", "unknown_asset", "asset"},
		{"1", "", "unknown_asset", "asset"},
	}
	for _, tt := range bad {
		got, err := ParseAmount(tt.s, tt.asset)
		if err == nil {
			t.Errorf("ParseAmount(%q, %q) = %d, want error %s", tt.s, tt.asset, got, tt.code)
			continue
		}
		checkError(t, err, EINVALID, tt.code, tt.param)
	}
}

func TestParseAmountLongInputMessageBounded(t *testing.T) {
	long := make([]byte, 1<<20)
	for i := range long {
		long[i] = '9'
	}
	_, err := ParseAmount(string(long), "USD")
	checkError(t, err, EINVALID, "amount_overflow", "amount")
	if n := len(err.Error()); n > 300 {
		t.Fatalf("error message is %d bytes, want it bounded", n)
	}
}

func TestFormatAmount(t *testing.T) {
	tests := []struct {
		amount int64
		asset  string
		want   string
	}{
		{1234, "CNY", "12.34"},
		{1200, "CNY", "12.00"},
		{0, "USD", "0.00"},
		{1, "USD", "0.01"},
		{10, "USD", "0.10"},
		{-1, "USD", "-0.01"},
		{-500, "USD", "-5.00"},
		{-100, "USD", "-1.00"},
		{5, "JPY", "5"},
		{0, "JPY", "0"},
		{-5, "JPY", "-5"},
		{1001, "KWD", "1.001"},
		{1, "KWD", "0.001"},
		{12345, "CLF", "1.2345"},
		{1, "USDC", "0.000001"},
		{1000000, "USDC", "1.000000"},
		{-123456789, "USDC", "-123.456789"},
		{maxI, "JPY", "9223372036854775807"},
		{minI, "JPY", "-9223372036854775808"},
		{maxI, "USD", "92233720368547758.07"},
		{minI, "USD", "-92233720368547758.08"},
		{minI, "USDC", "-9223372036854.775808"},
		{maxI, scale18, "9.223372036854775807"},
		{minI, scale18, "-9.223372036854775808"},
		{1, scale18, "0.000000000000000001"},
		{-1, scale18, "-0.000000000000000001"},
	}
	for _, tt := range tests {
		got, err := FormatAmount(tt.amount, tt.asset)
		if err != nil || got != tt.want {
			t.Errorf("FormatAmount(%d, %q) = %q, %v; want %q", tt.amount, tt.asset, got, err, tt.want)
		}
	}
	_, err := FormatAmount(1, "XAU")
	checkError(t, err, EINVALID, "unknown_asset", "asset")
}

// TestRoundTripCanonical checks that canonical text (exactly Scale fraction
// digits) survives Parse then Format unchanged.
func TestRoundTripCanonical(t *testing.T) {
	tests := []struct{ s, asset string }{
		{"12.34", "CNY"}, {"0.00", "USD"}, {"-0.01", "USD"}, {"1000000.00", "EUR"},
		{"5", "JPY"}, {"0", "JPY"}, {"-42", "KRW"},
		{"1.001", "KWD"}, {"-0.500", "BHD"},
		{"1.2345", "CLF"}, {"0.0001", "UYW"},
		{"0.000001", "USDC"}, {"123.456789", "USDC"},
		{"92233720368547758.07", "USD"}, {"-92233720368547758.08", "USD"},
		{"9223372036854775807", "JPY"}, {"-9223372036854775808", "JPY"},
		{"-9.223372036854775808", scale18},
	}
	for _, tt := range tests {
		v, err := ParseAmount(tt.s, tt.asset)
		if err != nil {
			t.Errorf("ParseAmount(%q, %q): %v", tt.s, tt.asset, err)
			continue
		}
		if got, err := FormatAmount(v, tt.asset); err != nil || got != tt.s {
			t.Errorf("FormatAmount(ParseAmount(%q, %q)) = %q, %v", tt.s, tt.asset, got, err)
		}
	}
}

func TestMoneyString(t *testing.T) {
	tests := []struct {
		m    Money
		want string
	}{
		{Money{Amount: 1234, Asset: "CNY"}, "12.34 CNY"},
		{Money{Amount: -1, Asset: "USD"}, "-0.01 USD"},
		{Money{Amount: 5, Asset: "JPY"}, "5 JPY"},
		{Money{Amount: 1, Asset: "USDC"}, "0.000001 USDC"},
		{Money{Amount: minI, Asset: "USD"}, "-92233720368547758.08 USD"},
		{Money{Amount: 1234, Asset: "NOPE"}, "1234 NOPE"},
		{Money{Amount: -7, Asset: "usd"}, "-7 usd"},
	}
	for _, tt := range tests {
		if got := tt.m.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.m, got, tt.want)
		}
	}
}

func TestParseMoney(t *testing.T) {
	m, err := ParseMoney("12.34", "CNY")
	if err != nil || m != (Money{Amount: 1234, Asset: "CNY"}) {
		t.Fatalf("ParseMoney = %+v, %v", m, err)
	}
	_, err = ParseMoney("1.001", "USD")
	checkError(t, err, EINVALID, "too_many_decimals", "amount")
	_, err = ParseMoney("1", "FOO")
	checkError(t, err, EINVALID, "unknown_asset", "asset")
}

func TestMoneyJSON(t *testing.T) {
	b, err := json.Marshal(Money{Amount: 1234, Asset: "CNY"})
	if err != nil || string(b) != `{"amount":1234,"asset":"CNY"}` {
		t.Fatalf("Marshal = %s, %v", b, err)
	}
	var m Money
	if err := json.Unmarshal([]byte(`{"amount":-9223372036854775808,"asset":"USD"}`), &m); err != nil || m.Amount != minI || m.Asset != "USD" {
		t.Fatalf("Unmarshal = %+v, %v", m, err)
	}
}

// fuzzAssets are the assets fuzz targets pick from by index: every scale
// class the ledger has.
var fuzzAssets = []string{"JPY", "USD", "KWD", "CLF", "USDC", scale18}

func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{
		"12.34", "0", "-0", "-5.00", "0.000001", "1.001", "", "+1", "1e5", " 1",
		"1,00", ".5", "5.", "0x10", "007", "9223372036854775807",
		"-9223372036854775808", "92233720368547758.08", "-9.223372036854775808",
	} {
		for i := range fuzzAssets {
			f.Add(s, uint8(i))
		}
	}
	f.Fuzz(func(t *testing.T, s string, which uint8) {
		asset := fuzzAssets[int(which)%len(fuzzAssets)]
		v, err := ParseAmount(s, asset)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Kind != EINVALID || e.Param != "amount" {
				t.Fatalf("ParseAmount(%q, %q): unexpected error %#v", s, asset, err)
			}
			return
		}
		out, err := FormatAmount(v, asset)
		if err != nil {
			t.Fatalf("FormatAmount(%d, %q): %v", v, asset, err)
		}
		back, err := ParseAmount(out, asset)
		if err != nil || back != v {
			t.Fatalf("ParseAmount(%q) = %d; FormatAmount = %q; re-parse = %d, %v", s, v, out, back, err)
		}
		// Only canonical text (exactly Scale fraction digits, no "-0")
		// may come back unchanged; anything else must differ.
		if (out == s) != isCanonical(s, asset) {
			t.Fatalf("ParseAmount(%q) formats as %q; canonical=%v", s, out, isCanonical(s, asset))
		}
	})
}

// isCanonical reports whether s, already known to parse, is in the form
// FormatAmount produces.
func isCanonical(s, asset string) bool {
	a, _ := LookupAsset(asset)
	digits := s
	if len(s) > 0 && s[0] == '-' {
		digits = s[1:]
		if allZeroDigits(digits) {
			return false
		}
	}
	dot := -1
	for i := 0; i < len(digits); i++ {
		if digits[i] == '.' {
			dot = i
		}
	}
	if a.Scale == 0 {
		return dot == -1
	}
	return dot != -1 && len(digits)-dot-1 == a.Scale
}

func allZeroDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '0' && s[i] != '.' {
			return false
		}
	}
	return true
}

func FuzzFormatAmount(f *testing.F) {
	for _, v := range []int64{0, 1, -1, 5, 1234, -500, maxI, minI, maxI - 1, minI + 1} {
		for i := range fuzzAssets {
			f.Add(v, uint8(i))
		}
	}
	f.Fuzz(func(t *testing.T, v int64, which uint8) {
		asset := fuzzAssets[int(which)%len(fuzzAssets)]
		s, err := FormatAmount(v, asset)
		if err != nil {
			t.Fatalf("FormatAmount(%d, %q): %v", v, asset, err)
		}
		back, err := ParseAmount(s, asset)
		if err != nil || back != v {
			t.Fatalf("FormatAmount(%d, %q) = %q, re-parses as %d, %v", v, asset, s, back, err)
		}
	})
}

// checkAgainstBig asserts that got/err is the exact result want when it fits
// in int64 and an "amount_overflow" error otherwise.
func checkAgainstBig(t *testing.T, op string, a, b, got int64, err error, want *big.Int) {
	t.Helper()
	fits := want.IsInt64()
	switch {
	case fits && err != nil:
		t.Fatalf("%s(%d, %d): unexpected error %v, want %s", op, a, b, err, want)
	case fits && got != want.Int64():
		t.Fatalf("%s(%d, %d) = %d, want %s", op, a, b, got, want)
	case !fits && err == nil:
		t.Fatalf("%s(%d, %d) = %d, want overflow (exact %s)", op, a, b, got, want)
	case !fits:
		var e *Error
		if !errors.As(err, &e) || e.Kind != EINVALID || e.Code != "amount_overflow" {
			t.Fatalf("%s(%d, %d): error %#v, want amount_overflow", op, a, b, err)
		}
	}
}

var arithSeeds = [][2]int64{
	{0, 0}, {1, 2}, {maxI, 1}, {maxI, 0}, {minI, -1}, {minI, 0}, {maxI, minI},
	{minI, minI}, {maxI, maxI}, {-1, minI}, {minI, 1}, {3037000500, 3037000500},
	{-3037000500, 3037000500}, {1 << 32, 1 << 31},
}

func FuzzAddAmounts(f *testing.F) {
	for _, s := range arithSeeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b int64) {
		got, err := AddAmounts(a, b)
		want := new(big.Int).Add(big.NewInt(a), big.NewInt(b))
		checkAgainstBig(t, "AddAmounts", a, b, got, err, want)
	})
}

func FuzzSubAmounts(f *testing.F) {
	for _, s := range arithSeeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b int64) {
		got, err := SubAmounts(a, b)
		want := new(big.Int).Sub(big.NewInt(a), big.NewInt(b))
		checkAgainstBig(t, "SubAmounts", a, b, got, err, want)
	})
}

func FuzzMulAmount(f *testing.F) {
	for _, s := range arithSeeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, n int64) {
		got, err := MulAmount(a, n)
		want := new(big.Int).Mul(big.NewInt(a), big.NewInt(n))
		checkAgainstBig(t, "MulAmount", a, n, got, err, want)
	})
}

func BenchmarkParseAmount(b *testing.B) {
	for b.Loop() {
		if _, err := ParseAmount("123456.78", "USD"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFormatAmount(b *testing.B) {
	for b.Loop() {
		if _, err := FormatAmount(12345678, "USD"); err != nil {
			b.Fatal(err)
		}
	}
}
