package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
	"github.com/agentpay/agentpay/subscriptions"
)

// SubscriptionListMax bounds ?limit= of subscription lists.
const SubscriptionListMax = 100

// subscriber says who calls a subscription route, and so which
// subscriptions are theirs: a grant's, a user's or a merchant's.
type subscriber int

const (
	byAgent subscriber = iota
	byUser
	byMerchant
)

func (c subscriber) String() string { return [...]string{"agent", "user", "merchant"}[c] }

// subscriptionRoutes serves subscriptions to agents (signed, scope
// subscriptions: propose, read, change, pause, resume, cancel those of
// their grant), to users (their session: read, pause, resume, cancel any
// of theirs) and to merchants (their API key: offer, read, cancel theirs,
// and report a metered plan's usage). Users accept a merchant's offer on
// its page (web), which proposes the mandate they then approve.
func (s *Server) subscriptionRoutes() {
	sc := agentpay.ScopeSubscriptions
	s.mux.Handle("POST /v1/subscriptions", s.byCaller(s.agent(sc, s.idempotent(s.createSubscription)),
		s.merchant(s.idempotent(s.offerSubscription))))
	// Reading needs no scope, as for payments: only the grant's own.
	s.mux.Handle("GET /v1/subscriptions", s.byCaller(s.agent("", s.listSubscriptions(byAgent)),
		s.merchant(s.listSubscriptions(byMerchant))))
	s.mux.Handle("GET /v1/subscriptions/{id}", s.byCaller(s.agent("", s.getSubscription(byAgent)),
		s.merchant(s.getSubscription(byMerchant))))
	s.mux.Handle("POST /v1/subscriptions/{id}/change", s.agent(sc, s.idempotent(s.changeSubscription)))
	s.mux.Handle("POST /v1/subscriptions/{id}/usage", s.merchant(s.idempotent(s.reportUsage)))
	s.mux.Handle("GET /v1/me/subscriptions", s.user(s.listSubscriptions(byUser)))
	s.mux.Handle("GET /v1/me/subscriptions/{id}", s.user(s.getSubscription(byUser)))
	for _, action := range []string{subscriptions.ActionPause, subscriptions.ActionResume, subscriptions.ActionCancel} {
		agent := s.agent(sc, emptyBodyIsObject(s.idempotent(s.actOnSubscription(action, byAgent))))
		if action == subscriptions.ActionCancel {
			// A merchant may end what it bills, not pause it for the user.
			agent = s.byCaller(agent, s.merchant(emptyBodyIsObject(s.idempotent(s.actOnSubscription(action, byMerchant)))))
		}
		s.mux.Handle("POST /v1/subscriptions/{id}/"+action, agent)
		s.mux.Handle("POST /v1/me/subscriptions/{id}/"+action, s.user(emptyBodyIsObject(s.idempotent(s.actOnSubscription(action, byUser)))))
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
	MaxAmount     int64              `json:"max_amount,omitempty"` // a metered plan's most per period
	Interval      agentpay.Interval  `json:"interval"`
	TimeZone      string             `json:"time_zone"`
	Mandate       string             `json:"mandate,omitempty"`
	ApprovalURL   string             `json:"approval_url,omitempty"` // while incomplete: where the user approves
	AcceptURL     string             `json:"accept_url,omitempty"`   // a merchant's offer: the page its customer accepts it on
	OfferExpires  *time.Time         `json:"offer_expires_at,omitempty"`
	TrialDays     int64              `json:"trial_days,omitempty"`
	Cycles        int64              `json:"cycles,omitempty"`
	Payer         string             `json:"payer,omitempty"` // merchants: the pseudonymous payer of the charges
	PendingChange *pendingChangeJSON `json:"pending_change,omitempty"`
	StartsAt      time.Time          `json:"starts_at,omitzero"` // the first period: the trial's end
	NextChargeAt  *time.Time         `json:"next_charge_at,omitempty"`
	Period        int64              `json:"next_period"`
	Attempts      int64              `json:"failed_attempts"`
	DeclineCode   string             `json:"decline_code,omitempty"`
	EndsAt        *time.Time         `json:"ends_at,omitempty"`
	CanceledBy    string             `json:"canceled_by,omitempty"`
	Grant         string             `json:"grant,omitempty"`
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
		Asset: sub.Asset, Amount: sub.Amount, MaxAmount: sub.MaxAmount, TrialDays: sub.TrialDays, Cycles: sub.Cycles,
		Interval: sub.Interval, TimeZone: sub.TimeZone, Mandate: sub.MandateID,
		StartsAt: time.UnixMicro(sub.Anchor).UTC(), Period: sub.NextPeriod, Attempts: sub.Attempts,
		DeclineCode: sub.DeclineCode, EndsAt: microTime(sub.EndsAt), CanceledBy: sub.CanceledBy, Grant: sub.GrantID,
		CreatedAt: time.UnixMicro(sub.CreatedAt).UTC(), UpdatedAt: time.UnixMicro(sub.UpdatedAt).UTC()}
	switch sub.Status {
	case subscriptions.Offered:
		j.AcceptURL = s.baseURL() + "/subscribe/" + sub.ID
		j.OfferExpires = microTime(sub.NextAttemptAt)
		j.StartsAt = time.Time{} // set when a user accepts it
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
	MaxAmount int64             `json:"max_amount"`
	Interval  agentpay.Interval `json:"interval"`
	TimeZone  string            `json:"time_zone"`
	TrialDays int               `json:"trial_days"`
	EndsAt    *time.Time        `json:"ends_at"`
	Cycles    int               `json:"cycles"`
}

func (req createSubscriptionRequest) terms() subscriptions.CreateRequest {
	var endsAt int64
	if req.EndsAt != nil {
		endsAt = req.EndsAt.UnixMicro()
	}
	return subscriptions.CreateRequest{MerchantID: req.Merchant, Plan: req.Plan, Asset: req.Asset, Amount: req.Amount,
		MaxAmount: req.MaxAmount, Interval: req.Interval, TimeZone: req.TimeZone, TrialDays: req.TrialDays,
		EndsAt: endsAt, Cycles: req.Cycles}
}

// createSubscription is POST /v1/subscriptions by an agent: the
// subscription, incomplete, and its mandate, which the user approves at
// approval_url.
func (s *Server) createSubscription(r *http.Request, body []byte) (*store.Unit, func(store.Result) (int, any), error) {
	var req createSubscriptionRequest
	if err := decode(body, &req); err != nil {
		return nil, nil, err
	}
	terms := req.terms()
	terms.Grant = agentFrom(r).Grant
	sub, unit, err := s.Subscriptions.PrepareCreate(r.Context(), terms)
	if err != nil {
		return nil, nil, err
	}
	j := s.subscriptionJSON(sub)
	return unit, func(store.Result) (int, any) { return http.StatusCreated, j }, nil
}

// offerSubscription is POST /v1/subscriptions by a merchant: an offer of
// its own plan (merchant, if given, must be itself) that a customer
// accepts at accept_url within a week.
func (s *Server) offerSubscription(r *http.Request, body []byte) (*store.Unit, func(store.Result) (int, any), error) {
	var req createSubscriptionRequest
	if err := decode(body, &req); err != nil {
		return nil, nil, err
	}
	me := merchantOf(r).Merchant.ID
	if req.Merchant != "" && req.Merchant != me {
		return nil, nil, agentpay.ParamErrorf("merchant", "merchant_mismatch", "a merchant offers its own plans only")
	}
	req.Merchant = me
	sub, unit, err := s.Subscriptions.PrepareOffer(r.Context(), req.terms())
	if err != nil {
		return nil, nil, err
	}
	j, err := s.subscriptionJSONFor(r.Context(), sub, byMerchant)
	if err != nil {
		return nil, nil, err
	}
	return unit, func(store.Result) (int, any) { return http.StatusCreated, j }, nil
}

// subscriptionJSONFor renders sub for who asks: a merchant sees the payer
// by its pseudonym for that merchant, never the user or the agent's grant.
func (s *Server) subscriptionJSONFor(ctx context.Context, sub store.Subscription, who subscriber) (subscriptionJSON, error) {
	j := s.subscriptionJSON(sub)
	if who != byMerchant {
		return j, nil
	}
	j.Grant, j.ApprovalURL, j.PendingChange = "", "", nil
	if sub.UserID != "" {
		payer, err := s.Payments.PayerID(ctx, sub.MerchantID, sub.UserID)
		if err != nil {
			return j, err
		}
		j.Payer = payer
	}
	return j, nil
}

// usageJSON is a usage report's answer.
type usageJSON struct {
	Object       string    `json:"object"`
	Subscription string    `json:"subscription"`
	Period       int64     `json:"period"`
	PeriodStart  time.Time `json:"period_start"`
	PeriodEnd    time.Time `json:"period_end"`
	Amount       int64     `json:"amount"`
	PeriodUsage  int64     `json:"period_usage"`
	Base         int64     `json:"base_amount"`
	MaxAmount    int64     `json:"max_amount"`
	ChargeAt     time.Time `json:"charge_at"`
}

// reportUsage is POST /v1/subscriptions/{id}/usage {"amount":…} by the
// merchant of a metered plan: usage in the period under way, charged at
// the period's end.
func (s *Server) reportUsage(r *http.Request, body []byte) (*store.Unit, func(store.Result) (int, any), error) {
	var req struct {
		Amount int64 `json:"amount"`
	}
	if err := decode(body, &req); err != nil {
		return nil, nil, err
	}
	sub, err := s.subscriptionOf(r, byMerchant)
	if err != nil {
		return nil, nil, err
	}
	u, unit, err := s.Subscriptions.PrepareUsage(r.Context(), sub, req.Amount)
	if err != nil {
		return nil, nil, err
	}
	j := usageJSON{Object: "usage", Subscription: sub.ID, Period: u.Period, PeriodStart: u.PeriodStart,
		PeriodEnd: u.PeriodEnd, Amount: u.Amount, PeriodUsage: u.PeriodTotal, Base: u.Base, MaxAmount: u.MaxAmount,
		ChargeAt: u.PeriodEnd.Add(subscriptions.UsageGrace)}
	return unit, func(store.Result) (int, any) { return http.StatusCreated, j }, nil
}

// subscriptionOf returns the subscription the request names, if it is
// the caller's: the session user's, the signing agent's grant's or the
// merchant's.
func (s *Server) subscriptionOf(r *http.Request, who subscriber) (store.Subscription, error) {
	svc, id := s.Subscriptions, r.PathValue("id")
	switch who {
	case byUser:
		return svc.ForUser(r.Context(), userOf(r).UserID, id)
	case byMerchant:
		return svc.ForMerchant(r.Context(), merchantOf(r).Merchant.ID, id)
	}
	return svc.ForGrant(r.Context(), agentFrom(r).Grant.ID, id)
}

func (s *Server) getSubscription(who subscriber) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sub, err := s.subscriptionOf(r, who)
		if err == nil {
			var j subscriptionJSON
			if j, err = s.subscriptionJSONFor(r.Context(), sub, who); err == nil {
				writeJSON(w, http.StatusOK, j)
				return
			}
		}
		s.writeError(w, r, err)
	}
}

