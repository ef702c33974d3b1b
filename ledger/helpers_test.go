package ledger

import (
	"errors"
	"sort"
	"testing"

	"github.com/agentpay/agentpay"
)

// now is the database clock of the fixture batches, in microseconds.
const now = int64(1_700_000_000_000_000)

const (
	avail = 2000 - 300 - 450 // what wallet may still spend in the fixture
	sec   = int64(1_000_000)
)

// fixtureAccounts is a small, consistent ledger: every balance is explained
// by fixtureTransfers, and Check passes on it.
func fixtureAccounts() []agentpay.Account {
	dmnc, cmnd := agentpay.AccountDebitsMustNotExceedCredits, agentpay.AccountCreditsMustNotExceedDebits
	return []agentpay.Account{
		{ID: "fund", Kind: agentpay.AccountFunding, Asset: "USD", DebitsPosted: 2000, CreditsPosted: 500},
		// 2000 topped up; single1 100 + p_posted 200 spent; p_open 300 + p_due 100 + p_later 50 held.
		{ID: "wallet", Kind: agentpay.AccountUserWallet, Asset: "USD", Flags: dmnc, CreditsPosted: 2000, DebitsPosted: 300, DebitsPending: 450},
		{ID: "merchant", Kind: agentpay.AccountMerchant, Asset: "USD", Flags: dmnc, CreditsPosted: 300, CreditsPending: 450},
		// capped has sent 500 to fund, so it may be credited up to 500.
		{ID: "capped", Kind: agentpay.AccountMerchantReserve, Asset: "USD", Flags: cmnd, DebitsPosted: 500},
		{ID: "eurfund", Kind: agentpay.AccountFunding, Asset: "EUR", DebitsPosted: 500},
		{ID: "eurwallet", Kind: agentpay.AccountUserWallet, Asset: "EUR", Flags: dmnc, CreditsPosted: 500},
	}
}

func fixtureTransfers() []agentpay.Transfer {
	pending := func(id string, amount, ts, timeout int64, status agentpay.PendingStatus) agentpay.Transfer {
		t := agentpay.Transfer{ID: id, DebitAccountID: "wallet", CreditAccountID: "merchant", Amount: amount, Asset: "USD",
			Flags: agentpay.TransferPending, TimeoutSeconds: timeout, Timestamp: ts, PendingStatus: status}
		if timeout > 0 {
			t.ExpiresAt = ts + timeout*sec
		}
		return t
	}
	return []agentpay.Transfer{
		{ID: "single1", DebitAccountID: "wallet", CreditAccountID: "merchant", Amount: 100, Asset: "USD", Timestamp: now - 100},
		pending("p_open", 300, now-90, 0, agentpay.PendingOpen),
		pending("p_due", 100, now-10*sec, 10, agentpay.PendingOpen), // expires exactly at now
		pending("p_later", 50, now-5*sec, 10, agentpay.PendingOpen),
		pending("p_posted", 200, now-80, 0, agentpay.PendingPosted),
		{ID: "post_pp", DebitAccountID: "wallet", CreditAccountID: "merchant", Amount: 200, Asset: "USD",
			Flags: agentpay.TransferPostPending, PendingID: "p_posted", Timestamp: now - 79},
		pending("p_voided", 70, now-70, 0, agentpay.PendingVoided),
		{ID: "void_pv", DebitAccountID: "wallet", CreditAccountID: "merchant", Amount: 70, Asset: "USD",
			Flags: agentpay.TransferVoidPending, PendingID: "p_voided", Timestamp: now - 69},
		pending("p_expired", 80, now-60*sec, 30, agentpay.PendingExpired),
		{ID: "rej_credits", DebitAccountID: "wallet", CreditAccountID: "merchant", Amount: 5000, Asset: "USD", Result: "exceeds_credits"},
		{ID: "rej_notfound", DebitAccountID: "ghost", CreditAccountID: "merchant", Amount: 5, Asset: "USD", Result: "debit_account_not_found"},
	}
}

// lastTS is the last timestamp handed out before the fixture batch.
const lastTS = now - 10

func fixture() *Batch {
	b := NewBatch(now, lastTS)
	for _, a := range fixtureAccounts() {
		b.AddAccount(a)
	}
	for _, t := range fixtureTransfers() {
		b.AddTransfer(t)
	}
	return b
}

// addBalanced loads a and an unconstrained account "<id>_mirror" of the
// same asset holding the opposite totals, so that the ledger still balances.
func addBalanced(b *Batch, a agentpay.Account) {
	b.AddAccount(a)
	b.AddAccount(agentpay.Account{ID: a.ID + "_mirror", Asset: a.Asset,
		DebitsPending: a.CreditsPending, DebitsPosted: a.CreditsPosted, CreditsPending: a.DebitsPending, CreditsPosted: a.DebitsPosted})
}

// accountsOf returns the batch's accounts, sorted by id.
func accountsOf(b *Batch) []agentpay.Account {
	out := make([]agentpay.Account, 0, len(b.accounts))
	for _, a := range b.accounts {
		out = append(out, *a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// openPendingOf returns the open pending transfers the batch knows.
func openPendingOf(b *Batch) []agentpay.Transfer {
	var out []agentpay.Transfer
	for _, t := range b.transfers {
		if t.Flags == agentpay.TransferPending && t.Result == "" && t.PendingStatus == agentpay.PendingOpen {
			out = append(out, *t)
		}
	}
	return out
}

// checkBatch asserts the invariants that hold after any sequence of calls:
// Changes succeeds and Check passes on the batch's accounts and open pendings.
func checkBatch(t *testing.T, b *Batch) Changes {
	t.Helper()
	ch, err := b.Changes()
	if err != nil {
		t.Fatalf("Changes: %v", err)
	}
	if err := Check(accountsOf(b), openPendingOf(b)); err != nil {
		t.Fatalf("Check: %v", err)
	}
	return ch
}

// asError returns err as an *agentpay.Error, failing the test if it is not one.
func asError(t *testing.T, err error) *agentpay.Error {
	t.Helper()
	var e *agentpay.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *agentpay.Error", err, err)
	}
	return e
}
