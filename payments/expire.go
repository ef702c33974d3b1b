package payments

import (
	"context"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
)

// expiryBatchMax bounds the payments one ExpireDue run expires per kind.
const expiryBatchMax = 500

// Job is ExpireDue as a background job, run every second.
func (s *Service) Job() store.Job {
	return store.Job{Name: "payments.expiry", Every: time.Second, Run: func(ctx context.Context) error {
		_, err := s.ExpireDue(ctx)
		return err
	}}
}

// ExpireDue expires payments whose time ran out: those still waiting for
// approval after their approval window, those held for review that no
// operator decided in time, and authorized ones not captured
// within the capture window, whose holds it voids. Each is its own unit,
// versioned, so a capture or approval that commits first wins and the
// expiry of that payment fails harmlessly. It returns how many expired.
func (s *Service) ExpireDue(ctx context.Context) (int, error) {
	now := s.now().UnixMicro()
	n := 0
	for _, kind := range []struct {
		status agentpay.PaymentStatus
		column string
	}{{agentpay.PaymentRequiresApproval, "approval_expires_at"}, {agentpay.PaymentInReview, "approval_expires_at"},
		{agentpay.PaymentAuthorized, "capture_expires_at"}} {
		due, err := s.DB.DuePayments(ctx, kind.status, kind.column, now, expiryBatchMax)
		if err != nil {
			return n, err
		}
		for _, p := range due {
			err := s.expire(ctx, p, true)
			if agentpay.ErrorCode(err) == "pending_transfer_expired" {
				// The ledger's backstop timeout released the hold already.
				err = s.expire(ctx, p, false)
			}
			switch {
			case err == nil:
				n++
			case agentpay.ErrorCode(err) == "version_conflict", agentpay.ErrorCode(err) == "pending_transfer_already_posted",
				agentpay.ErrorCode(err) == "pending_transfer_already_voided":
				// Something else decided this payment first.
			default:
				return n, err
			}
		}
	}
	return n, nil
}

// expire commits p's expiry, voiding its hold if it has one and void says
// so.
func (s *Service) expire(ctx context.Context, p agentpay.Payment, void bool) error {
	held := p.Status == agentpay.PaymentAuthorized
	next, err := agentpay.NextStatus(p.Status, agentpay.ActionExpire, 0, 0)
	if err != nil {
		return err
	}
	m, err := s.DB.Merchant(ctx, p.MerchantID)
	if err != nil {
		return err
	}
	p.Status = next
	u := s.change(m, &p, "payment.expired", 0, "")
	if held && void {
		u.Transfers = append(u.Transfers, s.void(p))
	}
	return s.DB.Committer.Submit(ctx, u).Err
}
