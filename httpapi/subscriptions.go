package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
	"github.com/agentpay/agentpay/subscriptions"
)

// SubscriptionListMax bounds ?limit= of subscription lists.
const SubscriptionListMax = 100

// subscriptionRoutes serves subscriptions to agents (signed, scope
// subscriptions: propose, read, change, pause, resume, cancel those of
// their grant) and to users (their session: read, pause, resume, cancel
// any of theirs). Merchants propose nothing here: a merchant-initiated
// proposal would need a way to name the user, which does not exist yet.
func (s *Server) subscriptionRoutes() {
	sc := agentpay.ScopeSubscriptions
	s.mux.Handle("POST /v1/subscriptions", s.agent(sc, s.idempotent(s.createSubscription)))
	// Reading needs no scope, as for payments: only the grant's own.
	s.mux.Handle("GET /v1/subscriptions", s.agent("", s.listSubscriptions(false)))
	s.mux.Handle("GET /v1/subscriptions/{id}", s.agent("", s.getSubscription(false)))
	s.mux.Handle("POST /v1/subscriptions/{id}/change", s.agent(sc, s.idempotent(s.changeSubscription)))
	s.mux.Handle("GET /v1/me/subscriptions", s.user(s.listSubscriptions(true)))
	s.mux.Handle("GET /v1/me/subscriptions/{id}", s.user(s.getSubscription(true)))
	for _, action := range []string{subscriptions.ActionPause, subscriptions.ActionResume, subscriptions.ActionCancel} {
		s.mux.Handle("POST /v1/subscriptions/{id}/"+action, s.agent(sc, emptyBodyIsObject(s.idempotent(s.actOnSubscription(action, false)))))
		s.mux.Handle("POST /v1/me/subscriptions/{id}/"+action, s.user(emptyBodyIsObject(s.idempotent(s.actOnSubscription(action, true)))))
	}
}

// subscriptionJSON is a subscription as its agent and its user see it.
type subscriptionJSON struct {
	Object        string             `json:"object"`
	ID            string             `json:"id"`
	Status        string             `json:"status"`
	Plan          string             `json:"plan"`
	Merchant      string             `json:"merchant"`
	Asset         string             `json:"asset"`
	Amount        int64              `json:"amount"`
	Interval      agentpay.Interval  `json:"interval"`
	TimeZone      string             `json:"time_zone"`
	Mandate       string             `json:"mandate"`
	ApprovalURL   string             `json:"approval_url,omitempty"` // while incomplete: where the user approves
	PendingChange *pendingChangeJSON `json:"pending_change,omitempty"`
	StartsAt      time.Time          `json:"starts_at"` // the first charge: the trial's end
	NextChargeAt  *time.Time         `json:"next_charge_at,omitempty"`
	Period        int64              `json:"next_period"`
	Attempts      int64              `json:"failed_attempts"`
	DeclineCode   string             `json:"decline_code,omitempty"`
	EndsAt        *time.Time         `json:"ends_at,omitempty"`
	CanceledBy    string             `json:"canceled_by,omitempty"`
	Grant         string             `json:"grant"`
	CreatedAt     time.Time          `json:"created_at"`
	UpdatedAt     time.Time          `json:"updated_at"`
}

type pendingChangeJSON struct {
	Amount      int64  `json:"amount"`
	Mandate     string `json:"mandate"`
	ApprovalURL string `json:"approval_url"`
}

func (s *Server) subscriptionJSON(sub store.Subscription) subscriptionJSON {
	j := subscriptionJSON{Object: "subscription", ID: sub.ID, Status: sub.Status, Plan: sub.Plan, Merchant: sub.MerchantID,
		Asset: sub.Asset, Amount: sub.Amount, Interval: sub.Interval, TimeZone: sub.TimeZone, Mandate: sub.MandateID,
		StartsAt: time.UnixMicro(sub.Anchor).UTC(), Period: sub.NextPeriod, Attempts: sub.Attempts,
		DeclineCode: sub.DeclineCode, EndsAt: microTime(sub.EndsAt), CanceledBy: sub.CanceledBy, Grant: sub.GrantID,
		CreatedAt: time.UnixMicro(sub.CreatedAt).UTC(), UpdatedAt: time.UnixMicro(sub.UpdatedAt).UTC()}
	switch sub.Status {
	case subscriptions.Incomplete:
		j.ApprovalURL = s.baseURL() + "/mandates/" + sub.WaitingMandateID
	case subscriptions.Trialing, subscriptions.Active, subscriptions.PastDue:
		j.NextChargeAt = microTime(sub.NextAttemptAt)
	}
	if sub.WaitingMandateID != "" && sub.Status != subscriptions.Incomplete {
		j.PendingChange = &pendingChangeJSON{Amount: sub.WaitingAmount, Mandate: sub.WaitingMandateID,
			ApprovalURL: s.baseURL() + "/mandates/" + sub.WaitingMandateID}
	}
	return j
}

