package risk

import (
	"math"
	"slices"
	"testing"
)

var defaultRules = MustCompile(DefaultRules)

// normalSignals is a verified user with a long history paying a known,
// well-behaved merchant through their own agent, well inside every limit.
func normalSignals() Signals {
	quiet := Velocity{M1: Window{1, 2500}, H1: Window{3, 7000}, D1: Window{6, 15000}}
	return Signals{
		Stage:   StageCreate,
		Payment: PaymentSignals{Amount: 2500, Asset: "USD", Items: 2, MerchantCategory: "5732"},
		User:    UserSignals{HistoryCount: 40, HistoryMedian: 2000, HistoryP95: 8000, Tier: 2, TierPerPayment: 100000},
		Velocity: VelocitySignals{Grant: quiet, AgentKey: quiet, User: quiet,
			Merchant: Velocity{M1: Window{40, 90000}, H1: Window{2000, 5000000}, D1: Window{40000, 90000000}}},
		Merchant: MerchantSignals{CategoryAllowed: true, Captures30d: 50000, Claims30d: 20, ClaimRate: 0.0004},
		AgentKey: AgentKeySignals{UsersH1: 1, UsersD1: 1, Decisions24h: 6, Captures30d: 45, Claims30d: 0},
		Intent:   IntentSignals{Purpose: "buy a USB-C charger for my laptop", Overlap: 0.67},
	}
}

func TestDefaultRules(t *testing.T) {
	tests := []struct {
		name    string
		change  func(*Signals)
		outcome Outcome
		codes   []string
	}{
		{"normal", func(*Signals) {}, Allow, nil},
		{"normal at approval", func(s *Signals) { s.Stage = StageApprove }, Allow, nil},

		{"amount at the tier limit", func(s *Signals) { s.User.TierPerPayment = 2500 }, Allow, nil},
		{"amount above the tier limit", func(s *Signals) { s.User.TierPerPayment = 2499 }, Deny, []string{"tier_limit_per_payment"}},
		{"no tier limit allows nothing", func(s *Signals) { s.User.TierPerPayment = 0 }, Deny, []string{"tier_limit_per_payment"}},

		{"category not allowed", func(s *Signals) { s.Merchant.CategoryAllowed = false }, Deny, []string{"category_not_allowed"}},

		{"key used by 19 users", func(s *Signals) { s.AgentKey.UsersH1 = 19 }, Allow, nil},
		{"key used by 20 users", func(s *Signals) { s.AgentKey.UsersH1 = 20 }, Review, []string{"agent_key_fanout"}},
		{"key used by 50 users", func(s *Signals) { s.AgentKey.UsersH1 = 50 }, Deny, []string{"agent_key_fanout_extreme", "agent_key_fanout"}},

		{"key denied half the time", func(s *Signals) { s.AgentKey.Decisions24h, s.AgentKey.DenyRate = 20, 0.5 }, Allow, nil},
		{"key denied mostly", func(s *Signals) { s.AgentKey.Decisions24h, s.AgentKey.DenyRate = 20, 0.55 }, Deny, []string{"agent_key_deny_rate"}},
		{"new key denied always", func(s *Signals) { s.AgentKey.Decisions24h, s.AgentKey.DenyRate = 19, 1 }, Allow, nil},

		{"key often disputed", func(s *Signals) { s.AgentKey.Captures30d, s.AgentKey.ClaimRate = 20, 0.1 }, Review, []string{"agent_key_claim_rate"}},
		{"young key disputed", func(s *Signals) { s.AgentKey.Captures30d, s.AgentKey.ClaimRate = 19, 0.5 }, Allow, nil},

		{"grant: 9 a minute before", func(s *Signals) { s.Velocity.Grant.M1.Count = 9 }, Allow, nil},
		{"grant: 10 a minute before", func(s *Signals) { s.Velocity.Grant.M1.Count = 10 }, Review, []string{"velocity_grant_m1"}},
		{"user: 5 a minute before", func(s *Signals) { s.Velocity.User.M1.Count = 5 }, Review, []string{"velocity_user_m1"}},
		{"grant: 29 an hour before", func(s *Signals) { s.Velocity.Grant.H1.Count = 29 }, Allow, nil},
		{"grant: 30 an hour before", func(s *Signals) { s.Velocity.Grant.H1.Count = 30 }, Review, []string{"velocity_grant_h1"}},

		{"merchant often disputed", func(s *Signals) { s.Merchant.Captures30d, s.Merchant.ClaimRate = 20, 0.06 }, Review, []string{"merchant_claim_rate"}},
		{"merchant at 5% claims", func(s *Signals) { s.Merchant.ClaimRate = 0.05 }, Allow, nil},
		{"new merchant with one claim", func(s *Signals) { s.Merchant.Captures30d, s.Merchant.ClaimRate = 19, 1.0/19 }, Allow, nil},

		{"amount at p95 plus a quarter", func(s *Signals) { s.User.HistoryMedian, s.Payment.Amount = 4000, 10000 }, Allow, nil},
		{"amount above p95 plus a quarter", func(s *Signals) { s.User.HistoryMedian, s.Payment.Amount = 4000, 10001 }, Challenge, []string{"amount_unusual"}},
		{"amount at 3× median", func(s *Signals) { s.Payment.Amount = 6000 }, Allow, nil},
		{"amount above 3× median", func(s *Signals) { s.Payment.Amount = 6001 }, Challenge, []string{"amount_unusual"}},
		{"amount at 10× p95 and a bit", func(s *Signals) { s.Payment.Amount, s.User.TierPerPayment = 80009, 1000000 }, Challenge, []string{"amount_unusual"}},
		{"amount at 10× p95 and more", func(s *Signals) { s.Payment.Amount, s.User.TierPerPayment = 80010, 1000000 }, Review, []string{"amount_extreme", "amount_unusual"}},
		{"large amount, little history", func(s *Signals) {
			s.User.HistoryCount, s.Payment.Amount = 4, 90000
		}, Allow, nil},
		{"history too large to compute with", func(s *Signals) {
			s.User.HistoryP95, s.User.HistoryMedian, s.User.TierPerPayment = math.MaxInt64, math.MaxInt64, math.MaxInt64
		}, Review, []string{"rule_error"}},

		{"first payment to the merchant", func(s *Signals) { s.Merchant.FirstPayment = true }, Challenge, []string{"first_payment_to_merchant"}},
		{"first charge under a mandate naming the merchant", func(s *Signals) {
			s.Merchant.FirstPayment, s.Payment.Mandate, s.Payment.MandatePayee = true, true, true
		}, Allow, nil},
		{"first charge under a mandate of categories", func(s *Signals) {
			s.Merchant.FirstPayment, s.Payment.Mandate = true, true
		}, Challenge, []string{"first_payment_to_merchant"}},
		{"intent mismatch", func(s *Signals) { s.Intent.Mismatch, s.Intent.Overlap = true, 0 }, Challenge, []string{"intent_mismatch"}},

		{"prompt injection: new merchant, wrong goods, looping", func(s *Signals) {
			s.Merchant.FirstPayment = true
			s.Intent.Mismatch = true
			s.Velocity.Grant.M1.Count = 12
		}, Review, []string{"velocity_grant_m1", "first_payment_to_merchant", "intent_mismatch"}},
		{"stolen key", func(s *Signals) {
			s.AgentKey.UsersH1, s.AgentKey.Decisions24h, s.AgentKey.DenyRate = 60, 200, 0.7
			s.Merchant.FirstPayment = true
		}, Deny, []string{"agent_key_fanout_extreme", "agent_key_deny_rate", "agent_key_fanout", "first_payment_to_merchant"}},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := normalSignals()
			tt.change(&s)
			d := defaultRules.Evaluate(s)
			if tt.codes == nil {
				tt.codes = []string{}
			}
			if d.Outcome != tt.outcome || !slices.Equal(reasonCodes(d), tt.codes) {
				t.Errorf("got %s %v, want %s %v", d.Outcome, reasonCodes(d), tt.outcome, tt.codes)
			}
			for _, r := range d.Reasons {
				seen[r.Code] = true
			}
		})
	}
	for _, r := range defaultRules.rules {
		if !seen[r.code] {
			t.Errorf("no test makes default rule %s match", r.code)
		}
	}
}

