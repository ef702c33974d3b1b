package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/payments"
	"github.com/agentpay/agentpay/store"
)

// Limits of the payments API.
const (
	// PaymentWaitMax bounds ?wait= on GET /v1/payments/{id}.
	PaymentWaitMax = 60 * time.Second
	// PaymentListMax bounds ?limit= of payment lists.
	PaymentListMax = 100
)

// paymentRoutes serves payments to agents (signed) and merchants (API
// key). A path both use is dispatched on how the request authenticates.
func (s *Server) paymentRoutes() {
	s.mux.Handle("POST /v1/payments", s.agent(agentpay.ScopePaymentsCreate, s.idempotent(s.createPayment)))
	s.mux.Handle("GET /v1/payments", s.byCaller(s.agent("", s.listAgentPayments), s.merchant(s.listMerchantPayments)))
	s.mux.Handle("GET /v1/payments/{id}", s.byCaller(s.agent("", s.getAgentPayment), s.merchant(s.getMerchantPayment)))
	s.mux.Handle("POST /v1/payments/{id}", s.agent(agentpay.ScopePaymentsCreate, s.idempotent(s.updatePayment)))
	s.mux.Handle("POST /v1/payments/{id}/cancel", s.agent(agentpay.ScopePaymentsCreate, emptyBodyIsObject(s.idempotent(s.cancelPayment))))
	s.mux.Handle("POST /v1/payments/{id}/capture", s.merchant(emptyBodyIsObject(s.idempotent(s.capturePayment))))
	s.mux.Handle("POST /v1/payments/{id}/void", s.merchant(emptyBodyIsObject(s.idempotent(s.voidPayment))))
	s.mux.Handle("POST /v1/refunds", s.merchant(s.idempotent(s.createRefund)))
}

// byCaller sends a request with an HTTP message signature to the agent
// handler and anything else to the merchant handler (which refuses it
// without an API key).
func (s *Server) byCaller(agent, merchant http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Signature") != "" || r.Header.Get("Signature-Input") != "" {
			agent.ServeHTTP(w, r)
			return
		}
		merchant.ServeHTTP(w, r)
	})
}

// paymentJSON is a payment as the API shows it. Agents see their grant;
// merchants see a pseudonymous payer id and what the user shared.
type paymentJSON struct {
	Object            string              `json:"object"`
	ID                string              `json:"id"`
	Version           int64               `json:"version"`
	Status            string              `json:"status"`
	Merchant          string              `json:"merchant"`
	Asset             string              `json:"asset"`
	Items             []agentpay.LineItem `json:"items"`
	Totals            agentpay.Totals     `json:"totals"`
	Description       string              `json:"description"`
	Purpose           string              `json:"purpose"`
	Authorized        int64               `json:"amount_authorized"`
	Captured          int64               `json:"amount_captured"`
	Refunded          int64               `json:"amount_refunded"`
	DeclineCode       string              `json:"decline_code,omitempty"`
	CanceledBy        string              `json:"canceled_by,omitempty"`
	CancelReason      string              `json:"cancel_reason,omitempty"`
	ApprovalURL       string              `json:"approval_url,omitempty"`
	Summary           string              `json:"summary,omitempty"`
	Grant             string              `json:"grant,omitempty"`
	Payer             string              `json:"payer,omitempty"`
	Shared            map[string]string   `json:"shared,omitempty"`
	ApprovalExpiresAt *time.Time          `json:"approval_expires_at,omitempty"`
	CaptureExpiresAt  *time.Time          `json:"capture_expires_at,omitempty"`
	CreatedAt         time.Time           `json:"created_at"`
	UpdatedAt         time.Time           `json:"updated_at"`
}

func microTime(us int64) *time.Time {
	if us == 0 {
		return nil
	}
	t := time.UnixMicro(us).UTC()
	return &t
}

