package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/payments"
	"github.com/agentpay/agentpay/store"
)

// tipRoutes serves tips (payments.Service.PrepareTip): agents give them
// (signed) and read their grant's, merchants read the tips they received
// (API key), users read theirs (session).
func (s *Server) tipRoutes() {
	s.mux.Handle("POST /v1/tips", s.agent("", s.tipScoped(s.idempotent(s.createTip))))
	s.mux.Handle("GET /v1/tips", s.byCaller(s.agent("", s.tipScoped(s.listAgentTips)), s.merchant(s.listMerchantTips)))
	s.mux.Handle("GET /v1/me/tips", s.user(s.listMyTips))
}

// tipScoped lets through grants holding payments:create or tips: a tip is
// a payment, and the tips scope exists for agents that only tip.
func (s *Server) tipScoped(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		scopes := agentFrom(r).Grant.Scopes
		if !slices.Contains(scopes, agentpay.ScopePaymentsCreate) && !slices.Contains(scopes, agentpay.ScopeTips) {
			s.writeError(w, r, agentpay.Errorf(agentpay.EFORBIDDEN, codeInsufficientScope, "tips need the payments:create or tips scope"))
			return
		}
		next(w, r)
	}
}

type createTipRequest struct {
	Merchant string `json:"merchant"`
	Amount   int64  `json:"amount"`
	Asset    string `json:"asset"`
	Note     string `json:"note"`
}

// tipInfoJSON says how a tip was given.
type tipInfoJSON struct {
	AutoApproved bool   `json:"auto_approved"`
	Mandate      string `json:"mandate,omitempty"`
}

// tipPaymentJSON is the answer to POST /v1/tips: the payment as its agent
// sees payments, and how the tip was given.
type tipPaymentJSON struct {
	paymentJSON
	Tip tipInfoJSON `json:"tip"`
}

// tipChargeKey is the key of a tip's charge under a mandate: the request's
// idempotency scope (as idempotent computes it), so a retry after a lost
// answer, on any node, finds the payment charged the first time.
func tipChargeKey(r *http.Request) string {
	sum := sha256.Sum256([]byte(caller(r) + "\x00" + r.Method + " " + r.URL.Path + "\x00" + r.Header.Get("Idempotency-Key")))
	return "tip:" + hex.EncodeToString(sum[:16])
}

// createTip is POST /v1/tips {"merchant","amount","asset","note"}.
func (s *Server) createTip(r *http.Request, body []byte) (*store.Unit, func(store.Result) (int, any), error) {
	var req createTipRequest
	if err := decode(body, &req); err != nil {
		return nil, nil, err
	}
	if req.Merchant == "" {
		return nil, nil, agentpay.ParamErrorf("merchant", "missing_merchant", "merchant is required")
	}
	a := agentFrom(r)
	if req.Asset == "" {
		req.Asset = a.Grant.Limits.Asset
	}
	tr := payments.TipRequest{Grant: a.Grant, MerchantID: req.Merchant, Amount: req.Amount, Asset: req.Asset, Note: req.Note,
		Key: tipChargeKey(r)}
	// A charge under a mandate commits on its own before the tip's unit,
	// which carries the request's nonce: the charge spends a nonce of its
	// own derived from it, so a replay of this request under another
	// Idempotency-Key cannot charge again.
	var chargeNonce store.Row
	if a.Verified != nil {
		chargeNonce = store.AgentNonceRow(a.Verified.KeyID, a.Verified.Nonce+"#tip-charge", a.Verified.Expires.UnixMicro())
		tr.Guards = []store.Row{chargeNonce}
	}
	p, tip, unit, err := s.Payments.PrepareTip(r.Context(), tr)
	if a.Verified != nil && store.IsDuplicateRow(err, chargeNonce) {
		err = agentpay.Errorf(agentpay.EUNAUTHORIZED, codeNonceReplayed, "this request's signature nonce was used before; sign every request anew")
	}
	if err != nil {
		return nil, nil, err
	}
	j, err := s.agentPaymentJSON(r.Context(), p, map[string]string{})
	if err != nil {
		return nil, nil, err
	}
	out := tipPaymentJSON{paymentJSON: j, Tip: tipInfoJSON{AutoApproved: tip.AutoApproved, Mandate: tip.MandateID}}
	return unit, func(store.Result) (int, any) { return http.StatusCreated, out }, nil
}

