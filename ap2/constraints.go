package ap2

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/agentpay/agentpay"
)

// Constraint types (open_payment_mandate.json and open_checkout_mandate.json
// $defs).
const (
	ConstraintAmountRange               = "payment.amount_range"
	ConstraintBudget                    = "payment.budget"
	ConstraintAllowedPayees             = "payment.allowed_payees"
	ConstraintAgentRecurrence           = "payment.agent_recurrence"
	ConstraintAllowedPaymentInstruments = "payment.allowed_payment_instruments"
	ConstraintAllowedPISPs              = "payment.allowed_pisps"
	ConstraintExecutionDate             = "payment.execution_date"
	ConstraintPaymentReference          = "payment.reference"
	ConstraintAllowedMerchants          = "checkout.allowed_merchants"
	ConstraintLineItems                 = "checkout.line_items"
)

// Frequencies of payment.agent_recurrence.
const (
	FrequencyOnDemand  = "ON_DEMAND"
	FrequencyDaily     = "DAILY"
	FrequencyWeekly    = "WEEKLY"
	FrequencyBiweekly  = "BIWEEKLY"
	FrequencyMonthly   = "MONTHLY"
	FrequencyQuarterly = "QUARTERLY"
	FrequencyAnnually  = "ANNUALLY"
)

// Constraint is one constraint of an open mandate: one of the types below,
// or UnknownConstraint for anything else.
type Constraint interface {
	ConstraintType() string
}

// AmountRange bounds the amount of each payment, in minor units.
type AmountRange struct {
	Currency string `json:"currency"`
	Max      int64  `json:"max"`
	Min      *int64 `json:"min,omitempty"`
}

// Budget caps the total of all payments under the mandate. Unlike every
// other AP2 amount, max is a JSON number in major units (1000.00 USD); the
// reference SDK converts it with int(max*100). Money converts it exactly
// with the currency's scale.
type Budget struct {
	Max      json.Number `json:"max"`
	Currency string      `json:"currency"`
}

// AgentRecurrence lets the agent use the mandate repeatedly.
type AgentRecurrence struct {
	Frequency      string `json:"frequency"`
	MaxOccurrences *int64 `json:"max_occurrences,omitempty"`
}

// AllowedPayees lists the merchants payments may go to.
type AllowedPayees struct {
	Allowed []Merchant `json:"allowed"`
}

// AllowedPaymentInstruments lists the instruments payments may use.
type AllowedPaymentInstruments struct {
	Allowed []PaymentInstrument `json:"allowed"`
}

// AllowedPISPs lists the payment initiation service providers allowed.
type AllowedPISPs struct {
	Allowed []PISP `json:"allowed"`
}

// ExecutionDate bounds when a payment executes: ISO 8601 dates or RFC 3339
// date-times, both ends inclusive.
type ExecutionDate struct {
	NotBefore string `json:"not_before,omitempty"`
	NotAfter  string `json:"not_after,omitempty"`
}

// PaymentReference ties an open payment mandate to the open checkout
// mandate approved with it.
type PaymentReference struct {
	ConditionalTransactionID string `json:"conditional_transaction_id"`
}

// AllowedMerchants lists the merchants a checkout may be with.
type AllowedMerchants struct {
	Allowed []Merchant `json:"allowed"`
}

// LineItems says what a checkout may contain.
type LineItems struct {
	Items []LineItemRequirement `json:"items"`
}

// LineItemRequirement is one slot of a line_items constraint: up to
// Quantity units of any of AcceptableItems.
type LineItemRequirement struct {
	ID              string           `json:"id"`
	AcceptableItems []AcceptableItem `json:"acceptable_items"`
	Quantity        int64            `json:"quantity"`
}

// UnknownConstraint is a constraint agentpay cannot evaluate: an unknown
// type, or a known type with members agentpay does not know (they might
// narrow it). Evaluating a mandate that holds one fails with
// unresolved_constraint, as AP2 requires of unknown constraints.
type UnknownConstraint struct {
	Type   string
	Raw    json.RawMessage
	Reason string
}

func (AmountRange) ConstraintType() string               { return ConstraintAmountRange }
func (Budget) ConstraintType() string                    { return ConstraintBudget }
func (AgentRecurrence) ConstraintType() string           { return ConstraintAgentRecurrence }
func (AllowedPayees) ConstraintType() string             { return ConstraintAllowedPayees }
func (AllowedPaymentInstruments) ConstraintType() string { return ConstraintAllowedPaymentInstruments }
func (AllowedPISPs) ConstraintType() string              { return ConstraintAllowedPISPs }
func (ExecutionDate) ConstraintType() string             { return ConstraintExecutionDate }
func (PaymentReference) ConstraintType() string          { return ConstraintPaymentReference }
func (AllowedMerchants) ConstraintType() string          { return ConstraintAllowedMerchants }
func (LineItems) ConstraintType() string                 { return ConstraintLineItems }
func (u UnknownConstraint) ConstraintType() string       { return u.Type }

// BudgetOf returns the budget constraint for m.
func BudgetOf(m agentpay.Money) (Budget, error) {
	s, err := agentpay.FormatAmount(m.Amount, m.Asset)
	if err != nil {
		return Budget{}, err
	}
	return Budget{Max: json.Number(s), Currency: m.Asset}, nil
}

