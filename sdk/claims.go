package sdk

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Claims are users' requests for compensation on captured payments. The
// user files them (on the account page or with their session), or an agent
// files one for its user (FileClaim); agents and merchants read them. A
// claim the evidence decides is approved at once — the user reimbursed
// from the protection fund — and any other is reviewed by an operator.

// Claim kinds.
const (
	ClaimUnauthorized = "unauthorized" // the user never approved the payment
	ClaimAgentError   = "agent_error"  // what was bought differs from what the user approved
	ClaimNotReceived  = "not_received"
	ClaimDuplicate    = "duplicate"
)

// Claim statuses: open only between filing and its automatic
// adjudication, then in_review (an operator decides), approved (the user
// was reimbursed) or denied.
const (
	ClaimOpen     = "open"
	ClaimInReview = "in_review"
	ClaimApproved = "approved"
	ClaimDenied   = "denied"
)

// Webhook event types of claims, sent to the merchant of the claimed
// payment (ObjectID is the claim, Seq its version). An approved claim also
// sends the payment's payment.refunded, whose data names the claim.
const (
	EventClaimOpened    = "claim.opened"
	EventClaimInReview  = "claim.in_review"
	EventClaimApproved  = "claim.approved"
	EventClaimDenied    = "claim.denied"
	EventClaimRecovered = "claim.recovered" // more of the merchant's debt on the claim was collected
)

// Claim is a claim as the API shows it to agents and merchants. Agents see
// their grant; merchants the payer's pseudonym (Payer), never the user.
type Claim struct {
	Object       string `json:"object"`
	ID           string `json:"id"`
	Payment      string `json:"payment"`
	Payer        string `json:"payer,omitempty"`
	Merchant     string `json:"merchant"`
	Grant        string `json:"grant,omitempty"`
	Kind         string `json:"kind"`
	Status       string `json:"status"`
	Amount       int64  `json:"amount"` // what the user is (or was) reimbursed
	Asset        string `json:"asset"`
	Description  string `json:"description"`
	DecisionCode string `json:"decision_code,omitempty"` // e.g. no_valid_approval, duplicate_payment, merchant_dispute
	DecisionNote string `json:"decision_note,omitempty"`
	DecidedBy    string `json:"decided_by,omitempty"` // auto or operator
	// Recovered is what was taken back from the merchant for the claim;
	// Debt what the merchant still owes on it.
	Recovered             int64      `json:"recovered"`
	Debt                  int64      `json:"debt"`
	ReimbursementTransfer string     `json:"reimbursement_transfer,omitempty"`
	RecoveryTransfer      string     `json:"recovery_transfer,omitempty"`
	CreatedAt             time.Time  `json:"created_at"`
	DecidedAt             *time.Time `json:"decided_at,omitempty"`
	UpdatedAt             time.Time  `json:"updated_at"`
}

// Decided says whether the claim is approved or denied.
func (c *Claim) Decided() bool { return c.Status == ClaimApproved || c.Status == ClaimDenied }

// ClaimList is a page of claims, newest first.
type ClaimList struct {
	Data    []Claim `json:"data"`
	HasMore bool    `json:"has_more"`
}

// ClaimRequest is a claim an agent files for its user: Payment one of the
// grant's captured payments, Kind one of the Claim* kinds, Description
// (optional, at most 2,000 bytes) what went wrong, in words the user and an
// operator will read.
type ClaimRequest struct {
	Payment     string `json:"payment"`
	Kind        string `json:"kind"`
	Description string `json:"description,omitempty"`
}

// FileClaim files a claim on one of the grant's payments on behalf of its
// user (scope payments:create): it is decided like the user's own claim,
// and the answer is the claim as the adjudication left it — approved with
// the user reimbursed, or in review. A retry of the same call (the same
// Idempotency-Key, see WithIdempotencyKey) answers the same claim.
func (a *Agent) FileClaim(ctx context.Context, req ClaimRequest) (*Claim, error) {
	var c Claim
	if err := a.Do(ctx, http.MethodPost, "/v1/claims", req, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// Claims returns the claims on a payment of the agent's grant, oldest
// first (at most one is not denied).
func (a *Agent) Claims(ctx context.Context, paymentID string) ([]Claim, error) {
	var l ClaimList
	if err := a.Do(ctx, http.MethodGet, "/v1/payments/"+url.PathEscape(paymentID)+"/claims", nil, &l); err != nil {
		return nil, err
	}
	return l.Data, nil
}

// Claim reads a claim on one of the merchant's payments.
func (m *Merchant) Claim(ctx context.Context, id string) (*Claim, error) {
	var c Claim
	if err := m.Do(ctx, http.MethodGet, "/v1/claims/"+url.PathEscape(id), nil, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// Claims lists the claims on the merchant's payments, newest first, limit
// (1 to 100) at a time after the claim startingAfter ("" for the newest).
func (m *Merchant) Claims(ctx context.Context, limit int, startingAfter string) (*ClaimList, error) {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if startingAfter != "" {
		q.Set("starting_after", startingAfter)
	}
	path := "/v1/claims"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var l ClaimList
	if err := m.Do(ctx, http.MethodGet, path, nil, &l); err != nil {
		return nil, err
	}
	return &l, nil
}
