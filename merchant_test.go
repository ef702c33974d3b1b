package agentpay_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/agentpay/agentpay"
)

func validMerchant() agentpay.Merchant {
	return agentpay.Merchant{ID: agentpay.NewID("mer"), Name: "Café Ωmega", Kind: agentpay.MerchantBusiness, MCC: "5812", Country: "FR",
		SettlementAsset: "EUR", WebhookURL: "https://example.com/hooks", Status: agentpay.MerchantActive, CreatedAt: 1}
}

func TestMerchantValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(m *agentpay.Merchant)
		param  string // "" when valid
	}{
		{"valid", func(m *agentpay.Merchant) {}, ""},
		{"no webhook", func(m *agentpay.Merchant) { m.WebhookURL = "" }, ""},
		{"suspended", func(m *agentpay.Merchant) { m.Status = agentpay.MerchantSuspended }, ""},
		{"name of 200 bytes", func(m *agentpay.Merchant) { m.Name = strings.Repeat("a", 200) }, ""},
		{"digital settlement asset", func(m *agentpay.Merchant) { m.SettlementAsset = "USDC" }, ""},
		{"http localhost", func(m *agentpay.Merchant) { m.WebhookURL = "http://localhost:8080/h" }, ""},
		{"http 127.0.0.1", func(m *agentpay.Merchant) { m.WebhookURL = "http://127.0.0.1/h?x=1" }, ""},
		{"creator", func(m *agentpay.Merchant) { m.Kind = agentpay.MerchantCreator }, ""},
		{"no kind", func(m *agentpay.Merchant) { m.Kind = "" }, "kind"},
		{"unknown kind", func(m *agentpay.Merchant) { m.Kind = "person" }, "kind"},
		{"kind in capitals", func(m *agentpay.Merchant) { m.Kind = "Creator" }, "kind"},
		{"bad id prefix", func(m *agentpay.Merchant) { m.ID = "acc_1" }, "id"},
		{"empty name", func(m *agentpay.Merchant) { m.Name = "" }, "name"},
		{"long name", func(m *agentpay.Merchant) { m.Name = strings.Repeat("a", 201) }, "name"},
		{"control char", func(m *agentpay.Merchant) { m.Name = "a\nb" }, "name"},
		{"NUL", func(m *agentpay.Merchant) { m.Name = "a\x00b" }, "name"},
		{"C1 control", func(m *agentpay.Merchant) { m.Name = "a\u0085b" }, "name"},
		{"invalid UTF-8", func(m *agentpay.Merchant) { m.Name = "a\xffb" }, "name"},
		{"short mcc", func(m *agentpay.Merchant) { m.MCC = "581" }, "mcc"},
		{"long mcc", func(m *agentpay.Merchant) { m.MCC = "58120" }, "mcc"},
		{"letter mcc", func(m *agentpay.Merchant) { m.MCC = "58a2" }, "mcc"},
		{"unicode digit mcc", func(m *agentpay.Merchant) { m.MCC = "58١2" }, "mcc"},
		{"lower country", func(m *agentpay.Merchant) { m.Country = "fr" }, "country"},
		{"long country", func(m *agentpay.Merchant) { m.Country = "FRA" }, "country"},
		{"empty country", func(m *agentpay.Merchant) { m.Country = "" }, "country"},
		{"unknown asset", func(m *agentpay.Merchant) { m.SettlementAsset = "XYZ" }, "settlement_asset"},
		{"lower asset", func(m *agentpay.Merchant) { m.SettlementAsset = "eur" }, "settlement_asset"},
		{"http elsewhere", func(m *agentpay.Merchant) { m.WebhookURL = "http://example.com/h" }, "webhook_url"},
		{"http localhost lookalike", func(m *agentpay.Merchant) { m.WebhookURL = "http://localhost.evil.com/h" }, "webhook_url"},
		{"ftp", func(m *agentpay.Merchant) { m.WebhookURL = "ftp://example.com/h" }, "webhook_url"},
		{"relative", func(m *agentpay.Merchant) { m.WebhookURL = "/hooks" }, "webhook_url"},
		{"no host", func(m *agentpay.Merchant) { m.WebhookURL = "https:///h" }, "webhook_url"},
		{"credentials", func(m *agentpay.Merchant) { m.WebhookURL = "https://u:p@example.com/h" }, "webhook_url"},
		{"fragment", func(m *agentpay.Merchant) { m.WebhookURL = "https://example.com/h#x" }, "webhook_url"},
		{"space", func(m *agentpay.Merchant) { m.WebhookURL = "https://example.com/a b" }, "webhook_url"},
		{"too long", func(m *agentpay.Merchant) { m.WebhookURL = "https://example.com/" + strings.Repeat("a", 2048) }, "webhook_url"},
		{"bad status", func(m *agentpay.Merchant) { m.Status = "closed" }, "status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := validMerchant()
			tt.change(&m)
			err := m.Validate()
			if tt.param == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			e, ok := err.(*agentpay.Error)
			if !ok || e.Kind != agentpay.EINVALID || e.Param != tt.param {
				t.Fatalf("Validate() = %v, want an invalid error on %s", err, tt.param)
			}
		})
	}
}

func TestParseMerchantKind(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want agentpay.MerchantKind
		ok   bool
	}{
		{"", agentpay.MerchantBusiness, true},
		{"business", agentpay.MerchantBusiness, true},
		{"creator", agentpay.MerchantCreator, true},
		{"Creator", "", false},
		{" creator", "", false},
		{"individual", "", false},
	} {
		got, err := agentpay.ParseMerchantKind("kind", tt.in)
		if tt.ok != (err == nil) || got != tt.want {
			t.Fatalf("ParseMerchantKind(%q) = %q, %v", tt.in, got, err)
		}
		if err != nil && (agentpay.ErrorCode(err) != "invalid_kind" || err.(*agentpay.Error).Param != "kind") {
			t.Fatalf("ParseMerchantKind(%q): %v, want invalid_kind on kind", tt.in, err)
		}
	}
}

func TestAPIKeySecrets(t *testing.T) {
	a, b := agentpay.NewAPIKeySecret(), agentpay.NewAPIKeySecret()
	if a == b || !strings.HasPrefix(a, "sk_") || len(a) != 46 {
		t.Fatalf("secrets %q %q", a, b)
	}
	if raw, err := base64.RawURLEncoding.DecodeString(a[3:]); err != nil || len(raw) != 32 {
		t.Fatalf("secret body is not 32 bytes of base64url: %v", err)
	}
	if p := agentpay.APIKeyDisplayPrefix(a); len(p) != 12 || !strings.HasPrefix(a, p) {
		t.Fatalf("prefix %q", p)
	}
	if h := agentpay.HashAPIKey(a); len(h) != 64 || h == agentpay.HashAPIKey(b) || strings.Contains(h, a[3:]) {
		t.Fatalf("hash %q", h)
	}
	w := agentpay.NewWebhookSecret()
	if raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(w, "whsec_")); !strings.HasPrefix(w, "whsec_") || err != nil || len(raw) != 32 {
		t.Fatalf("webhook secret %q", w)
	}
	if !(agentpay.APIKey{}).Active() || (agentpay.APIKey{RevokedAt: 1}).Active() {
		t.Fatal("Active")
	}
}
