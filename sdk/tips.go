package sdk

import (
	"context"
	"net/http"
	"strings"
	"time"
)

// Tips are small amounts an agent gives a creator or merchant with a note.
// A tip within the grant's tip_auto_approve_max and a tips mandate the user
// approved with their passkey is charged and captured at once; any other
// tip is a payment the user approves (ApprovalURL), like CreatePayment's.

// EventTipReceived is the webhook event a merchant gets when it is given a
// tip (ObjectID "tip_…", the payment's id with another prefix; its data
// names the payment, amount, asset, auto_approved, mandate and status).
// The payment's own events follow as for any payment.
const EventTipReceived = "tip.received"

// TipRequest is a tip: amount in minor units of asset ("" for the grant's
// asset); note is shown to the user and the merchant (at most 280 bytes).
type TipRequest struct {
	Merchant string `json:"merchant"`
	Amount   int64  `json:"amount"`
	Asset    string `json:"asset,omitempty"`
	Note     string `json:"note"`
}

// TipInfo says how a tip was given: AutoApproved under Mandate, or as a
// payment waiting for the user's approval.
type TipInfo struct {
	AutoApproved bool   `json:"auto_approved"`
	Mandate      string `json:"mandate"`
}

// TipPayment is the payment of a tip, as the agent sees payments, and how
// it was given.
type TipPayment struct {
	Payment
	Tip TipInfo `json:"tip"`
}

// Tip is a tip in a list. Agents and users see MerchantName (and agents
// Grant); merchants see the payer's pseudonym (Payer).
type Tip struct {
	Object       string    `json:"object"`
	Payment      string    `json:"payment"`
	Status       string    `json:"status"` // the payment's
	Merchant     string    `json:"merchant"`
	MerchantName string    `json:"merchant_name"`
	Grant        string    `json:"grant"`
	Payer        string    `json:"payer"`
	Amount       int64     `json:"amount"`
	Asset        string    `json:"asset"`
	Note         string    `json:"note"`
	AutoApproved bool      `json:"auto_approved"`
	Mandate      string    `json:"mandate"`
	CreatedAt    time.Time `json:"created_at"`
}

// TipList is a page of tips, newest first.
type TipList struct {
	Data    []Tip `json:"data"`
	HasMore bool  `json:"has_more"`
}

// Tip gives merchantID a tip of amount (minor units of asset, "" for the
// grant's) with note. The answer's Status is captured when the tip was
// given at once, requires_approval when the user must approve it at
// ApprovalURL; in_review or declined are said as for any payment.
func (a *Agent) Tip(ctx context.Context, merchantID string, amount int64, asset, note string) (*TipPayment, error) {
	var p TipPayment
	req := TipRequest{Merchant: merchantID, Amount: amount, Asset: asset, Note: note}
	if err := a.Do(ctx, http.MethodPost, "/v1/tips", req, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// Tips lists the grant's tips, newest first, limit (1 to 100) at a time
// after the tip of payment startingAfter ("" for the newest).
func (a *Agent) Tips(ctx context.Context, limit int, startingAfter string) (*TipList, error) {
	var l TipList
	if err := a.Do(ctx, http.MethodGet, tipsPath(limit, startingAfter), nil, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// Tips lists the tips the merchant received, newest first.
func (m *Merchant) Tips(ctx context.Context, limit int, startingAfter string) (*TipList, error) {
	var l TipList
	if err := m.Do(ctx, http.MethodGet, tipsPath(limit, startingAfter), nil, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

func tipsPath(limit int, startingAfter string) string {
	return "/v1/tips" + strings.TrimPrefix(listPath(limit, startingAfter), "/v1/payments")
}
