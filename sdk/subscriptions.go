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

// Subscription statuses.
const (
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
// until canceled).
type SubscriptionRequest struct {
	Merchant  string     `json:"merchant"`
	Plan      string     `json:"plan"`
	Asset     string     `json:"asset"`
	Amount    int64      `json:"amount"`
	Interval  Interval   `json:"interval"`
	TimeZone  string     `json:"time_zone"`
	TrialDays int        `json:"trial_days,omitempty"`
	EndsAt    *time.Time `json:"ends_at,omitempty"`
	Cycles    int        `json:"cycles,omitempty"`
}

// Subscription is a subscription as its agent and its user see it.
type Subscription struct {
	Object         string         `json:"object"`
	ID             string         `json:"id"`
	Status         string         `json:"status"`
	Plan           string         `json:"plan"`
	Merchant       string         `json:"merchant"`
	Asset          string         `json:"asset"`
	Amount         int64          `json:"amount"`
	Interval       Interval       `json:"interval"`
	TimeZone       string         `json:"time_zone"`
	Mandate        string         `json:"mandate"`
	ApprovalURL    string         `json:"approval_url,omitempty"`
	PendingChange  *PendingChange `json:"pending_change,omitempty"`
	StartsAt       time.Time      `json:"starts_at"`
	NextChargeAt   *time.Time     `json:"next_charge_at,omitempty"`
	NextPeriod     int64          `json:"next_period"`
	FailedAttempts int64          `json:"failed_attempts"`
	DeclineCode    string         `json:"decline_code,omitempty"`
	EndsAt         *time.Time     `json:"ends_at,omitempty"`
	CanceledBy     string         `json:"canceled_by,omitempty"`
	Grant          string         `json:"grant"`
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
	var l SubscriptionList
	if err := a.Do(ctx, http.MethodGet, path, nil, &l); err != nil {
		return nil, err
	}
	return &l, nil
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
