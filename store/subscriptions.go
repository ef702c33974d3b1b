package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/agentpay/agentpay"
)

// SubscriptionsTable holds subscriptions (package subscriptions), changed
// by versioned updates; see SubscriptionRow for the values.
var SubscriptionsTable = &Table{
	Name: "subscriptions",
	Key:  "id",
	Columns: []string{"id", "user_id", "grant_id", "merchant_id", "mandate_id", "waiting_mandate_id", "waiting_amount",
		"plan", "asset", "amount", "interval_unit", "interval_count", "time_zone", "anchor", "ends_at", "status",
		"next_period", "next_attempt_at", "attempts", "dunning_since", "decline_code", "event_seq", "canceled_by",
		"created_at", "updated_at", "version", "max_amount", "trial_days", "cycles"},
	Types: []ColumnType{Text, Text, Text, Text, Text, Text, Int, Text, Text, Int, Text, Int, Text, Int, Int, Text, Int,
		Int, Int, Int, Text, Int, Text, Int, Int, Int, Int, Int, Int},
	Version: "version",
}

// Subscription is a user's recurring payment to one merchant under a
// mandate. Amounts are minor units of Asset; times are microseconds.
//
// A merchant's offer has no user, grant or mandate until a user accepts
// it: then its user, anchor and end are set and its mandate proposed.
type Subscription struct {
	ID, UserID, GrantID, MerchantID string
	MandateID                       string // the mandate charges are made under
	// WaitingMandateID is a mandate the user has still to approve: the
	// first one while the subscription is incomplete, or the one of a price
	// increase (WaitingAmount), which replaces MandateID once approved.
	WaitingMandateID string
	WaitingAmount    int64
	Plan, Asset      string
	Amount           int64 // per period; a metered plan's base fee (may be 0)
	MaxAmount        int64 // > 0: a metered plan, charged at each period's end for at most this
	TrialDays        int64 // as proposed: an offer's trial starts when it is accepted
	Cycles           int64 // as proposed; 0: until canceled or EndsAt
	Interval         agentpay.Interval
	TimeZone         string
	Anchor           int64 // the start of period 0: the end of the trial, or the proposal
	EndsAt           int64 // 0: until canceled
	Status           string
	NextPeriod       int64 // the period the scheduler charges next
	NextAttemptAt    int64 // when it does
	Attempts         int64 // failed charges in a row (dunning)
	DunningSince     int64 // when the first of them failed
	DeclineCode      string
	EventSeq         int64 // the seq of the subscription's last event
	CanceledBy       string
	CreatedAt        int64
	UpdatedAt        int64
	Version          int64
}

// SubscriptionRow returns the row that inserts a new subscription (version 1).
func SubscriptionRow(s Subscription) Row {
	return Row{Table: SubscriptionsTable, Values: []any{s.ID, s.UserID, s.GrantID, s.MerchantID, s.MandateID,
		s.WaitingMandateID, s.WaitingAmount, s.Plan, s.Asset, s.Amount, string(s.Interval.Unit), int64(s.Interval.Count),
		s.TimeZone, s.Anchor, s.EndsAt, s.Status, s.NextPeriod, s.NextAttemptAt, s.Attempts, s.DunningSince,
		s.DeclineCode, s.EventSeq, s.CanceledBy, s.CreatedAt, s.UpdatedAt, int64(1), s.MaxAmount, s.TrialDays, s.Cycles}}
}

// SubscriptionUpdate returns the versioned update of every mutable field
// of s over the row as read (s.Version).
func SubscriptionUpdate(s Subscription) Update {
	return Update{Table: SubscriptionsTable, Key: s.ID, Version: s.Version,
		Set: []string{"user_id", "mandate_id", "waiting_mandate_id", "waiting_amount", "amount", "anchor", "ends_at",
			"status", "next_period", "next_attempt_at", "attempts", "dunning_since", "decline_code", "event_seq",
			"canceled_by", "updated_at"},
		Values: []any{s.UserID, s.MandateID, s.WaitingMandateID, s.WaitingAmount, s.Amount, s.Anchor, s.EndsAt,
			s.Status, s.NextPeriod, s.NextAttemptAt, s.Attempts, s.DunningSince, s.DeclineCode, s.EventSeq,
			s.CanceledBy, s.UpdatedAt}}
}

const subscriptionColumns = `id, user_id, grant_id, merchant_id, mandate_id, waiting_mandate_id, waiting_amount, plan,
	asset, amount, interval_unit, interval_count, time_zone, anchor, ends_at, status, next_period, next_attempt_at,
	attempts, dunning_since, decline_code, event_seq, canceled_by, created_at, updated_at, version, max_amount,
	trial_days, cycles`