func basePaymentJSON(p agentpay.Payment) paymentJSON {
	j := paymentJSON{Object: "payment", ID: p.ID, Version: p.Version, Status: string(p.Status), Merchant: p.MerchantID,
		Asset: p.Asset, Items: p.Items, Totals: p.Totals, Description: p.Description, Purpose: p.Purpose,
		Authorized: p.Authorized, Captured: p.Captured, Refunded: p.Refunded, DeclineCode: p.DeclineCode,
		CanceledBy: string(p.CanceledBy), CancelReason: p.CancelReason, CreatedAt: time.UnixMicro(p.CreatedAt).UTC(),
		UpdatedAt: time.UnixMicro(p.UpdatedAt).UTC()}
	if p.Status == agentpay.PaymentRequiresApproval || p.Status == agentpay.PaymentInReview {
		j.ApprovalExpiresAt = microTime(p.ApprovalExpiresAt)
	}
	if p.Status == agentpay.PaymentAuthorized {
		j.CaptureExpiresAt = microTime(p.CaptureExpiresAt)
	}
	if j.Items == nil {
		j.Items = []agentpay.LineItem{}
	}
	return j
}

// Summary says in one sentence what the user is asked to pay, short enough
// for a voice assistant to read out.
func Summary(p agentpay.Payment, merchantName string) string {
	amount, err := agentpay.FormatAmount(p.Totals.Total, p.Asset)
	if err != nil {
		amount = strconv.FormatInt(p.Totals.Total, 10) + " minor units"
	}
	var units int64
	for _, it := range p.Items {
		units += it.Quantity
	}
	what := p.Items[0].Name
	if len(p.Items) > 1 {
		what = fmt.Sprintf("%s and %d more", what, len(p.Items)-1)
	} else if units > 1 {
		what = fmt.Sprintf("%d × %s", units, what)
	}
	return fmt.Sprintf("Pay %s %s %s for %s.", merchantName, amount, p.Asset, what)
}

// agentPaymentJSON renders a payment for its agent; merchant names are
// looked up once per request in names.
func (s *Server) agentPaymentJSON(ctx context.Context, p agentpay.Payment, names map[string]string) (paymentJSON, error) {
	j := basePaymentJSON(p)
	j.Grant = p.GrantID
	name, ok := names[p.MerchantID]
	if !ok {
		m, err := s.DB.Merchant(ctx, p.MerchantID)
		if err != nil {
			return j, err
		}
		name = m.Name
		names[p.MerchantID] = name
	}
	j.Summary = Summary(p, name)
	if p.Status == agentpay.PaymentRequiresApproval {
		j.ApprovalURL = s.baseURL() + "/pay/" + p.ID
	}
	return j, nil
}

// merchantPaymentJSON renders a payment for its merchant: the payer is a
// pseudonym unless the user shared fields with this payment.
func (s *Server) merchantPaymentJSON(ctx context.Context, p agentpay.Payment) (paymentJSON, error) {
	j := basePaymentJSON(p)
	j.Purpose = "" // the agent's words to its user
	payer, err := s.Payments.PayerID(ctx, p.MerchantID, p.UserID)
	if err != nil {
		return j, err
	}
	j.Payer = payer
	if len(p.Shared) > 0 {
		share, ok, err := s.DB.PaymentShareOf(ctx, p.ID)
		if err != nil {
			return j, err
		}
		if ok {
			j.Shared = map[string]string{}
			if share.Name != "" {
				j.Shared[agentpay.ShareName] = share.Name
			}
			if share.Email != "" {
				j.Shared[agentpay.ShareEmail] = share.Email
			}
		}
	}
	return j, nil
}

type createPaymentRequest struct {
	Merchant    string              `json:"merchant"`
	Asset       string              `json:"asset"`
	Items       []agentpay.LineItem `json:"items"`
	Totals      agentpay.Totals     `json:"totals"`
	Description string              `json:"description"`
	Purpose     string              `json:"purpose"`
}