// TestDefaultRulesNewUser follows a new user paying a known merchant once a
// day, keeping their history the way the payments service does (a Bucket
// histogram and Quantile): the first payment is a challenge (a new merchant)
// and the rest are allowed.
func TestDefaultRulesNewUser(t *testing.T) {
	amounts := []int64{1000, 1100, 950, 1200, 1050, 980, 1150, 900, 1250, 1000}
	history := map[int]int64{}
	var count int64
	for day := range 30 {
		s := normalSignals()
		s.Payment.Amount = amounts[day%len(amounts)]
		s.User = UserSignals{HistoryCount: count, HistoryMedian: Quantile(history, 0.5), HistoryP95: Quantile(history, 0.95),
			Tier: 1, TierPerPayment: 50000}
		s.Velocity.User, s.Velocity.Grant, s.Velocity.AgentKey = Velocity{}, Velocity{}, Velocity{}
		if day > 0 {
			s.Velocity.User.D1 = Window{1, amounts[(day-1)%len(amounts)]}
		}
		s.Merchant.FirstPayment = day == 0
		d := defaultRules.Evaluate(s)
		want, wantCodes := Allow, []string{}
		if day == 0 {
			want, wantCodes = Challenge, []string{"first_payment_to_merchant"}
		}
		if d.Outcome != want || !slices.Equal(reasonCodes(d), wantCodes) {
			t.Errorf("day %d, amount %d, p95 %d: got %s %v, want %s %v", day, s.Payment.Amount, s.User.HistoryP95,
				d.Outcome, reasonCodes(d), want, wantCodes)
		}
		history[Bucket(s.Payment.Amount)]++
		count++
	}
}
