package compensation

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/identity"
	"github.com/agentpay/agentpay/payments"
	"github.com/agentpay/agentpay/store"
)

// Decision is an operator's decision on a claim.
type Decision struct {
	Approve bool
	// Recover, for an approval, takes the amount back from the merchant
	// (as much as its balance allows; the rest is its debt).
	Recover bool
	Note    string
}

// retryable says whether a decision that failed to commit may succeed when
// prepared again: the claim or the payment changed since they were read,
// or the merchant's balance fell below the recovery read from it.
func retryable(err error) bool {
	switch agentpay.ErrorCode(err) {
	case "version_conflict", "exceeds_credits":
		return true
	}
	return false
}

// commitRetrying prepares and commits a decision, preparing it again from
// fresh reads when something it read changed first.
func (s *Service) commitRetrying(ctx context.Context, prepare func() (store.Claim, *store.Unit, error)) (store.Claim, error) {
	var err error
	for range decideRetries {
		var c store.Claim
		var u *store.Unit
		if c, u, err = prepare(); err != nil || u == nil {
			return c, err
		}
		if err = s.DB.Committer.Submit(ctx, u).Err; err == nil {
			return c, nil
		}
		if !retryable(err) {
			return store.Claim{}, err
		}
	}
	return store.Claim{}, err
}

// Adjudicate decides an open claim by the automatic rules (see judge): it
// is approved — the user reimbursed and the amount recovered from the
// merchant — or sent to review with its evidence. A claim no longer open
// is returned as it is.
func (s *Service) Adjudicate(ctx context.Context, id string) (store.Claim, error) {
	return s.commitRetrying(ctx, func() (store.Claim, *store.Unit, error) { return s.PrepareAdjudicate(ctx, id) })
}

// PrepareAdjudicate returns the claim as adjudicated and the unit that
// makes it so, or the claim and no unit when it is no longer open.
func (s *Service) PrepareAdjudicate(ctx context.Context, id string) (store.Claim, *store.Unit, error) {
	c, err := s.Claim(ctx, id)
	if err != nil || c.Status != StatusOpen {
		return c, nil, err
	}
	p, err := s.DB.Payment(ctx, c.PaymentID)
	if err != nil {
		return c, nil, err
	}
	v, err := s.judge(ctx, c, p)
	if err != nil {
		return c, nil, err
	}
	if v.approve {
		return s.prepareApproval(ctx, c, p, v.code, "", DecidedByAuto, true, v.evidence)
	}
	m, err := s.DB.Merchant(ctx, c.MerchantID)
	if err != nil {
		return c, nil, err
	}
	c.Status, c.DecisionCode, c.EvidenceJSON = StatusInReview, v.code, encodeEvidence(v.evidence)
	u := &store.Unit{}
	s.change(u, m, &c, EventInReview)
	return c, u, nil
}

// Decide applies an operator's decision to a claim that is open or in
// review, retrying as Adjudicate does.
func (s *Service) Decide(ctx context.Context, id string, d Decision) (store.Claim, error) {
	return s.commitRetrying(ctx, func() (store.Claim, *store.Unit, error) { return s.PrepareDecide(ctx, id, d) })
}

// PrepareDecide returns the claim as an operator decides it and the unit
// that makes it so. A claim decided already is refused (claim_decided).
func (s *Service) PrepareDecide(ctx context.Context, id string, d Decision) (store.Claim, *store.Unit, error) {
	if !validDescription(d.Note, NoteLengthMax) {
		return store.Claim{}, nil, agentpay.ParamErrorf("note", "invalid_note", "note is at most %d bytes of text", NoteLengthMax)
	}
	c, err := s.Claim(ctx, id)
	if err != nil {
		return c, nil, err
	}
	if c.Status != StatusOpen && c.Status != StatusInReview {
		return c, nil, agentpay.Errorf(agentpay.ECONFLICT, "claim_decided", "the claim was %s already", c.Status)
	}
	if d.Approve {
		p, err := s.DB.Payment(ctx, c.PaymentID)
		if err != nil {
			return c, nil, err
		}
		var ev Evidence
		_ = json.Unmarshal([]byte(c.EvidenceJSON), &ev) // written by encodeEvidence; "{}" before adjudication
		return s.prepareApproval(ctx, c, p, CodeOperatorApproved, d.Note, DecidedByOperator, d.Recover, ev)
	}
	m, err := s.DB.Merchant(ctx, c.MerchantID)
	if err != nil {
		return c, nil, err
	}
	c.Status, c.DecisionCode, c.DecisionNote = StatusDenied, CodeOperatorDenied, d.Note
	c.DecidedBy, c.DecidedAt = DecidedByOperator, s.now().UnixMicro()
	u := &store.Unit{}
	s.change(u, m, &c, EventDenied)
	return c, u, nil
}

