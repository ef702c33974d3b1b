package payments

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
)

// Tips: an agent gives a creator or merchant a small amount with a note.
// Money still moves only under the consent rule (DESIGN §5): a tip is
// charged without a tap only inside a tips mandate the user approved with
// a passkey, and only up to the grant's TipAutoApproveMax; any other tip
// is an ordinary payment the user approves. Either way it is a payments
// row like any other (risk decides it, claims and refunds apply), marked by
// a tips row written in the same unit.

// Limits and names of tips.
const (
	// TipNoteLengthMax bounds a tip's note, shown to the user and the
	// merchant.
	TipNoteLengthMax = 280
	// TipItemName is the one line item of a tip's order.
	TipItemName = "Tip"
	// EventTipReceived tells the merchant a tip was given to it.
	EventTipReceived = "tip.received"
	// tipMandatesMax bounds the tips mandates of a grant a tip looks at.
	tipMandatesMax = 20
)

// TipRequest is a tip an agent gives under its grant.
type TipRequest struct {
	Grant      agentpay.Grant
	MerchantID string
	Amount     int64
	Asset      string
	Note       string
	// Key makes a charge under the tips mandate once (ChargeRequest.Key):
	// the API derives it from the request's idempotency scope, so a retry
	// after a lost answer finds the payment charged the first time.
	Key string
	// Guards are written by the mandate charge's own unit, which commits
	// before the tip's: the API passes the signed request's nonce (under a
	// name of its own), so a replayed request can never charge again, even
	// under another Idempotency-Key.
	Guards []store.Row
}

// TipObjectID is the id of a tip's tip.received event object: the
// payment's id with the prefix "tip_", so its sequence never mixes with
// the payment's own events.
func TipObjectID(paymentID string) string { return "tip_" + strings.TrimPrefix(paymentID, "pay_") }

// ValidateTipNote checks a tip's note: at most TipNoteLengthMax bytes of
// UTF-8 text without control characters (it is shown on pages and sent to
// the merchant); empty is allowed.
func ValidateTipNote(note string) error {
	if len(note) > TipNoteLengthMax || !utf8.ValidString(note) || strings.IndexFunc(note, unicode.IsControl) >= 0 {
		return agentpay.ParamErrorf("note", "invalid_note", "note is at most %d bytes of text", TipNoteLengthMax)
	}
	return nil
}

// tipOrder is the order of a tip: one line "Tip" of the amount. purpose is
// the agent's words to the user on the approval page.
func tipOrder(amount int64, note, purpose string) agentpay.Order {
	return agentpay.Order{Items: []agentpay.LineItem{{Name: TipItemName, Quantity: 1, UnitAmount: amount}},
		Totals: agentpay.Totals{Subtotal: amount, Total: amount}, Description: note, Purpose: purpose}
}

// PrepareTip gives a tip and returns its payment, its tips row and the
// unit that records the tip; the caller adds its idempotency record and
// submits the unit.
//
// A tip of at most the grant's TipAutoApproveMax that the grant's tips
// mandate admits is charged under that mandate (Charge: its terms, its
// budget for the period consumed in the charge's own unit, risk control),
// and that charge commits here, before the returned unit, which then
// captures it for the merchant at once: a tip is complete when given. The
// mandate is the newest active tips mandate the user approved for this
// grant that covers the merchant (by id or category), the asset and the
// amount per payment; if its budget for the period cannot hold the tip, or
// there is none, the tip becomes an ordinary payment waiting for the
// user's passkey approval (PrepareCreate), like any payment. A charge that
// risk control challenges waits for the user's approval, one it reviews is
// held, and one that loses the mandate's budget to a concurrent charge is
// declined (mandate_budget): none of them is captured.
//
// A tip whose Key was charged and recorded before returns that payment and
// tip with an empty unit.
func (s *Service) PrepareTip(ctx context.Context, req TipRequest) (agentpay.Payment, store.Tip, *store.Unit, error) {
	g := req.Grant
	if req.Amount <= 0 {
		return agentpay.Payment{}, store.Tip{}, nil, agentpay.ParamErrorf("amount", "invalid_amount", "amount must be more than 0 minor units")
	}
	if err := agentpay.ValidateAssetCode(req.Asset); err != nil {
		return agentpay.Payment{}, store.Tip{}, nil, agentpay.ParamErrorf("asset", "unknown_asset", "unknown asset")
	}
	if err := ValidateTipNote(req.Note); err != nil {
		return agentpay.Payment{}, store.Tip{}, nil, err
	}
	mer, err := s.merchant(ctx, req.MerchantID, req.Asset)
	if err != nil {
		return agentpay.Payment{}, store.Tip{}, nil, err
	}
	m, ok, err := s.tipsMandate(ctx, g, mer, req.Asset, req.Amount)
	if err != nil {
		return agentpay.Payment{}, store.Tip{}, nil, err
	}
	if ok {
		return s.prepareMandateTip(ctx, req, mer, m)
	}
	// The note is the agent's words to the user on the approval page.
	p, u, err := s.PrepareCreate(ctx, CreateRequest{Grant: g, MerchantID: mer.ID, Asset: req.Asset,
		Order: tipOrder(req.Amount, req.Note, req.Note)})
	if err != nil {
		return p, store.Tip{}, nil, err
	}
	t := s.recordTip(u, mer, p, req.Note, "", false)
	return p, t, u, nil
}

