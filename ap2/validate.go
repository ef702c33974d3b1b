package ap2

import (
	"fmt"

	"github.com/agentpay/agentpay"
)

// Validation of mandate content: what the schemas require, plus what
// agentpay insists on to issue or accept a mandate. Issue and Present
// check the terms they sign; the verifiers check what they decode, with
// issuing false so that an unknown constraint reaches the evaluator (which
// answers unresolved_constraint) instead of failing here.

func validateMandate(m Mandate, issuing bool) error {
	switch t := m.(type) {
	case *CheckoutMandate:
		return validateCheckout(t)
	case *PaymentMandate:
		return validatePayment(t)
	case *OpenCheckoutMandate:
		return validateOpen(t.CNF, t.Constraints, ConstraintLineItems, issuing)
	case *OpenPaymentMandate:
		if err := validatePreset(t); err != nil {
			return err
		}
		return validateOpen(t.CNF, t.Constraints, ConstraintPaymentReference, issuing)
	}
	return badTerms("", "unknown mandate type")
}

func validateCheckout(m *CheckoutMandate) error {
	if _, err := parseJWS(m.CheckoutJWT); err != nil {
		return badTerms("checkout_jwt", "checkout_jwt is not a signed JWT: %v", err)
	}
	if m.CheckoutHash != CheckoutHash(m.CheckoutJWT) {
		return badTerms("checkout_hash", "checkout_hash is not the hash of checkout_jwt")
	}
	return nil
}

func validatePayment(m *PaymentMandate) error {
	if m.TransactionID == "" {
		return badTerms("transaction_id", "transaction_id is the hash of the checkout JWT")
	}
	if err := validateMerchant("payee", m.Payee); err != nil {
		return err
	}
	if err := validateAmount("payment_amount", m.PaymentAmount); err != nil {
		return err
	}
	if m.PaymentInstrument.ID == "" || m.PaymentInstrument.Type == "" {
		return badTerms("payment_instrument", "a payment instrument has an id and a type")
	}
	if m.PISP != nil {
		if err := validatePISP("pisp", *m.PISP); err != nil {
			return err
		}
	}
	if m.ExecutionDate != "" {
		if _, _, err := parseExecTime(m.ExecutionDate); err != nil {
			return badTerms("execution_date", "execution_date: %v", err)
		}
	}
	return nil
}

// validatePreset checks the claims an open payment mandate fixes in
// advance.
func validatePreset(m *OpenPaymentMandate) error {
	if m.Payee != nil {
		if err := validateMerchant("payee", *m.Payee); err != nil {
			return err
		}
	}
	if m.PaymentAmount != nil {
		if err := validateAmount("payment_amount", *m.PaymentAmount); err != nil {
			return err
		}
	}
	if m.PaymentInstrument != nil && (m.PaymentInstrument.ID == "" || m.PaymentInstrument.Type == "") {
		return badTerms("payment_instrument", "a payment instrument has an id and a type")
	}
	if m.PISP != nil {
		if err := validatePISP("pisp", *m.PISP); err != nil {
			return err
		}
	}
	if m.ExecutionDate != "" {
		if _, _, err := parseExecTime(m.ExecutionDate); err != nil {
			return badTerms("execution_date", "execution_date: %v", err)
		}
	}
	return nil
}

// validateOpen checks an open mandate's key and constraints. Issuing, every
// constraint must be known and well formed, and the constraint the schema
// requires ("contains": payment.reference for payments, checkout.line_items
// for checkouts) must be there.
func validateOpen(cnf CNF, constraints Constraints, required string, issuing bool) error {
	if _, err := parseJWK(cnf.JWK); err != nil {
		return badTerms("cnf.jwk", "cnf.jwk: %v", err)
	}
	if !issuing {
		return nil
	}
	found := false
	for i, c := range constraints {
		if err := validateConstraint(c); err != nil {
			if e, ok := err.(*agentpay.Error); ok {
				e.Param = fmt.Sprintf("constraints[%d]%s", i, e.Param)
			}
			return err
		}
		found = found || c.ConstraintType() == required
	}
	if !found {
		return badTerms("constraints", "an open mandate of this kind needs a %s constraint", required)
	}
	return checkRecurrence(constraints)
}

// checkRecurrence applies the reference SDK's rule that a reusable payment
// mandate is bounded both per payment and in total.
func checkRecurrence(constraints Constraints) error {
	var recurrence, amountRange, budget bool
	for _, c := range constraints {
		switch c.(type) {
		case AgentRecurrence:
			recurrence = true
		case AmountRange:
			amountRange = true
		case Budget:
			budget = true
		}
	}
	if recurrence && !(amountRange && budget) {
		return badTerms("constraints", "payment.agent_recurrence needs payment.amount_range and payment.budget")
	}
	return nil
}

