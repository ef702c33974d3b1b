package web

import (
	"context"
	_ "embed"
	"net/http"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
	"github.com/agentpay/agentpay/subscriptions"
)

// The account page's subscriptions: each with its price, status and next
// charge, a link to approve its mandate while one waits for the user, and
// Pause, Resume and Cancel, which take effect at once.

// AccountSubscriptionsMax is how many of the newest subscriptions the
// account page lists (and its event stream follows).
const AccountSubscriptionsMax = 50

// subscriptionActionTries bounds how often an action is prepared again
// after losing a race to another change of the same subscription (the
// scheduler charging it, a second click): the user's cancel must not fail
// because a charge landed in the same instant.
const subscriptionActionTries = 3

// subscriptionsJS keeps the section current (server-sent events). It is
// embedded here, as mandate.js is, so the section stays self-contained.
//
//go:embed account_subscriptions.js
var subscriptionsJS []byte

func (h *Handler) accountSubscriptionRoutes() {
	h.handle("GET /account/subscriptions/events", h.accountSubscriptionEvents)
	h.handle("POST /account/subscriptions/{id}/{action}", h.accountSubscriptionAction)
	h.handle("GET /assets/subscriptions.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(subscriptionsJS)
	})
}

// subscriptionRow is one of the user's subscriptions as the account page
// lists it, with the buttons its status allows.
type subscriptionRow struct {
	ID, Merchant, Plan, Price string // Price: "9.99 USD per month", or a metered plan's most
	Status, StatusLabel       string
	Version                   int64
	Problem                   string // why the last charge failed, while past due
	NextCharge, Ends          string // in the subscription's own time zone; "" for none
	// ApproveURL is the mandate page while a mandate waits for the user:
	// the first one, or a price increase's.
	ApproveURL, ApproveLabel       string
	CanPause, CanResume, CanCancel bool
}

// subscriptionStatusLabels say what each status means to the user.
var subscriptionStatusLabels = map[string]string{
	subscriptions.Incomplete: "waiting for your approval",
	subscriptions.Trialing:   "in its trial: the first charge is at the trial's end",
	subscriptions.Active:     "active",
	subscriptions.PastDue:    "past due: the last charge failed and will be tried again",
	subscriptions.Paused:     "paused: nothing is charged until it is resumed",
	subscriptions.Canceled:   "canceled: nothing more is charged",
	subscriptions.Ended:      "ended: its last period was charged",
}

// canceledBy says who or what canceled a subscription.
var canceledBy = map[string]string{
	"user":    "canceled by you: nothing more is charged",
	"agent":   "canceled by your agent: nothing more is charged",
	"dunning": "canceled after its charges kept failing",
	"system":  "canceled: its mandate was not approved in time",
}

// subscriptionStatusWords name a status in an error's sentence.
var subscriptionStatusWords = map[string]string{
	subscriptions.Incomplete: "waiting for your approval",
	subscriptions.Trialing:   "in its trial",
	subscriptions.PastDue:    "past due",
}

// subscriptionActionWords are the past participles of the actions.
var subscriptionActionWords = map[string]string{
	subscriptions.ActionPause:  "paused",
	subscriptions.ActionResume: "resumed",
	subscriptions.ActionCancel: "canceled",
}

// subscriptionCan reports whether a subscription in status allows action:
// the rules of subscriptions.PrepareAction, which checks them again, so
// the page offers no button that would be refused.
func subscriptionCan(status, action string) bool {
	switch action {
	case subscriptions.ActionPause:
		return status == subscriptions.Trialing || status == subscriptions.Active || status == subscriptions.PastDue
	case subscriptions.ActionResume:
		return status == subscriptions.Paused
	case subscriptions.ActionCancel:
		return status != subscriptions.Canceled && status != subscriptions.Ended
	}
	return false
}

// subscriptionDone reports whether a subscription in status is where
// action leads already. The subscription's state is the action's
// idempotency key: a repeated POST (a second click, a reload that posts
// again) is answered as the first one was, and changes nothing.
func subscriptionDone(status, action string) bool {
	switch action {
	case subscriptions.ActionPause:
		return status == subscriptions.Paused
	case subscriptions.ActionResume:
		return status == subscriptions.Active || status == subscriptions.Trialing
	case subscriptions.ActionCancel:
		return status == subscriptions.Canceled
	}
	return false
}

