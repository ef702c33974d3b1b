package payments

import (
	"context"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/risk"
	"github.com/agentpay/agentpay/store"
)

// Assess runs risk control's decision about p at creation, as PrepareCreate
// does, without writing anything: the reads of the signals and the rules.
func (s *Service) Assess(ctx context.Context, p agentpay.Payment, g agentpay.Grant, m store.StoredMerchant,
	tier agentpay.TierLimits, now time.Time) (risk.Decision, error) {
	a, err := s.assess(ctx, stageCreate, true, p, g, m, tier, now)
	return a.decision, err
}
