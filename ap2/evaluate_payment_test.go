package ap2

import (
	"testing"
	"time"
)

// basePayment is an open and a closed payment mandate that satisfy each
// other, for EvaluatePayment cases to break one thing at a time.
func basePayment() (OpenPaymentMandate, PaymentMandate, PaymentInput) {
	open := OpenPaymentMandate{
		VCT: VCTOpenPayment,
		Constraints: Constraints{
			AmountRange{Currency: "USD", Max: 2000, Min: int64Ptr(100)},
			AllowedPayees{Allowed: []Merchant{shop, bakery}},
			AllowedPaymentInstruments{Allowed: []PaymentInstrument{wallet}},
			ExecutionDate{NotBefore: "2027-01-01", NotAfter: "2027-12-31T23:59:59Z"},
			PaymentReference{ConditionalTransactionID: "ref-open-checkout"},
		},
	}
	closed := PaymentMandate{VCT: VCTPayment, TransactionID: "hash-of-checkout", Payee: shop, PaymentAmount: usd(980), PaymentInstrument: wallet}
	in := PaymentInput{CheckoutHash: "hash-of-checkout", OpenCheckoutReferences: []string{"ref-open-checkout", "sd-hash"}, Now: time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)}
	return open, closed, in
}

func TestEvaluatePayment(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(o *OpenPaymentMandate, c *PaymentMandate, in *PaymentInput)
		code string
	}{
		{"all constraints hold", func(o *OpenPaymentMandate, c *PaymentMandate, in *PaymentInput) {}, ""},
		{"amount at max", func(o *OpenPaymentMandate, c *PaymentMandate, in *PaymentInput) { c.PaymentAmount = usd(2000) }, ""},
		{"amount above max", func(o *OpenPaymentMandate, c *PaymentMandate, in *PaymentInput) { c.PaymentAmount = usd(2001) }, CodeInvalidMandate},
		{"amount below min", func(o *OpenPaymentMandate, c *PaymentMandate, in *PaymentInput) { c.PaymentAmount = usd(99) }, CodeInvalidMandate},
		{"amount in another currency", func(o *OpenPaymentMandate, c *PaymentMandate, in *PaymentInput) {
			c.PaymentAmount = Amount{Amount: 980, Currency: "EUR"}
		}, CodeInvalidMandate},
		{"payee not allowed", func(o *OpenPaymentMandate, c *PaymentMandate, in *PaymentInput) { c.Payee = elsewhr }, CodeInvalidMandate},
		{"payee with an allowed name but another id", func(o *OpenPaymentMandate, c *PaymentMandate, in *PaymentInput) {
			c.Payee = Merchant{ID: "mer_evil", Name: shop.Name, Website: shop.Website}
		}, CodeInvalidMandate},
		{"allowed payees all withheld", func(o *OpenPaymentMandate, c *PaymentMandate, in *PaymentInput) {
			o.Constraints[1] = AllowedPayees{}
		}, CodeInvalidMandate},
		{"instrument not allowed", func(o *OpenPaymentMandate, c *PaymentMandate, in *PaymentInput) { c.PaymentInstrument = card }, CodeInvalidMandate},
		{"instrument id with another type", func(o *OpenPaymentMandate, c *PaymentMandate, in *PaymentInput) {
			c.PaymentInstrument = PaymentInstrument{ID: wallet.ID, Type: "card"}
		}, CodeInvalidMandate},
		{"executes on the first allowed day", func(o *OpenPaymentMandate, c *PaymentMandate, in *PaymentInput) { c.ExecutionDate = "2027-01-01" }, ""},
		{"executes before the window", func(o *OpenPaymentMandate, c *PaymentMandate, in *PaymentInput) {
			c.ExecutionDate = "2026-12-31T23:59:59Z"
		}, CodeInvalidMandate},
		{"executes after the window", func(o *OpenPaymentMandate, c *PaymentMandate, in *PaymentInput) { c.ExecutionDate = "2028-01-01" }, CodeInvalidMandate},
		{"no execution date, now before the window", func(o *OpenPaymentMandate, c *PaymentMandate, in *PaymentInput) {
			in.Now = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
		}, CodeInvalidMandate},
		{"execution date malformed", func(o *OpenPaymentMandate, c *PaymentMandate, in *PaymentInput) { c.ExecutionDate = "next tuesday" }, CodeInvalidMandate},
		{"reference names another checkout mandate", func(o *OpenPaymentMandate, c *PaymentMandate, in *PaymentInput) {
			in.OpenCheckoutReferences = []string{"another"}
		}, CodeInvalidMandate},
		{"reference by sd_hash", func(o *OpenPaymentMandate, c *PaymentMandate, in *PaymentInput) {
			o.Constraints[4] = PaymentReference{ConditionalTransactionID: "sd-hash"}
		}, ""},
		{"no open checkout mandate to check the reference", func(o *OpenPaymentMandate, c *PaymentMandate, in *PaymentInput) {
			in.OpenCheckoutReferences = nil
		}, CodeUnresolvedConstraint},
		{"transaction_id of another checkout", func(o *OpenPaymentMandate, c *PaymentMandate, in *PaymentInput) { c.TransactionID = "other" }, CodeInvalidMandate},
		{"no checkout hash to bind", func(o *OpenPaymentMandate, c *PaymentMandate, in *PaymentInput) {
			c.TransactionID, in.CheckoutHash = "", ""
		}, CodeInvalidMandate},
		{"preset payee kept", func(o *OpenPaymentMandate, c *PaymentMandate, in *PaymentInput) { o.Payee = &shop }, ""},
		{"preset payee changed", func(o *OpenPaymentMandate, c *PaymentMandate, in *PaymentInput) { o.Payee = &bakery }, CodeInvalidMandate},
		{"preset amount changed", func(o *OpenPaymentMandate, c *PaymentMandate, in *PaymentInput) { a := usd(500); o.PaymentAmount = &a }, CodeInvalidMandate},
		{"preset instrument changed", func(o *OpenPaymentMandate, c *PaymentMandate, in *PaymentInput) { o.PaymentInstrument = &card }, CodeInvalidMandate},
		{"preset execution date dropped", func(o *OpenPaymentMandate, c *PaymentMandate, in *PaymentInput) { o.ExecutionDate = "2027-03-01" }, CodeInvalidMandate},
		{"PISP allowed", func(o *OpenPaymentMandate, c *PaymentMandate, in *PaymentInput) {
			p := PISP{LegalName: "agentpay Ltd", BrandName: "agentpay", DomainName: "agentpay.example"}
			o.Constraints = append(o.Constraints, AllowedPISPs{Allowed: []PISP{p}})
			c.PISP = &p
		}, ""},
		{"PISP missing", func(o *OpenPaymentMandate, c *PaymentMandate, in *PaymentInput) {
			o.Constraints = append(o.Constraints, AllowedPISPs{Allowed: []PISP{{LegalName: "a", BrandName: "b", DomainName: "c"}}})
		}, CodeInvalidMandate},
		{"budget in another currency", func(o *OpenPaymentMandate, c *PaymentMandate, in *PaymentInput) {
			o.Constraints = append(o.Constraints, Budget{Max: "100", Currency: "EUR"})
		}, CodeInvalidMandate},
		{"payment above the whole budget", func(o *OpenPaymentMandate, c *PaymentMandate, in *PaymentInput) {
			o.Constraints = append(o.Constraints, Budget{Max: "9.79", Currency: "USD"})
		}, CodeInvalidMandate},
		{"budget with more decimals than the currency", func(o *OpenPaymentMandate, c *PaymentMandate, in *PaymentInput) {
			o.Constraints = append(o.Constraints, Budget{Max: "100.001", Currency: "USD"})
		}, CodeInvalidMandate},
		{"two budgets", func(o *OpenPaymentMandate, c *PaymentMandate, in *PaymentInput) {
			o.Constraints = append(o.Constraints, Budget{Max: "100", Currency: "USD"}, Budget{Max: "50", Currency: "USD"})
		}, CodeUnresolvedConstraint},
		{"recurrence without budget", func(o *OpenPaymentMandate, c *PaymentMandate, in *PaymentInput) {
			o.Constraints = append(o.Constraints, AgentRecurrence{Frequency: FrequencyDaily})
		}, CodeInvalidMandate},
		{"unknown constraint", func(o *OpenPaymentMandate, c *PaymentMandate, in *PaymentInput) {
			o.Constraints = append(o.Constraints, UnknownConstraint{Type: "payment.velocity", Reason: "unknown constraint type"})
		}, CodeUnresolvedConstraint},
		{"closed mandate without payee", func(o *OpenPaymentMandate, c *PaymentMandate, in *PaymentInput) {
			o.Constraints = o.Constraints[:1]
			c.Payee = Merchant{}
		}, CodeInvalidMandate},
		{"not a payment mandate", func(o *OpenPaymentMandate, c *PaymentMandate, in *PaymentInput) { c.VCT = VCTCheckout }, CodeInvalidMandate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			open, closed, in := basePayment()
			tc.edit(&open, &closed, &in)
			_, err := EvaluatePayment(open, closed, in)
			wantCode(t, err, tc.code)
		})
	}
}