func scanSubscription(row interface{ Scan(...any) error }) (Subscription, error) {
	var s Subscription
	var unit string
	var count int64
	err := row.Scan(&s.ID, &s.UserID, &s.GrantID, &s.MerchantID, &s.MandateID, &s.WaitingMandateID, &s.WaitingAmount,
		&s.Plan, &s.Asset, &s.Amount, &unit, &count, &s.TimeZone, &s.Anchor, &s.EndsAt, &s.Status, &s.NextPeriod,
		&s.NextAttemptAt, &s.Attempts, &s.DunningSince, &s.DeclineCode, &s.EventSeq, &s.CanceledBy, &s.CreatedAt,
		&s.UpdatedAt, &s.Version, &s.MaxAmount, &s.TrialDays, &s.Cycles)
	s.Interval = agentpay.Interval{Unit: agentpay.IntervalUnit(unit), Count: int(count)}
	return s, err
}

func scanSubscriptions(rows *sql.Rows, err error) ([]Subscription, error) {
	if err != nil {
		return nil, fmt.Errorf("store: subscriptions: %w", err)
	}
	defer rows.Close()
	var out []Subscription
	for rows.Next() {
		s, err := scanSubscription(rows)
		if err != nil {
			return nil, fmt.Errorf("store: subscriptions: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// Subscription returns a subscription; an unknown id is
// subscription_not_found.
func (db *DB) Subscription(ctx context.Context, id string) (Subscription, error) {
	s, err := scanSubscription(db.reader.QueryRowContext(ctx, `SELECT `+subscriptionColumns+` FROM subscriptions
		WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return s, agentpay.Errorf(agentpay.ENOTFOUND, "subscription_not_found", "subscription not found")
	}
	if err != nil {
		return s, fmt.Errorf("store: subscription: %w", err)
	}
	return s, nil
}

// DueSubscriptions returns up to limit subscriptions the scheduler charges
// (trialing, active or past_due) whose next attempt is at or before now,
// most overdue first.
func (db *DB) DueSubscriptions(ctx context.Context, now int64, limit int) ([]Subscription, error) {
	return scanSubscriptions(db.reader.QueryContext(ctx, `SELECT `+subscriptionColumns+` FROM subscriptions
		WHERE status IN ('trialing', 'active', 'past_due') AND next_attempt_at <= $1
		ORDER BY next_attempt_at, id LIMIT $2`, now, limit))
}

// WaitingSubscriptions returns up to limit subscriptions with a mandate the
// user has still to approve, oldest first.
func (db *DB) WaitingSubscriptions(ctx context.Context, limit int) ([]Subscription, error) {
	return scanSubscriptions(db.reader.QueryContext(ctx, `SELECT `+subscriptionColumns+` FROM subscriptions
		WHERE waiting_mandate_id <> '' ORDER BY created_at, id LIMIT $1`, limit))
}

// ExpiredOffers returns up to limit merchants' offers no user accepted
// before their expiry (next_attempt_at), oldest first.
func (db *DB) ExpiredOffers(ctx context.Context, now int64, limit int) ([]Subscription, error) {
	return scanSubscriptions(db.reader.QueryContext(ctx, `SELECT `+subscriptionColumns+` FROM subscriptions
		WHERE status = 'offered' AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $2`, now, limit))
}

// SubscriptionsOf returns up to limit subscriptions whose owner column
// (user_id, grant_id or merchant_id) is id, newest first, after the subscription
// startingAfter ("" for the newest; one not of the list is invalid_cursor).
func (db *DB) SubscriptionsOf(ctx context.Context, owner, id, startingAfter string, limit int) ([]Subscription, error) {
	if owner != "user_id" && owner != "grant_id" && owner != "merchant_id" {
		return nil, fmt.Errorf("store: subscriptions by %q", owner)
	}
	if startingAfter == "" {
		return scanSubscriptions(db.reader.QueryContext(ctx, `SELECT `+subscriptionColumns+` FROM subscriptions
			WHERE `+owner+` = $1 ORDER BY created_at DESC, id DESC LIMIT $2`, id, limit))
	}
	var createdAt int64
	err := db.reader.QueryRowContext(ctx, `SELECT created_at FROM subscriptions WHERE id = $1 AND `+owner+` = $2`,
		startingAfter, id).Scan(&createdAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, agentpay.ParamErrorf("starting_after", "invalid_cursor", "starting_after names no subscription of this list")
	}
	if err != nil {
		return nil, fmt.Errorf("store: subscriptions: %w", err)
	}
	return scanSubscriptions(db.reader.QueryContext(ctx, `SELECT `+subscriptionColumns+` FROM subscriptions
		WHERE `+owner+` = $1 AND (created_at < $2 OR (created_at = $2 AND id < $3))
		ORDER BY created_at DESC, id DESC LIMIT $4`, id, createdAt, startingAfter, limit))
}
