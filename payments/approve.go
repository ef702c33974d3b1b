package payments

import (
	"bytes"
	"context"
	"encoding/json"
	"hash/fnv"
	"slices"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/consent"
	"github.com/agentpay/agentpay/identity"
	"github.com/agentpay/agentpay/risk"
	"github.com/agentpay/agentpay/store"
)

// ApprovalObject is everything a user agrees to when approving a payment
// (DESIGN §5): its signature covers the SHA-256 of its canonical JSON. It is
// rebuilt from the payment as stored at verification; any difference
// refuses the approval.
type ApprovalObject struct {
	Type       string              `json:"type"` // "payment"
	Payment    string              `json:"payment"`
	Version    int64               `json:"version"`
	Payer      string              `json:"payer"`  // the user
	Wallet     string              `json:"wallet"` // the account debited
	Grant      string              `json:"grant"`
	AgentKey   string              `json:"agent_key"`
	AgentName  string              `json:"agent_name"`
	Merchant   string              `json:"merchant"`
	MerchantNm string              `json:"merchant_name"`
	MCC        string              `json:"merchant_category"`
	Asset      string              `json:"asset"`
	Items      []agentpay.LineItem `json:"items"`
	Totals     agentpay.Totals     `json:"totals"`
	Shared     []string            `json:"shared"`             // personal fields the user shares with the merchant
	CaptureBy  int64               `json:"capture_by_seconds"` // how long the merchant may capture
}

// Changed is the refusal of an approval of another version or content than
// p's as stored now.
func Changed(p agentpay.Payment) error {
	return agentpay.Errorf(agentpay.ECONFLICT, "payment_changed",
		"the payment changed after you saw it (now version %d); review it and approve again", p.Version)
}

// Shareable lists the personal fields a user may share, in order.
var Shareable = []string{agentpay.ShareName, agentpay.ShareEmail}

// checkShared validates the fields a user shares: a subset of Shareable,
// returned in Shareable's order.
func checkShared(shared []string) ([]string, error) {
	out := []string{}
	for _, f := range Shareable {
		if slices.Contains(shared, f) {
			out = append(out, f)
		}
	}
	for _, f := range shared {
		if !slices.Contains(Shareable, f) {
			return nil, agentpay.ParamErrorf("share", "invalid_share", "only %v can be shared", Shareable)
		}
	}
	return out, nil
}

// Approval builds the approval object of p as it is now, with the fields
// the user shares.
func (s *Service) Approval(ctx context.Context, p agentpay.Payment, shared []string) (ApprovalObject, error) {
	m, err := s.DB.Merchant(ctx, p.MerchantID)
	if err != nil {
		return ApprovalObject{}, err
	}
	return s.approval(ctx, p, m, shared)
}

func (s *Service) approval(ctx context.Context, p agentpay.Payment, m store.StoredMerchant, shared []string) (ApprovalObject, error) {
	shared, err := checkShared(shared)
	if err != nil {
		return ApprovalObject{}, err
	}
	var name string // a merchant's charge under a mandate has no agent
	if p.GrantID != "" {
		if name, err = s.DB.AgentNameOfGrant(ctx, p.GrantID); err != nil {
			return ApprovalObject{}, err
		}
	}
	return ApprovalObject{Type: "payment", Payment: p.ID, Version: p.Version, Payer: p.UserID,
		Wallet: identity.WalletID(p.UserID, p.Asset), Grant: p.GrantID, AgentKey: p.AgentKeyID, AgentName: name,
		Merchant: m.ID, MerchantNm: m.Name, MCC: m.MCC, Asset: p.Asset, Items: p.Items, Totals: p.Totals,
		Shared: shared, CaptureBy: int64(s.authorizationTTL() / time.Second)}, nil
}

