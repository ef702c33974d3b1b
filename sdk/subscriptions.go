package sdk

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// Subscriptions are recurring charges by one merchant: an agent proposes
// one (CreateSubscription, scope subscriptions), the user approves its
// mandate once with a passkey at its ApprovalURL, and agentpay charges
// every period itself, retrying failed charges (1, 3 and 5 days after the
// first failure) before canceling. The user (account page, /v1/me API) or
// the agent may pause, resume or cancel it at any time.
//
// A merchant may offer a plan itself (Merchant.OfferSubscription): its
// customer accepts the offer at AcceptURL and approves the mandate with a
// passkey. A metered plan (MaxAmount) is charged at each period's end for
// its base Amount plus the usage the merchant reported (ReportUsage),
// never more than MaxAmount.

// Subscription statuses.
const (
	SubscriptionOffered    = "offered"    // a merchant's offer no user accepted yet
	SubscriptionIncomplete = "incomplete" // waiting for the user's approval
	SubscriptionTrialing   = "trialing"
	SubscriptionActive     = "active"
	SubscriptionPastDue    = "past_due" // a charge failed and is being retried
	SubscriptionPaused     = "paused"
	SubscriptionCanceled   = "canceled"
	SubscriptionEnded      = "ended"
)

// Webhook event types of subscriptions, sent to the merchant (ObjectID is
// the subscription).
const (
	EventSubscriptionCreated         = "subscription.created"
	EventSubscriptionOffered         = "subscription.offered"
	EventSubscriptionAccepted        = "subscription.accepted"
	EventSubscriptionPeriodClosed    = "subscription.period_closed" // a metered period with nothing to charge
	EventSubscriptionActivated       = "subscription.activated"
	EventSubscriptionCharged         = "subscription.charged"
	EventSubscriptionChargeFailed    = "subscription.charge_failed"
	EventSubscriptionPastDue         = "subscription.past_due"
	EventSubscriptionPaused          = "subscription.paused"
	EventSubscriptionResumed         = "subscription.resumed"
	EventSubscriptionCanceled        = "subscription.canceled"
	EventSubscriptionEnded           = "subscription.ended"
	EventSubscriptionUpdated         = "subscription.updated"
	EventSubscriptionChangeRequested = "subscription.change_requested"
	EventSubscriptionChangeLapsed    = "subscription.change_lapsed"
)

// SubscriptionRequest proposes a subscription to Merchant's Plan: Amount
// (minor units of Asset) every Interval in TimeZone's calendar, after
// TrialDays, until EndsAt (zero: no end date) or for Cycles periods (0:
// until canceled). MaxAmount > 0 makes it metered: Amount is a base fee
// (may be 0), and each period is charged at its end for at most MaxAmount.
// A merchant's offer leaves Merchant empty (or names itself).
type SubscriptionRequest struct {
	Merchant  string     `json:"merchant,omitempty"`
	Plan      string     `json:"plan"`
	Asset     string     `json:"asset"`
	Amount    int64      `json:"amount"`
	MaxAmount int64      `json:"max_amount,omitempty"`
	Interval  Interval   `json:"interval"`
	TimeZone  string     `json:"time_zone"`
	TrialDays int        `json:"trial_days,omitempty"`
	EndsAt    *time.Time `json:"ends_at,omitempty"`
	Cycles    int        `json:"cycles,omitempty"`
}

// Subscription is a subscription as its agent, its user and its merchant
// see it. Merchants see the payer's pseudonym (Payer), never the user or
// the agent's grant.
type Subscription struct {
	Object         string         `json:"object"`
	ID             string         `json:"id"`
	Status         string         `json:"status"`
	Plan           string         `json:"plan"`
	Merchant       string         `json:"merchant"`
	Asset          string         `json:"asset"`
	Amount         int64          `json:"amount"`
	MaxAmount      int64          `json:"max_amount,omitempty"`
	Interval       Interval       `json:"interval"`
	TimeZone       string         `json:"time_zone"`
	Mandate        string         `json:"mandate,omitempty"`
	ApprovalURL    string         `json:"approval_url,omitempty"`
	AcceptURL      string         `json:"accept_url,omitempty"`
	OfferExpiresAt *time.Time     `json:"offer_expires_at,omitempty"`
	TrialDays      int64          `json:"trial_days,omitempty"`
	Cycles         int64          `json:"cycles,omitempty"`
	Payer          string         `json:"payer,omitempty"`
	PendingChange  *PendingChange `json:"pending_change,omitempty"`
	StartsAt       time.Time      `json:"starts_at,omitzero"`
	NextChargeAt   *time.Time     `json:"next_charge_at,omitempty"`
	NextPeriod     int64          `json:"next_period"`
	FailedAttempts int64          `json:"failed_attempts"`
	DeclineCode    string         `json:"decline_code,omitempty"`
	EndsAt         *time.Time     `json:"ends_at,omitempty"`
	CanceledBy     string         `json:"canceled_by,omitempty"`
	Grant          string         `json:"grant,omitempty"`
	CreatedAt      time.Time      `json:"created_at"`
	UpdatedAt      time.Time      `json:"updated_at"`
}

// PendingChange is a price increase waiting for the user's approval of its
// new mandate at ApprovalURL.
type PendingChange struct {
	Amount      int64  `json:"amount"`
	Mandate     string `json:"mandate"`
	ApprovalURL string `json:"approval_url"`
}

// SubscriptionList is a page of subscriptions, newest first.
type SubscriptionList struct {
	Object  string         `json:"object"`
	Data    []Subscription `json:"data"`
	HasMore bool           `json:"has_more"`
}

