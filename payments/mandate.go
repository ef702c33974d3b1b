package payments

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/consent"
	"github.com/agentpay/agentpay/identity"
	"github.com/agentpay/agentpay/risk"
	"github.com/agentpay/agentpay/store"
)

// Mandates (DESIGN §5): the user approves a mandate's terms once with a
// passkey; charges under it then move money without a tap each, each
// checked against the terms and consuming the mandate's budget for its
// period inside its own unit of work, so two concurrent charges can never
// both fit a budget that holds one.

// DeclineMandateBudget is the decline code of a charge over what the
// mandate's budget still holds this period.
const DeclineMandateBudget = "mandate_budget"

// MandateApprovalObject is everything a user agrees to when approving a
// mandate; its canonical JSON (RFC 8785) and a server nonce are what the
// passkey signs, as for payments.
type MandateApprovalObject struct {
	Type          string            `json:"type"` // "mandate"
	Mandate       string            `json:"mandate"`
	Kind          string            `json:"kind"`
	Payer         string            `json:"payer"`
	Wallet        string            `json:"wallet"`
	Grant         string            `json:"grant,omitempty"`
	AgentName     string            `json:"agent_name,omitempty"`
	Merchant      string            `json:"merchant,omitempty"`
	MerchantName  string            `json:"merchant_name,omitempty"`
	MCC           string            `json:"mcc,omitempty"`
	Categories    []string          `json:"categories,omitempty"`
	Asset         string            `json:"asset"`
	PerPaymentMax int64             `json:"per_payment_max"`
	Budget        int64             `json:"budget"`
	Period        agentpay.Interval `json:"period"`
	TimeZone      string            `json:"time_zone"`
	StartsAt      int64             `json:"starts_at"`
	EndsAt        int64             `json:"ends_at"`
	Description   string            `json:"description"`
}

// PrepareProposeMandate checks a proposed mandate and returns it, waiting
// for the user's approval, with the unit that records it. Its payee must
// be an active merchant taking its asset; an agent's proposal must fit the
// agent's grant (active, the user's, its asset, its amount per payment and
// categories); and no mandate may allow more per payment than the user's
// tier does.
func (s *Service) PrepareProposeMandate(ctx context.Context, m agentpay.Mandate) (agentpay.Mandate, *store.Unit, error) {
	now := s.now()
	m.ID = agentpay.NewID("man")
	m.Status, m.ApprovedAt, m.CreatedAt, m.UpdatedAt, m.Row = agentpay.MandateRequiresApproval, 0, now.UnixMicro(), now.UnixMicro(), 1
	if m.StartsAt == 0 {
		m.StartsAt = now.UnixMicro()
	}
	if err := m.Validate(); err != nil {
		return m, nil, err
	}
	var mer store.StoredMerchant
	if m.MerchantID != "" {
		var err error
		if mer, err = s.merchant(ctx, m.MerchantID, m.Asset); err != nil {
			return m, nil, err
		}
	}
	if m.GrantID != "" {
		g, err := s.DB.Grant(ctx, m.GrantID)
		if err != nil {
			return m, nil, err
		}
		switch {
		case g.UserID != m.UserID:
			return m, nil, agentpay.Errorf(agentpay.ENOTFOUND, "grant_not_found", "grant not found")
		case g.Status != agentpay.GrantActive || now.UnixMicro() >= g.ExpiresAt:
			return m, nil, agentpay.Errorf(agentpay.EFORBIDDEN, "grant_revoked", "the agent's grant is not active")
		case g.Limits.Asset != m.Asset:
			return m, nil, agentpay.ParamErrorf("asset", "asset_not_in_grant", "the grant's limits are in %s", g.Limits.Asset)
		case m.PerPaymentMax > g.Limits.PerPayment:
			return m, nil, agentpay.ParamErrorf("per_payment_max", "exceeds_grant_limit", "the grant allows at most %d per payment", g.Limits.PerPayment)
		case len(g.Categories) > 0 && len(m.Categories) > 0 && !allIn(m.Categories, g.Categories):
			return m, nil, agentpay.ParamErrorf("categories", "merchant_category_not_allowed", "the grant does not allow all these categories")
		}
	}
	u, err := s.DB.User(ctx, m.UserID)
	if err != nil {
		return m, nil, err
	}
	if u.Tier <= agentpay.TierUnverified {
		return m, nil, agentpay.Errorf(agentpay.EFORBIDDEN, "tier_unverified", "the user must verify their contact details first")
	}
	if tier := s.Identity.TierLimits().For(u.Tier, m.Asset); m.PerPaymentMax > tier.PerPayment {
		return m, nil, agentpay.ParamErrorf("per_payment_max", "exceeds_tier_limit", "the user's tier allows at most %d per payment", tier.PerPayment)
	}
	unit := &store.Unit{Rows: []store.Row{store.MandateRow(m)}}
	s.emitMandate(unit, mer, m, EventMandateProposed)
	return m, unit, nil
}

