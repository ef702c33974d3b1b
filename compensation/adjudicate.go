package compensation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/consent"
	"github.com/agentpay/agentpay/store"
)

// Evidence is what an adjudication looked at, kept with the claim
// (evidence_json) so that a reviewer sees why it was decided or routed.
type Evidence struct {
	// Approvals are the passkey approvals on record for the payment, each
	// re-verified against the stored passkey and compared with the
	// payment as it is stored now.
	Approvals []ApprovalCheck `json:"approvals,omitempty"`
	// ApprovedTotal, Authorized and Captured are the payment's amounts.
	ApprovedTotal int64 `json:"approved_total"`
	Authorized    int64 `json:"authorized"`
	Captured      int64 `json:"captured"`
	Refunded      int64 `json:"refunded"`
	// DuplicateOf is the identical payment captured just before, for a
	// duplicate; Candidates how many similar payments were compared.
	DuplicateOf string `json:"duplicate_of,omitempty"`
	Candidates  int    `json:"candidates,omitempty"`
	// RefundedMeanwhile is set when the merchant refunded part of the
	// claimed amount between filing and approval.
	RefundedMeanwhile int64 `json:"refunded_meanwhile,omitempty"`
	// Note says in words what decided.
	Note string `json:"note,omitempty"`
}

// ApprovalCheck is one stored approval, checked.
type ApprovalCheck struct {
	ID      string `json:"id"`
	Passkey string `json:"passkey"`
	// Verified: the assertion re-verifies with the user's stored passkey
	// and is over this approval's object, made by the payer.
	Verified bool   `json:"verified"`
	Refusal  string `json:"refusal,omitempty"` // why it does not verify
	// Matches: the object signed equals the payment's approval object
	// rebuilt from the payment as stored now (items, totals, merchant,
	// payer, agent, version…).
	Matches       bool  `json:"matches_payment"`
	Version       int64 `json:"version"` // the payment version approved
	PasskeyCloned bool  `json:"passkey_cloned,omitempty"`
	CreatedAt     int64 `json:"created_at"`
}

// verdict is the outcome of an automatic adjudication.
type verdict struct {
	approve  bool // else in review
	code     string
	evidence Evidence
}

// judge applies the automatic rules to a claim on p:
//   - unauthorized or agent_error without an approval of p that
//     re-verifies: approve (no_valid_approval); with one, but of something
//     else than what was captured, or more captured or authorized than
//     approved: approve (differs_from_approval); with a valid approval of
//     exactly what was captured: review, the approval attached
//     (approval_on_record);
//   - duplicate: approve when an identical payment (same merchant, asset,
//     items and totals) of the user was captured within DuplicateWindow
//     before this one (duplicate_payment), else review;
//   - not_received: review (merchant_dispute).
func (s *Service) judge(ctx context.Context, c store.Claim, p agentpay.Payment) (verdict, error) {
	ev := Evidence{ApprovedTotal: p.Totals.Total, Authorized: p.Authorized, Captured: p.Captured, Refunded: p.Refunded}
	switch c.Kind {
	case KindUnauthorized, KindAgentError:
		checks, err := s.checkApprovals(ctx, p)
		if err != nil {
			return verdict{}, err
		}
		ev.Approvals = checks
		valid := slices.IndexFunc(checks, func(a ApprovalCheck) bool { return a.Verified }) >= 0
		exact := slices.IndexFunc(checks, func(a ApprovalCheck) bool { return a.Verified && a.Matches }) >= 0
		switch {
		case !valid:
			ev.Note = "no passkey approval of this payment re-verifies"
			return verdict{approve: true, code: CodeNoValidApproval, evidence: ev}, nil
		case !exact:
			ev.Note = "the payment as captured is not what the user's passkey approved"
			return verdict{approve: true, code: CodeDiffersFromApproval, evidence: ev}, nil
		case p.Authorized > p.Totals.Total || p.Captured > p.Totals.Total:
			ev.Note = "more was authorized or captured than the approved total"
			return verdict{approve: true, code: CodeDiffersFromApproval, evidence: ev}, nil
		}
		ev.Note = "the user's passkey approved exactly what was captured"
		return verdict{code: CodeApprovalOnRecord, evidence: ev}, nil
	case KindDuplicate:
		other, n, err := s.duplicateOf(ctx, p)
		if err != nil {
			return verdict{}, err
		}
		ev.Candidates = n
		if other != "" {
			ev.DuplicateOf = other
			ev.Note = "an identical payment was captured less than 10 minutes before this one"
			return verdict{approve: true, code: CodeDuplicatePayment, evidence: ev}, nil
		}
		ev.Note = "no identical payment was captured in the 10 minutes before this one"
		return verdict{code: CodeNoDuplicateFound, evidence: ev}, nil
	}
	ev.Note = "the merchant's delivery is disputed"
	return verdict{code: CodeMerchantDispute, evidence: ev}, nil
}

