package risk

import "sync/atomic"

// Engine holds the current ruleset and its version. Evaluate never waits for
// Set: a new ruleset replaces the old one with one atomic pointer swap, and a
// decision already running finishes with the ruleset it started with. Make
// one with NewEngine; the zero Engine has no rules and panics rather than
// allow everything.
type Engine struct {
	current atomic.Pointer[engineRules]
}

// engineRules pairs a ruleset with its version, so a decision can never be
// stamped with the version of a ruleset it did not use.
type engineRules struct {
	rules   *Ruleset
	version int64
}

// NewEngine returns an engine deciding with rs, stamped version. rs must not
// be nil: an engine without rules would allow everything.
func NewEngine(rs *Ruleset, version int64) *Engine {
	e := &Engine{}
	e.Set(rs, version)
	return e
}

// Set replaces the ruleset. rs must not be nil.
func (e *Engine) Set(rs *Ruleset, version int64) {
	if rs == nil {
		panic("risk: Engine.Set with a nil ruleset")
	}
	e.current.Store(&engineRules{rules: rs, version: version})
}

// Rules returns the current ruleset and its version.
func (e *Engine) Rules() (*Ruleset, int64) {
	c := e.current.Load()
	return c.rules, c.version
}

// Evaluate decides with the current ruleset and stamps its version.
func (e *Engine) Evaluate(s Signals) Decision {
	c := e.current.Load()
	d := c.rules.Evaluate(s)
	d.RulesVersion = c.version
	return d
}