// prepareApproval makes the user whole first: in one unit, the claim
// approved, a transfer of the amount from the protection fund to the
// user's wallet, the payment's Refunded grown by it (payment.refunded),
// and, when recovering, a transfer from the merchant's account back to the
// fund of as much of the amount as the merchant's available balance holds
// now; the rest is recorded as the merchant's debt on the claim
// (CollectDebts takes it from later balances). The amount is what is
// still captured and not refunded, at most what was claimed: a merchant
// refund since filing is not paid twice, and a claim on a payment refunded
// in full meanwhile is closed without payment (already_refunded).
func (s *Service) prepareApproval(ctx context.Context, c store.Claim, p agentpay.Payment, code, note, by string, recoverFunds bool, ev Evidence) (store.Claim, *store.Unit, error) {
	m, err := s.DB.Merchant(ctx, c.MerchantID)
	if err != nil {
		return c, nil, err
	}
	amount := min(c.Amount, p.Captured-p.Refunded)
	if amount < c.Amount {
		ev.RefundedMeanwhile = c.Amount - max(amount, 0)
	}
	c.DecisionNote, c.DecidedBy, c.DecidedAt = note, by, s.now().UnixMicro()
	u := &store.Unit{}
	if amount <= 0 {
		ev.Note = strings.TrimSpace(ev.Note + "; the merchant refunded the payment in full before the claim was approved")
		c.Status, c.DecisionCode, c.EvidenceJSON = StatusDenied, CodeAlreadyRefunded, encodeEvidence(ev)
		s.change(u, m, &c, EventDenied)
		return c, u, nil
	}
	fund, err := s.Payments.EnsureProtectionFund(ctx, c.Asset)
	if err != nil {
		return c, nil, err
	}
	// Fresh transfer ids per attempt: the ledger keeps the ids of a
	// rejected group, and a retry must not meet that rejection. The
	// claim's versioned update is what makes the approval happen once.
	c.ReimbursementTransferID = agentpay.NewID("clmr")
	u.Transfers = append(u.Transfers, agentpay.Transfer{ID: c.ReimbursementTransferID, DebitAccountID: fund,
		CreditAccountID: identity.WalletID(c.UserID, c.Asset), Amount: amount, Asset: c.Asset, Reference: c.ID,
		Code: "claim_reimbursement"})
	c.Recovered, c.Debt, c.RecoveryTransferID = 0, 0, ""
	if recoverFunds {
		merchant := payments.MerchantAccountID(c.MerchantID, c.Asset)
		acc, err := s.DB.Account(ctx, merchant)
		if err != nil {
			return c, nil, err
		}
		c.Recovered = min(amount, max(acc.Available(), 0))
		c.Debt = amount - c.Recovered
		if c.Recovered > 0 {
			c.RecoveryTransferID = agentpay.NewID("clmv")
			u.Transfers = append(u.Transfers, agentpay.Transfer{ID: c.RecoveryTransferID, DebitAccountID: merchant,
				CreditAccountID: fund, Amount: c.Recovered, Asset: c.Asset, Reference: c.ID, Code: "claim_recovery"})
		}
	}
	c.Status, c.Amount, c.DecisionCode, c.EvidenceJSON = StatusApproved, amount, code, encodeEvidence(ev)
	if _, err := s.Payments.PrepareClaimRefund(u, m, p, c.ID, amount); err != nil {
		return c, nil, err
	}
	s.change(u, m, &c, EventApproved)
	return c, u, nil
}
