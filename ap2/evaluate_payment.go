package ap2

import (
	"slices"
	"time"

	"github.com/agentpay/agentpay"
)

// PaymentInput is what the verifier knows of the payment it is asked to
// make, independently of the mandates.
type PaymentInput struct {
	// CheckoutHash is the hash (CheckoutHash) of the checkout JWT the
	// verifier is paying, computed from the checkout it processes and never
	// read from the mandate: the closed mandate's transaction_id must equal
	// it. Empty fails, as in the reference SDK (AP2 issue #328).
	CheckoutHash string
	// OpenCheckoutReferences are the references of the open checkout
	// mandate presented for the same order (CheckoutChain.OpenReferences),
	// which a payment.reference constraint must name.
	OpenCheckoutReferences []string
	// Now is when the payment executes if the closed mandate names no
	// execution_date (AP2: absent means immediately); zero means
	// time.Now().
	Now time.Time
}

// PaymentLimits are what the caller must enforce atomically, in the unit
// of work that records the payment: AP2's cumulative constraints depend on
// the payments made before, which only the committer sees consistently.
type PaymentLimits struct {
	// Amount is this payment.
	Amount agentpay.Money
	// Budget, if not nil, caps the total of all payments under the
	// mandate (payment.budget), this one included.
	Budget *agentpay.Money
	// Recurrence, if not nil, is payment.agent_recurrence.
	Recurrence *Recurrence
}

// Recurrence is a payment.agent_recurrence constraint, for the caller to
// enforce: at most MaxOccurrences payments in all (0: no limit), at most
// one per Period (the zero Interval for ON_DEMAND: no spacing).
type Recurrence struct {
	Frequency      string
	Period         agentpay.Interval
	MaxOccurrences int64
}

// EvaluatePayment checks a closed payment mandate against the open one it
// was signed under (agent_authorization.md, "Verification and Processing
// Rules"; the reference SDK's check_payment_constraints): the closed
// mandate binds the checkout being paid; every claim the open mandate
// pre-sets is unchanged; each constraint holds. payment.amount_range,
// allowed_payees, allowed_payment_instruments, allowed_pisps,
// execution_date and reference are decided here; payment.budget and
// agent_recurrence come back in PaymentLimits for the caller to enforce.
// An unknown constraint, or one that cannot be checked here, is
// unresolved_constraint; a violated one is invalid_mandate.
func EvaluatePayment(open OpenPaymentMandate, closed PaymentMandate, in PaymentInput) (PaymentLimits, error) {
	for _, c := range open.Constraints {
		if u, ok := c.(UnknownConstraint); ok {
			return PaymentLimits{}, unresolvedConstraint("constraint %q: %s", u.Type, u.Reason)
		}
	}
	if closed.VCT != VCTPayment || open.VCT != VCTOpenPayment {
		return PaymentLimits{}, invalidMandate("not an open and a closed payment mandate")
	}
	if err := validatePayment(&closed); err != nil {
		return PaymentLimits{}, invalidMandate("the closed payment mandate: %s", reason(err))
	}
	if in.CheckoutHash == "" || closed.TransactionID != in.CheckoutHash {
		return PaymentLimits{}, invalidMandate("the payment mandate is not for this checkout (transaction_id)")
	}
	if err := checkPreset(open, closed); err != nil {
		return PaymentLimits{}, err
	}
	if err := checkRecurrence(open.Constraints); err != nil {
		return PaymentLimits{}, invalidMandate("%s", reason(err))
	}
	amount := agentpay.Money{Amount: closed.PaymentAmount.Amount, Asset: closed.PaymentAmount.Currency}
	limits := PaymentLimits{Amount: amount}
	for _, c := range open.Constraints {
		if err := evaluatePaymentConstraint(c, closed, in, &limits); err != nil {
			return PaymentLimits{}, err
		}
	}
	return limits, nil
}

