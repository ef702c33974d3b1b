package ledger

import (
	"errors"
	"fmt"
	"math/big"
	"sort"

	"github.com/agentpay/agentpay"
)

// Check verifies the ledger's invariants over every account and every open
// pending transfer:
//   - per asset, the sum of all balances is zero, posted and pending alike;
//   - no account breaks its flags;
//   - each account's pending totals equal the sum of its open pending transfers.
//
// It sums with big integers, so a corrupt ledger cannot hide behind overflow.
// The returned error lists every breach found.
func Check(accounts []agentpay.Account, openPending []agentpay.Transfer) error {
	var errs []error
	type sums struct{ posted, pending big.Int }
	perAsset := map[string]*sums{}
	pendingDebits := map[string]*big.Int{}
	pendingCredits := map[string]*big.Int{}
	for _, t := range openPending {
		if t.Flags != agentpay.TransferPending || t.PendingStatus != agentpay.PendingOpen || t.Result != "" {
			errs = append(errs, fmt.Errorf("transfer %s is given as open pending but is not", t.ID))
			continue
		}
		addTo(pendingDebits, t.DebitAccountID, t.Amount)
		addTo(pendingCredits, t.CreditAccountID, t.Amount)
	}
	for i := range accounts {
		a := &accounts[i]
		s := perAsset[a.Asset]
		if s == nil {
			s = &sums{}
			perAsset[a.Asset] = s
		}
		s.posted.Add(&s.posted, big.NewInt(a.CreditsPosted))
		s.posted.Sub(&s.posted, big.NewInt(a.DebitsPosted))
		s.pending.Add(&s.pending, big.NewInt(a.CreditsPending))
		s.pending.Sub(&s.pending, big.NewInt(a.DebitsPending))
		if a.DebitsPending < 0 || a.DebitsPosted < 0 || a.CreditsPending < 0 || a.CreditsPosted < 0 {
			errs = append(errs, fmt.Errorf("account %s has a negative total", a.ID))
		}
		if err := checkFlags(a); err != nil {
			errs = append(errs, fmt.Errorf("account %s breaks its flags: %w", a.ID, err))
		}
		if got := valueOf(pendingDebits, a.ID); got.Cmp(big.NewInt(a.DebitsPending)) != 0 {
			errs = append(errs, fmt.Errorf("account %s: debits_pending %d but open pending debits sum to %s", a.ID, a.DebitsPending, got))
		}
		if got := valueOf(pendingCredits, a.ID); got.Cmp(big.NewInt(a.CreditsPending)) != 0 {
			errs = append(errs, fmt.Errorf("account %s: credits_pending %d but open pending credits sum to %s", a.ID, a.CreditsPending, got))
		}
		delete(pendingDebits, a.ID)
		delete(pendingCredits, a.ID)
	}
	for id := range pendingDebits {
		errs = append(errs, fmt.Errorf("open pending transfer debits unknown account %s", id))
	}
	for id := range pendingCredits {
		errs = append(errs, fmt.Errorf("open pending transfer credits unknown account %s", id))
	}
	assets := make([]string, 0, len(perAsset))
	for asset := range perAsset {
		assets = append(assets, asset)
	}
	sort.Strings(assets)
	for _, asset := range assets {
		s := perAsset[asset]
		if s.posted.Sign() != 0 || s.pending.Sign() != 0 {
			errs = append(errs, fmt.Errorf("asset %s does not balance: posted %s, pending %s", asset, &s.posted, &s.pending))
		}
	}
	return errors.Join(errs...)
}

func addTo(m map[string]*big.Int, id string, amount int64) {
	v := m[id]
	if v == nil {
		v = new(big.Int)
		m[id] = v
	}
	v.Add(v, big.NewInt(amount))
}

func valueOf(m map[string]*big.Int, id string) *big.Int {
	if v := m[id]; v != nil {
		return v
	}
	return new(big.Int)
}
