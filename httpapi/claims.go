package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/compensation"
	"github.com/agentpay/agentpay/store"
	"github.com/agentpay/agentpay/webhook"
)

// ClaimListMax bounds ?limit= of claim lists.
const ClaimListMax = 100

// claimRoutes serves claims (package compensation): users file and follow
// their own (session), agents read those on their grant's payments
// (signed), merchants those on their payments (API key), and operators
// read the queue and decide (operator token). A path several callers use
// is dispatched on how the request authenticates (byClaimCaller).
func (s *Server) claimRoutes() {
	s.mux.Handle("POST /v1/me/claims", s.user(s.fileClaim))
	s.mux.Handle("GET /v1/me/claims", s.user(s.listMyClaims))
	s.mux.Handle("GET /v1/me/claims/{id}", s.user(s.getMyClaim))
	s.mux.Handle("GET /v1/claims", s.byClaimCaller(s.agent("", s.listAgentClaims), s.merchant(s.listMerchantClaims),
		s.admin(s.listOperatorClaims)))
	s.mux.Handle("GET /v1/claims/{id}", s.byClaimCaller(s.agent("", s.getAgentClaim), s.merchant(s.getMerchantClaim),
		s.admin(s.getOperatorClaim)))
	s.mux.Handle("GET /v1/payments/{id}/claims", s.byCaller(s.agent("", s.listAgentPaymentClaims),
		s.merchant(s.listMerchantPaymentClaims)))
	s.mux.Handle("POST /v1/claims", s.agent(agentpay.ScopePaymentsCreate, s.fileAgentClaim))
	s.mux.Handle("POST /v1/claims/{id}/approve", s.admin(s.idempotent(s.decideClaim(true))))
	s.mux.Handle("POST /v1/claims/{id}/deny", s.admin(emptyBodyIsObject(s.idempotent(s.decideClaim(false)))))
}

// newCompensation is the claims service of a new Server. Approvals are
// re-verified with the pages' passkey configuration, which depends on
// PublicBaseURL and is built on first use.
func (s *Server) newCompensation() *compensation.Service {
	return &compensation.Service{DB: s.DB, Payments: s.Payments, Passkeys: passkeyVerifier{s}, Outbox: webhook.Enqueue}
}

// passkeyVerifier re-verifies approvals with the Server's passkeys.
type passkeyVerifier struct{ s *Server }

func (v passkeyVerifier) VerifyApproval(a store.Approval, key store.Passkey) error {
	h, err := v.s.webHandler()
	if err != nil {
		return err
	}
	return h.Passkeys.VerifyApproval(a, key)
}

// byClaimCaller is byCaller for paths operators use too: a signed request
// goes to agent, a merchant API key (Bearer sk_…) to merchant, and any
// other to admin, which refuses it without the operator token.
func (s *Server) byClaimCaller(agent, merchant, admin http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Header.Get("Signature") != "" || r.Header.Get("Signature-Input") != "":
			agent.ServeHTTP(w, r)
		case strings.HasPrefix(r.Header.Get("Authorization"), "Bearer "+agentpay.APIKeySecretPrefix):
			merchant.ServeHTTP(w, r)
		default:
			admin.ServeHTTP(w, r)
		}
	})
}