func allIn(xs, set []string) bool {
	for _, x := range xs {
		if !slices.Contains(set, x) {
			return false
		}
	}
	return true
}

// MandateForUser returns a mandate of userID; another user's is not found.
func (s *Service) MandateForUser(ctx context.Context, userID, id string) (agentpay.Mandate, error) {
	m, err := s.DB.Mandate(ctx, id)
	if err == nil && m.UserID != userID {
		err = agentpay.Errorf(agentpay.ENOTFOUND, "mandate_not_found", "mandate not found")
	}
	return m, err
}

// MandateApproval returns the object a user approves for m, from m and
// what it names as stored now.
func (s *Service) MandateApproval(ctx context.Context, m agentpay.Mandate) (MandateApprovalObject, error) {
	o := MandateApprovalObject{Type: "mandate", Mandate: m.ID, Kind: string(m.Kind), Payer: m.UserID,
		Wallet: identity.WalletID(m.UserID, m.Asset), Grant: m.GrantID, Categories: m.Categories, Asset: m.Asset,
		PerPaymentMax: m.PerPaymentMax, Budget: m.Budget, Period: m.Period, TimeZone: m.TimeZone, StartsAt: m.StartsAt,
		EndsAt: m.EndsAt, Description: m.Description}
	if m.GrantID != "" {
		name, err := s.DB.AgentNameOfGrant(ctx, m.GrantID)
		if err != nil {
			return o, err
		}
		o.AgentName = name
	}
	if m.MerchantID != "" {
		mer, err := s.DB.Merchant(ctx, m.MerchantID)
		if err != nil {
			return o, err
		}
		o.Merchant, o.MerchantName, o.MCC = mer.ID, mer.Name, mer.MCC
	}
	return o, nil
}

// PrepareApproveMandate checks that ev is userID's passkey approval of the
// mandate as stored now and returns it active, with the unit that records
// the approval and its evidence.
func (s *Service) PrepareApproveMandate(ctx context.Context, userID, id string, ev consent.Evidence) (agentpay.Mandate, *store.Unit, error) {
	m, err := s.MandateForUser(ctx, userID, id)
	if err != nil {
		return m, nil, err
	}
	if m.Status != agentpay.MandateRequiresApproval {
		return m, nil, agentpay.Errorf(agentpay.ECONFLICT, "mandate_"+string(m.Status), "the mandate is %s, not waiting for approval", m.Status)
	}
	now := s.now()
	if now.UnixMicro() >= m.CreatedAt+agentpay.MandateApprovalTTL.Microseconds() {
		return m, nil, agentpay.Errorf(agentpay.ECONFLICT, "mandate_expired", "the mandate was not approved in time; propose it again")
	}
	var signed MandateApprovalObject
	if err := json.Unmarshal(ev.Signed.Object, &signed); err != nil || signed.Type != "mandate" || ev.Signed.Subject != m.ID {
		return m, nil, agentpay.Errorf(agentpay.EINVALID, "approval_mismatch", "the passkey approved something other than this mandate")
	}
	current, err := s.MandateApproval(ctx, m)
	if err != nil {
		return m, nil, err
	}
	want, err1 := consent.Canonical(current)
	got, err2 := consent.Canonical(signed)
	if err1 != nil || err2 != nil || !bytes.Equal(want, got) {
		return m, nil, agentpay.Errorf(agentpay.ECONFLICT, "mandate_changed", "what was approved is not this mandate as it stands")
	}
	m.Status, m.ApprovedAt, m.UpdatedAt = agentpay.MandateActive, now.UnixMicro(), now.UnixMicro()
	mer, err := s.mandateMerchant(ctx, m)
	if err != nil {
		return m, nil, err
	}
	u := &store.Unit{Updates: []store.Update{store.MandateUpdate(m)}}
	m.Row++
	ev.Add(u)
	s.emitMandate(u, mer, m, EventMandateApproved)
	return m, u, nil
}

