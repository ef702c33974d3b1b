package risk

import (
	"sync"
	"testing"
)

func TestEngine(t *testing.T) {
	lenient := MustCompile(`big review "big" payment.amount > 1000`)
	strict := MustCompile(`big deny "big" payment.amount > 100`)
	e := NewEngine(lenient, 1)
	s := Signals{Payment: PaymentSignals{Amount: 500}}
	if d := e.Evaluate(s); d.Outcome != Allow || d.RulesVersion != 1 {
		t.Errorf("version 1: got %s at version %d", d.Outcome, d.RulesVersion)
	}
	e.Set(strict, 2)
	if d := e.Evaluate(s); d.Outcome != Deny || d.RulesVersion != 2 {
		t.Errorf("version 2: got %s at version %d", d.Outcome, d.RulesVersion)
	}
	if rs, v := e.Rules(); rs != strict || v != 2 {
		t.Errorf("Rules() = %p, %d; want %p, 2", rs, v, strict)
	}
}

func TestEngineNilRulesetPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"NewEngine": func() { NewEngine(nil, 1) },
		"Set":       func() { NewEngine(MustCompile(""), 1).Set(nil, 2) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("a nil ruleset was accepted")
				}
			}()
			f()
		})
	}
}

// TestEngineConcurrentSet swaps rulesets while many goroutines decide; run
// with -race. Every decision must be the one its stamped version gives:
// odd versions deny the payment, even ones allow it.
func TestEngineConcurrentSet(t *testing.T) {
	deny := MustCompile(`all deny "all" payment.amount > 0`)
	allow := MustCompile(`none deny "none" payment.amount < 0`)
	e := NewEngine(deny, 1)
	const deciders, decisions, swaps = 8, 2000, 500
	var wg sync.WaitGroup
	errs := make(chan string, deciders)
	for range deciders {
		wg.Go(func() {
			s := normalSignals()
			last := int64(0)
			for range decisions {
				d := e.Evaluate(s)
				want := Allow
				if d.RulesVersion%2 == 1 {
					want = Deny
				}
				if d.Outcome != want || d.RulesVersion < last {
					errs <- "inconsistent decision"
					return
				}
				last = d.RulesVersion
			}
		})
	}
	wg.Go(func() {
		for v := int64(2); v < swaps; v++ {
			rs := allow
			if v%2 == 1 {
				rs = deny
			}
			e.Set(rs, v)
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
