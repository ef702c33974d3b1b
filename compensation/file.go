package compensation

import (
	"context"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/payments"
	"github.com/agentpay/agentpay/store"
)

// FileRequest is a user's claim on one of their payments.
type FileRequest struct {
	UserID      string
	PaymentID   string
	Kind        string
	Description string // the user's words, optional
}

// validDescription allows any printable text with line breaks, bounded.
func validDescription(s string, max int) bool {
	return len(s) <= max && utf8.ValidString(s) && strings.IndexFunc(s, func(r rune) bool {
		return unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t'
	}) < 0
}

// PrepareFile checks a claim and returns it, open, with the unit that
// records it: the claim row, its slot (at most one claim per payment that
// is not denied) and the claim.opened event. Adjudicate decides it once
// the unit has committed; File does both.
//
// Only the payer's own captured payment can be claimed (another user's is
// payment_not_found), within Window of its capture, for what was captured
// and not refunded.
func (s *Service) PrepareFile(ctx context.Context, req FileRequest) (store.Claim, *store.Unit, error) {
	if !slices.Contains(Kinds, req.Kind) {
		return store.Claim{}, nil, agentpay.ParamErrorf("kind", "invalid_kind", "kind must be one of %s", strings.Join(Kinds, ", "))
	}
	if !validDescription(req.Description, DescriptionLengthMax) {
		return store.Claim{}, nil, agentpay.ParamErrorf("description", "invalid_description",
			"description is at most %d bytes of text", DescriptionLengthMax)
	}
	if req.PaymentID == "" {
		return store.Claim{}, nil, agentpay.ParamErrorf("payment", "missing_payment", "payment is required")
	}
	p, err := s.Payments.ForUser(ctx, req.UserID, req.PaymentID)
	if err != nil {
		return store.Claim{}, nil, err
	}
	switch p.Status {
	case agentpay.PaymentCaptured, agentpay.PaymentPartiallyRefunded:
	case agentpay.PaymentRefunded:
		return store.Claim{}, nil, agentpay.Errorf(agentpay.ECONFLICT, "nothing_to_claim", "the payment was refunded in full")
	default:
		return store.Claim{}, nil, agentpay.Errorf(agentpay.ECONFLICT, "payment_not_captured",
			"only a captured payment can be claimed; this one is %s", strings.ReplaceAll(string(p.Status), "_", " "))
	}
	amount := p.Captured - p.Refunded
	if amount <= 0 {
		return store.Claim{}, nil, agentpay.Errorf(agentpay.ECONFLICT, "nothing_to_claim", "the payment was refunded in full")
	}
	now := s.now()
	captured, err := s.capturedAt(ctx, p)
	if err != nil {
		return store.Claim{}, nil, err
	}
	if now.UnixMicro() > captured+Window.Microseconds() {
		return store.Claim{}, nil, agentpay.Errorf(agentpay.ECONFLICT, "claim_window_passed",
			"a payment can be claimed up to %d days after its capture", int(Window.Hours()/24))
	}
	earlier, err := s.DB.ClaimsOfPayment(ctx, p.ID)
	if err != nil {
		return store.Claim{}, nil, err
	}
	for _, c := range earlier {
		if c.Status != StatusDenied {
			return store.Claim{}, nil, &agentpay.Error{Kind: agentpay.ECONFLICT, Code: "claim_exists", Param: "payment",
				Message: "this payment already has a claim (" + c.ID + "), " + strings.ReplaceAll(c.Status, "_", " ")}
		}
	}
	if len(earlier) >= store.ClaimsPerPaymentMax {
		return store.Claim{}, nil, agentpay.Errorf(agentpay.ECONFLICT, "too_many_claims", "a payment has at most %d claims", store.ClaimsPerPaymentMax)
	}
	m, err := s.DB.Merchant(ctx, p.MerchantID)
	if err != nil {
		return store.Claim{}, nil, err
	}
	c := store.Claim{ID: agentpay.NewID("clm"), PaymentID: p.ID, UserID: p.UserID, MerchantID: p.MerchantID,
		AgentKeyID: p.AgentKeyID, GrantID: p.GrantID, Kind: req.Kind, Status: StatusOpen, Amount: amount, Asset: p.Asset,
		Description: req.Description, EvidenceJSON: "{}", CreatedAt: now.UnixMicro(), UpdatedAt: now.UnixMicro(), Version: 1}
	u := &store.Unit{Rows: []store.Row{store.ClaimRow(c), store.ClaimSlotRow(p.ID, len(earlier), c.ID, c.CreatedAt)},
		Counts: payments.ClaimCounts(p, now)} // risk control's claim rates of the merchant and the agent key
	s.emit(u, m, c, EventOpened)
	return c, u, nil
}

// capturedAt returns when p was captured: its payment.captured event is
// written in the capture's own unit.
func (s *Service) capturedAt(ctx context.Context, p agentpay.Payment) (int64, error) {
	events, err := s.DB.EventsOf(ctx, p.ID, 1000)
	if err != nil {
		return 0, err
	}
	for _, e := range events {
		if e.Type == "payment.captured" {
			return e.CreatedAt, nil
		}
	}
	// A captured payment without its event cannot happen; the time of its
	// last change is the latest it can have been captured.
	return p.UpdatedAt, nil
}

// File files a claim and adjudicates it at once: the claim comes back
// approved (the user already reimbursed), in review or, should the
// adjudication have failed for a passing reason, still open (Job decides
// it later).
func (s *Service) File(ctx context.Context, req FileRequest) (store.Claim, error) {
	c, u, err := s.PrepareFile(ctx, req)
	if err != nil {
		return c, err
	}
	if err := s.DB.Committer.Submit(ctx, u).Err; err != nil {
		if agentpay.ErrorCode(err) == "already_exists" {
			// Another filing for the payment took the claim slot first:
			// checking again says so (claim_exists).
			if _, _, again := s.PrepareFile(ctx, req); again != nil {
				return store.Claim{}, again
			}
		}
		return store.Claim{}, err
	}
	if decided, err := s.Adjudicate(ctx, c.ID); err == nil {
		return decided, nil
	}
	return c, nil
}