// Tip gives a tip and commits it, for callers without an idempotency
// record of their own.
func (s *Service) Tip(ctx context.Context, req TipRequest) (agentpay.Payment, store.Tip, error) {
	p, t, u, err := s.PrepareTip(ctx, req)
	if err == nil {
		err = s.DB.Committer.Submit(ctx, u).Err
	}
	return p, t, err
}

// tipsMandate returns the mandate a tip is charged under without a tap:
// the grant's newest active tips mandate covering the merchant, asset and
// amount, if the tip is within the grant's TipAutoApproveMax and that
// mandate's budget for the period still holds it. ok is false when the tip
// needs the user's approval instead.
func (s *Service) tipsMandate(ctx context.Context, g agentpay.Grant, mer store.StoredMerchant, asset string, amount int64) (agentpay.Mandate, bool, error) {
	if g.TipAutoApproveMax <= 0 || amount > g.TipAutoApproveMax {
		return agentpay.Mandate{}, false, nil
	}
	list, err := s.DB.ActiveTipsMandates(ctx, g.UserID, g.ID, tipMandatesMax)
	if err != nil {
		return agentpay.Mandate{}, false, err
	}
	now := s.now()
	for _, m := range list {
		if m.Allows(mer.ID, mer.MCC, asset, amount, now) != nil {
			continue
		}
		// The newest that covers the tip decides: an exhausted budget
		// asks the user rather than spending an older mandate's.
		start, _, err := m.BudgetPeriod(now)
		if err != nil {
			return m, false, nil
		}
		counters, err := s.DB.SpendCounters(ctx, fmt.Sprintf("mandate:%s:%d", m.ID, start.Unix()))
		if err != nil {
			return m, false, err
		}
		return m, exceeded([]budget{{counters[0], m.Budget, DeclineMandateBudget}}, amount) == "", nil
	}
	return agentpay.Mandate{}, false, nil
}

// prepareMandateTip charges a tip under m and returns the unit that
// captures it (if the charge was authorized) and records the tip.
func (s *Service) prepareMandateTip(ctx context.Context, req TipRequest, mer store.StoredMerchant, m agentpay.Mandate) (agentpay.Payment, store.Tip, *store.Unit, error) {
	// No purpose: a tip's note is a message to the payee, not a statement
	// of what is bought, so risk control's intent check has nothing to
	// compare; the mandate the user approved names the payees instead.
	p, err := s.chargeTip(ctx, ChargeRequest{MandateID: m.ID, MerchantID: mer.ID,
		Order: tipOrder(req.Amount, req.Note, ""), Key: req.Key}, req.Guards)
	if err != nil {
		return p, store.Tip{}, nil, err
	}
	if p.MerchantID != mer.ID || p.Totals.Total != req.Amount || p.Asset != req.Asset || p.GrantID != req.Grant.ID {
		// The key's first charge was another tip: a retry with other
		// arguments (the API answers its stored response instead).
		return p, store.Tip{}, nil, &agentpay.Error{Kind: agentpay.EUNPROCESSABLE, Code: "idempotency_conflict",
			Param: "Idempotency-Key", Message: "this Idempotency-Key was used for another tip; use a new key for a new tip"}
	}
	if t, found, err := s.DB.Tip(ctx, p.ID); err != nil || found {
		return p, t, &store.Unit{}, err // recorded: a retry gets it as it is
	}
	u := &store.Unit{}
	auto := false
	switch p.Status {
	case agentpay.PaymentAuthorized:
		if p, u, err = s.PrepareCapture(ctx, mer.ID, p.ID, 0); err != nil {
			return p, store.Tip{}, nil, err
		}
		auto = true
	case agentpay.PaymentCaptured, agentpay.PaymentPartiallyRefunded, agentpay.PaymentRefunded:
		auto = true // captured before the tip was recorded (a retry after a crash)
	}
	t := s.recordTip(u, mer, p, req.Note, m.ID, auto)
	return p, t, u, nil
}