// claimJSON is a claim as the API shows it. Who sees what: the user and
// operators see the user id and grant; the agent the grant; the merchant
// the payer's pseudonym only; operators alone the evidence.
type claimJSON struct {
	Object                string          `json:"object"`
	ID                    string          `json:"id"`
	Payment               string          `json:"payment"`
	User                  string          `json:"user,omitempty"`
	Payer                 string          `json:"payer,omitempty"`
	Merchant              string          `json:"merchant"`
	Grant                 string          `json:"grant,omitempty"`
	Kind                  string          `json:"kind"`
	Status                string          `json:"status"`
	Amount                int64           `json:"amount"`
	Asset                 string          `json:"asset"`
	Description           string          `json:"description"`
	DecisionCode          string          `json:"decision_code,omitempty"`
	DecisionNote          string          `json:"decision_note,omitempty"`
	DecidedBy             string          `json:"decided_by,omitempty"`
	Recovered             int64           `json:"recovered"`
	Debt                  int64           `json:"debt"`
	ReimbursementTransfer string          `json:"reimbursement_transfer,omitempty"`
	RecoveryTransfer      string          `json:"recovery_transfer,omitempty"`
	Evidence              json.RawMessage `json:"evidence,omitempty"`
	CreatedAt             time.Time       `json:"created_at"`
	DecidedAt             *time.Time      `json:"decided_at,omitempty"`
	UpdatedAt             time.Time       `json:"updated_at"`
}

func baseClaimJSON(c store.Claim) claimJSON {
	return claimJSON{Object: "claim", ID: c.ID, Payment: c.PaymentID, Merchant: c.MerchantID, Kind: c.Kind, Status: c.Status,
		Amount: c.Amount, Asset: c.Asset, Description: c.Description, DecisionCode: c.DecisionCode,
		DecisionNote: c.DecisionNote, DecidedBy: c.DecidedBy, Recovered: c.Recovered, Debt: c.Debt,
		ReimbursementTransfer: c.ReimbursementTransferID, RecoveryTransfer: c.RecoveryTransferID,
		CreatedAt: time.UnixMicro(c.CreatedAt).UTC(), DecidedAt: microTime(c.DecidedAt), UpdatedAt: time.UnixMicro(c.UpdatedAt).UTC()}
}

func userClaimJSON(c store.Claim) claimJSON {
	j := baseClaimJSON(c)
	j.User, j.Grant = c.UserID, c.GrantID
	return j
}

func agentClaimJSON(c store.Claim) claimJSON {
	j := baseClaimJSON(c)
	j.Grant = c.GrantID
	return j
}

func operatorClaimJSON(c store.Claim) claimJSON {
	j := userClaimJSON(c)
	j.Evidence = json.RawMessage(c.EvidenceJSON)
	return j
}

// merchantClaimJSON shows the payer as the merchant knows them: the
// payment's pseudonym, never the user id.
func (s *Server) merchantClaimJSON(ctx context.Context, c store.Claim) (claimJSON, error) {
	j := baseClaimJSON(c)
	payer, err := s.Payments.PayerID(ctx, c.MerchantID, c.UserID)
	j.Payer = payer
	return j, err
}

type claimListJSON struct {
	Object  string      `json:"object"`
	Data    []claimJSON `json:"data"`
	HasMore bool        `json:"has_more"`
}

// claimPage reads ?limit= and ?starting_after= of a claim list.
func claimPage(r *http.Request) (int, string, error) {
	limit := 20
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > ClaimListMax {
			return 0, "", agentpay.ParamErrorf("limit", "invalid_limit", "limit is 1 to %d", ClaimListMax)
		}
		limit = n
	}
	after := r.URL.Query().Get("starting_after")
	if after != "" && (!strings.HasPrefix(after, "clm_") || !agentpay.ValidID(after)) {
		return 0, "", agentpay.ParamErrorf("starting_after", "invalid_id", "starting_after must be a claim id")
	}
	return limit, after, nil
}

