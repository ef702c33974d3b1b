package ledger

import (
	"math"
	"strings"
	"testing"

	"github.com/agentpay/agentpay"
)

func fixtureOpenPending() []agentpay.Transfer {
	var open []agentpay.Transfer
	for _, t := range fixtureTransfers() {
		if t.Flags == agentpay.TransferPending && t.PendingStatus == agentpay.PendingOpen && t.Result == "" {
			open = append(open, t)
		}
	}
	return open
}

func TestCheck(t *testing.T) {
	type mutation struct {
		name     string
		mutate   func(accounts []agentpay.Account, open []agentpay.Transfer) ([]agentpay.Account, []agentpay.Transfer)
		breaches []string // each must appear in the error, one line each, and nothing else
	}
	find := func(accounts []agentpay.Account, id string) *agentpay.Account {
		for i := range accounts {
			if accounts[i].ID == id {
				return &accounts[i]
			}
		}
		panic("no account " + id)
	}
	cases := []mutation{
		{
			name: "valid ledger",
			mutate: func(a []agentpay.Account, o []agentpay.Transfer) ([]agentpay.Account, []agentpay.Transfer) {
				return a, o
			},
		},
		{
			name: "empty ledger",
			mutate: func(a []agentpay.Account, o []agentpay.Transfer) ([]agentpay.Account, []agentpay.Transfer) {
				return nil, nil
			},
		},
		{
			name: "posted totals do not balance",
			mutate: func(a []agentpay.Account, o []agentpay.Transfer) ([]agentpay.Account, []agentpay.Transfer) {
				find(a, "merchant").CreditsPosted += 7
				return a, o
			},
			breaches: []string{"asset USD does not balance: posted 7, pending 0"},
		},
		{
			name: "an asset that does not balance is named, the other is not",
			mutate: func(a []agentpay.Account, o []agentpay.Transfer) ([]agentpay.Account, []agentpay.Transfer) {
				find(a, "eurfund").DebitsPosted -= 3
				return a, o
			},
			breaches: []string{"asset EUR does not balance: posted 3, pending 0"},
		},
		{
			name: "pending totals do not balance",
			mutate: func(a []agentpay.Account, o []agentpay.Transfer) ([]agentpay.Account, []agentpay.Transfer) {
				// An open pending transfer of one side only: wallet's pending
				// debits match its open pendings, merchant's credits do not.
				h := pendingT("h1", "wallet", "merchant", 5, 0)
				h.PendingStatus = agentpay.PendingOpen
				find(a, "wallet").DebitsPending += 5
				return a, append(o, h)
			},
			breaches: []string{"asset USD does not balance: posted 0, pending -5", "account merchant: credits_pending 450 but open pending credits sum to 455"},
		},
		{
			name: "debits_must_not_exceed_credits breached",
			mutate: func(a []agentpay.Account, o []agentpay.Transfer) ([]agentpay.Account, []agentpay.Transfer) {
				find(a, "wallet").DebitsPosted += avail + 1
				find(a, "merchant").CreditsPosted += avail + 1
				return a, o
			},
			breaches: []string{"account wallet breaks its flags: agentpay: exceeds_credits"},
		},
		{
			name: "debits_must_not_exceed_credits breached by pending debits alone",
			mutate: func(a []agentpay.Account, o []agentpay.Transfer) ([]agentpay.Account, []agentpay.Transfer) {
				h := pendingT("h1", "wallet", "merchant", avail+1, 0)
				h.PendingStatus = agentpay.PendingOpen
				find(a, "wallet").DebitsPending += avail + 1
				find(a, "merchant").CreditsPending += avail + 1
				return a, append(o, h)
			},
			breaches: []string{"account wallet breaks its flags"},
		},
		{
			name: "credits_must_not_exceed_debits breached",
			mutate: func(a []agentpay.Account, o []agentpay.Transfer) ([]agentpay.Account, []agentpay.Transfer) {
				find(a, "capped").CreditsPosted += 501
				find(a, "fund").DebitsPosted += 501
				return a, o
			},
			breaches: []string{"account capped breaks its flags: agentpay: exceeds_debits"},
		},
		{
			name: "flag breach hidden by overflow",
			mutate: func(a []agentpay.Account, o []agentpay.Transfer) ([]agentpay.Account, []agentpay.Transfer) {
				// debits pending + posted overflow int64; wrapped, they would
				// look smaller than the credits.
				h := pendingT("h1", "big", "big_mirror", math.MaxInt64, 0)
				h.PendingStatus = agentpay.PendingOpen
				a = append(a,
					agentpay.Account{ID: "big", Asset: "USD", Flags: agentpay.AccountDebitsMustNotExceedCredits,
						DebitsPending: math.MaxInt64, DebitsPosted: 10, CreditsPosted: math.MaxInt64},
					agentpay.Account{ID: "big_mirror", Asset: "USD", CreditsPending: math.MaxInt64, CreditsPosted: 10, DebitsPosted: math.MaxInt64})
				return a, append(o, h)
			},
			breaches: []string{"account big breaks its flags"},
		},
		{
			name: "pending debits do not match open pending transfers",
			mutate: func(a []agentpay.Account, o []agentpay.Transfer) ([]agentpay.Account, []agentpay.Transfer) {
				return a, o[1:] // p_open (300) forgotten: the totals still count it
			},
			breaches: []string{"account wallet: debits_pending 450 but open pending debits sum to 150",
				"account merchant: credits_pending 450 but open pending credits sum to 150"},
		},
		{
			name: "a transfer given as open pending that is not",
			mutate: func(a []agentpay.Account, o []agentpay.Transfer) ([]agentpay.Account, []agentpay.Transfer) {
				for _, t := range fixtureTransfers() {
					if t.ID == "p_posted" || t.ID == "single1" || t.ID == "rej_credits" {
						o = append(o, t)
					}
				}
				return a, o
			},
			breaches: []string{"transfer p_posted is given as open pending but is not",
				"transfer single1 is given as open pending but is not", "transfer rej_credits is given as open pending but is not"},
		},
		{
			name: "open pending transfer on an unknown account",
			mutate: func(a []agentpay.Account, o []agentpay.Transfer) ([]agentpay.Account, []agentpay.Transfer) {
				h := pendingT("h1", "ghost", "phantom", 5, 0)
				h.PendingStatus = agentpay.PendingOpen
				return a, append(o, h)
			},
			breaches: []string{"open pending transfer debits unknown account ghost", "open pending transfer credits unknown account phantom"},
		},
		{
			name: "negative totals",
			mutate: func(a []agentpay.Account, o []agentpay.Transfer) ([]agentpay.Account, []agentpay.Transfer) {
				// Balanced and within the flags, but no total may be negative.
				find(a, "fund").CreditsPosted -= 600
				find(a, "fund").DebitsPosted -= 600
				find(a, "merchant").CreditsPosted -= 600
				find(a, "merchant").DebitsPosted -= 600
				return a, o
			},
			breaches: []string{"account fund has a negative total", "account merchant has a negative total"},
		},
		{
			name: "totals near the int64 limits still sum exactly",
			mutate: func(a []agentpay.Account, o []agentpay.Transfer) ([]agentpay.Account, []agentpay.Transfer) {
				// Three accounts whose posted balances sum to zero only
				// with more than 64 bits in between.
				return append(a,
					agentpay.Account{ID: "x1", Asset: "XAU", CreditsPosted: math.MaxInt64},
					agentpay.Account{ID: "x2", Asset: "XAU", CreditsPosted: math.MaxInt64},
					agentpay.Account{ID: "x3", Asset: "XAU", DebitsPosted: math.MaxInt64},
					agentpay.Account{ID: "x4", Asset: "XAU", DebitsPosted: math.MaxInt64}), o
			},
		},
		{
			name: "an imbalance of exactly 2^64 is not hidden",
			mutate: func(a []agentpay.Account, o []agentpay.Transfer) ([]agentpay.Account, []agentpay.Transfer) {
				return append(a,
					agentpay.Account{ID: "x1", Asset: "XAU", CreditsPosted: math.MaxInt64},
					agentpay.Account{ID: "x2", Asset: "XAU", CreditsPosted: math.MaxInt64},
					agentpay.Account{ID: "x3", Asset: "XAU", CreditsPosted: 2}), o
			},
			breaches: []string{"asset XAU does not balance: posted 18446744073709551616"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			accounts, open := tc.mutate(fixtureAccounts(), fixtureOpenPending())
			err := Check(accounts, open)
			if len(tc.breaches) == 0 {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Check passed, want %q", tc.breaches)
			}
			for _, want := range tc.breaches {
				if !strings.Contains(err.Error(), want) {
					t.Fatalf("Check error %q does not report %q", err, want)
				}
			}
			if n := len(strings.Split(err.Error(), "\n")); n != len(tc.breaches) {
				t.Fatalf("Check reports %d breaches, want %d:\n%v", n, len(tc.breaches), err)
			}
		})
	}
}

// TestCheckAfterBatches checks Check on the ledger the batch tests build: any
// accepted sequence leaves a ledger that passes.
func TestCheckAfterBatches(t *testing.T) {
	b := fixture()
	mustApply(t, b, post("pp", "p_open", 120), single("s1", "merchant", "fund", 50))
	mustApply(t, b, pendingT("h1", "fund", "capped", 400, 0))
	mustApply(t, b, void("vv", "h1", 0))
	if err := b.Expire("p_due"); err != nil {
		t.Fatal(err)
	}
	checkBatch(t, b)
}