// CreateSubscription proposes a subscription under the grant: it is
// incomplete until the user approves its mandate at ApprovalURL.
func (a *Agent) CreateSubscription(ctx context.Context, req SubscriptionRequest) (*Subscription, error) {
	return a.subscriptionCall(ctx, http.MethodPost, "/v1/subscriptions", req)
}

// Subscription reads one of the grant's subscriptions.
func (a *Agent) Subscription(ctx context.Context, id string) (*Subscription, error) {
	return a.subscriptionCall(ctx, http.MethodGet, "/v1/subscriptions/"+url.PathEscape(id), nil)
}

// Subscriptions lists the grant's subscriptions, newest first, limit (1 to
// 100) at a time after the subscription startingAfter ("" for the newest).
func (a *Agent) Subscriptions(ctx context.Context, limit int, startingAfter string) (*SubscriptionList, error) {
	var l SubscriptionList
	if err := a.Do(ctx, http.MethodGet, subscriptionsPath(limit, startingAfter), nil, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

func subscriptionsPath(limit int, startingAfter string) string {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", fmt.Sprint(limit))
	}
	if startingAfter != "" {
		q.Set("starting_after", startingAfter)
	}
	path := "/v1/subscriptions"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	return path
}

// PauseSubscription pauses a subscription and its mandate at once: nothing
// is charged until it is resumed.
func (a *Agent) PauseSubscription(ctx context.Context, id string) (*Subscription, error) {
	return a.subscriptionCall(ctx, http.MethodPost, "/v1/subscriptions/"+url.PathEscape(id)+"/pause", struct{}{})
}

// ResumeSubscription resumes a paused subscription; periods that began
// while it was paused are not charged.
func (a *Agent) ResumeSubscription(ctx context.Context, id string) (*Subscription, error) {
	return a.subscriptionCall(ctx, http.MethodPost, "/v1/subscriptions/"+url.PathEscape(id)+"/resume", struct{}{})
}

// CancelSubscription cancels a subscription at once and revokes its
// mandate.
func (a *Agent) CancelSubscription(ctx context.Context, id string) (*Subscription, error) {
	return a.subscriptionCall(ctx, http.MethodPost, "/v1/subscriptions/"+url.PathEscape(id)+"/cancel", struct{}{})
}

// ChangeSubscription changes the price: a lower amount applies from the
// next charge; a higher one waits for the user's approval of a new mandate
// (PendingChange.ApprovalURL), then the difference is charged pro rata for
// the rest of the current period.
func (a *Agent) ChangeSubscription(ctx context.Context, id string, amount int64) (*Subscription, error) {
	return a.subscriptionCall(ctx, http.MethodPost, "/v1/subscriptions/"+url.PathEscape(id)+"/change",
		map[string]int64{"amount": amount})
}

func (a *Agent) subscriptionCall(ctx context.Context, method, path string, body any) (*Subscription, error) {
	var s Subscription
	if err := a.Do(ctx, method, path, body, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// OfferSubscription offers the merchant's plan (req.Merchant empty): the
// customer the merchant sends AcceptURL to accepts it within a week and
// approves its mandate with their passkey.
func (m *Merchant) OfferSubscription(ctx context.Context, req SubscriptionRequest) (*Subscription, error) {
	var s Subscription
	if err := m.Do(ctx, http.MethodPost, "/v1/subscriptions", req, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// Subscription reads one of the merchant's subscriptions.
func (m *Merchant) Subscription(ctx context.Context, id string) (*Subscription, error) {
	var s Subscription
	if err := m.Do(ctx, http.MethodGet, "/v1/subscriptions/"+url.PathEscape(id), nil, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// Subscriptions lists the merchant's subscriptions and offers, newest
// first, limit (1 to 100) at a time after startingAfter ("" for the
// newest).
func (m *Merchant) Subscriptions(ctx context.Context, limit int, startingAfter string) (*SubscriptionList, error) {
	var l SubscriptionList
	if err := m.Do(ctx, http.MethodGet, subscriptionsPath(limit, startingAfter), nil, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// CancelSubscription ends a subscription (or withdraws an offer) at once;
// its mandate is revoked.
func (m *Merchant) CancelSubscription(ctx context.Context, id string) (*Subscription, error) {
	var s Subscription
	if err := m.Do(ctx, http.MethodPost, "/v1/subscriptions/"+url.PathEscape(id)+"/cancel", struct{}{}, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// Usage is usage a merchant reported in one period of a metered plan.
type Usage struct {
	Object       string    `json:"object"`
	Subscription string    `json:"subscription"`
	Period       int64     `json:"period"`
	PeriodStart  time.Time `json:"period_start"`
	PeriodEnd    time.Time `json:"period_end"`
	Amount       int64     `json:"amount"`
	PeriodUsage  int64     `json:"period_usage"` // reported this period, this report included
	BaseAmount   int64     `json:"base_amount"`
	MaxAmount    int64     `json:"max_amount"`
	ChargeAt     time.Time `json:"charge_at"`
}

// ReportUsage adds amount (minor units) of usage to the period under way
// of a metered subscription; usage that would take the period's charge
// above MaxAmount is refused (usage_over_max).
func (m *Merchant) ReportUsage(ctx context.Context, id string, amount int64) (*Usage, error) {
	var u Usage
	if err := m.Do(ctx, http.MethodPost, "/v1/subscriptions/"+url.PathEscape(id)+"/usage",
		map[string]int64{"amount": amount}, &u); err != nil {
		return nil, err
	}
	return &u, nil
}
