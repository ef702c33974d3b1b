package risk

import (
	"fmt"

	"github.com/google/cel-go/common/types"
)

// CodeRuleError is the reason code of a rule that failed at run time.
const CodeRuleError = "rule_error"

// Reason is why a rule matched: its code, its outcome and its message for
// the user or the operator.
type Reason struct {
	Code    string  `json:"code"`
	Outcome Outcome `json:"outcome"`
	Message string  `json:"message"`
}

// Decision is what the engine decided, with the signals it used, so it can be
// explained later.
type Decision struct {
	Outcome      Outcome  `json:"outcome"`
	Reasons      []Reason `json:"reasons"` // every matched rule, in file order; empty, not nil, on Allow
	RulesVersion int64    `json:"rules_version"`
	Signals      Signals  `json:"signals"`
}

// Evaluate runs every rule against s. The outcome is the strongest outcome of
// the rules that matched, Allow if none did; Reasons lists every match in file
// order, so the user or operator sees all of them, not just the deciding one.
//
// A rule that fails at run time (an integer overflow, a division by zero,
// its cost limit) counts as matching with outcome Review and code rule_error.
// Failing open would let whoever can provoke the error (an agent choosing an
// amount, say) switch the rule off; failing to Deny would let one bad rule
// refuse every payment. Review holds the payment for an operator, who sees
// which rule broke.
func (r *Ruleset) Evaluate(s Signals) Decision {
	d := Decision{Outcome: Allow, Reasons: []Reason{}, Signals: s}
	vars := activation{s: &d.Signals}
	for i := range r.rules {
		rl := &r.rules[i]
		reason, matched := rl.evaluate(vars)
		if !matched {
			continue
		}
		d.Reasons = append(d.Reasons, reason)
		if reason.Outcome.Stronger(d.Outcome) {
			d.Outcome = reason.Outcome
		}
	}
	return d
}

// evaluate runs one rule and returns its reason if it matched.
func (rl *rule) evaluate(vars activation) (Reason, bool) {
	val, _, err := rl.program.Eval(vars)
	if err != nil {
		return Reason{Code: CodeRuleError, Outcome: Review,
			Message: fmt.Sprintf("rule %s (line %d) could not be evaluated: %v", rl.code, rl.line, err)}, true
	}
	switch val {
	case types.True:
		return Reason{Code: rl.code, Outcome: rl.outcome, Message: rl.message}, true
	case types.False:
		return Reason{}, false
	}
	// Compile admits only boolean expressions, so this is a bug in CEL or
	// here; it is held like any other failure.
	return Reason{Code: CodeRuleError, Outcome: Review,
		Message: fmt.Sprintf("rule %s (line %d) returned %v, not a boolean", rl.code, rl.line, val.Type())}, true
}
