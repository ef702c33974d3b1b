package compensation

import (
	"context"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/payments"
	"github.com/agentpay/agentpay/store"
)

// Background work of claims.
const (
	// JobEvery is how often Job runs.
	JobEvery = 5 * time.Second
	// openGrace is how long a claim stays open before Job adjudicates it:
	// the filing request adjudicates it itself right away, so Job only
	// picks up those whose node stopped in between.
	openGrace = 30 * time.Second
	// jobBatchMax bounds the claims one run of Job handles per kind.
	jobBatchMax = 200
)

// Job is the claims' background work under one lease: it adjudicates
// claims left open, and collects merchants' debts from their balances.
func (s *Service) Job() store.Job {
	return store.Job{Name: "compensation", Every: JobEvery, Run: func(ctx context.Context) error {
		if _, err := s.AdjudicateOpen(ctx); err != nil {
			return err
		}
		_, err := s.CollectDebts(ctx)
		return err
	}}
}

// AdjudicateOpen adjudicates claims filed more than openGrace ago and
// still open, and returns how many it decided.
func (s *Service) AdjudicateOpen(ctx context.Context) (int, error) {
	list, err := s.DB.OpenClaims(ctx, s.now().Add(-openGrace).UnixMicro(), jobBatchMax)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, c := range list {
		if _, err := s.Adjudicate(ctx, c.ID); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// CollectDebts takes what merchants owe on approved claims from their
// available balances, oldest debt first, each a transfer from the
// merchant's account to the protection fund with the claim's versioned
// update and a claim.recovered event. A merchant with nothing available is
// skipped until its balance grows (later captures, top-ups). It returns
// how many claims it collected from.
func (s *Service) CollectDebts(ctx context.Context) (int, error) {
	list, err := s.DB.ClaimsWithDebt(ctx, jobBatchMax)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, c := range list {
		collected := false
		_, err := s.commitRetrying(ctx, func() (store.Claim, *store.Unit, error) {
			c, u, err := s.prepareCollect(ctx, c.ID)
			collected = u != nil
			return c, u, err
		})
		switch {
		case err == nil:
			if collected {
				n++
			}
		case retryable(err):
			// The balance keeps moving: next run.
		default:
			return n, err
		}
	}
	return n, nil
}

// prepareCollect returns the unit that collects as much of a claim's debt
// as its merchant's available balance holds now, or no unit.
func (s *Service) prepareCollect(ctx context.Context, id string) (store.Claim, *store.Unit, error) {
	c, err := s.DB.Claim(ctx, id)
	if err != nil || c.Debt <= 0 {
		return c, nil, err
	}
	merchant := payments.MerchantAccountID(c.MerchantID, c.Asset)
	acc, err := s.DB.Account(ctx, merchant)
	if err != nil {
		return c, nil, err
	}
	take := min(c.Debt, acc.Available())
	if take <= 0 {
		return c, nil, nil
	}
	fund, err := s.Payments.EnsureProtectionFund(ctx, c.Asset)
	if err != nil {
		return c, nil, err
	}
	m, err := s.DB.Merchant(ctx, c.MerchantID)
	if err != nil {
		return c, nil, err
	}
	c.RecoveryTransferID = agentpay.NewID("clmv")
	c.Recovered += take
	c.Debt -= take
	u := &store.Unit{Transfers: []agentpay.Transfer{{ID: c.RecoveryTransferID, DebitAccountID: merchant, CreditAccountID: fund,
		Amount: take, Asset: c.Asset, Reference: c.ID, Code: "claim_recovery"}}}
	s.change(u, m, &c, EventRecovered)
	return c, u, nil
}
