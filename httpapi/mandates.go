package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/payments"
	"github.com/agentpay/agentpay/store"
	"github.com/agentpay/agentpay/web"
)

// mandateRoutes serves mandates (DESIGN §5): agents propose them under
// their grant (signed), users approve them on the mandate page and pause,
// resume or revoke them (session), and the merchant a mandate names, or
// the agent of an open or tips mandate, charges under them. Agents,
// merchants and operators read those they may see.
func (s *Server) mandateRoutes() {
	s.mux.Handle("POST /v1/mandates", s.agent(agentpay.ScopePaymentsCreate, s.idempotent(s.proposeMandate)))
	s.mux.Handle("GET /v1/mandates", s.byCaller(s.agent("", s.listAgentMandates), s.merchant(s.listMerchantMandates)))
	s.mux.Handle("GET /v1/mandates/{id}", s.byClaimCaller(s.agent("", s.getAgentMandate), s.merchant(s.getMerchantMandate),
		s.admin(s.getOperatorMandate)))
	s.mux.Handle("POST /v1/mandates/{id}/charges", s.byCaller(s.agent(agentpay.ScopePaymentsCreate, s.chargeMandate),
		s.merchant(s.chargeMandate)))
	s.mux.Handle("GET /v1/me/mandates", s.user(s.listMyMandates))
	s.mux.Handle("GET /v1/me/mandates/{id}", s.user(s.getMyMandate))
	for action, to := range map[string]agentpay.MandateStatus{"pause": agentpay.MandatePaused,
		"resume": agentpay.MandateActive, "revoke": agentpay.MandateRevoked} {
		s.mux.Handle("POST /v1/me/mandates/{id}/"+action, s.user(emptyBodyIsObject(s.idempotent(s.setMyMandateStatus(to)))))
	}
}

// mandateJSON is a mandate as the API shows it. Agents and the user see
// the grant; merchants see the payer's pseudonym, never the user;
// operators see the user.
type mandateJSON struct {
	Object            string            `json:"object"`
	ID                string            `json:"id"`
	Kind              string            `json:"kind"`
	Status            string            `json:"status"`
	Merchant          *string           `json:"merchant"` // null: any merchant of Categories
	Categories        []string          `json:"categories"`
	Asset             string            `json:"asset"`
	PerPaymentMax     int64             `json:"per_payment_max"`
	Budget            int64             `json:"budget"`
	Period            agentpay.Interval `json:"period"`
	TimeZone          string            `json:"time_zone"`
	StartsAt          time.Time         `json:"starts_at"`
	EndsAt            *time.Time        `json:"ends_at"`
	Description       string            `json:"description"`
	Summary           string            `json:"summary"`
	ApprovalURL       string            `json:"approval_url,omitempty"`
	ApprovalExpiresAt *time.Time        `json:"approval_expires_at,omitempty"`
	ApprovedAt        *time.Time        `json:"approved_at"`
	Grant             string            `json:"grant,omitempty"`
	Payer             string            `json:"payer,omitempty"`
	User              string            `json:"user,omitempty"`
	CreatedAt         time.Time         `json:"created_at"`
	UpdatedAt         time.Time         `json:"updated_at"`
}

// mandateNames caches merchant names over one request.
type mandateNames map[string]string

func (s *Server) merchantName(ctx context.Context, names mandateNames, id string) (string, error) {
	if id == "" {
		return "", nil
	}
	if name, ok := names[id]; ok {
		return name, nil
	}
	m, err := s.DB.Merchant(ctx, id)
	if err != nil {
		return "", err
	}
	names[id] = m.Name
	return m.Name, nil
}

// baseMandateJSON is what every caller sees of m.
func (s *Server) baseMandateJSON(ctx context.Context, m agentpay.Mandate, names mandateNames) (mandateJSON, error) {
	name, err := s.merchantName(ctx, names, m.MerchantID)
	if err != nil {
		return mandateJSON{}, err
	}
	j := mandateJSON{Object: "mandate", ID: m.ID, Kind: string(m.Kind), Status: string(m.Status), Categories: m.Categories,
		Asset: m.Asset, PerPaymentMax: m.PerPaymentMax, Budget: m.Budget, Period: m.Period, TimeZone: m.TimeZone,
		StartsAt: time.UnixMicro(m.StartsAt).UTC(), EndsAt: microTime(m.EndsAt), Description: m.Description,
		Summary: web.MandateSummary(m, name), ApprovedAt: microTime(m.ApprovedAt),
		CreatedAt: time.UnixMicro(m.CreatedAt).UTC(), UpdatedAt: time.UnixMicro(m.UpdatedAt).UTC()}
	if m.MerchantID != "" {
		j.Merchant = &m.MerchantID
	}
	if j.Categories == nil {
		j.Categories = []string{}
	}
	if m.Status == agentpay.MandateRequiresApproval {
		j.ApprovalExpiresAt = microTime(m.CreatedAt + agentpay.MandateApprovalTTL.Microseconds())
	}
	return j, nil
}