// Money returns the budget in minor units. A max with more decimals than
// the currency has, or in exponent form, is refused rather than rounded.
func (b Budget) Money() (agentpay.Money, error) {
	amount, err := agentpay.ParseAmount(string(b.Max), b.Currency)
	if err != nil {
		return agentpay.Money{}, err
	}
	if amount < 0 {
		return agentpay.Money{}, errors.New("a budget is not negative")
	}
	return agentpay.Money{Amount: amount, Asset: b.Currency}, nil
}

// Constraints is the constraints array of an open mandate.
type Constraints []Constraint

// constraintKind is what decoding knows of one constraint type: its
// members (besides type), which of them are required, and its Go type.
type constraintKind struct {
	members  []string
	required []string
	decode   func([]byte) (Constraint, error)
}

func decodeAs[T Constraint](data []byte) (Constraint, error) {
	var c T
	err := json.Unmarshal(data, &c)
	return c, err
}

var constraintKinds = map[string]constraintKind{
	ConstraintAmountRange:               {[]string{"currency", "max", "min"}, []string{"currency", "max"}, decodeAs[AmountRange]},
	ConstraintBudget:                    {[]string{"max", "currency"}, []string{"max", "currency"}, decodeAs[Budget]},
	ConstraintAgentRecurrence:           {[]string{"frequency", "max_occurrences"}, []string{"frequency"}, decodeAs[AgentRecurrence]},
	ConstraintAllowedPayees:             {[]string{"allowed"}, []string{"allowed"}, decodeAs[AllowedPayees]},
	ConstraintAllowedPaymentInstruments: {[]string{"allowed"}, []string{"allowed"}, decodeAs[AllowedPaymentInstruments]},
	ConstraintAllowedPISPs:              {[]string{"allowed"}, []string{"allowed"}, decodeAs[AllowedPISPs]},
	ConstraintExecutionDate:             {[]string{"not_before", "not_after"}, nil, decodeAs[ExecutionDate]},
	ConstraintPaymentReference:          {[]string{"conditional_transaction_id"}, []string{"conditional_transaction_id"}, decodeAs[PaymentReference]},
	ConstraintAllowedMerchants:          {[]string{"allowed"}, []string{"allowed"}, decodeAs[AllowedMerchants]},
	ConstraintLineItems:                 {[]string{"items"}, []string{"items"}, decodeAs[LineItems]},
}

// MarshalJSON writes each constraint as an object with its "type" first.
func (cs Constraints) MarshalJSON() ([]byte, error) {
	out := make([]json.RawMessage, 0, len(cs))
	for _, c := range cs {
		if c == nil {
			return nil, errors.New("a constraint is nil")
		}
		if u, ok := c.(UnknownConstraint); ok {
			out = append(out, u.Raw)
			continue
		}
		body, err := json.Marshal(c)
		if err != nil {
			return nil, err
		}
		typ, _ := json.Marshal(c.ConstraintType())
		obj := append([]byte(`{"type":`), typ...)
		if len(body) > 2 {
			obj = append(obj, ',')
		}
		out = append(out, append(obj, body[1:]...))
	}
	return json.Marshal(out)
}

// UnmarshalJSON decodes each constraint by its type. Unknown types, and
// known types with unknown members, become UnknownConstraint; a known type
// whose members are malformed or missing is an error.
func (cs *Constraints) UnmarshalJSON(data []byte) error {
	var raws []json.RawMessage
	if err := json.Unmarshal(data, &raws); err != nil {
		return errors.New("constraints is not an array")
	}
	out := make(Constraints, 0, len(raws))
	for i, raw := range raws {
		c, err := decodeConstraint(raw)
		if err != nil {
			return fmt.Errorf("constraints[%d]: %w", i, err)
		}
		out = append(out, c)
	}
	*cs = out
	return nil
}

func decodeConstraint(raw json.RawMessage) (Constraint, error) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil || members == nil {
		return nil, errors.New("a constraint is an object")
	}
	var typ string
	if err := json.Unmarshal(members["type"], &typ); err != nil || typ == "" {
		return nil, errors.New("a constraint has a string type")
	}
	kind, ok := constraintKinds[typ]
	if !ok {
		return UnknownConstraint{Type: typ, Raw: raw, Reason: "unknown constraint type"}, nil
	}
	names := make([]string, 0, len(members))
	for name := range members {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if name != "type" && !slices.Contains(kind.members, name) {
			return UnknownConstraint{Type: typ, Raw: raw, Reason: fmt.Sprintf("unknown member %q", name)}, nil
		}
	}
	for _, name := range kind.required {
		if v, ok := members[name]; !ok || string(v) == "null" {
			return nil, fmt.Errorf("%s needs %s", typ, name)
		}
	}
	if typ == ConstraintBudget && !isJSONNumber(members["max"]) {
		return nil, errors.New("payment.budget max is a number")
	}
	c, err := kind.decode(raw)
	if err != nil {
		return nil, fmt.Errorf("%s is malformed", typ)
	}
	return c, nil
}

// isJSONNumber reports whether raw is a number literal; json.Number would
// also take a string holding one.
func isJSONNumber(raw json.RawMessage) bool {
	return len(raw) > 0 && (raw[0] == '-' || '0' <= raw[0] && raw[0] <= '9')
}
