package sdk

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// Mandates are standing permissions: the user approves a mandate's terms
// once with a passkey (at its ApprovalURL), and charges within them then
// need no approval each — one payee or some merchant categories, an amount
// per charge, a budget per period. An agent proposes them (ProposeMandate)
// and charges open and tips mandates itself (ChargeMandate); the merchant
// a mandate names charges it (Merchant.ChargeMandate).

// Mandate kinds.
const (
	MandateOpen         = "open"         // an agent's purchases within limits
	MandateTips         = "tips"         // tips an agent gives on the user's behalf
	MandateSubscription = "subscription" // recurring charges by one merchant
)

// Mandate statuses.
const (
	MandateRequiresApproval = "requires_approval"
	MandateActive           = "active"
	MandatePaused           = "paused"
	MandateRevoked          = "revoked"
	MandateExpired          = "expired"
)

// Webhook event types of mandates, sent to the merchant a mandate names
// (ObjectID is the mandate, Seq its version).
const (
	EventMandateProposed = "mandate.proposed"
	EventMandateApproved = "mandate.approved"
	EventMandatePaused   = "mandate.paused"
	EventMandateResumed  = "mandate.resumed"
	EventMandateRevoked  = "mandate.revoked"
)

// DeclineMandateBudget is the decline code of a charge over what the
// mandate's budget still holds this period.
const DeclineMandateBudget = "mandate_budget"

// Interval is a period of Count Units: day, week, month or year.
type Interval struct {
	Unit  string `json:"unit"`
	Count int    `json:"count"`
}

// MandateRequest is a proposed mandate: Merchant ("" for any merchant of
// Categories), at most PerPaymentMax a charge and Budget per Period,
// whose periods follow TimeZone's calendar from StartsAt (zero: now) to
// EndsAt (zero: until revoked). Description is what the user reads.
type MandateRequest struct {
	Kind          string
	Merchant      string
	Categories    []string
	Asset         string
	PerPaymentMax int64
	Budget        int64
	Period        Interval
	TimeZone      string
	StartsAt      time.Time
	EndsAt        time.Time
	Description   string
}

// mandateBody is MandateRequest as the API takes it: absent times and a
// null merchant rather than zero values.
type mandateBody struct {
	Kind          string   `json:"kind"`
	Merchant      *string  `json:"merchant"`
	Categories    []string `json:"categories,omitempty"`
	Asset         string   `json:"asset"`
	PerPaymentMax int64    `json:"per_payment_max"`
	Budget        int64    `json:"budget"`
	Period        Interval `json:"period"`
	TimeZone      string   `json:"time_zone"`
	StartsAt      string   `json:"starts_at,omitempty"`
	EndsAt        string   `json:"ends_at,omitempty"`
	Description   string   `json:"description"`
}

// Mandate is a mandate as the API shows it. Agents see their grant and,
// while it waits, where the user approves it; merchants see the payer's
// pseudonym.
type Mandate struct {
	Object            string     `json:"object"`
	ID                string     `json:"id"`
	Kind              string     `json:"kind"`
	Status            string     `json:"status"`
	Merchant          string     `json:"merchant"` // "" for a mandate of categories
	Categories        []string   `json:"categories"`
	Asset             string     `json:"asset"`
	PerPaymentMax     int64      `json:"per_payment_max"`
	Budget            int64      `json:"budget"`
	Period            Interval   `json:"period"`
	TimeZone          string     `json:"time_zone"`
	StartsAt          time.Time  `json:"starts_at"`
	EndsAt            *time.Time `json:"ends_at"`
	Description       string     `json:"description"`
	Summary           string     `json:"summary"`      // one sentence, for voice
	ApprovalURL       string     `json:"approval_url"` // agents: where the user approves it
	ApprovalExpiresAt *time.Time `json:"approval_expires_at"`
	ApprovedAt        *time.Time `json:"approved_at"`
	Grant             string     `json:"grant"` // agents
	Payer             string     `json:"payer"` // merchants: a pseudonym per merchant
	CreatedAt         time.Time  `json:"created_at"`
	UpdatedAt         time.Time  `json:"updated_at"`
}