// checkApprovals re-verifies every approval on record for p and compares
// what it signed with p's approval object as stored now.
func (s *Service) checkApprovals(ctx context.Context, p agentpay.Payment) ([]ApprovalCheck, error) {
	list, err := s.DB.ApprovalsOf(ctx, p.ID)
	if err != nil || len(list) == 0 {
		return nil, err
	}
	want, err := s.Payments.ApprovedObject(ctx, p)
	if err != nil {
		return nil, err
	}
	wantJSON, err := consent.Canonical(want)
	if err != nil {
		return nil, err
	}
	var out []ApprovalCheck
	for _, a := range list {
		ch := ApprovalCheck{ID: a.ID, Passkey: a.PasskeyID, CreatedAt: a.CreatedAt}
		var signed consent.Signed
		var obj struct {
			Version int64 `json:"version"`
		}
		if err := json.Unmarshal([]byte(a.Object), &signed); err != nil {
			ch.Refusal = "the stored object does not parse"
			out = append(out, ch)
			continue
		}
		_ = json.Unmarshal(signed.Object, &obj)
		ch.Version = obj.Version
		if err := s.verify(ctx, a, signed, p.UserID, &ch); err != nil {
			return nil, err
		}
		if got, err := consent.Canonical(signed.Object); err == nil && bytes.Equal(got, wantJSON) {
			ch.Matches = true
		}
		out = append(out, ch)
	}
	return out, nil
}

// verify fills ch.Verified or ch.Refusal for approval a of userID's
// payment. Only a failure to read is an error.
func (s *Service) verify(ctx context.Context, a store.Approval, signed consent.Signed, userID string, ch *ApprovalCheck) error {
	if a.UserID != userID || signed.UserID != userID || signed.Subject != a.Subject {
		ch.Refusal = "the approval is not the payer's"
		return nil
	}
	key, err := s.DB.Passkey(ctx, a.PasskeyID)
	if agentpay.ErrorKind(err) == agentpay.ENOTFOUND {
		ch.Refusal = "the passkey is not on record"
		return nil
	}
	if err != nil {
		return err
	}
	if key.UserID != userID {
		ch.Refusal = "the passkey is not the payer's"
		return nil
	}
	ch.PasskeyCloned = key.Cloned
	if err := s.Passkeys.VerifyApproval(a, key); err != nil {
		if agentpay.ErrorKind(err) != agentpay.EINVALID {
			return err
		}
		var e *agentpay.Error
		if errors.As(err, &e) {
			ch.Refusal = e.Message
		}
		return nil
	}
	ch.Verified = true
	return nil
}

// duplicateOf returns the payment p duplicates, if any: the newest
// captured payment of p's user to p's merchant with the same asset, items
// and totals, created within DuplicateWindow before p. It also returns how
// many similar payments it compared.
func (s *Service) duplicateOf(ctx context.Context, p agentpay.Payment) (string, int, error) {
	list, err := s.DB.SimilarPayments(ctx, p, p.CreatedAt-DuplicateWindow.Microseconds(), duplicateCandidatesMax)
	if err != nil {
		return "", 0, err
	}
	for _, q := range list {
		before := q.CreatedAt < p.CreatedAt || (q.CreatedAt == p.CreatedAt && q.ID < p.ID)
		taken := q.Status == agentpay.PaymentCaptured || q.Status == agentpay.PaymentPartiallyRefunded
		if before && taken && q.Totals == p.Totals && slices.Equal(q.Items, p.Items) {
			return q.ID, len(list), nil
		}
	}
	return "", len(list), nil
}

func encodeEvidence(ev Evidence) string {
	b, err := json.Marshal(ev)
	if err != nil {
		panic("compensation: encode evidence: " + err.Error()) // plain structs always encode
	}
	return string(b)
}