// subscriptionsService is the subscriptions service of the pages, over
// the same store, payments and outbox as the API's (as claims is).
func (h *Handler) subscriptionsService() *subscriptions.Service {
	return &subscriptions.Service{DB: h.Payments.DB, Payments: h.Payments, Outbox: h.Payments.Outbox, Now: h.Payments.Now}
}

// inZone formats us in the time zone tz, where a subscription's periods
// begin; a zone that does not load (it was checked when proposed) is UTC.
func inZone(us int64, tz string) string {
	if us == 0 {
		return ""
	}
	loc, err := agentpay.LoadLocation("time_zone", tz)
	if err != nil {
		loc = time.UTC
	}
	return time.UnixMicro(us).In(loc).Format("2006-01-02 15:04 MST")
}

// toSubscriptionRow renders sub, whose merchant is named merchant.
func toSubscriptionRow(sub store.Subscription, merchant string) subscriptionRow {
	row := subscriptionRow{ID: sub.ID, Merchant: merchant, Plan: sub.Plan, Price: subscriptionPrice(sub), Status: sub.Status,
		StatusLabel: subscriptionStatusLabels[sub.Status], Version: sub.Version, Ends: inZone(sub.EndsAt, sub.TimeZone),
		CanPause:  subscriptionCan(sub.Status, subscriptions.ActionPause),
		CanResume: subscriptionCan(sub.Status, subscriptions.ActionResume),
		CanCancel: subscriptionCan(sub.Status, subscriptions.ActionCancel)}
	if row.StatusLabel == "" {
		row.StatusLabel = sub.Status
	}
	switch sub.Status {
	case subscriptions.Trialing, subscriptions.Active, subscriptions.PastDue:
		row.NextCharge = inZone(sub.NextAttemptAt, sub.TimeZone)
	case subscriptions.Canceled:
		if l, ok := canceledBy[sub.CanceledBy]; ok {
			row.StatusLabel = l
		}
	}
	if sub.Status == subscriptions.PastDue {
		switch sub.DeclineCode {
		case subscriptions.DeclineInsufficientFunds:
			row.Problem = "Your wallet had too little money: top it up before the next try."
		case "":
			row.Problem = "The last charge failed."
		default:
			row.Problem = "The last charge was declined (" + sub.DeclineCode + ")."
		}
	}
	switch {
	case sub.WaitingMandateID == "", sub.Status == subscriptions.Canceled, sub.Status == subscriptions.Ended:
	case sub.Status == subscriptions.Incomplete:
		row.ApproveURL, row.ApproveLabel = "/mandates/"+sub.WaitingMandateID, "Review and approve"
	default:
		row.ApproveURL = "/mandates/" + sub.WaitingMandateID
		row.ApproveLabel = "Approve the new price: " + money(sub.WaitingAmount, sub.Asset) + " " + PeriodWords(sub.Interval)
	}
	return row
}

// subscriptionPrice says what a period costs: "9.99 USD per month"; for a
// metered plan, charged at each period's end for its base fee and usage,
// "2.00 USD per month plus usage, at most 20.00 USD per month".
func subscriptionPrice(sub store.Subscription) string {
	per := " " + PeriodWords(sub.Interval)
	if sub.MaxAmount <= 0 {
		return money(sub.Amount, sub.Asset) + per
	}
	most := "usage, at most " + money(sub.MaxAmount, sub.Asset) + per
	if sub.Amount == 0 {
		return most
	}
	return money(sub.Amount, sub.Asset) + per + " plus " + most
}

// userSubscriptions reads the user's newest subscriptions.
func (h *Handler) userSubscriptions(ctx context.Context, userID string) ([]store.Subscription, error) {
	return h.Payments.DB.SubscriptionsOf(ctx, "user_id", userID, "", AccountSubscriptionsMax)
}

