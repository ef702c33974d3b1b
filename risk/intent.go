package risk

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// IntentTokensMax bounds the distinct words of a purpose that IntentOverlap
// compares; the rest are ignored, which keeps its work linear in the input.
const IntentTokensMax = 64

// intentStopWords carry no intent: function words, the verbs of buying, and
// words any merchant name may hold ("store", "online"). The last matter: a
// purpose "a charger from an online store" must not match "Gift Cards Online
// Store" on "online" and "store".
var intentStopWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`
		the and for with from into onto about this that these those its his her our your you
		they them their are was were will can could would should has have had not but all any
		one two via per each more most just also like use using some please need want wants
		new now today tonight asap
		buy buying bought get getting order ordering purchase purchasing pay paying payment
		shop store online official ltd inc llc gmbh company com www http https`) {
		m[w] = true
	}
	return m
}()

// IntentOverlap compares what an agent said it was buying (purpose) with
// whom it is paying and for what. overlap is the fraction of the purpose's
// content words found among the merchant's and items' words; mismatch is true
// when the purpose has at least two content words and none is found: the
// sign of an agent talked into paying someone else. An empty purpose, or one
// of a single word, is never a mismatch: there is too little to judge.
//
// Words are runs of Unicode letters, digits and marks, lower-cased; words
// shorter than three characters and stop words are dropped, and plurals are
// crudely stemmed ("chargers", "boxes", "batteries"). Two words match when
// equal or when one is a prefix of the other at least four characters long
// ("laptop" and "laptopstand"). Languages written without spaces give one
// long word per phrase, so they rarely match, and rarely count as a mismatch.
func IntentOverlap(purpose, merchantName string, itemNames []string) (overlap float64, mismatch bool) {
	want := intentTokens(purpose, IntentTokensMax)
	if len(want) == 0 {
		return 0, false
	}
	have := map[string]bool{}
	for _, t := range intentTokens(merchantName, -1) {
		have[t] = true
	}
	for _, name := range itemNames {
		for _, t := range intentTokens(name, -1) {
			have[t] = true
		}
	}
	found := 0
	for _, w := range want {
		if have[w] || prefixMatch(w, have) {
			found++
		}
	}
	return float64(found) / float64(len(want)), len(want) >= 2 && found == 0
}

// intentTokens returns the distinct content words of s, at most limit of
// them (no limit if negative).
func intentTokens(s string, limit int) []string {
	var out []string
	seen := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(s), notWordRune) {
		if limit >= 0 && len(out) == limit {
			break
		}
		if utf8.RuneCountInString(w) < 3 || intentStopWords[w] {
			continue
		}
		w = stem(w)
		if intentStopWords[w] || seen[w] {
			continue
		}
		seen[w] = true
		out = append(out, w)
	}
	return out
}

func notWordRune(r rune) bool {
	return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r)
}

// stem strips an English plural ending, crudely: both sides of a comparison
// are stemmed alike, so consistency matters more than linguistics. A stem
// keeps at least three characters.
func stem(w string) string {
	n := utf8.RuneCountInString(w)
	switch {
	case strings.HasSuffix(w, "ies") && n > 4:
		return strings.TrimSuffix(w, "ies") + "y" // batteries
	case strings.HasSuffix(w, "es") && n > 4 && hasAnySuffix(strings.TrimSuffix(w, "es"), "ss", "x", "z", "ch", "sh"):
		return strings.TrimSuffix(w, "es") // boxes, glasses, watches
	case strings.HasSuffix(w, "s") && n > 3 && !hasAnySuffix(w, "ss", "us", "is"):
		return strings.TrimSuffix(w, "s") // chargers, cases
	}
	return w
}

func hasAnySuffix(s string, suffixes ...string) bool {
	for _, suffix := range suffixes {
		if strings.HasSuffix(s, suffix) {
			return true
		}
	}
	return false
}

// prefixMatch reports whether w is a prefix of a word in have or has one as
// a prefix, the shorter of the two at least four characters long.
func prefixMatch(w string, have map[string]bool) bool {
	if utf8.RuneCountInString(w) < 4 {
		return false
	}
	for h := range have {
		short, long := h, w
		if len(short) > len(long) {
			short, long = long, short
		}
		if strings.HasPrefix(long, short) && utf8.RuneCountInString(short) >= 4 {
			return true
		}
	}
	return false
}