// userSideMandateJSON is m for its agent and its user: the grant, and
// where the user approves it while it waits.
func (s *Server) userSideMandateJSON(ctx context.Context, m agentpay.Mandate, names mandateNames) (mandateJSON, error) {
	j, err := s.baseMandateJSON(ctx, m, names)
	if err != nil {
		return j, err
	}
	j.Grant = m.GrantID
	if m.Status == agentpay.MandateRequiresApproval {
		j.ApprovalURL = s.baseURL() + "/mandates/" + m.ID
	}
	return j, nil
}

// merchantMandateJSON is m for the merchant it names: the payer is the
// pseudonym the merchant knows from its payments.
func (s *Server) merchantMandateJSON(ctx context.Context, m agentpay.Mandate, names mandateNames) (mandateJSON, error) {
	j, err := s.baseMandateJSON(ctx, m, names)
	if err != nil {
		return j, err
	}
	j.Payer, err = s.Payments.PayerID(ctx, m.MerchantID, m.UserID)
	return j, err
}

var errMandateNotFound = agentpay.Errorf(agentpay.ENOTFOUND, "mandate_not_found", "mandate not found")

// proposeMandateRequest is the body of POST /v1/mandates. Times are RFC
// 3339 strings, parsed here so a malformed one is refused by name.
type proposeMandateRequest struct {
	Kind          string            `json:"kind"`
	Merchant      *string           `json:"merchant"`
	Categories    []string          `json:"categories"`
	Asset         string            `json:"asset"`
	PerPaymentMax int64             `json:"per_payment_max"`
	Budget        int64             `json:"budget"`
	Period        agentpay.Interval `json:"period"`
	TimeZone      string            `json:"time_zone"`
	StartsAt      *string           `json:"starts_at"`
	EndsAt        *string           `json:"ends_at"`
	Description   string            `json:"description"`
}

func parseTime(param string, v *string) (int64, error) {
	if v == nil || *v == "" {
		return 0, nil
	}
	t, err := time.Parse(time.RFC3339, *v)
	if err != nil || t.Year() < 2000 || t.Year() > 9999 {
		return 0, agentpay.ParamErrorf(param, "invalid_time", "%s must be an RFC 3339 time such as 2030-01-31T09:00:00Z", param)
	}
	return t.UnixMicro(), nil
}

// proposeMandate is POST /v1/mandates: the agent proposes a mandate under
// its grant, for the grant's user, who approves it on its approval page.
func (s *Server) proposeMandate(r *http.Request, body []byte) (*store.Unit, func(store.Result) (int, any), error) {
	var req proposeMandateRequest
	if err := decode(body, &req); err != nil {
		return nil, nil, err
	}
	g := agentFrom(r).Grant
	m := agentpay.Mandate{Kind: agentpay.MandateKind(req.Kind), UserID: g.UserID, GrantID: g.ID, Categories: req.Categories,
		Asset: req.Asset, PerPaymentMax: req.PerPaymentMax, Budget: req.Budget, Period: req.Period, TimeZone: req.TimeZone,
		Description: req.Description}
	if req.Merchant != nil {
		m.MerchantID = *req.Merchant
	}
	var err error
	if m.StartsAt, err = parseTime("starts_at", req.StartsAt); err != nil {
		return nil, nil, err
	}
	if m.EndsAt, err = parseTime("ends_at", req.EndsAt); err != nil {
		return nil, nil, err
	}
	if m.EndsAt != 0 && m.EndsAt <= time.Now().UnixMicro() {
		return nil, nil, agentpay.ParamErrorf("ends_at", "invalid_window", "ends_at must be in the future")
	}
	m, unit, err := s.Payments.PrepareProposeMandate(r.Context(), m)
	if err != nil {
		return nil, nil, err
	}
	j, err := s.userSideMandateJSON(r.Context(), m, mandateNames{})
	if err != nil {
		return nil, nil, err
	}
	return unit, func(store.Result) (int, any) { return http.StatusCreated, j }, nil
}

