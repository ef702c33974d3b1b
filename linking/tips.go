package linking

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
)

// Tips given without a tap rest on a mandate like any money moved without
// one (DESIGN §5). The daily tip budget a user sets when linking an agent
// is that mandate: it is made active in the unit that makes the grant,
// under the same passkey approval, so there is no second approval to
// forget and no moment when the grant exists without the budget the user
// chose.

// grantMandatesMax bounds the mandates of one grant that revoking the
// grant reads. Any beyond stop charging all the same: every charge under a
// mandate checks that its grant is active.
const grantMandatesMax = 100

// TipTerms are the tips an agent may give without a tap, in minor units of
// its grant's asset: each up to AutoApproveMax, and up to BudgetPerDay a
// day in all. A budget of 0 means every tip asks the user.
type TipTerms struct {
	AutoApproveMax int64
	BudgetPerDay   int64
}

// requestedTips are the tip terms link asks for.
func requestedTips(link agentpay.AgentLink) TipTerms {
	return TipTerms{AutoApproveMax: link.RequestedTipAutoApproveMax, BudgetPerDay: link.RequestedTipBudgetPerDay}
}

// Validate checks tip terms against the scopes and limits they come with:
// amounts of 0 or more, only with the tips scope, a budget only with an
// amount per tip, no more per tip than per payment, no more a day than the
// limits allow a day, and a budget that holds at least one tip.
func (t TipTerms) Validate(scopes []agentpay.Scope, l agentpay.GrantLimits) error {
	switch {
	case t.AutoApproveMax < 0:
		return agentpay.ParamErrorf("tip_auto_approve_max", "invalid_limit", "tip_auto_approve_max must be 0 or more minor units")
	case t.BudgetPerDay < 0:
		return agentpay.ParamErrorf("tip_budget_per_day", "invalid_limit", "tip_budget_per_day must be 0 or more minor units")
	case t.BudgetPerDay > 0 && !slices.Contains(scopes, agentpay.ScopeTips):
		return agentpay.ParamErrorf("tip_budget_per_day", "tips_scope_required", "a tip budget needs the tips scope")
	case t.AutoApproveMax > 0 && !slices.Contains(scopes, agentpay.ScopeTips):
		return agentpay.ParamErrorf("tip_auto_approve_max", "tips_scope_required", "tips given without a tap need the tips scope")
	case t.BudgetPerDay > 0 && t.AutoApproveMax == 0:
		return agentpay.ParamErrorf("tip_budget_per_day", "tip_auto_approve_required",
			"a tip budget needs tip_auto_approve_max above 0: the most one tip given without a tap may be")
	case t.AutoApproveMax > l.PerPayment:
		return agentpay.ParamErrorf("tip_auto_approve_max", "invalid_limit", "tip_auto_approve_max must not exceed limits.per_payment")
	case t.BudgetPerDay > l.PerDay:
		return agentpay.ParamErrorf("tip_budget_per_day", "tip_budget_exceeds_per_day", "tip_budget_per_day must not exceed limits.per_day")
	case t.BudgetPerDay > 0 && t.BudgetPerDay < t.AutoApproveMax:
		return agentpay.ParamErrorf("tip_budget_per_day", "tip_budget_below_auto_approve",
			"tip_budget_per_day must be 0 or at least tip_auto_approve_max")
	}
	return nil
}

// approvedTips returns the tip terms an approval keeps: what the agent
// asked for (none once the user drops the tips scope), or the user's
// Tips, which may only be lower; or a server's own TipAutoApproveMax.
func approvedTips(link agentpay.AgentLink, a Approval, scopes []agentpay.Scope, limits agentpay.GrantLimits) (TipTerms, error) {
	if a.TipAutoApproveMax != 0 {
		if a.Tips != nil {
			return TipTerms{}, agentpay.ParamErrorf("tip_auto_approve_max", "invalid_tips", "give Tips or TipAutoApproveMax, not both")
		}
		return TipTerms{AutoApproveMax: a.TipAutoApproveMax}, nil // Grant.Validate bounds it
	}
	asked := requestedTips(link)
	t := asked
	if !slices.Contains(scopes, agentpay.ScopeTips) {
		t = TipTerms{}
	}
	if a.Tips != nil {
		t = *a.Tips
		switch {
		case t.AutoApproveMax > asked.AutoApproveMax:
			return t, agentpay.ParamErrorf("tip_auto_approve_max", "tip_auto_approve_raised",
				"tip_auto_approve_max may only be lowered from the %d the agent asked for", asked.AutoApproveMax)
		case t.BudgetPerDay > asked.BudgetPerDay:
			return t, agentpay.ParamErrorf("tip_budget_per_day", "tip_budget_raised",
				"tip_budget_per_day may only be lowered from the %d the agent asked for", asked.BudgetPerDay)
		}
	}
	return t, t.Validate(scopes, limits)
}

