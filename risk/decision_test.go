package risk

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func reasonCodes(d Decision) []string {
	codes := make([]string, len(d.Reasons))
	for i, r := range d.Reasons {
		codes[i] = r.Code
	}
	return codes
}

func TestEvaluate(t *testing.T) {
	// A loop of up to 40·40·40 iterations, far over RuleCostMax.
	list := "[" + strings.TrimSuffix(strings.Repeat("1,", 40), ",") + "]"
	costly := fmt.Sprintf("%s.all(a, %s.all(b, %s.all(c, a + b + c > user.history_count)))", list, list, list)
	rs := MustCompile(`
small challenge "small" payment.amount < 100
huge deny "huge" payment.amount > 1000000
many review "many" payment.items > 10
ratio review "ratio" payment.amount / payment.items > 5000
overflow challenge "overflow" user.tier * 4611686018427387904 < 0
costly challenge "costly" ` + costly + `
`)
	tests := []struct {
		name    string
		amount  int64
		items   int64
		tier    int64
		history int64 // the costly rule loops to its cost limit when 0
		outcome Outcome
		codes   []string
	}{
		{"nothing matches", 500, 2, 1, 100, Allow, []string{}},
		{"one challenge", 50, 2, 1, 100, Challenge, []string{"small"}},
		{"strongest of two wins, reasons in file order", 50, 11, 1, 100, Review, []string{"small", "many"}},
		{"deny beats review", 2000000, 11, 1, 100, Deny, []string{"huge", "many", "ratio"}},
		{"division by zero is a rule error, held for review", 50, 0, 1, 100, Review, []string{"small", "rule_error"}},
		{"an error does not weaken a deny", 2000000, 0, 1, 100, Deny, []string{"huge", "rule_error"}},
		{"integer overflow is a rule error", 500, 2, 2, 100, Review, []string{"rule_error"}},
		{"the cost limit is a rule error", 50, 2, 1, 0, Review, []string{"small", "rule_error"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Signals{Stage: StageCreate, Payment: PaymentSignals{Amount: tt.amount, Items: tt.items},
				User: UserSignals{Tier: tt.tier, HistoryCount: tt.history}}
			d := rs.Evaluate(s)
			if d.Outcome != tt.outcome || !slices.Equal(reasonCodes(d), tt.codes) {
				t.Errorf("got %s %v, want %s %v (%+v)", d.Outcome, reasonCodes(d), tt.outcome, tt.codes, d.Reasons)
			}
			if d.Signals != s || d.RulesVersion != 0 {
				t.Errorf("the decision holds other signals or a version: %+v", d)
			}
			for _, r := range d.Reasons {
				if r.Code == CodeRuleError && (r.Outcome != Review || !strings.Contains(r.Message, "rule ")) {
					t.Errorf("rule error reason %+v", r)
				}
			}
		})
	}
}

func TestEvaluateCostLimitMessage(t *testing.T) {
	list := "[" + strings.TrimSuffix(strings.Repeat("1,", 40), ",") + "]"
	rs := MustCompile(fmt.Sprintf(`loop deny "m" %s.all(a, %s.all(b, a + b > payment.amount))`, list, list))
	d := rs.Evaluate(Signals{})
	if d.Outcome != Review || len(d.Reasons) != 1 || !strings.Contains(d.Reasons[0].Message, "rule loop (line 1)") ||
		!strings.Contains(d.Reasons[0].Message, "cost") {
		t.Errorf("got %+v, want one rule_error about the cost limit", d)
	}
}

func TestDecisionJSON(t *testing.T) {
	d := MustCompile("").Evaluate(Signals{Stage: StageApprove, Payment: PaymentSignals{Amount: 5}})
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"outcome":"allow"`, `"reasons":[]`, `"rules_version":0`, `"stage":"approve"`,
		`"velocity":{"grant":{"m1":{"count":0,"amount":0}`, `"agent_key":{"users_h1":0`, `"merchant_category":""`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %s", b, want)
		}
	}
	var back Decision
	if err := json.Unmarshal(b, &back); err != nil || back.Signals != d.Signals || back.Outcome != d.Outcome {
		t.Errorf("round trip: %+v, %v", back, err)
	}
}
