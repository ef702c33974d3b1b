package risk

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/agentpay/agentpay"
	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/checker"
)

// Limits of a rules file. A ruleset runs on every payment, so its size and
// each rule's work are bounded.
const (
	RulesMax          = 256     // rules in one file
	RuleLineBytesMax  = 4096    // bytes in one line, comments included
	RulesTextBytesMax = 1 << 20 // bytes in the whole file
	RuleCodeBytesMax  = 64      // bytes in a rule's code
	// RuleCostMax is CEL's cost limit for one evaluation of one rule: a
	// comparison costs about 1, so the default rules use under 20, while a
	// rule looping over large literals is stopped (and counts as a
	// rule_error) instead of stalling every payment. Compile proves most
	// rules cannot reach it and gives the others a run-time limit.
	RuleCostMax = 1000
)

// Codes of RuleError.
const (
	ECodeLineTooLong       = "line_too_long"
	ECodeTextTooLarge      = "text_too_large"
	ECodeTooManyRules      = "too_many_rules"
	ECodeInvalidCode       = "invalid_code"
	ECodeDuplicateCode     = "duplicate_code"
	ECodeInvalidOutcome    = "invalid_outcome"
	ECodeInvalidMessage    = "invalid_message"
	ECodeMissingExpression = "missing_expression"
	ECodeInvalidExpression = "invalid_expression"
	ECodeNotBoolean        = "not_boolean"
)

// RuleError is why Compile refused a rules file: the first offending line
// (1-based) and a stable code (one of the ECode* constants).
type RuleError struct {
	Line int
	Code string
	Msg  string
}

