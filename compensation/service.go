// Package compensation runs the protection program: a user files a claim
// on a captured payment, the claim is adjudicated at once where the
// evidence decides it and by an operator otherwise, and an approved claim
// makes the user whole from the protection fund first, then recovers what
// it can from the merchant (DESIGN §2, §4).
//
// Like package payments, every change is prepared as one unit of work —
// the claim's versioned row, its ledger transfers (one linked group), the
// payment's versioned update, the events and their webhook deliveries —
// and commits whole or not at all.
package compensation

import (
	"context"
	"strings"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/payments"
	"github.com/agentpay/agentpay/store"
)

// Claim kinds: what the user says went wrong.
const (
	KindUnauthorized = "unauthorized" // "I never approved this"
	KindAgentError   = "agent_error"  // what was bought differs from what I approved
	KindNotReceived  = "not_received"
	KindDuplicate    = "duplicate"
)

// Kinds lists the claim kinds, in the order forms show them.
var Kinds = []string{KindUnauthorized, KindAgentError, KindNotReceived, KindDuplicate}

// Claim statuses. A claim is open only between filing and its automatic
// adjudication, which runs right after filing (and, should a node stop in
// between, from Job).
const (
	StatusOpen     = "open"
	StatusInReview = "in_review"
	StatusApproved = "approved"
	StatusDenied   = "denied"
)

// Statuses lists the claim statuses.
var Statuses = []string{StatusOpen, StatusInReview, StatusApproved, StatusDenied}

// Who decided a claim.
const (
	DecidedByAuto     = "auto"
	DecidedByOperator = "operator"
)

// Decision codes.
const (
	// Approved automatically.
	CodeNoValidApproval     = "no_valid_approval"     // no passkey approval of the payment re-verifies
	CodeDiffersFromApproval = "differs_from_approval" // what was captured is not what the user approved
	CodeDuplicatePayment    = "duplicate_payment"     // an identical payment was captured just before
	// Sent to review.
	CodeApprovalOnRecord = "approval_on_record" // a valid approval of exactly what was captured
	CodeNoDuplicateFound = "no_duplicate_found"
	CodeMerchantDispute  = "merchant_dispute" // not received: the merchant's word against the user's
	// Decided by an operator.
	CodeOperatorApproved = "operator_approved"
	CodeOperatorDenied   = "operator_denied"
	// Closed without payment: the merchant refunded everything meanwhile.
	CodeAlreadyRefunded = "already_refunded"
)

// Limits of claims.
const (
	// Window is how long after its capture a payment may be claimed.
	Window = 90 * 24 * time.Hour
	// DuplicateWindow is how close before a payment an identical one makes
	// it a duplicate.
	DuplicateWindow = 10 * time.Minute
	// DescriptionLengthMax bounds the user's description, in bytes.
	DescriptionLengthMax = 2000
	// NoteLengthMax bounds an operator's note, in bytes.
	NoteLengthMax = 1000
	// duplicateCandidatesMax bounds the similar payments a duplicate claim
	// compares.
	duplicateCandidatesMax = 50
	// decideRetries bounds the retries of a decision after another change
	// to the claim, the payment or the merchant's balance landed first.
	decideRetries = 5
)

// Verifier re-verifies stored approval evidence (consent.Passkeys does).
type Verifier interface {
	VerifyApproval(a store.Approval, key store.Passkey) error
}

// Service runs claims over a store.
type Service struct {
	DB       *store.DB
	Payments *payments.Service
	// Passkeys re-verifies the approvals a claim is judged against.
	Passkeys Verifier
	// Outbox adds an event's webhook delivery to its unit (webhook.Enqueue);
	// nil: events are only stored.
	Outbox payments.Outbox
	Now    func() time.Time // nil: time.Now
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func notFound() error {
	return agentpay.Errorf(agentpay.ENOTFOUND, "claim_not_found", "claim not found")
}

// Claim returns a claim, for operators; a malformed id is not_found too.
func (s *Service) Claim(ctx context.Context, id string) (store.Claim, error) {
	if !strings.HasPrefix(id, "clm_") || !agentpay.ValidID(id) {
		return store.Claim{}, notFound()
	}
	return s.DB.Claim(ctx, id)
}

// ForUser returns a claim of userID; another user's is not_found.
func (s *Service) ForUser(ctx context.Context, userID, id string) (store.Claim, error) {
	c, err := s.Claim(ctx, id)
	if err == nil && c.UserID != userID {
		err = notFound()
	}
	return c, err
}

// ForMerchant returns a claim on a payment to merchantID; a claim on
// another merchant's payment is not_found.
func (s *Service) ForMerchant(ctx context.Context, merchantID, id string) (store.Claim, error) {
	c, err := s.Claim(ctx, id)
	if err == nil && c.MerchantID != merchantID {
		err = notFound()
	}
	return c, err
}

// OfAgentPayment returns the claims on a payment made under grantID, oldest
// first; another grant's payment is payment_not_found.
func (s *Service) OfAgentPayment(ctx context.Context, grantID, paymentID string) ([]store.Claim, error) {
	if _, err := s.Payments.ForAgent(ctx, grantID, paymentID); err != nil {
		return nil, err
	}
	return s.DB.ClaimsOfPayment(ctx, paymentID)
}
