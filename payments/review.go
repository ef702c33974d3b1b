package payments

import (
	"context"
	"encoding/json"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
)

// PrepareRelease lets a payment held for review through, as an operator
// decides: it goes back to its user, who must approve it with a passkey
// like any other (a review never approves on the user's behalf), with a
// fresh approval window.
func (s *Service) PrepareRelease(ctx context.Context, id, note string) (agentpay.Payment, *store.Unit, error) {
	p, err := s.read(ctx, id)
	if err != nil {
		return p, nil, err
	}
	if len(note) > agentpay.PaymentReasonLengthMax {
		return p, nil, agentpay.ParamErrorf("note", "invalid_note", "note is at most %d bytes", agentpay.PaymentReasonLengthMax)
	}
	next, err := agentpay.NextStatus(p.Status, agentpay.ActionRelease, 0, 0)
	if err != nil {
		return p, nil, err
	}
	m, err := s.DB.Merchant(ctx, p.MerchantID)
	if err != nil {
		return p, nil, err
	}
	p.Status = next
	p.ApprovalExpiresAt = s.now().Add(s.approvalTTL()).UnixMicro()
	u := s.change(m, &p, "payment.released", 0, "")
	s.recordReview(u, p, "allow", note)
	return p, u, nil
}

// PrepareReject declines a payment held for review, as an operator decides.
func (s *Service) PrepareReject(ctx context.Context, id, note string) (agentpay.Payment, *store.Unit, error) {
	p, err := s.read(ctx, id)
	if err != nil {
		return p, nil, err
	}
	if len(note) > agentpay.PaymentReasonLengthMax {
		return p, nil, agentpay.ParamErrorf("note", "invalid_note", "note is at most %d bytes", agentpay.PaymentReasonLengthMax)
	}
	if p.Status != agentpay.PaymentInReview {
		_, err := agentpay.NextStatus(p.Status, agentpay.ActionRelease, 0, 0) // the same refusal
		return p, nil, err
	}
	next, err := agentpay.NextStatus(p.Status, agentpay.ActionDecline, 0, 0)
	if err != nil {
		return p, nil, err
	}
	m, err := s.DB.Merchant(ctx, p.MerchantID)
	if err != nil {
		return p, nil, err
	}
	p.Status, p.DeclineCode = next, DeclineReview
	u := s.change(m, &p, "payment.declined", 0, "")
	s.recordReview(u, p, "deny", note)
	return p, u, nil
}

// DeclineReview is the decline code of a payment an operator declined
// after review.
const DeclineReview = "review_declined"

// recordReview records an operator's decision beside risk control's, with
// the operator's note, so a payment's risk history reads in one place.
func (s *Service) recordReview(u *store.Unit, p agentpay.Payment, outcome, note string) {
	reasons, _ := json.Marshal([]map[string]string{{"code": "operator_" + outcome, "outcome": outcome, "message": note}})
	u.Rows = append(u.Rows, store.RiskDecision{ID: agentpay.NewID("rsk"), PaymentID: p.ID, PaymentVersion: p.Version,
		Stage: "review", Outcome: outcome, Reasons: string(reasons), Signals: "{}", CreatedAt: s.now().UnixMicro()}.Row())
}