// listClaims writes the claims whose owner column is id, newest first,
// rendered by render.
func (s *Server) listClaims(w http.ResponseWriter, r *http.Request, owner, id string, render func(store.Claim) (claimJSON, error)) {
	limit, after, err := claimPage(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := s.DB.Claims(r.Context(), store.ClaimPage{Owner: owner, ID: id, StartingAfter: after, Limit: limit + 1})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := claimListJSON{Object: "list", Data: []claimJSON{}}
	if len(list) > limit {
		list, out.HasMore = list[:limit], true
	}
	for _, c := range list {
		j, err := render(c)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		out.Data = append(out.Data, j)
	}
	writeJSON(w, http.StatusOK, out)
}

func plain(f func(store.Claim) claimJSON) func(store.Claim) (claimJSON, error) {
	return func(c store.Claim) (claimJSON, error) { return f(c), nil }
}

// writeClaims writes claims (all of them: a payment has a few) as a list.
func (s *Server) writeClaims(w http.ResponseWriter, r *http.Request, list []store.Claim, render func(store.Claim) (claimJSON, error)) {
	out := claimListJSON{Object: "list", Data: []claimJSON{}}
	for _, c := range list {
		j, err := render(c)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		out.Data = append(out.Data, j)
	}
	writeJSON(w, http.StatusOK, out)
}

type fileClaimRequest struct {
	Payment     string `json:"payment"`
	Kind        string `json:"kind"`
	Description string `json:"description"`
}

// openClaim is the mutation of POST /v1/me/claims: the claim, open.
func (s *Server) openClaim(r *http.Request, body []byte) (*store.Unit, func(store.Result) (int, any), error) {
	var req fileClaimRequest
	if err := decode(body, &req); err != nil {
		return nil, nil, err
	}
	c, unit, err := s.Compensation.PrepareFile(r.Context(), compensation.FileRequest{UserID: userOf(r).UserID,
		PaymentID: req.Payment, Kind: req.Kind, Description: req.Description})
	if err != nil {
		return nil, nil, err
	}
	return unit, func(store.Result) (int, any) { return http.StatusCreated, userClaimJSON(c) }, nil
}

// fileClaim is POST /v1/me/claims {"payment","kind","description"}, with
// an Idempotency-Key: the claim is recorded (once per key), then
// adjudicated at once, and the answer is the claim as it is then —
// approved with the user already reimbursed, or in review. A retry with
// the same key answers the same claim, as it is now. Should the
// adjudication fail for a passing reason, the claim is answered open and
// decided in the background (compensation.Service.Job).
func (s *Server) fileClaim(w http.ResponseWriter, r *http.Request) {
	userID := userOf(r).UserID
	s.fileAndAdjudicate(w, r, s.openClaim, func(c store.Claim) (claimJSON, bool) {
		return userClaimJSON(c), c.UserID == userID
	})
}

// openAgentClaim is the mutation of POST /v1/claims by an agent: the
// claim, open, on a payment of the agent's grant, filed for the grant's
// user. Another grant's payment is payment_not_found, as it is to every
// other agent route.
func (s *Server) openAgentClaim(r *http.Request, body []byte) (*store.Unit, func(store.Result) (int, any), error) {
	var req fileClaimRequest
	if err := decode(body, &req); err != nil {
		return nil, nil, err
	}
	if req.Payment == "" {
		return nil, nil, agentpay.ParamErrorf("payment", "missing_payment", "payment is required")
	}
	g := agentFrom(r).Grant
	if _, err := s.Payments.ForAgent(r.Context(), g.ID, req.Payment); err != nil {
		return nil, nil, err
	}
	c, unit, err := s.Compensation.PrepareFile(r.Context(), compensation.FileRequest{UserID: g.UserID,
		PaymentID: req.Payment, Kind: req.Kind, Description: req.Description})
	if err != nil {
		return nil, nil, err
	}
	return unit, func(store.Result) (int, any) { return http.StatusCreated, agentClaimJSON(c) }, nil
}

// fileAgentClaim is POST /v1/claims {"payment","kind","description"} by a
// signed agent with scope payments:create: the agent reports, on its
// user's behalf, a problem with one of its own payments (an order that
// never arrived, a duplicate). It is filed and adjudicated exactly as the
// user's own claim would be, from the same evidence, and the user is the
// one reimbursed; the user sees it among their claims.
func (s *Server) fileAgentClaim(w http.ResponseWriter, r *http.Request) {
	grantID := agentFrom(r).Grant.ID
	s.fileAndAdjudicate(w, r, s.openAgentClaim, func(c store.Claim) (claimJSON, bool) {
		return agentClaimJSON(c), c.GrantID == grantID
	})
}

// fileAndAdjudicate records a claim with open (under the request's
// Idempotency-Key) and then adjudicates it, answering the decided claim as
// render shows it to this caller when render says the claim is the
// caller's, and the recorded answer otherwise (a refusal, a replay, or a
// claim left open for the background adjudication).
func (s *Server) fileAndAdjudicate(w http.ResponseWriter, r *http.Request, open mutation, render func(store.Claim) (claimJSON, bool)) {
	rec := &bufferedResponse{header: http.Header{}}
	s.idempotent(open)(rec, r)
	if rec.status == http.StatusCreated {
		var filed struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(rec.body.Bytes(), &filed); err == nil {
			c, err := s.Compensation.Adjudicate(r.Context(), filed.ID)
			if err == nil {
				if j, mine := render(c); mine {
					for k, v := range rec.header {
						w.Header()[k] = v
					}
					writeJSON(w, http.StatusCreated, j)
					return
				}
			}
			if err != nil {
				s.log(r).Warn("claim left open for the background adjudication", "claim", filed.ID, "error", err)
			}
		}
	}
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.status)
	_, _ = w.Write(rec.body.Bytes())
}

