package acp

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/agentpay/agentpay"
)

// ProblemsMax bounds the problems an InvalidFeedError lists: enough to fix
// a feed in a few rounds, few enough to read.
const ProblemsMax = 5

// Problem is one thing wrong with a feed.
type Problem struct {
	// Param is where, as an RFC 9535 JSONPath into the document sent, e.g.
	// $.products[0].variants[1].price.amount.
	Param   string
	Code    string // e.g. invalid_type, invalid_amount, unknown_currency
	Message string
}

// InvalidFeedError refuses a feed whole: the problems found, the first
// ProblemsMax of them in document order. It unwraps to an *agentpay.Error
// (EINVALID, code invalid_feed, param the first problem's path) whose
// message lists them.
type InvalidFeedError struct {
	Problems []Problem
	Count    int // all problems found
}

func (e *InvalidFeedError) Error() string { return e.Unwrap().Error() }

// Unwrap returns the error as the API shows it.
func (e *InvalidFeedError) Unwrap() error {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.Param + ": " + p.Message + " (" + p.Code + ")"
	}
	msg := "the feed is invalid and nothing was stored: " + strings.Join(parts, "; ")
	if more := e.Count - len(e.Problems); more > 0 {
		msg += fmt.Sprintf("; and %d more problems", more)
	}
	param := ""
	if len(e.Problems) > 0 {
		param = e.Problems[0].Param
	}
	return &agentpay.Error{Kind: agentpay.EINVALID, Code: "invalid_feed", Param: param, Message: msg}
}

// invalid returns the problems as an *InvalidFeedError, or nil if there
// are none. Problems are sorted by where they are.
func invalid(problems []Problem) error {
	if len(problems) == 0 {
		return nil
	}
	slices.SortStableFunc(problems, func(a, b Problem) int { return comparePaths(a.Param, b.Param) })
	return &InvalidFeedError{Problems: problems[:min(len(problems), ProblemsMax)], Count: len(problems)}
}

// jsonPath renders a location (object keys and array indexes, as the
// schema validator reports them) as a normalized RFC 9535 JSONPath. Every
// all-digit token is an index: feed objects have no such keys.
func jsonPath(tokens []string) string {
	var b strings.Builder
	b.WriteString("$")
	for _, t := range tokens {
		switch {
		case t != "" && strings.Trim(t, "0123456789") == "":
			b.WriteString("[" + t + "]")
		case identifier(t):
			b.WriteString("." + t)
		default:
			b.WriteString("['" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(t) + "']")
		}
	}
	return b.String()
}

func identifier(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if !(c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// comparePaths orders JSONPaths the way their values appear in a
// document: indexes by number, so $.products[2] comes before
// $.products[10].
func comparePaths(a, b string) int {
	for a != "" && b != "" {
		na, ra := leadingNumber(a)
		nb, rb := leadingNumber(b)
		if ra != a && rb != b { // both start with digits
			if na != nb {
				return cmpInt(na, nb)
			}
			a, b = ra, rb
			continue
		}
		if a[0] != b[0] {
			return cmpInt(int(a[0]), int(b[0]))
		}
		a, b = a[1:], b[1:]
	}
	return cmpInt(len(a), len(b))
}

func leadingNumber(s string) (int, string) {
	i := 0
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, s
	}
	n, err := strconv.Atoi(s[:i])
	if err != nil {
		n = int(^uint(0) >> 1)
	}
	return n, s[i:]
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