// PrepareMandateStatus pauses, resumes or revokes a user's mandate at
// once: a charge prepared before commits only if the mandate is still
// active, since the charge's unit checks the mandate's version.
func (s *Service) PrepareMandateStatus(ctx context.Context, userID, id string, to agentpay.MandateStatus) (agentpay.Mandate, *store.Unit, error) {
	m, err := s.MandateForUser(ctx, userID, id)
	if err != nil {
		return m, nil, err
	}
	ok := false
	switch to {
	case agentpay.MandatePaused:
		ok = m.Status == agentpay.MandateActive
	case agentpay.MandateActive:
		ok = m.Status == agentpay.MandatePaused
	case agentpay.MandateRevoked:
		ok = m.Status == agentpay.MandateActive || m.Status == agentpay.MandatePaused || m.Status == agentpay.MandateRequiresApproval
	}
	if !ok {
		return m, nil, agentpay.Errorf(agentpay.ECONFLICT, "mandate_"+string(m.Status), "a %s mandate cannot become %s", m.Status, to)
	}
	mer, err := s.mandateMerchant(ctx, m)
	if err != nil {
		return m, nil, err
	}
	typ := EventMandateRevoked
	switch to {
	case agentpay.MandatePaused:
		typ = EventMandatePaused
	case agentpay.MandateActive:
		typ = EventMandateResumed
	}
	m.Status, m.UpdatedAt = to, s.now().UnixMicro()
	u := &store.Unit{Updates: []store.Update{store.MandateUpdate(m)}}
	m.Row++
	s.emitMandate(u, mer, m, typ)
	return m, u, nil
}

// Event types of mandates: object id the mandate, seq the row's version
// the change wrote, delivered to the merchant a mandate names.
const (
	EventMandateProposed = "mandate.proposed"
	EventMandateApproved = "mandate.approved"
	EventMandatePaused   = "mandate.paused"
	EventMandateResumed  = "mandate.resumed"
	EventMandateRevoked  = "mandate.revoked"
)

// mandateMerchant returns the merchant m names, for its webhooks; a
// mandate of categories names none.
func (s *Service) mandateMerchant(ctx context.Context, m agentpay.Mandate) (store.StoredMerchant, error) {
	if m.MerchantID == "" {
		return store.StoredMerchant{}, nil
	}
	return s.DB.Merchant(ctx, m.MerchantID)
}

// emitMandate adds the event of a change to m (whose Row is the version
// the unit writes) and, when m names a merchant, its webhook delivery.
func (s *Service) emitMandate(u *store.Unit, mer store.StoredMerchant, m agentpay.Mandate, typ string) {
	now := s.now()
	e := store.MandateEvent(m, typ, now)
	u.Rows = append(u.Rows, e.Row())
	if s.Outbox != nil && m.MerchantID != "" {
		s.Outbox(u, e, mer, now)
	}
}

// ChargeRequest is a payment under a mandate.
type ChargeRequest struct {
	MandateID  string
	MerchantID string
	Order      agentpay.Order
	// Key, if set, makes the charge once: a charge under a key used before
	// returns the payment charged then (a subscription's period is its
	// key, so it is charged once on every node, after any restart).
	Key string
}

