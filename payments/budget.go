package payments

import (
	"context"

	"github.com/agentpay/agentpay"
)

// GrantSpending is what a grant's payments used of its day and month
// budgets (UTC) and what a new payment may still take, in minor units of
// the grant's asset.
type GrantSpending struct {
	Asset string
	Day   string // the UTC day counted, 2006-01-02
	Month string // the UTC month counted, 2006-01
	// SpentToday and SpentThisMonth are what the grant's approved payments
	// used (voids, expiries and refunds do not give it back).
	SpentToday, SpentThisMonth int64
	// RemainingToday and RemainingThisMonth are the most a payment could
	// still take without being declined: the lower of what the grant's
	// limits and the user's tier limits leave (the tier counts every agent
	// of the user), never below zero.
	RemainingToday, RemainingThisMonth int64
}

// GrantSpending reads a grant's spend counters with the same budgets
// PrepareCreate checks, so that what an agent is told it may still spend is
// exactly what decides its next payment (as of now; a concurrent approval
// can use it first).
func (s *Service) GrantSpending(ctx context.Context, g agentpay.Grant) (GrantSpending, error) {
	now := s.now()
	asset := g.Limits.Asset
	u, err := s.DB.User(ctx, g.UserID)
	if err != nil {
		return GrantSpending{}, err
	}
	tier := s.Identity.TierLimits().For(u.Tier, asset)
	bs, err := s.budgets(ctx, agentpay.Payment{UserID: g.UserID, Asset: asset}, g, tier, now)
	if err != nil {
		return GrantSpending{}, err
	}
	left := func(b budget) int64 { return max(b.max-b.counter.Amount, 0) }
	// budgets answers the grant's day and month, then the tier's day and month.
	return GrantSpending{Asset: asset, Day: now.Format("2006-01-02"), Month: now.Format("2006-01"),
		SpentToday: bs[0].counter.Amount, SpentThisMonth: bs[1].counter.Amount,
		RemainingToday: min(left(bs[0]), left(bs[2])), RemainingThisMonth: min(left(bs[1]), left(bs[3]))}, nil
}