func TestEvaluatePaymentLimits(t *testing.T) {
	open, closed, in := basePayment()
	open.Constraints = append(open.Constraints,
		Budget{Max: "1000.5", Currency: "USD"},
		AgentRecurrence{Frequency: FrequencyQuarterly, MaxOccurrences: int64Ptr(4)})
	limits, err := EvaluatePayment(open, closed, in)
	if err != nil {
		t.Fatal(err)
	}
	if limits.Amount.Amount != 980 || limits.Amount.Asset != "USD" {
		t.Fatalf("amount = %+v", limits.Amount)
	}
	if limits.Budget == nil || limits.Budget.Amount != 100050 {
		t.Fatalf("budget = %+v", limits.Budget)
	}
	if r := limits.Recurrence; r == nil || r.Frequency != FrequencyQuarterly || r.Period.Unit != "month" || r.Period.Count != 3 || r.MaxOccurrences != 4 {
		t.Fatalf("recurrence = %+v", limits.Recurrence)
	}

	open, closed, in = basePayment()
	limits, err = EvaluatePayment(open, closed, in)
	if err != nil || limits.Budget != nil || limits.Recurrence != nil {
		t.Fatalf("limits = %+v, %v; want none", limits, err)
	}
}

func TestBudgetMoney(t *testing.T) {
	for _, tc := range []struct {
		budget Budget
		want   int64
		ok     bool
	}{
		{Budget{Max: "1000.00", Currency: "USD"}, 100000, true},
		{Budget{Max: "1000", Currency: "JPY"}, 1000, true},
		{Budget{Max: "0.000001", Currency: "USDC"}, 1, true},
		{Budget{Max: "1.5", Currency: "JPY"}, 0, false},
		{Budget{Max: "1e3", Currency: "USD"}, 0, false},
		{Budget{Max: "-5", Currency: "USD"}, 0, false},
		{Budget{Max: "99999999999999999999", Currency: "USD"}, 0, false},
		{Budget{Max: "10", Currency: "XXX1"}, 0, false},
	} {
		m, err := tc.budget.Money()
		if (err == nil) != tc.ok || tc.ok && m.Amount != tc.want {
			t.Errorf("%+v: got %v, %v", tc.budget, m, err)
		}
	}
	b, err := BudgetOf(agentpayMoney(12345, "USD"))
	if err != nil || b.Max != "123.45" || b.Currency != "USD" {
		t.Fatalf("BudgetOf = %+v, %v", b, err)
	}
}