// newTipsMandate returns the active tips mandate of grant g for terms t,
// approved now with the grant. It pays whatever g may pay (g's
// categories; with none, any merchant), each tip up to t.AutoApproveMax
// and t.BudgetPerDay a day, days running midnight to midnight in timeZone
// ("" is UTC), until g expires.
func newTipsMandate(g agentpay.Grant, t TipTerms, timeZone string, now time.Time) (agentpay.Mandate, error) {
	if timeZone == "" {
		timeZone = "UTC"
	}
	loc, err := agentpay.LoadLocation("time_zone", timeZone)
	if err != nil {
		return agentpay.Mandate{}, err
	}
	// The budget's days are anchored at midnight, so "a day" is the
	// user's calendar day, not 24 hours from the moment they linked.
	y, mo, d := now.In(loc).Date()
	start := time.Date(y, mo, d, 0, 0, 0, 0, loc)
	if start.After(now) { // a midnight a clock change skipped
		start = now
	}
	asset := g.Limits.Asset
	payees := "any merchant the agent may pay"
	if len(g.Categories) > 0 {
		payees = "merchants of the categories the agent may pay"
	}
	m := agentpay.Mandate{ID: agentpay.NewID("man"), Kind: agentpay.MandateTips, UserID: g.UserID, GrantID: g.ID,
		Categories: slices.Clone(g.Categories), Asset: asset, PerPaymentMax: t.AutoApproveMax, Budget: t.BudgetPerDay,
		Period: agentpay.Interval{Unit: agentpay.IntervalDay, Count: 1}, TimeZone: timeZone, StartsAt: start.UnixMicro(),
		EndsAt: g.ExpiresAt, Status: agentpay.MandateActive, ApprovedAt: now.UnixMicro(), CreatedAt: now.UnixMicro(),
		UpdatedAt: now.UnixMicro(), Row: 1,
		Description: fmt.Sprintf("Tips the agent may give without asking you: up to %s each and %s a day in all (days in %s), "+
			"to %s. Set when you linked the agent; revoking the agent ends it.",
			agentpay.Money{Amount: t.AutoApproveMax, Asset: asset}, agentpay.Money{Amount: t.BudgetPerDay, Asset: asset}, timeZone, payees)}
	return m, m.Validate()
}

// Event types of mandates, as payments writes them.
const (
	eventMandateApproved = "mandate.approved"
	eventMandateRevoked  = "mandate.revoked"
)

// emitMandate adds the event of a change to m (whose Row is the version
// the unit writes). Only mandates naming no merchant change here, so no
// merchant is owed a webhook.
func emitMandate(u *store.Unit, m agentpay.Mandate, typ string, now time.Time) {
	u.Rows = append(u.Rows, store.MandateEvent(m, typ, now).Row())
}

// revokeTipsMandates adds to u the revocation of g's tips mandates that
// name no merchant, the one made at linking among them. The updates are
// versioned: a tip charged meanwhile fails the unit (version_conflict)
// rather than commit after it, and a tip charged after it finds the
// mandate revoked. Mandates naming a merchant keep their status (their
// revocation is owed to the merchant by webhook, which payments sends);
// they stop charging all the same, as every charge checks its grant.
func (s *Service) revokeTipsMandates(ctx context.Context, u *store.Unit, g agentpay.Grant) error {
	ms, err := s.DB.Mandates(ctx, store.MandatePage{Owner: "grant_id", ID: g.ID, Limit: grantMandatesMax})
	if err != nil {
		return err
	}
	now := s.now()
	for _, m := range ms {
		if m.Kind != agentpay.MandateTips || m.MerchantID != "" || m.UserID != g.UserID {
			continue
		}
		switch m.Status {
		case agentpay.MandateActive, agentpay.MandatePaused, agentpay.MandateRequiresApproval:
		default:
			continue
		}
		m.Status, m.UpdatedAt = agentpay.MandateRevoked, now.UnixMicro()
		u.Updates = append(u.Updates, store.MandateUpdate(m))
		m.Row++
		emitMandate(u, m, eventMandateRevoked, now)
	}
	return nil
}

// TipsMandate returns the tips mandate made when g was linked, while it
// is active; ok is false if the user set no tip budget or it ended.
func (s *Service) TipsMandate(ctx context.Context, g agentpay.Grant) (m agentpay.Mandate, ok bool, err error) {
	ms, err := s.DB.Mandates(ctx, store.MandatePage{Owner: "grant_id", ID: g.ID, Limit: grantMandatesMax})
	if err != nil {
		return m, false, err
	}
	for _, m := range ms {
		if m.Kind == agentpay.MandateTips && m.MerchantID == "" && m.UserID == g.UserID && m.CreatedAt == g.CreatedAt &&
			m.Status == agentpay.MandateActive {
			return m, true, nil
		}
	}
	return agentpay.Mandate{}, false, nil
}