// accountSubscriptions reads the user's newest subscriptions with their
// merchants' names.
func (h *Handler) accountSubscriptions(ctx context.Context, userID string) ([]subscriptionRow, error) {
	if h.Payments == nil {
		return nil, nil
	}
	list, err := h.userSubscriptions(ctx, userID)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	rows := make([]subscriptionRow, 0, len(list))
	for _, sub := range list {
		name, ok := names[sub.MerchantID]
		if !ok {
			m, err := h.Payments.DB.Merchant(ctx, sub.MerchantID)
			if err != nil {
				return nil, err
			}
			name, names[sub.MerchantID] = m.Name, m.Name
		}
		rows = append(rows, toSubscriptionRow(sub, name))
	}
	return rows, nil
}

// accountSubscriptionAction is POST
// /account/subscriptions/{id}/{pause|resume|cancel}: the session's user
// acts on one of their subscriptions, at once.
func (h *Handler) accountSubscriptionAction(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.postSession(w, r)
	if !ok {
		return
	}
	action := r.PathValue("action")
	if _, known := subscriptionActionWords[action]; !known {
		h.writeError(w, r, agentpay.Errorf(agentpay.ENOTFOUND, "route_not_found", "no such action on a subscription"))
		return
	}
	if h.Payments == nil {
		h.writeError(w, r, agentpay.Errorf(agentpay.ENOTFOUND, "subscription_not_found", "subscription not found"))
		return
	}
	sub, err := h.actOnSubscription(r.Context(), sess.UserID, r.PathValue("id"), action)
	if err != nil {
		h.accountError(w, r, sess, err)
		return
	}
	http.Redirect(w, r, "/account?notice=subscription_"+action+"#subscription-"+sub.ID, http.StatusSeeOther)
}

// actOnSubscription pauses, resumes or cancels the user's subscription id
// in one unit with its mandate, reading it again and retrying when another
// change of it committed first.
func (h *Handler) actOnSubscription(ctx context.Context, userID, id, action string) (store.Subscription, error) {
	svc := h.subscriptionsService()
	for try := 1; ; try++ {
		sub, err := svc.ForUser(ctx, userID, id)
		if err != nil || subscriptionDone(sub.Status, action) {
			return sub, err
		}
		if !subscriptionCan(sub.Status, action) {
			word := subscriptionStatusWords[sub.Status]
			if word == "" {
				word = sub.Status
			}
			return sub, agentpay.Errorf(agentpay.ECONFLICT, "subscription_"+sub.Status,
				"This subscription is %s, so it cannot be %s.", word, subscriptionActionWords[action])
		}
		sub, unit, err := svc.PrepareAction(ctx, sub, action, "user")
		if err == nil {
			err = h.Payments.DB.Committer.Submit(ctx, unit).Err
		}
		switch {
		case agentpay.ErrorCode(err) != "version_conflict":
			return sub, err
		case try == subscriptionActionTries:
			return sub, agentpay.Errorf(agentpay.ECONFLICT, "subscription_busy",
				"The subscription was changing while you asked: please try again.")
		}
	}
}

// accountSubscriptionItem is a subscription as the section's event
// stream sends it: enough to tell that the page no longer shows it as it
// is.
type accountSubscriptionItem struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	StatusLabel string `json:"status_label"`
	Version     int64  `json:"version"`
}

// accountSubscriptionEvents streams the user's newest subscriptions
// whenever one changes: charged, paused, canceled elsewhere (the API, an
// agent, dunning) or a new one proposed.
func (h *Handler) accountSubscriptionEvents(w http.ResponseWriter, r *http.Request) {
	sess, err := h.Sessions.Lookup(r.Context(), r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if h.Payments == nil {
		h.writeError(w, r, agentpay.Errorf(agentpay.ENOTFOUND, "route_not_found", "no subscriptions here"))
		return
	}
	h.serveEvents(w, r, subscriptions.Topic(sess.UserID), "subscriptions", func(ctx context.Context) (any, error) {
		list, err := h.userSubscriptions(ctx, sess.UserID)
		if err != nil {
			return nil, err
		}
		items := make([]accountSubscriptionItem, len(list))
		for i, sub := range list {
			row := toSubscriptionRow(sub, "")
			items[i] = accountSubscriptionItem{ID: sub.ID, Status: sub.Status, StatusLabel: row.StatusLabel, Version: sub.Version}
		}
		return items, nil
	})
}