// agentMandate returns the path's mandate if it is of the agent's grant.
func (s *Server) agentMandate(r *http.Request) (agentpay.Mandate, error) {
	m, err := s.DB.Mandate(r.Context(), r.PathValue("id"))
	if err == nil && (m.GrantID == "" || m.GrantID != agentFrom(r).Grant.ID) {
		err = errMandateNotFound
	}
	return m, err
}

// merchantMandate returns the path's mandate if it names the merchant.
func (s *Server) merchantMandate(r *http.Request) (agentpay.Mandate, error) {
	m, err := s.DB.Mandate(r.Context(), r.PathValue("id"))
	if err == nil && (m.MerchantID == "" || m.MerchantID != merchantOf(r).Merchant.ID) {
		err = errMandateNotFound
	}
	return m, err
}

// getAgentMandate is GET /v1/mandates/{id} for the agent of its grant.
func (s *Server) getAgentMandate(w http.ResponseWriter, r *http.Request) {
	if !readableBy(agentFrom(r).Grant) {
		s.writeError(w, r, insufficientScope())
		return
	}
	s.answerMandate(w, r, s.agentMandate, s.userSideMandateJSON)
}

// getMerchantMandate is GET /v1/mandates/{id} for the merchant it names.
func (s *Server) getMerchantMandate(w http.ResponseWriter, r *http.Request) {
	s.answerMandate(w, r, s.merchantMandate, s.merchantMandateJSON)
}

// getOperatorMandate is GET /v1/mandates/{id} for operators: everything,
// the user included.
func (s *Server) getOperatorMandate(w http.ResponseWriter, r *http.Request) {
	s.answerMandate(w, r, func(r *http.Request) (agentpay.Mandate, error) { return s.DB.Mandate(r.Context(), r.PathValue("id")) },
		func(ctx context.Context, m agentpay.Mandate, names mandateNames) (mandateJSON, error) {
			j, err := s.baseMandateJSON(ctx, m, names)
			j.Grant, j.User = m.GrantID, m.UserID
			return j, err
		})
}

// getMyMandate is GET /v1/me/mandates/{id}.
func (s *Server) getMyMandate(w http.ResponseWriter, r *http.Request) {
	s.answerMandate(w, r, func(r *http.Request) (agentpay.Mandate, error) {
		return s.Payments.MandateForUser(r.Context(), userOf(r).UserID, r.PathValue("id"))
	}, s.userSideMandateJSON)
}

type mandateRender func(context.Context, agentpay.Mandate, mandateNames) (mandateJSON, error)

func (s *Server) answerMandate(w http.ResponseWriter, r *http.Request, read func(*http.Request) (agentpay.Mandate, error), render mandateRender) {
	m, err := read(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	j, err := render(r.Context(), m, mandateNames{})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, j)
}

type mandateListJSON struct {
	Object  string        `json:"object"`
	Data    []mandateJSON `json:"data"`
	HasMore bool          `json:"has_more"`
}

// listMandates answers a page of the mandates whose owner column is id,
// newest first, ?limit= and ?starting_after= as for payments.
func (s *Server) listMandates(w http.ResponseWriter, r *http.Request, owner, id string, render mandateRender) {
	limit := 20
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > PaymentListMax {
			s.writeError(w, r, agentpay.ParamErrorf("limit", "invalid_limit", "limit is 1 to %d", PaymentListMax))
			return
		}
		limit = n
	}
	after := r.URL.Query().Get("starting_after")
	if after != "" && (!strings.HasPrefix(after, "man_") || !agentpay.ValidID(after)) {
		s.writeError(w, r, agentpay.ParamErrorf("starting_after", "invalid_id", "starting_after must be a mandate id"))
		return
	}
	list, err := s.DB.Mandates(r.Context(), store.MandatePage{Owner: owner, ID: id, Before: after, Limit: limit + 1})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := mandateListJSON{Object: "list", Data: []mandateJSON{}}
	if len(list) > limit {
		list, out.HasMore = list[:limit], true
	}
	names := mandateNames{}
	for _, m := range list {
		j, err := render(r.Context(), m, names)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		out.Data = append(out.Data, j)
	}
	writeJSON(w, http.StatusOK, out)
}