func validateConstraint(c Constraint) error {
	switch t := c.(type) {
	case AmountRange:
		if err := agentpay.ValidateAssetCode(t.Currency); err != nil {
			return badTerms(".currency", "unknown currency")
		}
		if t.Max <= 0 || t.Min != nil && (*t.Min < 0 || *t.Min > t.Max) {
			return badTerms(".max", "an amount range has 0 <= min <= max and max > 0")
		}
	case Budget:
		m, err := t.Money()
		if err != nil || m.Amount <= 0 {
			return badTerms(".max", "a budget is a positive amount of a known currency")
		}
	case AgentRecurrence:
		if _, ok := recurrencePeriod(t.Frequency); !ok {
			return badTerms(".frequency", "unknown frequency")
		}
		if t.MaxOccurrences != nil && *t.MaxOccurrences < 1 {
			return badTerms(".max_occurrences", "max_occurrences is at least 1")
		}
	case AllowedPayees:
		return validateMerchants(t.Allowed)
	case AllowedMerchants:
		return validateMerchants(t.Allowed)
	case AllowedPaymentInstruments:
		if len(t.Allowed) == 0 {
			return badTerms(".allowed", "allow at least one instrument")
		}
		for _, pi := range t.Allowed {
			if pi.ID == "" || pi.Type == "" {
				return badTerms(".allowed", "a payment instrument has an id and a type")
			}
		}
	case AllowedPISPs:
		if len(t.Allowed) == 0 {
			return badTerms(".allowed", "allow at least one PISP")
		}
		for _, p := range t.Allowed {
			if err := validatePISP(".allowed", p); err != nil {
				return err
			}
		}
	case ExecutionDate:
		return validateWindow(t)
	case PaymentReference:
		if t.ConditionalTransactionID == "" {
			return badTerms(".conditional_transaction_id", "conditional_transaction_id is the reference of the open checkout mandate")
		}
	case LineItems:
		return validateLineItems(t)
	default:
		return badTerms(".type", "agentpay does not issue %q constraints", c.ConstraintType())
	}
	return nil
}

func validateWindow(t ExecutionDate) error {
	if t.NotBefore == "" && t.NotAfter == "" {
		return badTerms("", "an execution window has not_before, not_after or both")
	}
	var first, last int64
	if t.NotBefore != "" {
		f, _, err := parseExecTime(t.NotBefore)
		if err != nil {
			return badTerms(".not_before", "not_before: %v", err)
		}
		first = f
	}
	if t.NotAfter != "" {
		_, l, err := parseExecTime(t.NotAfter)
		if err != nil {
			return badTerms(".not_after", "not_after: %v", err)
		}
		last = l
		if t.NotBefore != "" && last < first {
			return badTerms(".not_after", "not_after is before not_before")
		}
	}
	return nil
}

func validateLineItems(t LineItems) error {
	if len(t.Items) == 0 {
		return badTerms(".items", "line_items needs at least one requirement")
	}
	for _, req := range t.Items {
		if req.ID == "" || req.Quantity < 1 || req.Quantity > lineQuantityMax || len(req.AcceptableItems) == 0 {
			return badTerms(".items", "a requirement has an id, 1 to %d units and at least one acceptable item", lineQuantityMax)
		}
		for _, it := range req.AcceptableItems {
			if it.ID == "" || it.Title == "" {
				return badTerms(".items", "an acceptable item has an id and a title")
			}
		}
	}
	return nil
}

func validateMerchants(ms []Merchant) error {
	if len(ms) == 0 {
		return badTerms(".allowed", "allow at least one merchant")
	}
	for _, m := range ms {
		if err := validateMerchant(".allowed", m); err != nil {
			return err
		}
	}
	return nil
}

func validateMerchant(param string, m Merchant) error {
	if m.ID == "" || m.Name == "" {
		return badTerms(param, "a merchant has an id and a name")
	}
	return nil
}

func validatePISP(param string, p PISP) error {
	if p.LegalName == "" || p.BrandName == "" || p.DomainName == "" {
		return badTerms(param, "a PISP has a legal name, a brand name and a domain name")
	}
	return nil
}

func validateAmount(param string, a Amount) error {
	if err := agentpay.ValidateAssetCode(a.Currency); err != nil {
		return badTerms(param+".currency", "unknown currency")
	}
	if a.Amount <= 0 {
		return badTerms(param+".amount", "an amount is positive")
	}
	return nil
}

// recurrencePeriod maps an agent_recurrence frequency to agentpay's
// budget period; ON_DEMAND has none (the zero Interval).
func recurrencePeriod(frequency string) (agentpay.Interval, bool) {
	switch frequency {
	case FrequencyOnDemand:
		return agentpay.Interval{}, true
	case FrequencyDaily:
		return agentpay.Interval{Unit: agentpay.IntervalDay, Count: 1}, true
	case FrequencyWeekly:
		return agentpay.Interval{Unit: agentpay.IntervalWeek, Count: 1}, true
	case FrequencyBiweekly:
		return agentpay.Interval{Unit: agentpay.IntervalWeek, Count: 2}, true
	case FrequencyMonthly:
		return agentpay.Interval{Unit: agentpay.IntervalMonth, Count: 1}, true
	case FrequencyQuarterly:
		return agentpay.Interval{Unit: agentpay.IntervalMonth, Count: 3}, true
	case FrequencyAnnually:
		return agentpay.Interval{Unit: agentpay.IntervalYear, Count: 1}, true
	}
	return agentpay.Interval{}, false
}
