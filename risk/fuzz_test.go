package risk

import (
	"errors"
	"strings"
	"testing"
)

// FuzzCompile feeds Compile arbitrary files: it must never panic, must
// refuse with a *RuleError naming a line, and whatever it accepts must
// evaluate without panicking to a valid decision.
func FuzzCompile(f *testing.F) {
	f.Add(DefaultRules)
	for line := range strings.Lines(DefaultRules) {
		f.Add(line)
	}
	f.Add(`r1 deny "m" payment.amount / payment.items > 3`)
	f.Add("r1 review \"a \\\"quoted\\\" message\" [1, 2, 3].exists(x, x > payment.items)\r\n# end")
	f.Add(`r1 deny "m" payment.amont > 1`)
	f.Fuzz(func(t *testing.T, text string) {
		rs, err := Compile(text)
		if err != nil {
			var re *RuleError
			if !errors.As(err, &re) || re.Line < 1 || re.Code == "" || re.Msg == "" {
				t.Fatalf("Compile error %#v is not a *RuleError with a line, a code and a message", err)
			}
			return
		}
		if rs.Len() > RulesMax || rs.Text() != text {
			t.Fatalf("accepted %d rules, text changed: %v", rs.Len(), rs.Text() != text)
		}
		for _, s := range []Signals{{}, normalSignals()} {
			d := rs.Evaluate(s)
			if !d.Outcome.Valid() || len(d.Reasons) > rs.Len() {
				t.Fatalf("decision %+v", d)
			}
			for _, r := range d.Reasons {
				if !r.Outcome.Valid() || r.Outcome == Allow || r.Code == "" || r.Message == "" || r.Outcome.Stronger(d.Outcome) {
					t.Fatalf("reason %+v in decision %s", r, d.Outcome)
				}
			}
		}
	})
}