func (req createPaymentRequest) order() agentpay.Order {
	return agentpay.Order{Items: req.Items, Totals: req.Totals, Description: req.Description, Purpose: req.Purpose}
}

// agentAnswer returns unit with the answer it gets once committed: the
// payment as the unit leaves it. The answer is rendered here, before the
// unit is submitted, so the committer never waits on a read.
func (s *Server) agentAnswer(ctx context.Context, status int, p agentpay.Payment, unit *store.Unit) (*store.Unit, func(store.Result) (int, any), error) {
	j, err := s.agentPaymentJSON(ctx, p, map[string]string{})
	if err != nil {
		return nil, nil, err
	}
	return unit, func(store.Result) (int, any) { return status, j }, nil
}

// createPayment is POST /v1/payments.
func (s *Server) createPayment(r *http.Request, body []byte) (*store.Unit, func(store.Result) (int, any), error) {
	var req createPaymentRequest
	if err := decode(body, &req); err != nil {
		return nil, nil, err
	}
	if req.Merchant == "" {
		return nil, nil, agentpay.ParamErrorf("merchant", "missing_merchant", "merchant is required")
	}
	p, unit, err := s.Payments.PrepareCreate(r.Context(), payments.CreateRequest{Grant: agentFrom(r).Grant,
		MerchantID: req.Merchant, Asset: req.Asset, Order: req.order()})
	if err != nil {
		return nil, nil, err
	}
	return s.agentAnswer(r.Context(), http.StatusCreated, p, unit)
}

type updatePaymentRequest struct {
	Items       []agentpay.LineItem `json:"items"`
	Totals      agentpay.Totals     `json:"totals"`
	Description string              `json:"description"`
	Purpose     string              `json:"purpose"`
}

// updatePayment is POST /v1/payments/{id}: the agent replaces the order of
// a payment still waiting for its user (a new version).
func (s *Server) updatePayment(r *http.Request, body []byte) (*store.Unit, func(store.Result) (int, any), error) {
	var req updatePaymentRequest
	if err := decode(body, &req); err != nil {
		return nil, nil, err
	}
	o := agentpay.Order{Items: req.Items, Totals: req.Totals, Description: req.Description, Purpose: req.Purpose}
	p, unit, err := s.Payments.PrepareUpdate(r.Context(), agentFrom(r).Grant, r.PathValue("id"), o)
	if err != nil {
		return nil, nil, err
	}
	return s.agentAnswer(r.Context(), http.StatusOK, p, unit)
}

type reasonRequest struct {
	Reason string `json:"reason"`
}

// cancelPayment is POST /v1/payments/{id}/cancel by the agent.
func (s *Server) cancelPayment(r *http.Request, body []byte) (*store.Unit, func(store.Result) (int, any), error) {
	var req reasonRequest
	if err := decode(body, &req); err != nil {
		return nil, nil, err
	}
	p, err := s.Payments.ForAgent(r.Context(), agentFrom(r).Grant.ID, r.PathValue("id"))
	if err != nil {
		return nil, nil, err
	}
	p, unit, err := s.Payments.PrepareCancel(r.Context(), agentpay.ActorAgent, p, req.Reason)
	if err != nil {
		return nil, nil, err
	}
	return s.agentAnswer(r.Context(), http.StatusOK, p, unit)
}

// readableBy says whether a grant may read payments.
func readableBy(g agentpay.Grant) bool {
	return slices.Contains(g.Scopes, agentpay.ScopePaymentsRead) || slices.Contains(g.Scopes, agentpay.ScopePaymentsCreate)
}

func insufficientScope() error {
	return agentpay.Errorf(agentpay.EFORBIDDEN, codeInsufficientScope, "reading payments needs the payments:read or payments:create scope")
}