func (e *RuleError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// Unwrap presents the error as an agentpay.Error of kind EINVALID, so an API
// that accepts rules from an operator answers 400 with code invalid_rules,
// never 500.
func (e *RuleError) Unwrap() error {
	return &agentpay.Error{Kind: agentpay.EINVALID, Code: "invalid_rules", Param: "rules", Message: e.Error()}
}

func ruleErrorf(line int, code, format string, args ...any) *RuleError {
	return &RuleError{Line: line, Code: code, Msg: fmt.Sprintf(format, args...)}
}

// Ruleset is a compiled rules file. It is immutable and safe for concurrent
// use.
type Ruleset struct {
	text  string
	rules []rule
}

// rule is one compiled line.
type rule struct {
	line    int
	code    string
	outcome Outcome
	message string
	program cel.Program
	// costTracked is whether program stops at RuleCostMax at run time; the
	// others are bounded under it statically.
	costTracked bool
}

// Text returns the rules file the ruleset was compiled from.
func (r *Ruleset) Text() string { return r.text }

// Len returns the number of rules.
func (r *Ruleset) Len() int { return len(r.rules) }

// MustCompile is Compile for rules known to be valid, such as DefaultRules;
// it panics on an error.
func MustCompile(text string) *Ruleset {
	rs, err := Compile(text)
	if err != nil {
		panic("risk: MustCompile: " + err.Error())
	}
	return rs
}

// Compile parses and type-checks a rules file (the format is in the package
// documentation). Every error is a *RuleError naming the first bad line.
func Compile(text string) (*Ruleset, error) {
	env, err := celEnvironment()
	if err != nil {
		// The declarations are fixed; this is a bug, not bad input.
		panic("risk: building the CEL environment: " + err.Error())
	}
	rs := &Ruleset{text: text}
	seen := make(map[string]int) // code -> line
	offset, number := 0, 0
	for line := range strings.Lines(text) {
		number++
		offset += len(line)
		if offset > RulesTextBytesMax {
			return nil, ruleErrorf(number, ECodeTextTooLarge, "the rules file is larger than %d bytes", RulesTextBytesMax)
		}
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		if len(line) > RuleLineBytesMax {
			return nil, ruleErrorf(number, ECodeLineTooLong, "the line is longer than %d bytes", RuleLineBytesMax)
		}
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || trimmed[0] == '#' {
			continue
		}
		if len(rs.rules) == RulesMax {
			return nil, ruleErrorf(number, ECodeTooManyRules, "a rules file holds at most %d rules", RulesMax)
		}
		r, err := compileLine(env, number, line)
		if err != nil {
			return nil, err
		}
		if first, ok := seen[r.code]; ok {
			return nil, ruleErrorf(number, ECodeDuplicateCode, "code %s is already used on line %d", r.code, first)
		}
		seen[r.code] = number
		rs.rules = append(rs.rules, r)
	}
	return rs, nil
}

// compileLine compiles one rule: <code> <outcome> "<message>" <expression>.
func compileLine(env *cel.Env, number int, line string) (rule, error) {
	r := rule{line: number}
	rest := strings.TrimLeft(line, " \t")
	r.code, rest = field(rest)
	if !validCode(r.code) {
		return r, ruleErrorf(number, ECodeInvalidCode, "the rule's code %q must be 1 to %d of a-z, 0-9 and _", truncate(r.code), RuleCodeBytesMax)
	}
	var outcome string
	outcome, rest = field(rest)
	switch r.outcome = Outcome(outcome); r.outcome {
	case Challenge, Review, Deny:
	case Allow:
		return r, ruleErrorf(number, ECodeInvalidOutcome, "rule %s: allow rules change nothing; use challenge, review or deny", r.code)
	default:
		return r, ruleErrorf(number, ECodeInvalidOutcome, "rule %s: unknown outcome %q; use challenge, review or deny", r.code, truncate(outcome))
	}
	message, rest, err := quoted(rest)
	if err != nil {
		return r, ruleErrorf(number, ECodeInvalidMessage, "rule %s: %v", r.code, err)
	}
	r.message = message
	expr := strings.TrimSpace(rest)
	if expr == "" {
		return r, ruleErrorf(number, ECodeMissingExpression, "rule %s has no expression after its message", r.code)
	}
	// CEL reports columns within the expression; shift them to the line.
	column := utf8.RuneCountInString(line[:len(line)-len(strings.TrimLeft(rest, " \t"))])
	ast, issues := env.Compile(expr)
	if issues != nil && issues.Err() != nil {
		e := issues.Errors()[0]
		msg := e.Message
		if strings.HasPrefix(msg, "undeclared reference") {
			msg = undeclared(expr, e.Location.Column())
		}
		if e.Location.Column() < 0 { // limits such as the recursion depth have no position
			return r, ruleErrorf(number, ECodeInvalidExpression, "rule %s: %s", r.code, msg)
		}
		return r, ruleErrorf(number, ECodeInvalidExpression, "rule %s, column %d: %s", r.code, column+e.Location.Column()+1, msg)
	}
	if !ast.OutputType().IsExactType(cel.BoolType) {
		return r, ruleErrorf(number, ECodeNotBoolean, "rule %s: the expression is of type %s, not bool", r.code, ast.OutputType())
	}
	opts := []cel.ProgramOption{cel.EvalOptions(cel.OptOptimize)}
	// Tracking cost at run time makes a rule several times slower (the
	// default rules take 19 µs with it, 2.7 µs without). Most rules
	// compare scalars, and CEL's static estimate bounds what they can cost;
	// only a rule that the estimate cannot bound under RuleCostMax (one
	// looping over a literal, or working on strings of unknown length) pays
	// for the tracker that stops it at the limit.
	if est, err := env.EstimateCost(ast, noEstimates{}); err != nil || est.Max > RuleCostMax {
		opts = append(opts, cel.CostLimit(RuleCostMax))
		r.costTracked = true
	}
	r.program, err = env.Program(ast, opts...)
	if err != nil {
		return r, ruleErrorf(number, ECodeInvalidExpression, "rule %s: %v", r.code, err)
	}
	return r, nil
}

// undeclared explains an unknown name at rune column col of expr, listing
// the variables that share its first part: "payment.amont" gets the fields
// of payment.
func undeclared(expr string, col int) string {
	runes := []rune(expr)
	end := min(max(col, 0), len(runes))
	for end < len(runes) && (runes[end] == '.' || runes[end] == '_' || unicode.IsLetter(runes[end]) || unicode.IsDigit(runes[end])) {
		end++
	}
	name := string(runes[min(max(col, 0), end):end])
	first, _, _ := strings.Cut(name, ".")
	var known []string
	for _, v := range variables {
		if rest, ok := strings.CutPrefix(v.name, first+"."); ok {
			known = append(known, rest)
		}
	}
	if len(known) == 0 {
		return fmt.Sprintf("unknown name %q; the variables are stage, payment, user, velocity, merchant, agent_key and intent", truncate(name))
	}
	return fmt.Sprintf("unknown name %q; %s has %s", truncate(name), first, strings.Join(known, ", "))
}

// noEstimates gives CEL's cost estimator no sizes or costs beyond its own:
// variables' strings are of unknown length.
type noEstimates struct{}

func (noEstimates) EstimateSize(checker.AstNode) *checker.SizeEstimate { return nil }

func (noEstimates) EstimateCallCost(string, string, *checker.AstNode, []checker.AstNode) *checker.CallEstimate {
	return nil
}

// field splits s at its first space or tab, and trims the rest's leading
// blanks.
func field(s string) (string, string) {
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimLeft(s[i:], " \t")
}

func validCode(code string) bool {
	if code == "" || len(code) > RuleCodeBytesMax {
		return false
	}
	for _, c := range []byte(code) {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// quoted reads the double-quoted message at the start of s (Go's escapes)
// and returns it with what follows. The message is shown to users, so it
// must be printable text.
func quoted(s string) (message, rest string, err error) {
	if !strings.HasPrefix(s, `"`) {
		return "", "", fmt.Errorf("the message must follow the outcome in double quotes")
	}
	q, err := strconv.QuotedPrefix(s)
	if err != nil {
		return "", "", fmt.Errorf("the message's closing quote is missing or an escape is invalid")
	}
	message, err = strconv.Unquote(q)
	if err != nil {
		return "", "", fmt.Errorf("the message is not a valid quoted string")
	}
	rest = s[len(q):]
	if rest != "" && rest[0] != ' ' && rest[0] != '\t' {
		return "", "", fmt.Errorf("a space must separate the message from the expression")
	}
	if strings.TrimSpace(message) == "" {
		return "", "", fmt.Errorf("the message is empty")
	}
	if !utf8.ValidString(message) || strings.IndexFunc(message, unicode.IsControl) >= 0 {
		return "", "", fmt.Errorf("the message must be printable UTF-8 text on one line")
	}
	return message, rest, nil
}

// truncate keeps error messages short when the input is long, cutting at a
// character boundary.
func truncate(s string) string {
	const bytesMax = 40
	if len(s) <= bytesMax {
		return s
	}
	end := bytesMax
	for end > 0 && !utf8.RuneStart(s[end]) {
		end--
	}
	return s[:end] + "…"
}
