package payments

import (
	"context"
	"encoding/json"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
)

// What package compensation needs of payments: the approval object as it
// was approved, and a claim's reimbursement counted as refunded.

// ApprovedObject rebuilds the approval object of p as stored now, to check
// stored evidence against it after the fact. The fields the user shared
// and the capture window are those recorded when p was approved, not
// today's configuration, so changing AuthorizationTTL later does not make
// every earlier approval look different.
func (s *Service) ApprovedObject(ctx context.Context, p agentpay.Payment) (ApprovalObject, error) {
	obj, err := s.Approval(ctx, p, p.Shared)
	if err != nil {
		return obj, err
	}
	if p.ApprovedAt > 0 && p.CaptureExpiresAt > p.ApprovedAt {
		obj.CaptureBy = (p.CaptureExpiresAt - p.ApprovedAt) / int64(time.Second/time.Microsecond)
	}
	return obj, nil
}

// claimRefundData is the data of the payment.refunded event of a claim.
type claimRefundData struct {
	eventData
	Claim string `json:"claim"`
}

// PrepareClaimRefund adds to u, the unit that approves claimID, what
// reimbursing amount of p (as read) changes on the payment: its Refunded
// grows by amount through its versioned update (status per the lifecycle's
// refund), so that a merchant refund can never pay the user a second time
// for the same money, and the payment emits payment.refunded naming the
// claim. The money itself moves in the claim's own transfers, from the
// protection fund. m is p's merchant. It returns the payment as u leaves
// it; an amount the payment cannot take (refunds would exceed the
// captured) is refused with nothing added.
func (s *Service) PrepareClaimRefund(u *store.Unit, m store.StoredMerchant, p agentpay.Payment, claimID string, amount int64) (agentpay.Payment, error) {
	total, err := agentpay.AddAmounts(p.Refunded, amount)
	if err != nil {
		return p, agentpay.ParamErrorf("amount", "refund_exceeds_captured", "refunds would exceed the captured amount")
	}
	next, err := agentpay.NextStatus(p.Status, agentpay.ActionRefund, total, p.Captured)
	if err != nil {
		return p, err
	}
	now := s.now()
	p.Status, p.Refunded, p.UpdatedAt = next, total, now.UnixMicro()
	u.Updates = append(u.Updates, store.PaymentUpdate(p))
	p.Row++
	data, err := json.Marshal(claimRefundData{eventData: eventData{Payment: p.ID, Status: string(p.Status), Version: p.Version,
		Asset: p.Asset, Total: p.Totals.Total, Authorized: p.Authorized, Captured: p.Captured, Refunded: p.Refunded,
		Amount: amount}, Claim: claimID})
	if err != nil {
		panic("payments: encode event: " + err.Error()) // plain structs always encode
	}
	e := store.Event{ID: agentpay.NewID("evt"), ObjectID: p.ID, MerchantID: p.MerchantID, UserID: p.UserID,
		Type: "payment.refunded", Seq: p.Row, Data: string(data), CreatedAt: now.UnixMicro()}
	u.Rows = append(u.Rows, e.Row())
	if s.Outbox != nil {
		s.Outbox(u, e, m, now)
	}
	u.Notify = append(u.Notify, Topic(p.ID), UserTopic(p.UserID))
	return p, nil
}
