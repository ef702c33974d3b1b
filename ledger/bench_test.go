package ledger

import (
	"fmt"
	"testing"

	"github.com/agentpay/agentpay"
)

// BenchmarkApplyGroup applies single transfers from 1000 wallets to 50
// merchants, one transfer per group, in batches of 10,000 transfers as a
// committer would (the batch's maps grow no larger than that).
func BenchmarkApplyGroup(b *testing.B) {
	const wallets, merchants, batchSize = 1000, 50, 10_000
	accounts := make([]agentpay.Account, 0, wallets+merchants+1)
	accounts = append(accounts, agentpay.Account{ID: "funding", Kind: agentpay.AccountFunding, Asset: "USD", DebitsPosted: wallets << 40})
	for i := range wallets {
		accounts = append(accounts, agentpay.Account{ID: fmt.Sprintf("w%04d", i), Kind: agentpay.AccountUserWallet, Asset: "USD",
			Flags: agentpay.AccountDebitsMustNotExceedCredits, CreditsPosted: 1 << 40})
	}
	for i := range merchants {
		accounts = append(accounts, agentpay.Account{ID: fmt.Sprintf("m%02d", i), Kind: agentpay.AccountMerchant, Asset: "USD",
			Flags: agentpay.AccountDebitsMustNotExceedCredits})
	}
	ids := make([]string, batchSize)
	for i := range ids {
		ids[i] = fmt.Sprintf("trf_%08d", i)
	}
	newBatch := func(last int64) *Batch {
		batch := NewBatch(now, last)
		for _, a := range accounts {
			batch.AddAccount(a)
		}
		return batch
	}
	batch := newBatch(0)
	group := make([]agentpay.Transfer, 1)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if i > 0 && i%batchSize == 0 {
			b.StopTimer()
			batch = newBatch(batch.LastTimestamp())
			b.StartTimer()
		}
		group[0] = agentpay.Transfer{ID: ids[i%batchSize], DebitAccountID: accounts[1+i%wallets].ID,
			CreditAccountID: accounts[1+wallets+i%merchants].ID, Amount: 1 + int64(i%100), Asset: "USD", Code: "payment"}
		if _, err := batch.ApplyGroup(group); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if _, err := batch.Changes(); err != nil {
		b.Fatal(err)
	}
}