// listAgentMandates is GET /v1/mandates for an agent: its grant's.
func (s *Server) listAgentMandates(w http.ResponseWriter, r *http.Request) {
	g := agentFrom(r).Grant
	if !readableBy(g) {
		s.writeError(w, r, insufficientScope())
		return
	}
	s.listMandates(w, r, "grant_id", g.ID, s.userSideMandateJSON)
}

// listMerchantMandates is GET /v1/mandates for a merchant: those naming it.
func (s *Server) listMerchantMandates(w http.ResponseWriter, r *http.Request) {
	s.listMandates(w, r, "merchant_id", merchantOf(r).Merchant.ID, s.merchantMandateJSON)
}

// listMyMandates is GET /v1/me/mandates: the user's own.
func (s *Server) listMyMandates(w http.ResponseWriter, r *http.Request) {
	s.listMandates(w, r, "user_id", userOf(r).UserID, s.userSideMandateJSON)
}

// setMyMandateStatus is POST /v1/me/mandates/{id}/pause|resume|revoke: at
// once, so a charge prepared before commits only if the mandate is still
// active. Another user's mandate is mandate_not_found.
func (s *Server) setMyMandateStatus(to agentpay.MandateStatus) mutation {
	return func(r *http.Request, body []byte) (*store.Unit, func(store.Result) (int, any), error) {
		if err := decode(body, &struct{}{}); err != nil {
			return nil, nil, err
		}
		m, unit, err := s.Payments.PrepareMandateStatus(r.Context(), userOf(r).UserID, r.PathValue("id"), to)
		if err != nil {
			return nil, nil, err
		}
		j, err := s.userSideMandateJSON(r.Context(), m, mandateNames{})
		if err != nil {
			return nil, nil, err
		}
		return unit, func(store.Result) (int, any) { return http.StatusOK, j }, nil
	}
}

// chargeRequest is the body of POST /v1/mandates/{id}/charges.
type chargeRequest struct {
	Merchant    string              `json:"merchant"`
	Items       []agentpay.LineItem `json:"items"`
	Totals      agentpay.Totals     `json:"totals"`
	Description string              `json:"description"`
	Purpose     string              `json:"purpose"`
}

// chargeMandate is POST /v1/mandates/{id}/charges, by the merchant the
// mandate names (API key) or by the agent of its grant for open and tips
// mandates (signed). The answer is 201 with the payment as the caller sees
// payments: authorized at once within the terms, declined with
// decline_code mandate_budget over what the period's budget still holds,
// or waiting for the user's own approval when risk control asks for it.
//
// It does not run under the idempotent wrapper, whose one unit of work
// cannot hold the charge: payments.Service.Charge commits the charge
// itself, retrying when another charge consumed the budget first. Instead
// the charge is made once per scoped Idempotency-Key (ChargeRequest.Key,
// recorded in the charge's own unit), so a retry, on any node, returns the
// same payment; the response is then recorded under the key like any
// other, so a retry with another body is 422 as everywhere. A signed
// request's nonce is spent in a unit of its own before the charge, so a
// replayed request, even under a new Idempotency-Key, charges nothing.
func (s *Server) chargeMandate(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		s.writeError(w, r, &agentpay.Error{Kind: agentpay.EINVALID, Code: "idempotency_key_required", Param: "Idempotency-Key",
			Message: "every mutating request needs an Idempotency-Key header; retry with the same key to get the first result"})
		return
	}
	if len(key) > IdempotencyKeyLengthMax {
		s.writeError(w, r, &agentpay.Error{Kind: agentpay.EINVALID, Code: "invalid_idempotency_key", Param: "Idempotency-Key",
			Message: "Idempotency-Key is at most 255 bytes"})
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			s.writeError(w, r, agentpay.Errorf(agentpay.ETOOLARGE, "body_too_large", "the request body exceeds %d bytes", BodyBytesMax))
			return
		}
		s.writeError(w, r, agentpay.Errorf(agentpay.EINVALID, "unreadable_body", "the request body could not be read"))
		return
	}
	requestHash, err := hashRequest(body)
	if err != nil {
		s.writeError(w, r, agentpay.Errorf(agentpay.EINVALID, "invalid_json", "the request body is not valid JSON"))
		return
	}
	id := scopedKey(r, key)
	if _, running := s.inflight.LoadOrStore(id, struct{}{}); running {
		w.Header().Set("Retry-After", "1")
		s.writeError(w, r, agentpay.Errorf(agentpay.ECONFLICT, "idempotency_in_flight",
			"a request with this Idempotency-Key is still being processed; retry after it finishes"))
		return
	}
	defer s.inflight.Delete(id)
	if rec, err := s.DB.IdempotencyRecord(r.Context(), id); err != nil {
		s.writeError(w, r, err)
		return
	} else if rec != nil {
		s.replay(w, r, rec, requestHash)
		return
	}
	p, err := s.charge(r, body, id)
	if err != nil {
		if agentpay.ErrorKind(err) == agentpay.EUNAUTHORIZED {
			w.Header().Set("WWW-Authenticate", `Signature realm="agentpay"`)
		}
		s.writeError(w, r, err)
		return
	}
	var j paymentJSON
	if merchantOf(r) != nil {
		j, err = s.merchantPaymentJSON(r.Context(), p)
	} else {
		j, err = s.agentPaymentJSON(r.Context(), p, map[string]string{})
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	b, err := marshal(j)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	res := s.DB.Committer.Submit(r.Context(), &store.Unit{Idempotency: &store.Idempotency{ID: id, RequestHash: requestHash,
		Render: func(store.Result) (int, []byte) { return http.StatusCreated, b }, ExpiresAt: time.Now().Add(IdempotencyTTL).UnixMicro()}})
	switch {
	case res.Replay != nil: // the same key answered on another node meanwhile
		s.replay(w, r, res.Replay, requestHash)
		return
	case res.Err != nil:
		// The charge is made and a retry under the key returns it: only
		// the record of this answer is missing.
		s.log(r).Warn("mandate charge answered without an idempotency record", "payment", p.ID, "error", res.Err)
	}
	writeRaw(w, http.StatusCreated, b)
}