// ChargeKeyLengthMax bounds ChargeRequest.Key.
const ChargeKeyLengthMax = 200

// PrepareCharge returns a payment under a mandate and the unit that makes
// it: no passkey tap, the mandate's approval stands for it. The charge must
// fit the mandate's terms (agentpay.Mandate.Allows) and its budget for the
// period, and the user's tier budgets; risk control decides as for any
// payment, and a challenge turns the charge into an ordinary approval
// request (requires_approval), a review holds it, a denial declines it.
// Otherwise the payment is authorized in the same unit: the hold placed,
// the budgets consumed (versioned counters: two charges racing for the last
// of a budget cannot both commit), and the mandate's version checked, so a
// charge never commits after a pause or a revocation that committed first.
//
// A charge whose Key was charged before returns that payment and no unit.
func (s *Service) PrepareCharge(ctx context.Context, req ChargeRequest) (agentpay.Payment, *store.Unit, error) {
	if len(req.Key) > ChargeKeyLengthMax {
		return agentpay.Payment{}, nil, agentpay.ParamErrorf("key", "invalid_key", "a charge key is at most %d bytes", ChargeKeyLengthMax)
	}
	if req.Key != "" {
		id, err := s.DB.MandateCharge(ctx, req.Key)
		if err != nil || id != "" {
			var p agentpay.Payment
			if err == nil {
				p, err = s.DB.Payment(ctx, id)
			}
			return p, nil, err
		}
	}
	m, err := s.DB.Mandate(ctx, req.MandateID)
	if err != nil {
		return agentpay.Payment{}, nil, err
	}
	if err := req.Order.Validate(m.Asset); err != nil {
		return agentpay.Payment{}, nil, err
	}
	mer, err := s.merchant(ctx, req.MerchantID, m.Asset)
	if err != nil {
		return agentpay.Payment{}, nil, err
	}
	now := s.now()
	if err := m.Allows(mer.ID, mer.MCC, m.Asset, req.Order.Totals.Total, now); err != nil {
		return agentpay.Payment{}, nil, err
	}
	start, _, err := m.BudgetPeriod(now)
	if err != nil {
		return agentpay.Payment{}, nil, err
	}
	p := agentpay.Payment{ID: agentpay.NewID("pay"), Version: 1, Status: agentpay.PaymentRequiresApproval, UserID: m.UserID,
		GrantID: m.GrantID, MerchantID: mer.ID, MandateID: m.ID, Asset: m.Asset, Order: req.Order,
		ApprovalExpiresAt: now.Add(s.approvalTTL()).UnixMicro(), CreatedAt: now.UnixMicro(), UpdatedAt: now.UnixMicro(), Row: 1}
	p.Items = slices.Clone(p.Items)
	if m.GrantID != "" {
		g, err := s.DB.Grant(ctx, m.GrantID)
		if err != nil {
			return p, nil, err
		}
		p.AgentKeyID = g.AgentKeyID
	}
	// The agent's grant, if any, still bounds what it charges: revoking
	// the grant stops its mandates too.
	g, tier, err := s.checkPayer(ctx, p, mer, now)
	if err != nil {
		return p, nil, err
	}
	bs, err := s.budgets(ctx, p, g, tier, now)
	if err != nil {
		return p, nil, err
	}
	counters, err := s.DB.SpendCounters(ctx, fmt.Sprintf("mandate:%s:%d", m.ID, start.Unix()))
	if err != nil {
		return p, nil, err
	}
	bs = append([]budget{{counters[0], m.Budget, DeclineMandateBudget}}, bs...)
	unit := &store.Unit{Updates: []store.Update{mandateGuard(m)}}
	if req.Key != "" {
		unit.Rows = append(unit.Rows, store.MandateChargeRow(req.Key, m.ID, p.ID, now.UnixMicro()))
	}
	typ := "payment.created"
	if code := exceeded(bs, p.Totals.Total); code != "" {
		p.Status, p.DeclineCode, typ = agentpay.PaymentDeclined, code, "payment.declined"
		unit.Rows = append(unit.Rows, store.PaymentRow(p))
		s.emit(unit, mer, p, typ, 0, "")
		return p, unit, nil
	}
	a, err := s.assess(ctx, stageCreate, true, p, g, mer, tier, now, m.MerchantID == mer.ID)
	if err != nil {
		return p, nil, err
	}
	if a.decision.Outcome == risk.Allow {
		if p.Status, err = agentpay.NextStatus(p.Status, agentpay.ActionApprove, 0, 0); err != nil {
			return p, nil, err
		}
		if p.Status, err = agentpay.NextStatus(p.Status, agentpay.ActionAuthorize, 0, 0); err != nil {
			return p, nil, err
		}
		p.Authorized, p.ApprovedAt, typ = p.Totals.Total, now.UnixMicro(), "payment.authorized"
		p.HoldID = agentpay.NewID("hold")
		p.CaptureExpiresAt = now.Add(s.authorizationTTL()).UnixMicro()
		unit.Transfers = append(unit.Transfers, agentpay.Transfer{ID: p.HoldID, DebitAccountID: identity.WalletID(p.UserID, p.Asset),
			CreditAccountID: MerchantAccountID(p.MerchantID, p.Asset), Amount: p.Totals.Total, Asset: p.Asset,
			Flags: agentpay.TransferPending, TimeoutSeconds: int64((s.authorizationTTL() + holdBackstop) / time.Second),
			Reference: p.ID, Code: "payment_hold"})
		for _, b := range bs {
			b.counter.Add(unit, p.Totals.Total)
		}
		unit.Counts = append(unit.Counts, authorizedCounts(p, now)...)
	} else if a.decision.Outcome != risk.Challenge {
		if typ, err = applyOutcome(&p, a.decision, now, typ); err != nil {
			return p, nil, err
		}
	}
	// A challenge leaves the payment waiting for the user's own passkey
	// approval, like any payment: the mandate does not cover it.
	unit.Rows = append(unit.Rows, store.PaymentRow(p))
	if err := s.record(ctx, unit, stageCreate, p, a, now); err != nil {
		return p, nil, err
	}
	s.emit(unit, mer, p, typ, 0, "")
	return p, unit, nil
}