// MandateList is a page of mandates, newest first.
type MandateList struct {
	Data    []Mandate `json:"data"`
	HasMore bool      `json:"has_more"`
}

// Charge is a payment under a mandate: Merchant is the payee (a merchant
// may leave it empty: itself).
type Charge struct {
	Merchant string `json:"merchant,omitempty"`
	Order
}

// ProposeMandate asks the grant's user for a mandate: the answer waits for
// the user's approval at its ApprovalURL.
func (a *Agent) ProposeMandate(ctx context.Context, req MandateRequest) (*Mandate, error) {
	b := mandateBody{Kind: req.Kind, Categories: req.Categories, Asset: req.Asset, PerPaymentMax: req.PerPaymentMax,
		Budget: req.Budget, Period: req.Period, TimeZone: req.TimeZone, Description: req.Description}
	if req.Merchant != "" {
		b.Merchant = &req.Merchant
	}
	if !req.StartsAt.IsZero() {
		b.StartsAt = req.StartsAt.Format(time.RFC3339)
	}
	if !req.EndsAt.IsZero() {
		b.EndsAt = req.EndsAt.Format(time.RFC3339)
	}
	var m Mandate
	if err := a.Do(ctx, http.MethodPost, "/v1/mandates", b, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// Mandate reads one of the grant's mandates.
func (a *Agent) Mandate(ctx context.Context, id string) (*Mandate, error) {
	var m Mandate
	if err := a.Do(ctx, http.MethodGet, "/v1/mandates/"+url.PathEscape(id), nil, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// Mandates lists the grant's mandates, newest first, limit (1 to 100) at a
// time after the mandate startingAfter ("" for the newest).
func (a *Agent) Mandates(ctx context.Context, limit int, startingAfter string) (*MandateList, error) {
	var l MandateList
	if err := a.Do(ctx, http.MethodGet, mandateListPath(limit, startingAfter), nil, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// ChargeMandate charges an open or tips mandate of the grant: the payment
// is authorized at once within its terms, or declined (DeclineMandateBudget)
// over what its budget still holds. A retry with the same Idempotency-Key
// (WithIdempotencyKey) returns the same payment.
func (a *Agent) ChargeMandate(ctx context.Context, mandateID string, c Charge) (*Payment, error) {
	var p Payment
	if err := a.Do(ctx, http.MethodPost, "/v1/mandates/"+url.PathEscape(mandateID)+"/charges", c, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// Mandate reads a mandate naming the merchant.
func (m *Merchant) Mandate(ctx context.Context, id string) (*Mandate, error) {
	var out Mandate
	if err := m.Do(ctx, http.MethodGet, "/v1/mandates/"+url.PathEscape(id), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Mandates lists the mandates naming the merchant, newest first.
func (m *Merchant) Mandates(ctx context.Context, limit int, startingAfter string) (*MandateList, error) {
	var l MandateList
	if err := m.Do(ctx, http.MethodGet, mandateListPath(limit, startingAfter), nil, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// ChargeMandate charges a mandate naming the merchant, as Agent.ChargeMandate.
func (m *Merchant) ChargeMandate(ctx context.Context, mandateID string, c Charge) (*Payment, error) {
	var p Payment
	if err := m.Do(ctx, http.MethodPost, "/v1/mandates/"+url.PathEscape(mandateID)+"/charges", c, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

func mandateListPath(limit int, startingAfter string) string {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", fmt.Sprint(limit))
	}
	if startingAfter != "" {
		q.Set("starting_after", startingAfter)
	}
	if len(q) == 0 {
		return "/v1/mandates"
	}
	return "/v1/mandates?" + q.Encode()
}
