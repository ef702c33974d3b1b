package payments

import (
	"context"
	"slices"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
)

// MerchantAccountID is the id of a merchant's ledger account in an asset.
// It is fixed, so the committer refuses a second account of the same
// merchant and asset even when two requests race.
func MerchantAccountID(merchantID, asset string) string { return "acc_" + merchantID + "_" + asset }

// MerchantAccount is a new ledger account of a merchant in an asset.
func MerchantAccount(merchantID, asset string) agentpay.Account {
	return agentpay.Account{ID: MerchantAccountID(merchantID, asset), Kind: agentpay.AccountMerchant, Asset: asset,
		Flags: agentpay.AccountMerchant.DefaultFlags(), OwnerID: merchantID}
}

// CreateRequest is what an agent asks its user to pay.
type CreateRequest struct {
	Grant      agentpay.Grant
	MerchantID string
	Asset      string
	Order      agentpay.Order
}

// merchant returns an active merchant that takes asset: an unknown or
// suspended merchant is refused, and so is an asset the merchant has no
// ledger account in.
func (s *Service) merchant(ctx context.Context, id, asset string) (store.StoredMerchant, error) {
	if !agentpay.ValidID(id) {
		return store.StoredMerchant{}, agentpay.ParamErrorf("merchant", "merchant_not_found", "no such merchant")
	}
	m, err := s.DB.Merchant(ctx, id)
	if agentpay.ErrorKind(err) == agentpay.ENOTFOUND {
		return m, agentpay.ParamErrorf("merchant", "merchant_not_found", "no such merchant")
	}
	if err != nil {
		return m, err
	}
	if m.Status != agentpay.MerchantActive {
		return m, &agentpay.Error{Kind: agentpay.EFORBIDDEN, Code: "merchant_suspended", Param: "merchant",
			Message: "the merchant cannot take payments now"}
	}
	if _, err := s.DB.Account(ctx, MerchantAccountID(id, asset)); agentpay.ErrorKind(err) == agentpay.ENOTFOUND {
		return m, agentpay.ParamErrorf("asset", "asset_not_supported", "the merchant does not take %s", asset)
	} else if err != nil {
		return m, err
	}
	return m, nil
}

// PrepareCreate checks a new payment against the merchant, the grant and
// the user's tier and returns it with the unit that records it. A valid
// payment that does not fit what the user and grant may still spend today
// or this month is recorded as declined (with its decline code), like a
// card decline; anything else that breaks a rule is refused with nothing
// written.
func (s *Service) PrepareCreate(ctx context.Context, req CreateRequest) (agentpay.Payment, *store.Unit, error) {
	if err := req.Order.Validate(req.Asset); err != nil {
		return agentpay.Payment{}, nil, err
	}
	m, err := s.merchant(ctx, req.MerchantID, req.Asset)
	if err != nil {
		return agentpay.Payment{}, nil, err
	}
	now := s.now()
	g := req.Grant
	p := agentpay.Payment{ID: agentpay.NewID("pay"), Version: 1, Status: agentpay.PaymentRequiresApproval, UserID: g.UserID,
		GrantID: g.ID, AgentKeyID: g.AgentKeyID, MerchantID: m.ID, Asset: req.Asset, Order: req.Order,
		ApprovalExpiresAt: now.Add(s.approvalTTL()).UnixMicro(), CreatedAt: now.UnixMicro(), UpdatedAt: now.UnixMicro(), Row: 1}
	p.Items = slices.Clone(p.Items)
	tier, err := s.checkGrant(ctx, g, m, p, now)
	if err != nil {
		return agentpay.Payment{}, nil, err
	}
	bs, err := s.budgets(ctx, p, g, tier, now)
	if err != nil {
		return agentpay.Payment{}, nil, err
	}
	typ := "payment.created"
	var a assessment
	if code := exceeded(bs, p.Totals.Total); code != "" {
		p.Status, p.DeclineCode, typ = agentpay.PaymentDeclined, code, "payment.declined"
	} else {
		if a, err = s.assess(ctx, stageCreate, true, p, g, m, tier, now, false); err != nil {
			return agentpay.Payment{}, nil, err
		}
		if typ, err = applyOutcome(&p, a.decision, now, typ); err != nil {
			return agentpay.Payment{}, nil, err
		}
	}
	u := &store.Unit{Rows: []store.Row{store.PaymentRow(p)}}
	if a.decision.Outcome != "" {
		if err := s.record(ctx, u, stageCreate, p, a, now); err != nil {
			return agentpay.Payment{}, nil, err
		}
	}
	s.emit(u, m, p, typ, 0, "")
	return p, u, nil
}

// PrepareUpdate replaces the order of a payment still waiting for the
// user, as its agent asks: a new version, so an approval begun for the old
// one can no longer finish. The new order is checked like a new payment.
func (s *Service) PrepareUpdate(ctx context.Context, g agentpay.Grant, id string, o agentpay.Order) (agentpay.Payment, *store.Unit, error) {
	p, err := s.ForAgent(ctx, g.ID, id)
	if err != nil {
		return p, nil, err
	}
	return s.prepareNewVersion(ctx, g, p, o)
}

