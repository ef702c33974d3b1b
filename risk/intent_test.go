package risk

import (
	"math"
	"strings"
	"testing"
)

func TestIntentOverlap(t *testing.T) {
	tests := []struct {
		name     string
		purpose  string
		merchant string
		items    []string
		overlap  float64
		mismatch bool
	}{
		{"prompt injection: gift cards instead of a charger", "buy a USB-C charger for my laptop",
			"Crypto Gift Cards Ltd", []string{"Gift card 500"}, 0, true},
		{"the charger it said it would buy", "buy a USB-C charger for my laptop",
			"ElectroShop", []string{"USB-C charger 65W"}, 2.0 / 3, false},
		{"generic shop words do not count as a match", "buy a phone charger from an online store",
			"Gift Cards Online Store", []string{"Gift card"}, 0, true},
		{"empty purpose", "", "Crypto Gift Cards Ltd", []string{"Gift card 500"}, 0, false},
		{"only stop words and short words", "buy it for me, please", "Anything", nil, 0, false},
		{"a single content word is too little to judge", "groceries", "Steam", []string{"Game"}, 0, false},
		{"merchant name alone matches", "pizza delivery tonight", "Pizza Palace", nil, 0.5, false},
		{"plurals", "batteries and cables and boxes", "Parts", []string{"AA battery 4-pack", "USB cable", "Box"}, 1, false},
		{"plural on the merchant's side", "phone case", "Cases & Covers", []string{"Phone cases"}, 1, false},
		{"prefix of four letters or more", "laptop stand", "Desk Co", []string{"Laptopstand aluminium"}, 0.5, false},
		{"prefixes shorter than four letters do not count", "car wax", "Cartier", []string{"Waxed jacket"}, 0, true},
		{"Unicode case folding", "ÉCOUTEURS sans fil", "Boutique Son", []string{"Écouteurs Bluetooth"}, 1.0 / 3, false},
		{"decomposed accents stay in the word", "cafe\u0301 beans", "Roasters", []string{"CAFE\u0301 crème"}, 0.5, false},
		{"German compound", "Kaffeebohnen für das Büro", "Rösterei", []string{"Kaffeebohnen 1kg"}, 0.25, false},
		{"no items and an unrelated merchant", "train ticket to Paris", "Casino Royale", nil, 0, true},
		{"repeated words count once", "charger charger cable", "X", []string{"cable"}, 0.5, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			overlap, mismatch := IntentOverlap(tt.purpose, tt.merchant, tt.items)
			if math.Abs(overlap-tt.overlap) > 1e-9 || mismatch != tt.mismatch {
				t.Errorf("IntentOverlap = %v, %v; want %v, %v (purpose words %q)", overlap, mismatch, tt.overlap, tt.mismatch,
					intentTokens(tt.purpose, IntentTokensMax))
			}
		})
	}
}

func TestIntentTokens(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Buy a USB-C charger for my laptop", "usb charger laptop"},
		{"chargers watches glasses batteries cases status bus", "charger watch glass battery case status bus"},
		{"ÉCOUTEURS, ÉCOUTEURS; écouteur", "écouteur"},
		{"order #12345 via https://shop.example.com", "12345 example"},
	}
	for _, tt := range tests {
		if got := strings.Join(intentTokens(tt.in, -1), " "); got != tt.want {
			t.Errorf("intentTokens(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	long := strings.Repeat("word ", 10)
	for i := range 2 * IntentTokensMax {
		long += " token" + strings.Repeat("x", i)
	}
	if got := len(intentTokens(long, IntentTokensMax)); got != IntentTokensMax {
		t.Errorf("%d purpose words kept, want %d", got, IntentTokensMax)
	}
}
