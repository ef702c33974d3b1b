package payments

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
)

// Decline codes of limits.
const (
	DeclineGrantDaily   = "grant_daily_limit"
	DeclineGrantMonthly = "grant_monthly_limit"
	DeclineTierDaily    = "tier_daily_limit"
	DeclineTierMonthly  = "tier_monthly_limit"
)

// budget is one spend counter and the most it may reach.
type budget struct {
	counter store.SpendCounter
	max     int64
	code    string
}

// budgets reads what a payment of p's user and grant counts against today
// and this month (UTC days and months): the grant's limits and the user's
// tier limits in p's asset.
func (s *Service) budgets(ctx context.Context, p agentpay.Payment, g agentpay.Grant, tier agentpay.TierLimits, now time.Time) ([]budget, error) {
	day, month := now.Format("2006-01-02"), now.Format("2006-01")
	var bs []budget
	var ids []string
	if g.ID != "" { // a merchant's charge under a mandate has no agent's grant
		ids = append(ids, fmt.Sprintf("grant:%s:day:%s", g.ID, day), fmt.Sprintf("grant:%s:month:%s", g.ID, month))
		bs = append(bs, budget{max: g.Limits.PerDay, code: DeclineGrantDaily}, budget{max: g.Limits.PerMonth, code: DeclineGrantMonthly})
	}
	ids = append(ids, fmt.Sprintf("user:%s:%s:day:%s", p.UserID, p.Asset, day), fmt.Sprintf("user:%s:%s:month:%s", p.UserID, p.Asset, month))
	bs = append(bs, budget{max: tier.PerDay, code: DeclineTierDaily}, budget{max: tier.PerMonth, code: DeclineTierMonthly})
	counters, err := s.DB.SpendCounters(ctx, ids...)
	if err != nil {
		return nil, err
	}
	for i := range bs {
		bs[i].counter = counters[i]
	}
	return bs, nil
}

// exceeded returns the decline code of the first budget amount does not
// fit, or "".
func exceeded(bs []budget, amount int64) string {
	for _, b := range bs {
		if sum, err := agentpay.AddAmounts(b.counter.Amount, amount); err != nil || sum > b.max {
			return b.code
		}
	}
	return ""
}

// checkGrant refuses a payment its grant cannot cover whatever was spent:
// a revoked or expired grant, another asset, more than the grant's per
// payment, a merchant category outside the grant's, or an unverified user
// or one whose tier does not allow the amount per payment.
func (s *Service) checkGrant(ctx context.Context, g agentpay.Grant, m store.StoredMerchant, p agentpay.Payment, now time.Time) (agentpay.TierLimits, error) {
	if g.Status != agentpay.GrantActive {
		return agentpay.TierLimits{}, agentpay.Errorf(agentpay.EFORBIDDEN, "grant_revoked", "the agent's grant was revoked")
	}
	if now.UnixMicro() >= g.ExpiresAt {
		return agentpay.TierLimits{}, agentpay.Errorf(agentpay.EFORBIDDEN, "grant_expired", "the agent's grant expired")
	}
	if p.Asset != g.Limits.Asset {
		return agentpay.TierLimits{}, agentpay.ParamErrorf("asset", "asset_not_in_grant",
			"the grant's limits are in %s; this payment is in %s", g.Limits.Asset, p.Asset)
	}
	if p.Totals.Total > g.Limits.PerPayment {
		return agentpay.TierLimits{}, &agentpay.Error{Kind: agentpay.EFORBIDDEN, Code: "exceeds_grant_limit", Param: "totals.total",
			Message: fmt.Sprintf("the total exceeds the grant's limit of %d per payment", g.Limits.PerPayment)}
	}
	if len(g.Categories) > 0 && !slices.Contains(g.Categories, m.MCC) {
		return agentpay.TierLimits{}, &agentpay.Error{Kind: agentpay.EFORBIDDEN, Code: "merchant_category_not_allowed", Param: "merchant",
			Message: fmt.Sprintf("the grant does not allow merchant category %s", m.MCC)}
	}
	return s.checkTier(ctx, p)
}

// checkPayer checks p against its grant, as checkGrant does, or, for a
// merchant's charge under a mandate (no grant), against the user's tier.
func (s *Service) checkPayer(ctx context.Context, p agentpay.Payment, m store.StoredMerchant, now time.Time) (agentpay.Grant, agentpay.TierLimits, error) {
	if p.GrantID == "" {
		tier, err := s.checkTier(ctx, p)
		return agentpay.Grant{UserID: p.UserID}, tier, err
	}
	g, err := s.DB.Grant(ctx, p.GrantID)
	if err != nil {
		return g, agentpay.TierLimits{}, err
	}
	tier, err := s.checkGrant(ctx, g, m, p, now)
	return g, tier, err
}

// checkTier refuses a payment the user's tier does not allow agents to
// make: an unverified user, an asset without limits, more than the tier's
// amount per payment.
func (s *Service) checkTier(ctx context.Context, p agentpay.Payment) (agentpay.TierLimits, error) {
	u, err := s.DB.User(ctx, p.UserID)
	if err != nil {
		return agentpay.TierLimits{}, err
	}
	if u.Tier <= agentpay.TierUnverified {
		return agentpay.TierLimits{}, agentpay.Errorf(agentpay.EFORBIDDEN, "tier_unverified", "the user must verify their contact details before agents may pay")
	}
	tier := s.Identity.TierLimits().For(u.Tier, p.Asset)
	if tier.PerPayment <= 0 {
		return tier, &agentpay.Error{Kind: agentpay.EFORBIDDEN, Code: "asset_not_allowed_for_tier", Param: "asset",
			Message: fmt.Sprintf("no limits are configured for tier %d in %s", u.Tier, p.Asset)}
	}
	if p.Totals.Total > tier.PerPayment {
		return tier, &agentpay.Error{Kind: agentpay.EFORBIDDEN, Code: "exceeds_tier_limit", Param: "totals.total",
			Message: fmt.Sprintf("the total exceeds the user's tier %d limit of %d per payment", u.Tier, tier.PerPayment)}
	}
	return tier, nil
}