type createSubscriptionRequest struct {
	Merchant  string            `json:"merchant"`
	Plan      string            `json:"plan"`
	Asset     string            `json:"asset"`
	Amount    int64             `json:"amount"`
	Interval  agentpay.Interval `json:"interval"`
	TimeZone  string            `json:"time_zone"`
	TrialDays int               `json:"trial_days"`
	EndsAt    *time.Time        `json:"ends_at"`
	Cycles    int               `json:"cycles"`
}

// createSubscription is POST /v1/subscriptions: the subscription,
// incomplete, and its mandate, which the user approves at approval_url.
func (s *Server) createSubscription(r *http.Request, body []byte) (*store.Unit, func(store.Result) (int, any), error) {
	var req createSubscriptionRequest
	if err := decode(body, &req); err != nil {
		return nil, nil, err
	}
	var endsAt int64
	if req.EndsAt != nil {
		endsAt = req.EndsAt.UnixMicro()
	}
	sub, unit, err := s.Subscriptions.PrepareCreate(r.Context(), subscriptions.CreateRequest{
		Grant: agentFrom(r).Grant, MerchantID: req.Merchant, Plan: req.Plan, Asset: req.Asset, Amount: req.Amount,
		Interval: req.Interval, TimeZone: req.TimeZone, TrialDays: req.TrialDays, EndsAt: endsAt, Cycles: req.Cycles})
	if err != nil {
		return nil, nil, err
	}
	j := s.subscriptionJSON(sub)
	return unit, func(store.Result) (int, any) { return http.StatusCreated, j }, nil
}

// subscriptionOf returns the subscription the request names, if it is
// the session user's (user) or the signing agent's grant's.
func (s *Server) subscriptionOf(r *http.Request, user bool) (store.Subscription, error) {
	svc := s.Subscriptions
	if user {
		return svc.ForUser(r.Context(), userOf(r).UserID, r.PathValue("id"))
	}
	return svc.ForGrant(r.Context(), agentFrom(r).Grant.ID, r.PathValue("id"))
}

func (s *Server) getSubscription(user bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sub, err := s.subscriptionOf(r, user)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, s.subscriptionJSON(sub))
	}
}

type subscriptionListJSON struct {
	Object  string             `json:"object"`
	Data    []subscriptionJSON `json:"data"`
	HasMore bool               `json:"has_more"`
}

// listSubscriptions lists the user's (or the grant's) subscriptions,
// newest first: ?limit= (default 20, at most 100), ?starting_after=sub_….
func (s *Server) listSubscriptions(user bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		limit, err := listLimit(r, SubscriptionListMax)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		owner, id := "grant_id", ""
		if user {
			owner, id = "user_id", userOf(r).UserID
		} else {
			id = agentFrom(r).Grant.ID
		}
		list, err := s.DB.SubscriptionsOf(r.Context(), owner, id, r.URL.Query().Get("starting_after"), limit+1)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		out := subscriptionListJSON{Object: "list", Data: []subscriptionJSON{}}
		if len(list) > limit {
			list, out.HasMore = list[:limit], true
		}
		for _, sub := range list {
			out.Data = append(out.Data, s.subscriptionJSON(sub))
		}
		writeJSON(w, http.StatusOK, out)
	}
}

// actOnSubscription is POST …/subscriptions/{id}/pause|resume|cancel by
// the user or the agent: subscription and mandate change in one unit.
func (s *Server) actOnSubscription(action string, user bool) mutation {
	return func(r *http.Request, body []byte) (*store.Unit, func(store.Result) (int, any), error) {
		if err := decode(body, &struct{}{}); err != nil {
			return nil, nil, err
		}
		sub, err := s.subscriptionOf(r, user)
		if err != nil {
			return nil, nil, err
		}
		by := "agent"
		if user {
			by = "user"
		}
		sub, unit, err := s.Subscriptions.PrepareAction(r.Context(), sub, action, by)
		if err != nil {
			return nil, nil, err
		}
		j := s.subscriptionJSON(sub)
		return unit, func(store.Result) (int, any) { return http.StatusOK, j }, nil
	}
}

// changeSubscription is POST /v1/subscriptions/{id}/change {"amount":…}:
// a lower price at once, a higher one once the user approves the new
// mandate (pending_change.approval_url).
func (s *Server) changeSubscription(r *http.Request, body []byte) (*store.Unit, func(store.Result) (int, any), error) {
	var req struct {
		Amount int64 `json:"amount"`
	}
	if err := decode(body, &req); err != nil {
		return nil, nil, err
	}
	sub, err := s.subscriptionOf(r, false)
	if err != nil {
		return nil, nil, err
	}
	sub, unit, err := s.Subscriptions.PrepareChange(r.Context(), sub, req.Amount, "agent")
	if err != nil {
		return nil, nil, err
	}
	j := s.subscriptionJSON(sub)
	return unit, func(store.Result) (int, any) { return http.StatusOK, j }, nil
}

// listLimit reads ?limit=: 20 if absent, 1 to max.
func listLimit(r *http.Request, max int) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return 20, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, agentpay.ParamErrorf("limit", "invalid_limit", "limit is 1 to %d", max)
	}
	return n, nil
}
