package httpapi

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
)

// riskRoutes are the operator's: a payment's risk decisions, the review
// queue and its decisions, and the rules in force.
func (s *Server) riskRoutes() {
	s.mux.Handle("GET /v1/payments/{id}/risk", s.admin(s.getPaymentRisk))
	s.mux.Handle("GET /v1/reviews", s.admin(s.listReviews))
	s.mux.Handle("POST /v1/payments/{id}/release", s.admin(emptyBodyIsObject(s.idempotent(s.reviewPayment(true)))))
	s.mux.Handle("POST /v1/payments/{id}/reject", s.admin(emptyBodyIsObject(s.idempotent(s.reviewPayment(false)))))
	s.mux.Handle("GET /v1/risk/rules", s.admin(s.getRiskRules))
	s.mux.Handle("PUT /v1/risk/rules", s.admin(s.loadingRules(s.idempotent(s.putRiskRules))))
}

// riskDecisionJSON is one stored decision.
type riskDecisionJSON struct {
	Object         string          `json:"object"`
	ID             string          `json:"id"`
	Payment        string          `json:"payment"`
	PaymentVersion int64           `json:"payment_version"`
	Stage          string          `json:"stage"`
	Outcome        string          `json:"outcome"`
	Reasons        json.RawMessage `json:"reasons"`
	Signals        json.RawMessage `json:"signals"`
	RulesVersion   int64           `json:"rules_version"`
	CreatedAt      time.Time       `json:"created_at"`
}

// getPaymentRisk is GET /v1/payments/{id}/risk: every decision about a
// payment, with the signals each used, oldest first.
func (s *Server) getPaymentRisk(w http.ResponseWriter, r *http.Request) {
	p, err := s.Payments.Operator(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ds, err := s.DB.RiskDecisions(r.Context(), p.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := struct {
		Object string             `json:"object"`
		Data   []riskDecisionJSON `json:"data"`
	}{Object: "list", Data: []riskDecisionJSON{}}
	for _, d := range ds {
		out.Data = append(out.Data, riskDecisionJSON{Object: "risk_decision", ID: d.ID, Payment: d.PaymentID,
			PaymentVersion: d.PaymentVersion, Stage: d.Stage, Outcome: d.Outcome, Reasons: json.RawMessage(d.Reasons),
			Signals: json.RawMessage(d.Signals), RulesVersion: d.RulesVersion, CreatedAt: time.UnixMicro(d.CreatedAt).UTC()})
	}
	writeJSON(w, http.StatusOK, out)
}

// operatorPaymentJSON is a payment as an operator sees it: whose it is too.
func operatorPaymentJSON(p agentpay.Payment) paymentJSON {
	j := basePaymentJSON(p)
	j.Grant, j.Payer = p.GrantID, p.UserID
	return j
}

// listReviews is GET /v1/reviews: the payments risk control holds for an
// operator, newest first.
func (s *Server) listReviews(w http.ResponseWriter, r *http.Request) {
	s.listPayments(w, r, "status", string(agentpay.PaymentInReview), func(p agentpay.Payment) (paymentJSON, error) {
		return operatorPaymentJSON(p), nil
	})
}

// reviewPayment is POST /v1/payments/{id}/release and /reject, with an
// optional {"note": "..."} kept with the decision.
func (s *Server) reviewPayment(release bool) mutation {
	return func(r *http.Request, body []byte) (*store.Unit, func(store.Result) (int, any), error) {
		var in struct {
			Note string `json:"note"`
		}
		if err := decode(body, &in); err != nil {
			return nil, nil, err
		}
		prepare := s.Payments.PrepareReject
		if release {
			prepare = s.Payments.PrepareRelease
		}
		p, unit, err := prepare(r.Context(), r.PathValue("id"), in.Note)
		if err != nil {
			return nil, nil, err
		}
		j := operatorPaymentJSON(p)
		return unit, func(store.Result) (int, any) { return http.StatusOK, j }, nil
	}
}

// riskRulesJSON is the rule set in force.
type riskRulesJSON struct {
	Object  string `json:"object"`
	Version int64  `json:"version"` // 0: the built-in rules
	Rules   string `json:"rules"`
}

// getRiskRules is GET /v1/risk/rules.
func (s *Server) getRiskRules(w http.ResponseWriter, r *http.Request) {
	if _, err := s.Payments.LoadRules(r.Context()); err != nil {
		s.writeError(w, r, err)
		return
	}
	rs, v := s.Payments.RiskEngine().Rules()
	writeJSON(w, http.StatusOK, riskRulesJSON{Object: "risk_rules", Version: v, Rules: rs.Text()})
}

// putRiskRules is PUT /v1/risk/rules with {"rules": "<rules file>"}: the
// rules are compiled (a broken one is 400 invalid_rules naming its line)
// and saved as the next version, in force on every node.
func (s *Server) putRiskRules(r *http.Request, body []byte) (*store.Unit, func(store.Result) (int, any), error) {
	var in struct {
		Rules *string `json:"rules"`
	}
	if err := decode(body, &in); err != nil {
		return nil, nil, err
	}
	if in.Rules == nil {
		return nil, nil, agentpay.ParamErrorf("rules", "missing_rules", "send the rules file's text as rules")
	}
	version, unit, err := s.Payments.PrepareRules(r.Context(), *in.Rules)
	if err != nil {
		return nil, nil, err
	}
	out := riskRulesJSON{Object: "risk_rules", Version: version, Rules: *in.Rules}
	return unit, func(store.Result) (int, any) { return http.StatusOK, out }, nil
}

// loadingRules puts saved rules in force on this node after next commits
// them and before its answer is written, so a caller that got the answer
// is never decided by the old rules here.
func (s *Server) loadingRules(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		next(&beforeAnswer{ResponseWriter: w, do: func() {
			if _, err := s.Payments.LoadRules(r.Context()); err != nil {
				s.log(r).Error("risk rules: load", "err", err)
			}
		}}, r)
	}
}

// beforeAnswer runs do once, before the first byte of the answer.
type beforeAnswer struct {
	http.ResponseWriter
	once sync.Once
	do   func()
}

func (b *beforeAnswer) WriteHeader(code int) {
	b.once.Do(b.do)
	b.ResponseWriter.WriteHeader(code)
}

func (b *beforeAnswer) Write(p []byte) (int, error) {
	b.once.Do(b.do)
	return b.ResponseWriter.Write(p)
}

func (b *beforeAnswer) Unwrap() http.ResponseWriter { return b.ResponseWriter }