func (s *Service) prepareNewVersion(ctx context.Context, g agentpay.Grant, p agentpay.Payment, o agentpay.Order) (agentpay.Payment, *store.Unit, error) {
	if _, err := agentpay.NextStatus(p.Status, agentpay.ActionUpdate, 0, 0); err != nil {
		return p, nil, err
	}
	if err := o.Validate(p.Asset); err != nil {
		return p, nil, err
	}
	m, err := s.merchant(ctx, p.MerchantID, p.Asset)
	if err != nil {
		return p, nil, err
	}
	now := s.now()
	p.Order = o
	p.Items = slices.Clone(o.Items)
	p.Version++
	tier, err := s.checkGrant(ctx, g, m, p, now)
	if err != nil {
		return p, nil, err
	}
	a, err := s.assess(ctx, stageCreate, false, p, g, m, tier, now, false)
	if err != nil {
		return p, nil, err
	}
	typ, err := applyOutcome(&p, a.decision, now, "payment.updated")
	if err != nil {
		return p, nil, err
	}
	u := s.change(m, &p, typ, 0, "")
	if err := s.record(ctx, u, stageCreate, p, a, now); err != nil {
		return p, nil, err
	}
	return p, u, nil
}

// Modification is what a user changes on the approval page: new quantities
// by item index, 0 removing the item. Quantities can only go down, so the
// user never buys more than the agent asked for.
type Modification struct {
	Quantities map[int]int64
}

// PrepareModify applies a user's modification: a new version whose
// subtotal and total follow the items; tax, shipping, fees and tip stay as
// the agent stated them (the merchant may capture less than authorized).
func (s *Service) PrepareModify(ctx context.Context, userID, id string, mod Modification) (agentpay.Payment, *store.Unit, error) {
	p, err := s.ForUser(ctx, userID, id)
	if err != nil {
		return p, nil, err
	}
	o := p.Order
	o.Items = nil
	for i, it := range p.Items {
		q, changed := mod.Quantities[i]
		if !changed {
			o.Items = append(o.Items, it)
			continue
		}
		if q < 0 || q > it.Quantity {
			return p, nil, agentpay.ParamErrorf("quantity", "quantity_raised", "a quantity can only be lowered, to %d at most", it.Quantity)
		}
		if q > 0 {
			it.Quantity = q
			o.Items = append(o.Items, it)
		}
	}
	for i := range mod.Quantities {
		if i < 0 || i >= len(p.Items) {
			return p, nil, agentpay.ParamErrorf("quantity", "no_such_item", "the payment has no item %d", i)
		}
	}
	if len(o.Items) == 0 {
		return p, nil, agentpay.ParamErrorf("quantity", "no_items_left", "removing every item is canceling: cancel the payment instead")
	}
	var sub int64
	for _, it := range o.Items {
		sub += it.UnitAmount * it.Quantity // lowered from a total that fit, so no overflow
	}
	o.Totals.Total = o.Totals.Total - o.Totals.Subtotal + sub
	o.Totals.Subtotal = sub
	g, err := s.DB.Grant(ctx, p.GrantID)
	if err != nil {
		return p, nil, err
	}
	return s.prepareNewVersion(ctx, g, p, o)
}

// PrepareCancel calls a payment off before capture: while it waits for the
// user, or authorized (its hold is voided in the same unit). After capture
// the merchant refunds instead.
func (s *Service) PrepareCancel(ctx context.Context, by agentpay.Actor, p agentpay.Payment, reason string) (agentpay.Payment, *store.Unit, error) {
	if len(reason) > agentpay.PaymentReasonLengthMax {
		return p, nil, agentpay.ParamErrorf("reason", "invalid_reason", "reason is at most %d bytes", agentpay.PaymentReasonLengthMax)
	}
	next, err := agentpay.NextStatus(p.Status, agentpay.ActionCancel, 0, 0)
	if err != nil {
		return p, nil, err
	}
	m, err := s.DB.Merchant(ctx, p.MerchantID)
	if err != nil {
		return p, nil, err
	}
	held := p.Status == agentpay.PaymentAuthorized
	p.Status, p.CanceledBy, p.CancelReason = next, by, reason
	u := s.change(m, &p, "payment.canceled", 0, "")
	if held {
		u.Transfers = append(u.Transfers, s.void(p))
	}
	return p, u, nil
}

// void is the transfer that releases p's hold.
func (s *Service) void(p agentpay.Payment) agentpay.Transfer {
	return agentpay.Transfer{ID: agentpay.NewID("void"), PendingID: p.HoldID, Flags: agentpay.TransferVoidPending,
		Asset: p.Asset, Reference: p.ID, Code: "payment_void"}
}