// tipJSON is a tip in a list. Agents and users see the merchant's name;
// merchants see the payer's pseudonym, never the user.
type tipJSON struct {
	Object       string    `json:"object"` // "tip"
	Payment      string    `json:"payment"`
	Status       string    `json:"status"` // the payment's
	Merchant     string    `json:"merchant"`
	MerchantName string    `json:"merchant_name,omitempty"`
	Grant        string    `json:"grant,omitempty"`
	Payer        string    `json:"payer,omitempty"`
	Amount       int64     `json:"amount"`
	Asset        string    `json:"asset"`
	Note         string    `json:"note"`
	AutoApproved bool      `json:"auto_approved"`
	Mandate      string    `json:"mandate,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
}

type tipListJSON struct {
	Object  string    `json:"object"`
	Data    []tipJSON `json:"data"`
	HasMore bool      `json:"has_more"`
}

func baseTipJSON(t store.Tip) tipJSON {
	return tipJSON{Object: "tip", Payment: t.PaymentID, Status: string(t.Status), Merchant: t.MerchantID, Amount: t.Amount,
		Asset: t.Asset, Note: t.Note, AutoApproved: t.AutoApproved, Mandate: t.MandateID, CreatedAt: time.UnixMicro(t.CreatedAt).UTC()}
}

// listTips writes a page of the tips whose owner column is id, newest
// first (?limit=, ?starting_after=pay_…).
func (s *Server) listTips(w http.ResponseWriter, r *http.Request, owner, id string, render func(context.Context, store.Tip) (tipJSON, error)) {
	limit, after, err := page(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := s.DB.Tips(r.Context(), store.TipPage{Owner: owner, ID: id, Before: after, Limit: limit + 1})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := tipListJSON{Object: "list", Data: []tipJSON{}}
	if len(list) > limit {
		list, out.HasMore = list[:limit], true
	}
	for _, t := range list {
		j, err := render(r.Context(), t)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		out.Data = append(out.Data, j)
	}
	writeJSON(w, http.StatusOK, out)
}

// namedTip renders a tip with its merchant's name, read once per request.
func (s *Server) namedTip(names map[string]string) func(context.Context, store.Tip) (tipJSON, error) {
	return func(ctx context.Context, t store.Tip) (tipJSON, error) {
		j := baseTipJSON(t)
		name, ok := names[t.MerchantID]
		if !ok {
			m, err := s.DB.Merchant(ctx, t.MerchantID)
			if err != nil {
				return j, err
			}
			name, names[t.MerchantID] = m.Name, m.Name
		}
		j.MerchantName = name
		return j, nil
	}
}

// listAgentTips is GET /v1/tips for an agent: its grant's tips.
func (s *Server) listAgentTips(w http.ResponseWriter, r *http.Request) {
	g := agentFrom(r).Grant
	named := s.namedTip(map[string]string{})
	s.listTips(w, r, "grant_id", g.ID, func(ctx context.Context, t store.Tip) (tipJSON, error) {
		j, err := named(ctx, t)
		j.Grant = t.GrantID
		return j, err
	})
}

// listMerchantTips is GET /v1/tips for a merchant: the tips it received,
// with each payer's pseudonym.
func (s *Server) listMerchantTips(w http.ResponseWriter, r *http.Request) {
	s.listTips(w, r, "merchant_id", merchantOf(r).Merchant.ID, func(ctx context.Context, t store.Tip) (tipJSON, error) {
		j := baseTipJSON(t)
		payer, err := s.Payments.PayerID(ctx, t.MerchantID, t.UserID)
		j.Payer = payer
		return j, err
	})
}

// listMyTips is GET /v1/me/tips: the user's tips, newest first.
func (s *Server) listMyTips(w http.ResponseWriter, r *http.Request) {
	s.listTips(w, r, "user_id", userOf(r).UserID, s.namedTip(map[string]string{}))
}
