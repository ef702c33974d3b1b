package agentpay

import (
	"testing"
	"time"
)

func validMandate() Mandate {
	return Mandate{ID: "man_01jd5x8m2v6q0c9k7r3t4w5y6z", Kind: MandateSubscription, UserID: "usr_01jd5x8m2v6q0c9k7r3t4w5y6z",
		MerchantID: "mer_01jd5x8m2v6q0c9k7r3t4w5y6z", Asset: "USD", PerPaymentMax: 500, Budget: 500,
		Period: Interval{Unit: IntervalMonth, Count: 1}, TimeZone: "Europe/London",
		StartsAt: time.Date(2026, 1, 31, 9, 0, 0, 0, time.UTC).UnixMicro(), Description: "Tea club", Status: MandateActive}
}

func TestMandateValidate(t *testing.T) {
	if err := validMandate().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		change func(*Mandate)
		code   string
	}{
		{"bad id", func(m *Mandate) { m.ID = "pay_x" }, "invalid_id"},
		{"unknown kind", func(m *Mandate) { m.Kind = "gift" }, "invalid_kind"},
		{"no payee", func(m *Mandate) { m.MerchantID = "" }, "invalid_payee"},
		{"open mandate without payee", func(m *Mandate) { m.Kind, m.MerchantID = MandateOpen, "" }, "invalid_payee"},
		{"tips to one merchant and categories", func(m *Mandate) { m.Kind, m.Categories = MandateTips, []string{"5814"} }, "invalid_payee"},
		{"payee and categories", func(m *Mandate) { m.Categories = []string{"5814"} }, "invalid_payee"},
		{"subscription of categories", func(m *Mandate) { m.MerchantID, m.Categories = "", []string{"5814"} }, "invalid_payee"},
		{"bad category", func(m *Mandate) { m.Kind, m.MerchantID, m.Categories = MandateTips, "", []string{"58"} }, "invalid_mcc"},
		{"unknown asset", func(m *Mandate) { m.Asset = "XYZ1" }, "unknown_asset"},
		{"zero per payment", func(m *Mandate) { m.PerPaymentMax = 0 }, "invalid_amount"},
		{"budget under per payment", func(m *Mandate) { m.Budget = 499 }, "invalid_amount"},
		{"zero interval", func(m *Mandate) { m.Period.Count = 0 }, "invalid_interval"},
		{"local time zone", func(m *Mandate) { m.TimeZone = "Local" }, "invalid_time_zone"},
		{"ends before it starts", func(m *Mandate) { m.EndsAt = m.StartsAt }, "invalid_window"},
		{"no description", func(m *Mandate) { m.Description = "" }, "invalid_description"},
		{"control characters", func(m *Mandate) { m.Description = "tea\x00" }, "invalid_description"},
	} {
		m := validMandate()
		tt.change(&m)
		if err := m.Validate(); ErrorCode(err) != tt.code {
			t.Errorf("%s: %v, want %s", tt.name, err, tt.code)
		}
	}
	tips := validMandate()
	tips.Kind, tips.MerchantID, tips.Categories = MandateTips, "", []string{"5815", "7929"}
	if err := tips.Validate(); err != nil {
		t.Errorf("a tips mandate of categories: %v", err)
	}
	tips.Categories = nil
	if err := tips.Validate(); err != nil {
		t.Errorf("a tips mandate of any merchant: %v", err)
	}
}

// A tips mandate naming no payee covers any merchant; any other kind
// naming none covers nobody, even if one was stored without validation.
func TestMandateAllowsAnyPayeeOnlyForTips(t *testing.T) {
	in := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		kind MandateKind
		code string
	}{{MandateTips, ""}, {MandateOpen, "payee_not_in_mandate"}, {MandateSubscription, "payee_not_in_mandate"}} {
		m := validMandate()
		m.Kind, m.MerchantID = tt.kind, ""
		for _, merchant := range []string{"mer_01jd5x8m2v6q0c9k7r3t4w5y6z", "mer_01jd5x8m2v6q0c9k7r3t4w5y7a"} {
			err := m.Allows(merchant, "5815", "USD", 500, in)
			if (tt.code == "" && err != nil) || (tt.code != "" && ErrorCode(err) != tt.code) {
				t.Errorf("%s to %s: %v, want %q", tt.kind, merchant, err, tt.code)
			}
		}
	}
}

func TestMandateAllows(t *testing.T) {
	m := validMandate()
	m.EndsAt = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	in := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name     string
		change   func(*Mandate)
		merchant string
		amount   int64
		at       time.Time
		code     string
	}{
		{"within", nil, m.MerchantID, 500, in, ""},
		{"paused", func(m *Mandate) { m.Status = MandatePaused }, m.MerchantID, 500, in, "mandate_paused"},
		{"revoked", func(m *Mandate) { m.Status = MandateRevoked }, m.MerchantID, 500, in, "mandate_revoked"},
		{"not approved", func(m *Mandate) { m.Status = MandateRequiresApproval }, m.MerchantID, 500, in, "mandate_not_approved"},
		{"before it starts", nil, m.MerchantID, 500, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), "mandate_not_started"},
		{"after it ends", nil, m.MerchantID, 500, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), "mandate_expired"},
		{"another payee", nil, "mer_01jd5x8m2v6q0c9k7r3t4w5y7a", 500, in, "payee_not_in_mandate"},
		{"over per payment", nil, m.MerchantID, 501, in, "exceeds_mandate_per_payment"},
		{"zero", nil, m.MerchantID, 0, in, "exceeds_mandate_per_payment"},
	} {
		x := m
		if tt.change != nil {
			tt.change(&x)
		}
		err := x.Allows(tt.merchant, "5499", "USD", tt.amount, tt.at)
		if (tt.code == "" && err != nil) || (tt.code != "" && ErrorCode(err) != tt.code) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.code)
		}
	}
	if err := m.Allows(m.MerchantID, "5499", "EUR", 100, in); ErrorCode(err) != "asset_not_in_mandate" {
		t.Errorf("another asset: %v", err)
	}
}

// Budget periods follow the mandate's calendar: anchored on January 31 in
// London, the February period runs from February 28 to March 31.
func TestMandateBudgetPeriod(t *testing.T) {
	m := validMandate()
	london, _ := time.LoadLocation("Europe/London")
	start, end, err := m.BudgetPeriod(time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 2, 28, 9, 0, 0, 0, london); !start.Equal(want) {
		t.Errorf("start %v, want %v", start, want)
	}
	if want := time.Date(2026, 3, 31, 9, 0, 0, 0, london); !end.Equal(want) {
		t.Errorf("end %v, want %v", end, want)
	}
	if _, _, err := m.BudgetPeriod(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)); ErrorCode(err) != "mandate_not_started" {
		t.Errorf("before the start: %v", err)
	}
}
