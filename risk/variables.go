package risk

import (
	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/interpreter"
)

// variable is one leaf of Signals as rules see it. Rules get every leaf as a
// variable with a dotted name ("payment.amount"), which CEL resolves as a
// qualified identifier. That gives the checker a type for every name, so a
// misspelt field or a string compared with a number is refused at Compile,
// not discovered on a live payment; and evaluation reads the struct directly
// instead of building nested maps for every payment.
type variable struct {
	name string
	typ  *cel.Type
	get  func(*Signals) ref.Val
}

// variables lists every leaf of Signals; TestVariablesMatchJSON checks it
// against the JSON names and Go types of the struct.
var variables = buildVariables()

// variableIndex finds a variable by name for the activation.
var variableIndex = func() map[string]*variable {
	m := make(map[string]*variable, len(variables))
	for i := range variables {
		m[variables[i].name] = &variables[i]
	}
	return m
}()

func buildVariables() []variable {
	vs := []variable{
		str("stage", func(s *Signals) string { return s.Stage }),

		integer("payment.amount", func(s *Signals) int64 { return s.Payment.Amount }),
		str("payment.asset", func(s *Signals) string { return s.Payment.Asset }),
		integer("payment.items", func(s *Signals) int64 { return s.Payment.Items }),
		str("payment.merchant_category", func(s *Signals) string { return s.Payment.MerchantCategory }),
		boolean("payment.mandate", func(s *Signals) bool { return s.Payment.Mandate }),
		boolean("payment.mandate_payee", func(s *Signals) bool { return s.Payment.MandatePayee }),

		integer("user.history_count", func(s *Signals) int64 { return s.User.HistoryCount }),
		integer("user.history_median", func(s *Signals) int64 { return s.User.HistoryMedian }),
		integer("user.history_p95", func(s *Signals) int64 { return s.User.HistoryP95 }),
		integer("user.tier", func(s *Signals) int64 { return s.User.Tier }),
		integer("user.tier_per_payment", func(s *Signals) int64 { return s.User.TierPerPayment }),

		boolean("merchant.first_payment", func(s *Signals) bool { return s.Merchant.FirstPayment }),
		boolean("merchant.category_allowed", func(s *Signals) bool { return s.Merchant.CategoryAllowed }),
		integer("merchant.captures_30d", func(s *Signals) int64 { return s.Merchant.Captures30d }),
		integer("merchant.claims_30d", func(s *Signals) int64 { return s.Merchant.Claims30d }),
		double("merchant.claim_rate", func(s *Signals) float64 { return s.Merchant.ClaimRate }),

		integer("agent_key.users_h1", func(s *Signals) int64 { return s.AgentKey.UsersH1 }),
		integer("agent_key.users_d1", func(s *Signals) int64 { return s.AgentKey.UsersD1 }),
		integer("agent_key.decisions_24h", func(s *Signals) int64 { return s.AgentKey.Decisions24h }),
		integer("agent_key.denies_24h", func(s *Signals) int64 { return s.AgentKey.Denies24h }),
		double("agent_key.deny_rate", func(s *Signals) float64 { return s.AgentKey.DenyRate }),
		integer("agent_key.claims_30d", func(s *Signals) int64 { return s.AgentKey.Claims30d }),
		integer("agent_key.captures_30d", func(s *Signals) int64 { return s.AgentKey.Captures30d }),
		double("agent_key.claim_rate", func(s *Signals) float64 { return s.AgentKey.ClaimRate }),

		str("intent.purpose", func(s *Signals) string { return s.Intent.Purpose }),
		boolean("intent.mismatch", func(s *Signals) bool { return s.Intent.Mismatch }),
		double("intent.overlap", func(s *Signals) float64 { return s.Intent.Overlap }),
	}
	subjects := []struct {
		name string
		get  func(*Signals) *Velocity
	}{
		{"grant", func(s *Signals) *Velocity { return &s.Velocity.Grant }},
		{"agent_key", func(s *Signals) *Velocity { return &s.Velocity.AgentKey }},
		{"user", func(s *Signals) *Velocity { return &s.Velocity.User }},
		{"merchant", func(s *Signals) *Velocity { return &s.Velocity.Merchant }},
	}
	windows := []struct {
		name string
		get  func(*Velocity) *Window
	}{
		{"m1", func(v *Velocity) *Window { return &v.M1 }},
		{"h1", func(v *Velocity) *Window { return &v.H1 }},
		{"d1", func(v *Velocity) *Window { return &v.D1 }},
	}
	for _, sub := range subjects {
		for _, win := range windows {
			prefix := "velocity." + sub.name + "." + win.name
			vs = append(vs,
				integer(prefix+".count", func(s *Signals) int64 { return win.get(sub.get(s)).Count }),
				integer(prefix+".amount", func(s *Signals) int64 { return win.get(sub.get(s)).Amount }))
		}
	}
	return vs
}

func integer(name string, get func(*Signals) int64) variable {
	return variable{name, cel.IntType, func(s *Signals) ref.Val { return types.Int(get(s)) }}
}

func double(name string, get func(*Signals) float64) variable {
	return variable{name, cel.DoubleType, func(s *Signals) ref.Val { return types.Double(get(s)) }}
}

func str(name string, get func(*Signals) string) variable {
	return variable{name, cel.StringType, func(s *Signals) ref.Val { return types.String(get(s)) }}
}

func boolean(name string, get func(*Signals) bool) variable {
	return variable{name, cel.BoolType, func(s *Signals) ref.Val { return types.Bool(get(s)) }}
}

// activation hands one payment's signals to the CEL programs. It reads the
// struct on demand, so a rule pays only for the variables it uses.
type activation struct{ s *Signals }

func (a activation) ResolveName(name string) (any, bool) {
	v, ok := variableIndex[name]
	if !ok {
		return nil, false
	}
	return v.get(a.s), true
}

func (activation) Parent() interpreter.Activation { return nil }
