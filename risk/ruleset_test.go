package risk

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/agentpay/agentpay"
)

func TestCompileErrors(t *testing.T) {
	const ok = `ok_rule review "fine" payment.amount > 100`
	tooMany := strings.Repeat("\n", 2) // the 257th rule is on line 259
	for i := range RulesMax + 1 {
		tooMany += fmt.Sprintf("r%d deny \"m\" payment.amount > %d\n", i, i)
	}
	tests := []struct {
		name, text string
		line       int
		code       string
		contains   string
	}{
		{"unknown outcome", ok + "\nr2 block \"m\" true", 2, ECodeInvalidOutcome, "unknown outcome"},
		{"allow outcome", "# c\n\nr2 allow \"m\" true", 3, ECodeInvalidOutcome, "change nothing"},
		{"missing outcome", "r1", 1, ECodeInvalidOutcome, ""},
		{"upper-case code", "Amount deny \"m\" true", 1, ECodeInvalidCode, ""},
		{"code with a dash", "amount-big deny \"m\" true", 1, ECodeInvalidCode, ""},
		{"code too long", strings.Repeat("a", RuleCodeBytesMax+1) + " deny \"m\" true", 1, ECodeInvalidCode, ""},
		{"duplicate code", ok + "\n\nok_rule deny \"again\" true", 3, ECodeDuplicateCode, "line 1"},
		{"unquoted message", "r1 deny message true", 1, ECodeInvalidMessage, "double quotes"},
		{"single-quoted message", "r1 deny 'm' true", 1, ECodeInvalidMessage, ""},
		{"unterminated message", "r1 deny \"message true", 1, ECodeInvalidMessage, "closing quote"},
		{"bad escape", `r1 deny "bad \q" true`, 1, ECodeInvalidMessage, ""},
		{"no space after message", `r1 deny "m"true`, 1, ECodeInvalidMessage, "space"},
		{"empty message", `r1 deny "  " true`, 1, ECodeInvalidMessage, "empty"},
		{"control character in message", `r1 deny "two\nlines" true`, 1, ECodeInvalidMessage, "printable"},
		{"invalid UTF-8 in message", `r1 deny "\xff" true`, 1, ECodeInvalidMessage, "printable"},
		{"no expression", ok + "\nr2 deny \"m\"   ", 2, ECodeMissingExpression, ""},
		{"parse error", ok + "\nr2 deny \"m\" payment.amount >", 2, ECodeInvalidExpression, "column"},
		{"misspelt variable", "r1 deny \"m\" payment.amont > 1", 1, ECodeInvalidExpression, `"payment.amont"; payment has amount`},
		{"unknown top-level name", "r1 deny \"m\" wallet.balance < 0", 1, ECodeInvalidExpression, "the variables are"},
		{"type error", "r1 deny \"m\" payment.asset > 5", 1, ECodeInvalidExpression, "no matching overload"},
		{"mixed arithmetic", "r1 deny \"m\" payment.amount > 1.5 * user.history_median", 1, ECodeInvalidExpression, "column 34"},
		{"not boolean", ok + "\nr2 deny \"m\" payment.amount + 1", 2, ECodeNotBoolean, "int"},
		{"nested too deep", "r1 deny \"m\" " + strings.Repeat("[", 1000), 1, ECodeInvalidExpression, "recursion"},
		{"bad regex", `r1 deny "m" intent.purpose.matches("(")`, 1, ECodeInvalidExpression, ""},
		{"too many rules", tooMany, RulesMax + 3, ECodeTooManyRules, ""},
		{"line too long", ok + "\n# " + strings.Repeat("x", RuleLineBytesMax), 2, ECodeLineTooLong, ""},
		{"text too large", strings.Repeat("#"+strings.Repeat("x", 1000)+"\n", RulesTextBytesMax/1002+1), RulesTextBytesMax/1002 + 1, ECodeTextTooLarge, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, err := Compile(tt.text)
			var re *RuleError
			if !errors.As(err, &re) {
				t.Fatalf("Compile = %v, %v; want a *RuleError", rs, err)
			}
			if re.Line != tt.line || re.Code != tt.code {
				t.Errorf("error %q at line %d (%s), want line %d (%s)", re.Msg, re.Line, re.Code, tt.line, tt.code)
			}
			if !strings.HasPrefix(err.Error(), fmt.Sprintf("line %d: ", tt.line)) || !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("Error() = %q, want it to start with the line and hold %q", err, tt.contains)
			}
			if agentpay.ErrorKind(err) != agentpay.EINVALID || agentpay.ErrorCode(err) != "invalid_rules" {
				t.Errorf("the error is of kind %s, code %s; want invalid, invalid_rules", agentpay.ErrorKind(err), agentpay.ErrorCode(err))
			}
		})
	}
}

