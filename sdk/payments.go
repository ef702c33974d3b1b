package sdk

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// LineItem is one line of an order; amounts are minor units.
type LineItem struct {
	Name       string `json:"name"`
	Quantity   int64  `json:"quantity"`
	UnitAmount int64  `json:"unit_amount"`
	SKU        string `json:"sku,omitempty"`
	URL        string `json:"url,omitempty"`
}

// Totals must add up: Subtotal is the sum of the items, Total = Subtotal +
// Tax + Shipping + Fees + Tip.
type Totals struct {
	Subtotal int64 `json:"subtotal"`
	Tax      int64 `json:"tax"`
	Shipping int64 `json:"shipping"`
	Fees     int64 `json:"fees"`
	Tip      int64 `json:"tip"`
	Total    int64 `json:"total"`
}

// Order is what the agent asks its user to pay for.
type Order struct {
	Items       []LineItem `json:"items"`
	Totals      Totals     `json:"totals"`
	Description string     `json:"description,omitempty"`
	Purpose     string     `json:"purpose,omitempty"` // why the agent buys this, shown to the user
}

// NewOrder returns an order of items with the totals computed: subtotal
// from the items, plus tax, shipping, fees and tip as given.
func NewOrder(items []LineItem, tax, shipping, fees, tip int64) Order {
	var sub int64
	for _, it := range items {
		sub += it.UnitAmount * it.Quantity
	}
	return Order{Items: items, Totals: Totals{Subtotal: sub, Tax: tax, Shipping: shipping, Fees: fees, Tip: tip,
		Total: sub + tax + shipping + fees + tip}}
}

// PaymentRequest is a new payment.
type PaymentRequest struct {
	Merchant string `json:"merchant"`
	Asset    string `json:"asset"`
	Order
}

// Payment statuses.
const (
	PaymentRequiresApproval  = "requires_approval"
	PaymentAuthorized        = "authorized"
	PaymentCaptured          = "captured"
	PaymentPartiallyRefunded = "partially_refunded"
	PaymentRefunded          = "refunded"
	PaymentCanceled          = "canceled"
	PaymentDeclined          = "declined"
	PaymentExpired           = "expired"
	PaymentInReview          = "in_review" // held by risk control for an operator; it may come back to the user
)

// Payment is a payment as the API shows it.
type Payment struct {
	Object            string            `json:"object"`
	ID                string            `json:"id"`
	Version           int64             `json:"version"`
	Status            string            `json:"status"`
	Merchant          string            `json:"merchant"`
	Asset             string            `json:"asset"`
	Items             []LineItem        `json:"items"`
	Totals            Totals            `json:"totals"`
	Description       string            `json:"description"`
	Purpose           string            `json:"purpose"`
	Authorized        int64             `json:"amount_authorized"`
	Captured          int64             `json:"amount_captured"`
	Refunded          int64             `json:"amount_refunded"`
	DeclineCode       string            `json:"decline_code"`
	CanceledBy        string            `json:"canceled_by"`
	CancelReason      string            `json:"cancel_reason"`
	ApprovalURL       string            `json:"approval_url"` // agents: where the user approves
	Summary           string            `json:"summary"`      // agents: one sentence, for voice
	Grant             string            `json:"grant"`        // agents
	Payer             string            `json:"payer"`        // merchants: a pseudonym per merchant
	Shared            map[string]string `json:"shared"`       // merchants: what the user shared
	ApprovalExpiresAt *time.Time        `json:"approval_expires_at"`
	CaptureExpiresAt  *time.Time        `json:"capture_expires_at"`
	CreatedAt         time.Time         `json:"created_at"`
	UpdatedAt         time.Time         `json:"updated_at"`
}

// Pending says whether the payment still waits for its user: for their
// approval, or for an operator who may hand it back to them.
func (p *Payment) Pending() bool {
	return p.Status == PaymentRequiresApproval || p.Status == PaymentInReview
}

// PaymentList is a page of payments, newest first.
type PaymentList struct {
	Data    []Payment `json:"data"`
	HasMore bool      `json:"has_more"`
}

// Refund is a refund of a captured payment.
type Refund struct {
	ID        string    `json:"id"`
	Payment   string    `json:"payment"`
	Amount    int64     `json:"amount"`
	Asset     string    `json:"asset"`
	Reason    string    `json:"reason"`
	CreatedAt time.Time `json:"created_at"`
	Status    string    `json:"payment_status"`
	Refunded  int64     `json:"payment_amount_refunded"`
}