func evaluatePaymentConstraint(c Constraint, closed PaymentMandate, in PaymentInput, limits *PaymentLimits) error {
	amount := closed.PaymentAmount
	switch t := c.(type) {
	case AmountRange:
		if amount.Currency != t.Currency {
			return invalidMandate("payment.amount_range is in %s, the payment in %s", t.Currency, amount.Currency)
		}
		if amount.Amount > t.Max || t.Min != nil && amount.Amount < *t.Min {
			return invalidMandate("the amount is outside payment.amount_range")
		}
	case AllowedPayees:
		if !slices.ContainsFunc(t.Allowed, func(m Merchant) bool { return sameMerchant(m, closed.Payee) }) {
			return invalidMandate("the payee is not among payment.allowed_payees")
		}
	case AllowedPaymentInstruments:
		pi := closed.PaymentInstrument
		if !slices.ContainsFunc(t.Allowed, func(a PaymentInstrument) bool { return a.ID != "" && a.ID == pi.ID && a.Type == pi.Type }) {
			return invalidMandate("the payment instrument is not among payment.allowed_payment_instruments")
		}
	case AllowedPISPs:
		if closed.PISP == nil || !slices.Contains(t.Allowed, *closed.PISP) {
			return invalidMandate("the PISP is not among payment.allowed_pisps")
		}
	case ExecutionDate:
		return checkExecutionDate(t, closed.ExecutionDate, in.Now)
	case PaymentReference:
		if len(in.OpenCheckoutReferences) == 0 {
			return unresolvedConstraint("payment.reference needs the open checkout mandate of this order")
		}
		if t.ConditionalTransactionID == "" || !slices.Contains(in.OpenCheckoutReferences, t.ConditionalTransactionID) {
			return invalidMandate("the payment mandate refers to another open checkout mandate (payment.reference)")
		}
	case Budget:
		if limits.Budget != nil {
			return unresolvedConstraint("more than one payment.budget")
		}
		m, err := t.Money()
		if err != nil {
			return invalidMandate("payment.budget: %s", reason(err))
		}
		if m.Asset != amount.Currency {
			return invalidMandate("payment.budget is in %s, the payment in %s", m.Asset, amount.Currency)
		}
		if amount.Amount > m.Amount {
			return invalidMandate("the amount exceeds payment.budget")
		}
		limits.Budget = &m
	case AgentRecurrence:
		if limits.Recurrence != nil {
			return unresolvedConstraint("more than one payment.agent_recurrence")
		}
		period, ok := recurrencePeriod(t.Frequency)
		if !ok || t.MaxOccurrences != nil && *t.MaxOccurrences < 1 {
			return invalidMandate("payment.agent_recurrence is malformed")
		}
		r := &Recurrence{Frequency: t.Frequency, Period: period}
		if t.MaxOccurrences != nil {
			r.MaxOccurrences = *t.MaxOccurrences
		}
		limits.Recurrence = r
	default:
		return unresolvedConstraint("constraint %q does not apply to payment mandates", c.ConstraintType())
	}
	return nil
}

// sameMerchant matches merchants by a non-empty id only (see Merchant).
func sameMerchant(a, b Merchant) bool {
	return a.ID != "" && a.ID == b.ID
}

// checkPreset enforces that claims the open mandate fixes are unchanged in
// the closed one (the reference SDK's check_preset_payment_claims).
func checkPreset(open OpenPaymentMandate, closed PaymentMandate) error {
	switch {
	case open.Payee != nil && !sameMerchant(*open.Payee, closed.Payee):
		return invalidMandate("the payee differs from the one the open mandate sets")
	case open.PaymentAmount != nil && *open.PaymentAmount != closed.PaymentAmount:
		return invalidMandate("the amount differs from the one the open mandate sets")
	case open.PaymentInstrument != nil && *open.PaymentInstrument != closed.PaymentInstrument:
		return invalidMandate("the payment instrument differs from the one the open mandate sets")
	case open.PISP != nil && (closed.PISP == nil || *open.PISP != *closed.PISP):
		return invalidMandate("the PISP differs from the one the open mandate sets")
	case open.ExecutionDate != "" && open.ExecutionDate != closed.ExecutionDate:
		return invalidMandate("the execution date differs from the one the open mandate sets")
	}
	return nil
}

// checkExecutionDate applies payment.execution_date to the closed
// mandate's execution_date, or to now when it has none: unlike the
// reference SDK, which passes a mandate without one, an agent cannot step
// outside the window by leaving the date out.
func checkExecutionDate(w ExecutionDate, date string, now time.Time) error {
	if now.IsZero() {
		now = time.Now()
	}
	first, last := now.Unix(), now.Unix()
	if date != "" {
		var err error
		if first, last, err = parseExecTime(date); err != nil {
			return invalidMandate("execution_date: %v", err)
		}
	}
	if w.NotBefore != "" {
		nb, _, err := parseExecTime(w.NotBefore)
		if err != nil {
			return invalidMandate("payment.execution_date not_before: %v", err)
		}
		if first < nb {
			return invalidMandate("the payment executes before payment.execution_date allows")
		}
	}
	if w.NotAfter != "" {
		_, na, err := parseExecTime(w.NotAfter)
		if err != nil {
			return invalidMandate("payment.execution_date not_after: %v", err)
		}
		if last > na {
			return invalidMandate("the payment executes after payment.execution_date allows")
		}
	}
	return nil
}