func TestCompileAccepts(t *testing.T) {
	tests := []struct {
		name, text string
		rules      int
		message    string // of the first rule
	}{
		{"empty file", "", 0, ""},
		{"comments and blanks", "# one\n\n   # indented comment\n\t\n", 0, ""},
		{"CRLF line endings", "# c\r\nr1 deny \"m\" payment.amount > 1\r\nr2 review \"n\" true\r\n", 2, "m"},
		{"tabs and extra spaces", "\t r1 \t challenge\t \"m\" \t payment.amount > 1 ", 1, "m"},
		{"escaped quote in message", `r1 deny "the \"agent\" said \u00e9" payment.amount > 1`, 1, `the "agent" said é`},
		{"hash inside a CEL string", `r1 review "m" intent.purpose.contains("#1")`, 1, "m"},
		{"int compared with double", `r1 review "m" merchant.claim_rate > 0 && agent_key.deny_rate >= 1`, 1, "m"},
		{"explicit conversion", `r1 review "m" double(payment.amount) > 1.5 * double(user.history_median)`, 1, "m"},
		{"exactly RulesMax rules", manyRules(RulesMax), RulesMax, "m"},
		{"line of exactly RuleLineBytesMax bytes", padRule(RuleLineBytesMax), 1, "m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, err := Compile(tt.text)
			if err != nil {
				t.Fatal(err)
			}
			if rs.Len() != tt.rules || rs.Text() != tt.text {
				t.Errorf("Len() = %d, want %d; Text() changed", rs.Len(), tt.rules)
			}
			if tt.rules > 0 && rs.rules[0].message != tt.message {
				t.Errorf("message %q, want %q", rs.rules[0].message, tt.message)
			}
		})
	}
}

func manyRules(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "r%d deny \"m\" payment.amount > %d\n", i, i)
	}
	return b.String()
}

// padRule returns a valid rule line of exactly n bytes.
func padRule(n int) string {
	line := `r1 deny "m" payment.amount > 1 || intent.purpose == ""`
	return line[:len(line)-1] + strings.Repeat("x", n-len(line)) + `"`
}

func TestMustCompilePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("MustCompile of a bad file did not panic")
		}
	}()
	MustCompile("r1 deny")
}

// TestCostLimit checks which rules Compile gives a run-time cost limit:
// those whose cost CEL cannot bound statically under RuleCostMax.
func TestCostLimit(t *testing.T) {
	for _, r := range MustCompile(DefaultRules).rules {
		if r.costTracked {
			t.Errorf("default rule %s is cost-tracked at run time", r.code)
		}
	}
	for _, tt := range []struct {
		expr    string
		tracked bool
	}{
		{"payment.amount > 3 * user.history_median && !merchant.first_payment", false},
		{"[1, 2, 3].exists(x, x == payment.items)", false},
		{`intent.purpose.contains("gift card")`, true}, // a string of unknown length
		{"[" + strings.Repeat("1,", 99) + "1].all(a, [" + strings.Repeat("1,", 99) + "1].all(b, a + b > payment.items))", true},
	} {
		rs := MustCompile(`r1 review "m" ` + tt.expr)
		if rs.rules[0].costTracked != tt.tracked {
			t.Errorf("%s: cost tracked %v, want %v", tt.expr, rs.rules[0].costTracked, tt.tracked)
		}
	}
}