// CreatePayment asks the user to pay: the answer is the payment with its
// approval URL, to show or send to the user. A payment over what the user
// and grant may still spend today or this month comes back declined.
func (a *Agent) CreatePayment(ctx context.Context, req PaymentRequest) (*Payment, error) {
	var p Payment
	if err := a.Do(ctx, http.MethodPost, "/v1/payments", req, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// Payment reads a payment. With wait > 0 (at most a minute) and while the
// payment still waits for its user, the server answers when it changes or
// after wait.
func (a *Agent) Payment(ctx context.Context, id string, wait time.Duration) (*Payment, error) {
	path := "/v1/payments/" + url.PathEscape(id)
	if wait > 0 {
		path += fmt.Sprintf("?wait=%d", int(wait/time.Second))
	}
	var p Payment
	if err := a.Do(ctx, http.MethodGet, path, nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// WaitForDecision long-polls a payment until its user approved, modified
// into a new version, or otherwise decided it, or until ctx ends.
func (a *Agent) WaitForDecision(ctx context.Context, id string) (*Payment, error) {
	version := int64(-1)
	for {
		p, err := a.Payment(ctx, id, time.Minute)
		if err != nil {
			return nil, err
		}
		if version == -1 {
			version = p.Version
		}
		if !p.Pending() || p.Version != version {
			return p, nil
		}
	}
}

// UpdatePayment replaces the order of a payment still waiting for its user:
// a new version, which the user must approve.
func (a *Agent) UpdatePayment(ctx context.Context, id string, o Order) (*Payment, error) {
	var p Payment
	if err := a.Do(ctx, http.MethodPost, "/v1/payments/"+url.PathEscape(id), o, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// CancelPayment calls a payment off before it is captured.
func (a *Agent) CancelPayment(ctx context.Context, id, reason string) (*Payment, error) {
	var p Payment
	if err := a.Do(ctx, http.MethodPost, "/v1/payments/"+url.PathEscape(id)+"/cancel", map[string]string{"reason": reason}, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// Payments lists the grant's payments, newest first, limit (1 to 100) at a
// time after the payment startingAfter ("" for the newest).
func (a *Agent) Payments(ctx context.Context, limit int, startingAfter string) (*PaymentList, error) {
	var l PaymentList
	if err := a.Do(ctx, http.MethodGet, listPath(limit, startingAfter), nil, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

func listPath(limit int, startingAfter string) string {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", fmt.Sprint(limit))
	}
	if startingAfter != "" {
		q.Set("starting_after", startingAfter)
	}
	if len(q) == 0 {
		return "/v1/payments"
	}
	return "/v1/payments?" + q.Encode()
}

// Payment reads one of the merchant's payments.
func (m *Merchant) Payment(ctx context.Context, id string) (*Payment, error) {
	var p Payment
	if err := m.Do(ctx, http.MethodGet, "/v1/payments/"+url.PathEscape(id), nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// Payments lists the merchant's payments, newest first.
func (m *Merchant) Payments(ctx context.Context, limit int, startingAfter string) (*PaymentList, error) {
	var l PaymentList
	if err := m.Do(ctx, http.MethodGet, listPath(limit, startingAfter), nil, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// Capture takes amount (0: all) of an authorized payment.
func (m *Merchant) Capture(ctx context.Context, id string, amount int64) (*Payment, error) {
	var p Payment
	if err := m.Do(ctx, http.MethodPost, "/v1/payments/"+url.PathEscape(id)+"/capture", map[string]int64{"amount": amount}, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// Void releases the hold of an authorized payment.
func (m *Merchant) Void(ctx context.Context, id, reason string) (*Payment, error) {
	var p Payment
	if err := m.Do(ctx, http.MethodPost, "/v1/payments/"+url.PathEscape(id)+"/void", map[string]string{"reason": reason}, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// Refund returns amount of a captured payment to the user.
func (m *Merchant) Refund(ctx context.Context, paymentID string, amount int64, reason string) (*Refund, error) {
	var r Refund
	body := map[string]any{"payment": paymentID, "amount": amount, "reason": reason}
	if err := m.Do(ctx, http.MethodPost, "/v1/refunds", body, &r); err != nil {
		return nil, err
	}
	return &r, nil
}
