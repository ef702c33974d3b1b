package agentpay_test

import (
	"math"
	"strings"
	"testing"

	"github.com/agentpay/agentpay"
)

func TestUserValidate(t *testing.T) {
	ok := agentpay.User{ID: "usr_1", Email: "ada@example.com", DisplayName: "Ada", Country: "GB"}
	for _, c := range []struct {
		name  string
		edit  func(*agentpay.User)
		param string
	}{
		{"ok email", func(*agentpay.User) {}, ""},
		{"ok phone only", func(u *agentpay.User) { u.Email, u.Phone = "", "+447700900123" }, ""},
		{"ok both", func(u *agentpay.User) { u.Phone = "+14155550100" }, ""},
		{"bad id", func(u *agentpay.User) { u.ID = "acc_1" }, "id"},
		{"no contact", func(u *agentpay.User) { u.Email = "" }, "email"},
		{"upper-case email", func(u *agentpay.User) { u.Email = "Ada@example.com" }, "email"},
		{"email without domain dot", func(u *agentpay.User) { u.Email = "ada@localhost" }, "email"},
		{"email two ats", func(u *agentpay.User) { u.Email = "a@b@example.com" }, "email"},
		{"email leading dot", func(u *agentpay.User) { u.Email = ".ada@example.com" }, "email"},
		{"email double dot", func(u *agentpay.User) { u.Email = "a..da@example.com" }, "email"},
		{"email space", func(u *agentpay.User) { u.Email = "a da@example.com" }, "email"},
		{"email ip literal", func(u *agentpay.User) { u.Email = "ada@[127.0.0.1]" }, "email"},
		{"email numeric tld", func(u *agentpay.User) { u.Email = "ada@example.123" }, "email"},
		{"email label hyphen", func(u *agentpay.User) { u.Email = "ada@-example.com" }, "email"},
		{"email local too long", func(u *agentpay.User) { u.Email = strings.Repeat("a", 65) + "@example.com" }, "email"},
		{"phone no plus", func(u *agentpay.User) { u.Phone = "14155550100" }, "phone"},
		{"phone too short", func(u *agentpay.User) { u.Phone = "+1234567" }, "phone"},
		{"phone too long", func(u *agentpay.User) { u.Phone = "+1234567890123456" }, "phone"},
		{"phone leading zero", func(u *agentpay.User) { u.Phone = "+0123456789" }, "phone"},
		{"phone letters", func(u *agentpay.User) { u.Phone = "+1415555O100" }, "phone"},
		{"empty name", func(u *agentpay.User) { u.DisplayName = "" }, "display_name"},
		{"padded name", func(u *agentpay.User) { u.DisplayName = " Ada" }, "display_name"},
		{"control in name", func(u *agentpay.User) { u.DisplayName = "A\x00da" }, "display_name"},
		{"long name", func(u *agentpay.User) { u.DisplayName = strings.Repeat("a", 101) }, "display_name"},
		{"lower-case country", func(u *agentpay.User) { u.Country = "gb" }, "country"},
		{"bad tier", func(u *agentpay.User) { u.Tier = 3 }, "tier"},
	} {
		u := ok
		c.edit(&u)
		err := u.Validate()
		if c.param == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		var e *agentpay.Error
		if err == nil || !asError(err, &e) || e.Param != c.param || e.Kind != agentpay.EINVALID {
			t.Errorf("%s: got %v, want invalid %s", c.name, err, c.param)
		}
	}
	if got := agentpay.NormalizeEmail("  Ada@Example.COM "); got != "ada@example.com" {
		t.Fatalf("NormalizeEmail = %q", got)
	}
}

func asError(err error, e **agentpay.Error) bool {
	x, ok := err.(*agentpay.Error)
	*e = x
	return ok
}