// chargeRetries bounds Charge's retries after a version conflict: another
// charge under the same mandate, or of the same user, committed first.
const chargeRetries = 8

// Charge prepares and commits a charge, preparing it again from fresh
// reads when a concurrent charge consumed a budget or moved the mandate's
// version first. Charges under one mandate take turns on a node, as a
// user's approvals do: they consume the same counters.
func (s *Service) Charge(ctx context.Context, req ChargeRequest) (agentpay.Payment, error) {
	mu := &s.userLocks[userStripe(req.MandateID)]
	mu.Lock()
	defer mu.Unlock()
	var err error
	for range chargeRetries {
		var p agentpay.Payment
		var u *store.Unit
		if p, u, err = s.PrepareCharge(ctx, req); err != nil || u == nil {
			return p, err
		}
		if err = s.DB.Committer.Submit(ctx, u).Err; err == nil {
			return p, nil
		}
		if agentpay.ErrorCode(err) != "version_conflict" && agentpay.ErrorCode(err) != "already_exists" {
			return agentpay.Payment{}, err
		}
	}
	return agentpay.Payment{}, err
}

// mandateGuard is an update that changes nothing of m but its row's
// version, so that a charge's unit commits only if the mandate is still as
// the charge read it: active, not paused or revoked since.
func mandateGuard(m agentpay.Mandate) store.Update {
	return store.MandateUpdate(m)
}

// Payee returns the merchant id names if it can be paid in asset now:
// active, with an account in asset.
func (s *Service) Payee(ctx context.Context, id, asset string) (store.StoredMerchant, error) {
	return s.merchant(ctx, id, asset)
}