// scopedKey is the idempotent wrapper's id of key: scoped to the caller
// and the route, 128 bits of SHA-256 in hex.
func scopedKey(r *http.Request, key string) string {
	scope := sha256.Sum256([]byte(caller(r) + "\x00" + r.Method + " " + r.URL.Path + "\x00" + key))
	return hex.EncodeToString(scope[:16])
}

// charge checks who may charge the path's mandate and makes the charge
// once under the scoped key id.
func (s *Server) charge(r *http.Request, body []byte, id string) (agentpay.Payment, error) {
	var req chargeRequest
	if err := decode(body, &req); err != nil {
		return agentpay.Payment{}, err
	}
	var m agentpay.Mandate
	var err error
	if mer := merchantOf(r); mer != nil {
		if m, err = s.merchantMandate(r); err != nil {
			return agentpay.Payment{}, err
		}
		if req.Merchant == "" {
			req.Merchant = mer.Merchant.ID
		}
		if req.Merchant != mer.Merchant.ID {
			return agentpay.Payment{}, agentpay.ParamErrorf("merchant", "invalid_merchant", "a merchant charges for itself only")
		}
	} else {
		if m, err = s.agentMandate(r); err != nil {
			return agentpay.Payment{}, err
		}
		if m.Kind != agentpay.MandateOpen && m.Kind != agentpay.MandateTips {
			return agentpay.Payment{}, agentpay.Errorf(agentpay.EFORBIDDEN, "mandate_not_chargeable",
				"the merchant charges a %s mandate, not the agent", m.Kind)
		}
		if req.Merchant == "" {
			return agentpay.Payment{}, agentpay.ParamErrorf("merchant", "missing_merchant", "merchant is required")
		}
	}
	if nonce, signed := nonceRow(r); signed {
		res := s.DB.Committer.Submit(r.Context(), &store.Unit{Guards: []store.Row{nonce}})
		if store.IsDuplicateRow(res.Err, nonce) {
			return agentpay.Payment{}, agentpay.Errorf(agentpay.EUNAUTHORIZED, codeNonceReplayed,
				"this request's signature nonce was used before; sign every request anew")
		}
		if res.Err != nil {
			return agentpay.Payment{}, res.Err
		}
	}
	o := agentpay.Order{Items: req.Items, Totals: req.Totals, Description: req.Description, Purpose: req.Purpose}
	return s.Payments.Charge(r.Context(), payments.ChargeRequest{MandateID: m.ID, MerchantID: req.Merchant, Order: o, Key: "idem:" + id})
}