func TestTierLimitsAllow(t *testing.T) {
	t1 := agentpay.TierLimits{Tier: agentpay.TierContact, Asset: "USD", PerPayment: 200_00, PerDay: 500_00, PerMonth: 2_000_00}
	for _, c := range []struct {
		name                 string
		l                    agentpay.TierLimits
		amount, today, month int64
		code                 string
		kind                 string
	}{
		{"fits", t1, 100_00, 0, 0, "", ""},
		{"exactly every limit", t1, 200_00, 300_00, 1_800_00, "", ""},
		{"tier 0", agentpay.TierLimits{PerPayment: 1 << 40, PerDay: 1 << 40, PerMonth: 1 << 40}, 1, 0, 0, "tier_unverified", agentpay.EFORBIDDEN},
		{"unconfigured", agentpay.TierLimits{Tier: agentpay.TierDocument, Asset: "XAU"}, 1, 0, 0, "tier_limit_unconfigured", agentpay.EFORBIDDEN},
		{"per payment", t1, 200_01, 0, 0, "tier_limit_per_payment", agentpay.EFORBIDDEN},
		{"per day", t1, 100_00, 400_01, 400_01, "tier_limit_per_day", agentpay.ECONFLICT},
		{"per month", t1, 100_00, 0, 1_900_01, "tier_limit_per_month", agentpay.ECONFLICT},
		{"day overflows", t1, 1, math.MaxInt64, 0, "tier_limit_per_day", agentpay.ECONFLICT},
		{"month overflows", t1, 1, 0, math.MaxInt64, "tier_limit_per_month", agentpay.ECONFLICT},
		{"zero amount", t1, 0, 0, 0, "invalid_amount", agentpay.EINVALID},
		{"negative amount", t1, -5, 0, 0, "invalid_amount", agentpay.EINVALID},
		{"negative spent", t1, 5, -1, 0, "invalid_spent", agentpay.EINVALID},
	} {
		err := c.l.Allow(c.amount, c.today, c.month)
		if agentpay.ErrorCode(err) != c.code && !(c.code == "" && err == nil) {
			t.Errorf("%s: got %v, want %s", c.name, err, c.code)
		}
		if c.code != "" && agentpay.ErrorKind(err) != c.kind {
			t.Errorf("%s: kind %s, want %s", c.name, agentpay.ErrorKind(err), c.kind)
		}
	}
}

func TestDefaultTierLimits(t *testing.T) {
	ls := agentpay.DefaultTierLimits()
	if err := ls.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := ls.Allow(agentpay.TierUnverified, "USD", 1, 0, 0); agentpay.ErrorCode(err) != "tier_unverified" {
		t.Fatalf("tier 0: %v", err)
	}
	if err := ls.Allow(agentpay.TierContact, "USD", 200_00, 0, 0); err != nil {
		t.Fatalf("tier 1 USD 200.00: %v", err)
	}
	if err := ls.Allow(agentpay.TierContact, "USD", 200_01, 0, 0); agentpay.ErrorCode(err) != "tier_limit_per_payment" {
		t.Fatalf("tier 1 USD 200.01: %v", err)
	}
	if err := ls.Allow(agentpay.TierDocument, "USD", 5_000_00, 5_000_00, 0); err != nil {
		t.Fatalf("tier 2 USD: %v", err)
	}
	if err := ls.Allow(agentpay.TierDocument, "USDC", 5_000_000_000, 0, 0); err != nil {
		t.Fatalf("tier 2 USDC 5000: %v", err)
	}
	if err := ls.Allow(agentpay.TierDocument, "CHF", 1, 0, 0); agentpay.ErrorCode(err) != "tier_limit_unconfigured" {
		t.Fatalf("tier 2 CHF: %v", err)
	}
	bad := agentpay.Limits{agentpay.TierContact: {"USD": {PerPayment: 10, PerDay: 5, PerMonth: 100}}}
	if bad.Validate() == nil {
		t.Fatal("per payment above per day accepted")
	}
	if (agentpay.Limits{agentpay.TierUnverified: {"USD": {PerPayment: 1, PerDay: 1, PerMonth: 1}}}).Validate() == nil {
		t.Fatal("limits for tier 0 accepted")
	}
	if (agentpay.Limits{agentpay.TierContact: {"NOPE1": {PerPayment: 1, PerDay: 1, PerMonth: 1}}}).Validate() == nil {
		t.Fatal("limits for an unknown asset accepted")
	}
	// Limits configured under tier 0 never allow anything.
	zero := agentpay.Limits{agentpay.TierUnverified: {"USD": {PerPayment: 1, PerDay: 1, PerMonth: 1}}}
	if err := zero.Allow(agentpay.TierUnverified, "USD", 1, 0, 0); agentpay.ErrorCode(err) != "tier_unverified" {
		t.Fatalf("tier 0 with limits: %v", err)
	}
}
