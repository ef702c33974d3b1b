package payments

import (
	"context"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/risk"
	"github.com/agentpay/agentpay/store"
)

// Assess runs risk control's decision about p at creation (as
// PrepareCreate does) or at approval (as PrepareApprove does), without
// writing anything: the reads of the signals and the rules.
func (s *Service) Assess(ctx context.Context, approval bool, p agentpay.Payment, g agentpay.Grant, m store.StoredMerchant,
	tier agentpay.TierLimits, now time.Time) (risk.Decision, error) {
	stage := stageCreate
	if approval {
		stage = stageApprove
	}
	a, err := s.assess(ctx, stage, !approval, p, g, m, tier, now, false)
	return a.decision, err
}