// getAgentPayment is GET /v1/payments/{id}[?wait=SECONDS]: with wait, and
// while the payment still waits for its user, the answer waits (up to 60
// s) until the payment changes, woken through the bus on any node.
func (s *Server) getAgentPayment(w http.ResponseWriter, r *http.Request) {
	g := agentFrom(r).Grant
	if !readableBy(g) {
		s.writeError(w, r, insufficientScope())
		return
	}
	var wait time.Duration
	if v := r.URL.Query().Get("wait"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || time.Duration(n)*time.Second > PaymentWaitMax {
			s.writeError(w, r, agentpay.ParamErrorf("wait", "invalid_wait", "wait is 0 to %d seconds", int(PaymentWaitMax/time.Second)))
			return
		}
		wait = time.Duration(n) * time.Second
	}
	id := r.PathValue("id")
	// Subscribe before reading, so a change between the read and the wait
	// is not missed.
	changed, stop := s.DB.Bus.Subscribe(payments.Topic(id))
	defer stop()
	p, err := s.Payments.ForAgent(r.Context(), g.ID, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if wait > 0 {
		timer := time.NewTimer(wait)
		defer timer.Stop()
		version := p.Version
	waiting:
		// A payment held for review waits too: the operator's release
		// hands it to the user, whose decision the agent waits for.
		for (p.Status == agentpay.PaymentRequiresApproval || p.Status == agentpay.PaymentInReview) && p.Version == version {
			select {
			case <-changed:
			case <-timer.C:
				break waiting
			case <-r.Context().Done():
				return
			}
			if p, err = s.Payments.ForAgent(r.Context(), g.ID, id); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
	}
	j, err := s.agentPaymentJSON(r.Context(), p, map[string]string{})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, j)
}

type paymentListJSON struct {
	Object  string        `json:"object"`
	Data    []paymentJSON `json:"data"`
	HasMore bool          `json:"has_more"`
}

// page reads ?limit= and ?starting_after= of a list.
func page(r *http.Request) (int, string, error) {
	limit := 20
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > PaymentListMax {
			return 0, "", agentpay.ParamErrorf("limit", "invalid_limit", "limit is 1 to %d", PaymentListMax)
		}
		limit = n
	}
	after := r.URL.Query().Get("starting_after")
	if after != "" && (!strings.HasPrefix(after, "pay_") || !agentpay.ValidID(after)) {
		return 0, "", agentpay.ParamErrorf("starting_after", "invalid_id", "starting_after must be a payment id")
	}
	return limit, after, nil
}