// chargeTip is Charge, with guards written by the charge's unit. A unit's
// guards are written even when its effects fail (store.Unit), so an
// attempt after a version conflict goes without them.
func (s *Service) chargeTip(ctx context.Context, req ChargeRequest, guards []store.Row) (agentpay.Payment, error) {
	mu := &s.userLocks[userStripe(req.MandateID)]
	mu.Lock()
	defer mu.Unlock()
	var err error
	for range chargeRetries {
		var p agentpay.Payment
		var u *store.Unit
		if p, u, err = s.PrepareCharge(ctx, req); err != nil || u == nil {
			return p, err
		}
		u.Guards = append(u.Guards, guards...)
		if err = s.DB.Committer.Submit(ctx, u).Err; err == nil {
			return p, nil
		}
		if agentpay.ErrorCode(err) != "version_conflict" && agentpay.ErrorCode(err) != "already_exists" {
			return agentpay.Payment{}, err
		}
		guards = nil
	}
	return agentpay.Payment{}, err
}

// approvedTip makes p, a payment the user's approval authorizes now,
// captured for the merchant if it is a tip, and reports whether it is: a
// tip is complete when given, so the unit that approves it also captures
// it (PrepareApprove), and no merchant action is awaited. A payment is a
// tip when it has a tips row.
func (s *Service) approvedTip(ctx context.Context, p *agentpay.Payment) (bool, error) {
	// Only a tip's order is one line "Tip": other payments skip the read.
	if len(p.Items) != 1 || p.Items[0].Name != TipItemName {
		return false, nil
	}
	if _, found, err := s.DB.Tip(ctx, p.ID); err != nil || !found {
		return false, err
	}
	next, err := agentpay.NextStatus(p.Status, agentpay.ActionCapture, p.Authorized, p.Authorized)
	if err != nil {
		return false, err
	}
	p.Status, p.Captured = next, p.Authorized
	return true, nil
}

// captureApprovedTip adds to u, the unit that approves the tip p and
// places its hold, what a capture of all of it adds (PrepareCapture): the
// post of the hold to the merchant, the protection fee in the same linked
// group, and the merchant's and agent's capture counts. The payment's
// update and its payment.captured event are the approval's own.
func (s *Service) captureApprovedTip(ctx context.Context, u *store.Unit, p agentpay.Payment) error {
	fee := ProtectionFee(p.Captured, s.ProtectionFeeBPS, s.ProtectionFeeMin)
	u.Transfers = append(u.Transfers, agentpay.Transfer{ID: agentpay.NewID("capt"), PendingID: p.HoldID,
		Flags: agentpay.TransferPostPending, Amount: p.Captured, Asset: p.Asset, Reference: p.ID, Code: "payment_capture"})
	if fee > 0 {
		fund, err := s.EnsureProtectionFund(ctx, p.Asset)
		if err != nil {
			return err
		}
		u.Transfers = append(u.Transfers, agentpay.Transfer{ID: agentpay.NewID("pfee"),
			DebitAccountID: MerchantAccountID(p.MerchantID, p.Asset), CreditAccountID: fund, Amount: fee, Asset: p.Asset,
			Reference: p.ID, Code: "protection_fee"})
	}
	u.Counts = append(u.Counts, CaptureCounts(p, s.now())...)
	return nil
}

// tipEventData is what tip.received says: ids, amounts and the outcome;
// never the note, which is the agent's free text (the merchant reads it
// with GET /v1/tips).
type tipEventData struct {
	Tip          string `json:"tip"`
	Payment      string `json:"payment"`
	Status       string `json:"status"`
	Amount       int64  `json:"amount"`
	Asset        string `json:"asset"`
	AutoApproved bool   `json:"auto_approved"`
	Mandate      string `json:"mandate,omitempty"`
}

// recordTip adds the tips row of p and its tip.received event (with its
// webhook delivery) to u, and returns the tip.
func (s *Service) recordTip(u *store.Unit, mer store.StoredMerchant, p agentpay.Payment, note, mandateID string, auto bool) store.Tip {
	now := s.now()
	t := store.Tip{PaymentID: p.ID, GrantID: p.GrantID, UserID: p.UserID, MerchantID: p.MerchantID, Amount: p.Totals.Total,
		Asset: p.Asset, Note: note, AutoApproved: auto, MandateID: mandateID, CreatedAt: now.UnixMicro(), Status: p.Status}
	u.Rows = append(u.Rows, store.TipRow(t))
	data, err := json.Marshal(tipEventData{Tip: TipObjectID(p.ID), Payment: p.ID, Status: string(p.Status),
		Amount: t.Amount, Asset: t.Asset, AutoApproved: auto, Mandate: mandateID})
	if err != nil {
		panic("payments: encode tip event: " + err.Error()) // plain structs always encode
	}
	e := store.Event{ID: agentpay.NewID("evt"), ObjectID: TipObjectID(p.ID), MerchantID: p.MerchantID, UserID: p.UserID,
		Type: EventTipReceived, Seq: 1, Data: string(data), CreatedAt: now.UnixMicro()}
	u.Rows = append(u.Rows, e.Row())
	if s.Outbox != nil {
		s.Outbox(u, e, mer, now)
	}
	u.Notify = append(u.Notify, UserTopic(p.UserID))
	return t
}