// bufferedResponse keeps a response to look at before it is sent.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

// listMyClaims is GET /v1/me/claims: the user's claims, newest first.
func (s *Server) listMyClaims(w http.ResponseWriter, r *http.Request) {
	s.listClaims(w, r, "user_id", userOf(r).UserID, plain(userClaimJSON))
}

// getMyClaim is GET /v1/me/claims/{id}; another user's claim is 404.
func (s *Server) getMyClaim(w http.ResponseWriter, r *http.Request) {
	c, err := s.Compensation.ForUser(r.Context(), userOf(r).UserID, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, userClaimJSON(c))
}

// listAgentClaims is GET /v1/claims?payment=pay_… for an agent: the claims
// on a payment of its grant.
func (s *Server) listAgentClaims(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("payment")
	if id == "" {
		s.writeError(w, r, agentpay.ParamErrorf("payment", "missing_payment", "payment is required"))
		return
	}
	s.agentPaymentClaims(w, r, id)
}

// listAgentPaymentClaims is GET /v1/payments/{id}/claims for an agent.
func (s *Server) listAgentPaymentClaims(w http.ResponseWriter, r *http.Request) {
	s.agentPaymentClaims(w, r, r.PathValue("id"))
}

func (s *Server) agentPaymentClaims(w http.ResponseWriter, r *http.Request, paymentID string) {
	g := agentFrom(r).Grant
	if !readableBy(g) {
		s.writeError(w, r, insufficientScope())
		return
	}
	list, err := s.Compensation.OfAgentPayment(r.Context(), g.ID, paymentID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeClaims(w, r, list, plain(agentClaimJSON))
}

// getAgentClaim is GET /v1/claims/{id} for an agent: a claim on a payment
// of its grant; any other is 404.
func (s *Server) getAgentClaim(w http.ResponseWriter, r *http.Request) {
	g := agentFrom(r).Grant
	if !readableBy(g) {
		s.writeError(w, r, insufficientScope())
		return
	}
	c, err := s.Compensation.Claim(r.Context(), r.PathValue("id"))
	if err == nil && c.GrantID != g.ID {
		err = agentpay.Errorf(agentpay.ENOTFOUND, "claim_not_found", "claim not found")
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, agentClaimJSON(c))
}

// listMerchantClaims is GET /v1/claims for a merchant: the claims on its
// payments, newest first.
func (s *Server) listMerchantClaims(w http.ResponseWriter, r *http.Request) {
	s.listClaims(w, r, "merchant_id", merchantOf(r).Merchant.ID, func(c store.Claim) (claimJSON, error) {
		return s.merchantClaimJSON(r.Context(), c)
	})
}

// listMerchantPaymentClaims is GET /v1/payments/{id}/claims for a merchant.
func (s *Server) listMerchantPaymentClaims(w http.ResponseWriter, r *http.Request) {
	p, err := s.Payments.ForMerchant(r.Context(), merchantOf(r).Merchant.ID, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := s.DB.ClaimsOfPayment(r.Context(), p.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeClaims(w, r, list, func(c store.Claim) (claimJSON, error) { return s.merchantClaimJSON(r.Context(), c) })
}

// getMerchantClaim is GET /v1/claims/{id} for a merchant: a claim on one
// of its payments; any other is 404.
func (s *Server) getMerchantClaim(w http.ResponseWriter, r *http.Request) {
	c, err := s.Compensation.ForMerchant(r.Context(), merchantOf(r).Merchant.ID, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	j, err := s.merchantClaimJSON(r.Context(), c)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, j)
}

// listOperatorClaims is GET /v1/claims for operators: by ?status= (the
// review queue, in_review, when no filter is given), ?payment=, ?user= or
// ?merchant=, newest first.
func (s *Server) listOperatorClaims(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	owner, id := "status", compensation.StatusInReview
	n := 0
	for _, f := range []struct{ param, column string }{{"status", "status"}, {"payment", "payment_id"}, {"user", "user_id"},
		{"merchant", "merchant_id"}} {
		if v := q.Get(f.param); v != "" {
			owner, id = f.column, v
			n++
		}
	}
	if n > 1 {
		s.writeError(w, r, agentpay.ParamErrorf("status", "invalid_filter", "filter by one of status, payment, user or merchant"))
		return
	}
	if owner == "status" && !isStatus(id) {
		s.writeError(w, r, agentpay.ParamErrorf("status", "invalid_status", "status is one of %s", strings.Join(compensation.Statuses, ", ")))
		return
	}
	if !agentpay.ValidID(id) {
		s.writeError(w, r, agentpay.ParamErrorf(owner, "invalid_id", "not a valid id"))
		return
	}
	s.listClaims(w, r, owner, id, plain(operatorClaimJSON))
}

func isStatus(v string) bool {
	for _, st := range compensation.Statuses {
		if v == st {
			return true
		}
	}
	return false
}

// getOperatorClaim is GET /v1/claims/{id} for operators, with the evidence.
func (s *Server) getOperatorClaim(w http.ResponseWriter, r *http.Request) {
	c, err := s.Compensation.Claim(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, operatorClaimJSON(c))
}

type decideClaimRequest struct {
	Recover *bool  `json:"recover"`
	Note    string `json:"note"`
}

// decideClaim is POST /v1/claims/{id}/approve {"recover": true|false,
// "note": "…"} and POST /v1/claims/{id}/deny {"note": "…"}: an operator's
// decision on a claim open or in review. Approving reimburses the user from
// the protection fund and, with recover, charges the merchant back in the
// same unit. A claim decided already is 409 claim_decided.
func (s *Server) decideClaim(approve bool) mutation {
	return func(r *http.Request, body []byte) (*store.Unit, func(store.Result) (int, any), error) {
		var req decideClaimRequest
		if err := decode(body, &req); err != nil {
			return nil, nil, err
		}
		d := compensation.Decision{Approve: approve, Note: req.Note}
		if approve {
			if req.Recover == nil {
				return nil, nil, agentpay.ParamErrorf("recover", "missing_recover",
					"say whether to recover the amount from the merchant: recover true or false")
			}
			d.Recover = *req.Recover
		} else if req.Recover != nil {
			return nil, nil, agentpay.ParamErrorf("recover", "invalid_recover", "a denial recovers nothing")
		}
		c, unit, err := s.Compensation.PrepareDecide(r.Context(), r.PathValue("id"), d)
		if err != nil {
			return nil, nil, err
		}
		return unit, func(store.Result) (int, any) { return http.StatusOK, operatorClaimJSON(c) }, nil
	}
}