type subscriptionListJSON struct {
	Object  string             `json:"object"`
	Data    []subscriptionJSON `json:"data"`
	HasMore bool               `json:"has_more"`
}

// listSubscriptions lists the caller's subscriptions (the user's, the
// grant's or the merchant's), newest first: ?limit= (default 20, at most
// 100), ?starting_after=sub_….
func (s *Server) listSubscriptions(who subscriber) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		limit, err := listLimit(r, SubscriptionListMax)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		var owner, id string
		switch who {
		case byUser:
			owner, id = "user_id", userOf(r).UserID
		case byMerchant:
			owner, id = "merchant_id", merchantOf(r).Merchant.ID
		default:
			owner, id = "grant_id", agentFrom(r).Grant.ID
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
			j, err := s.subscriptionJSONFor(r.Context(), sub, who)
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			out.Data = append(out.Data, j)
		}
		writeJSON(w, http.StatusOK, out)
	}
}

// actOnSubscription is POST …/subscriptions/{id}/pause|resume|cancel by
// the user, the agent or (cancel) the merchant: subscription and mandate
// change in one unit.
func (s *Server) actOnSubscription(action string, who subscriber) mutation {
	return func(r *http.Request, body []byte) (*store.Unit, func(store.Result) (int, any), error) {
		if err := decode(body, &struct{}{}); err != nil {
			return nil, nil, err
		}
		sub, err := s.subscriptionOf(r, who)
		if err != nil {
			return nil, nil, err
		}
		sub, unit, err := s.Subscriptions.PrepareAction(r.Context(), sub, action, who.String())
		if err != nil {
			return nil, nil, err
		}
		j, err := s.subscriptionJSONFor(r.Context(), sub, who)
		if err != nil {
			return nil, nil, err
		}
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
	sub, err := s.subscriptionOf(r, byAgent)
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