// PrepareApprove checks that ev is the user's passkey approval of p exactly
// as it is stored now, and returns the payment, authorized, with the unit
// that records the approval, places the hold (a pending transfer from the
// user's wallet to the merchant), consumes the spend budgets, stores what
// the user shared and emits payment.authorized; a tip is also captured for
// the merchant in that unit, emitting payment.captured instead. A payment
// that changed since the user saw it is refused (payment_changed); one that
// no longer fits the day's or month's budgets is declined instead (decline
// is returned with its unit, and no money moves).
func (s *Service) PrepareApprove(ctx context.Context, userID, id string, ev consent.Evidence) (agentpay.Payment, *store.Unit, error) {
	p, err := s.ForUser(ctx, userID, id)
	if err != nil {
		return p, nil, err
	}
	var signed ApprovalObject
	if err := json.Unmarshal(ev.Signed.Object, &signed); err != nil || signed.Type != "payment" || ev.Signed.Subject != p.ID {
		return p, nil, agentpay.Errorf(agentpay.EINVALID, "approval_mismatch", "the passkey approved something other than this payment")
	}
	now := s.now()
	next, err := agentpay.NextStatus(p.Status, agentpay.ActionApprove, 0, 0)
	if err != nil {
		return p, nil, err
	}
	if now.UnixMicro() >= p.ApprovalExpiresAt {
		return p, nil, agentpay.Errorf(agentpay.ECONFLICT, "payment_expired", "the payment expired before it was approved")
	}
	m, err := s.merchant(ctx, p.MerchantID, p.Asset)
	if err != nil {
		return p, nil, err
	}
	current, err := s.approval(ctx, p, m, signed.Shared)
	if err != nil {
		return p, nil, err
	}
	want, err1 := consent.Canonical(current)
	got, err2 := consent.Canonical(signed)
	if err1 != nil || err2 != nil || !bytes.Equal(want, got) {
		return p, nil, Changed(p)
	}
	g, tier, err := s.checkPayer(ctx, p, m, now)
	if err != nil {
		return p, nil, err
	}
	bs, err := s.budgets(ctx, p, g, tier, now)
	if err != nil {
		return p, nil, err
	}
	if code := exceeded(bs, p.Totals.Total); code != "" {
		p.Status, p.DeclineCode = agentpay.PaymentDeclined, code
		return p, s.change(m, &p, "payment.declined", 0, ""), nil
	}
	a, err := s.assess(ctx, stageApprove, false, p, g, m, tier, now, false)
	if err != nil {
		return p, nil, err
	}
	if a.decision.Outcome == risk.Deny || a.decision.Outcome == risk.Review {
		// Nothing is held. A payment held for review goes back to the
		// user if an operator releases it: the approval given now is not
		// carried over the wait.
		typ, err := applyOutcome(&p, a.decision, now, "")
		if err != nil {
			return p, nil, err
		}
		u := s.change(m, &p, typ, 0, "")
		return p, u, s.record(ctx, u, stageApprove, p, a, now)
	}
	// A user who never had money in this asset has no wallet yet: that is
	// an empty one.
	wallet := identity.WalletID(p.UserID, p.Asset)
	if _, err := s.DB.Account(ctx, wallet); agentpay.ErrorKind(err) == agentpay.ENOTFOUND {
		return p, nil, agentpay.Errorf(agentpay.ECONFLICT, "exceeds_credits", "the %s wallet is empty", p.Asset)
	} else if err != nil {
		return p, nil, err
	}
	if next, err = agentpay.NextStatus(next, agentpay.ActionAuthorize, 0, 0); err != nil {
		return p, nil, err
	}
	p.Status, p.Shared, p.Authorized, p.ApprovedAt = next, signed.Shared, p.Totals.Total, now.UnixMicro()
	// A fresh id per attempt: the ledger keeps a rejected transfer's id (a
	// retry of it gets the same rejection), and an approval refused for
	// lack of funds may be approved again after a top-up.
	p.HoldID = agentpay.NewID("hold")
	p.CaptureExpiresAt = now.Add(s.authorizationTTL()).UnixMicro()
	// A tip is captured by its approval, in this unit (tip.go). The row
	// changes once, so it emits payment.captured alone.
	tip, err := s.approvedTip(ctx, &p)
	if err != nil {
		return p, nil, err
	}
	typ := "payment.authorized"
	if tip {
		typ = "payment.captured"
	}
	u := s.change(m, &p, typ, p.Totals.Total, "")
	u.Transfers = append(u.Transfers, agentpay.Transfer{ID: p.HoldID, DebitAccountID: wallet,
		CreditAccountID: MerchantAccountID(p.MerchantID, p.Asset), Amount: p.Totals.Total, Asset: p.Asset,
		Flags: agentpay.TransferPending, TimeoutSeconds: int64((s.authorizationTTL() + holdBackstop) / time.Second),
		Reference: p.ID, Code: "payment_hold"})
	if tip {
		if err := s.captureApprovedTip(ctx, u, p); err != nil {
			return p, nil, err
		}
	}
	for _, b := range bs {
		b.counter.Add(u, p.Totals.Total)
	}
	if err := s.record(ctx, u, stageApprove, p, a, now); err != nil {
		return p, nil, err
	}
	u.Counts = append(u.Counts, authorizedCounts(p, now)...)
	if len(p.Shared) > 0 {
		share, err := s.share(ctx, p)
		if err != nil {
			return p, nil, err
		}
		u.Rows = append(u.Rows, share.Row())
	}
	ev.Add(u)
	return p, u, nil
}

// share reads what the user shares with the merchant.
func (s *Service) share(ctx context.Context, p agentpay.Payment) (store.PaymentShare, error) {
	u, err := s.DB.User(ctx, p.UserID)
	if err != nil {
		return store.PaymentShare{}, err
	}
	sh := store.PaymentShare{PaymentID: p.ID, CreatedAt: s.now().UnixMicro()}
	if slices.Contains(p.Shared, agentpay.ShareName) {
		sh.Name = u.DisplayName
	}
	if slices.Contains(p.Shared, agentpay.ShareEmail) {
		sh.Email = u.Email
	}
	return sh, nil
}

// approveRetries bounds Approve's retries after a version conflict on a
// spend counter (another approval of the same user or grant landed first).
const approveRetries = 5

// Approve prepares and commits an approval, reading the budgets again when
// a concurrent approval consumed them first. The payment's own version is
// rechecked every time, so a payment changed meanwhile is refused.
// Approvals of one user on this node take turns: they consume the same
// budget counters, so running them at once would only make all but one
// lose the version race and retry.
func (s *Service) Approve(ctx context.Context, userID, id string, ev consent.Evidence) (agentpay.Payment, error) {
	mu := &s.userLocks[userStripe(userID)]
	mu.Lock()
	defer mu.Unlock()
	var err error
	for range approveRetries {
		var p agentpay.Payment
		var u *store.Unit
		if p, u, err = s.PrepareApprove(ctx, userID, id, ev); err != nil {
			return p, err
		}
		if err = s.DB.Committer.Submit(ctx, u).Err; err == nil {
			return p, nil
		}
		if agentpay.ErrorCode(err) != "version_conflict" && agentpay.ErrorCode(err) != "already_exists" {
			return agentpay.Payment{}, err
		}
	}
	return agentpay.Payment{}, err
}

// userStripe picks the lock of a user among userLocks.
func userStripe(userID string) int {
	h := fnv.New32a()
	h.Write([]byte(userID))
	return int(h.Sum32() % userLockStripes)
}