func (s *Server) listPayments(w http.ResponseWriter, r *http.Request, owner, id string, render func(agentpay.Payment) (paymentJSON, error)) {
	limit, after, err := page(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := s.DB.Payments(r.Context(), store.PaymentPage{Owner: owner, ID: id, Before: after, Limit: limit + 1})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := paymentListJSON{Object: "list", Data: []paymentJSON{}}
	if len(list) > limit {
		list, out.HasMore = list[:limit], true
	}
	for _, p := range list {
		j, err := render(p)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		out.Data = append(out.Data, j)
	}
	writeJSON(w, http.StatusOK, out)
}

// listAgentPayments is GET /v1/payments for an agent: its grant's payments,
// newest first.
func (s *Server) listAgentPayments(w http.ResponseWriter, r *http.Request) {
	g := agentFrom(r).Grant
	if !readableBy(g) {
		s.writeError(w, r, insufficientScope())
		return
	}
	names := map[string]string{}
	s.listPayments(w, r, "grant_id", g.ID, func(p agentpay.Payment) (paymentJSON, error) {
		return s.agentPaymentJSON(r.Context(), p, names)
	})
}

// listMerchantPayments is GET /v1/payments for a merchant.
func (s *Server) listMerchantPayments(w http.ResponseWriter, r *http.Request) {
	s.listPayments(w, r, "merchant_id", merchantOf(r).Merchant.ID, func(p agentpay.Payment) (paymentJSON, error) {
		return s.merchantPaymentJSON(r.Context(), p)
	})
}

// getMerchantPayment is GET /v1/payments/{id} for a merchant.
func (s *Server) getMerchantPayment(w http.ResponseWriter, r *http.Request) {
	p, err := s.Payments.ForMerchant(r.Context(), merchantOf(r).Merchant.ID, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	j, err := s.merchantPaymentJSON(r.Context(), p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, j)
}

// merchantAnswer is agentAnswer for merchants.
func (s *Server) merchantAnswer(ctx context.Context, p agentpay.Payment, unit *store.Unit) (*store.Unit, func(store.Result) (int, any), error) {
	j, err := s.merchantPaymentJSON(ctx, p)
	if err != nil {
		return nil, nil, err
	}
	return unit, func(store.Result) (int, any) { return http.StatusOK, j }, nil
}

type captureRequest struct {
	Amount int64 `json:"amount"` // 0 or absent: all that is authorized
}

// capturePayment is POST /v1/payments/{id}/capture.
func (s *Server) capturePayment(r *http.Request, body []byte) (*store.Unit, func(store.Result) (int, any), error) {
	var req captureRequest
	if err := decode(body, &req); err != nil {
		return nil, nil, err
	}
	if req.Amount < 0 {
		return nil, nil, agentpay.ParamErrorf("amount", "invalid_capture_amount", "amount must not be negative")
	}
	p, unit, err := s.Payments.PrepareCapture(r.Context(), merchantOf(r).Merchant.ID, r.PathValue("id"), req.Amount)
	if err != nil {
		return nil, nil, err
	}
	return s.merchantAnswer(r.Context(), p, unit)
}

// voidPayment is POST /v1/payments/{id}/void: the merchant releases the
// hold of an authorized payment.
func (s *Server) voidPayment(r *http.Request, body []byte) (*store.Unit, func(store.Result) (int, any), error) {
	var req reasonRequest
	if err := decode(body, &req); err != nil {
		return nil, nil, err
	}
	p, unit, err := s.Payments.PrepareVoid(r.Context(), merchantOf(r).Merchant.ID, r.PathValue("id"), req.Reason)
	if err != nil {
		return nil, nil, err
	}
	return s.merchantAnswer(r.Context(), p, unit)
}

type refundRequest struct {
	Payment string `json:"payment"`
	Amount  int64  `json:"amount"`
	Reason  string `json:"reason"`
}

type refundJSON struct {
	Object    string      `json:"object"`
	ID        string      `json:"id"`
	Payment   string      `json:"payment"`
	Amount    int64       `json:"amount"`
	Asset     string      `json:"asset"`
	Reason    string      `json:"reason,omitempty"`
	CreatedAt time.Time   `json:"created_at"`
	Status    string      `json:"payment_status"`
	Refunded  int64       `json:"payment_amount_refunded"`
	Details   paymentJSON `json:"payment_details"`
}

// createRefund is POST /v1/refunds: part or all of a captured payment back
// to the user; several refunds never add up to more than was captured.
func (s *Server) createRefund(r *http.Request, body []byte) (*store.Unit, func(store.Result) (int, any), error) {
	var req refundRequest
	if err := decode(body, &req); err != nil {
		return nil, nil, err
	}
	if req.Payment == "" {
		return nil, nil, agentpay.ParamErrorf("payment", "missing_payment", "payment is required")
	}
	p, ref, unit, err := s.Payments.PrepareRefund(r.Context(), merchantOf(r).Merchant.ID, req.Payment, req.Amount, req.Reason)
	if err != nil {
		return nil, nil, err
	}
	j, err := s.merchantPaymentJSON(r.Context(), p)
	if err != nil {
		return nil, nil, err
	}
	return unit, func(store.Result) (int, any) {
		return http.StatusCreated, refundJSON{Object: "refund", ID: ref.ID, Payment: p.ID, Amount: ref.Amount, Asset: ref.Asset,
			Reason: ref.Reason, CreatedAt: time.UnixMicro(ref.CreatedAt).UTC(), Status: string(p.Status), Refunded: p.Refunded, Details: j}
	}, nil
}
