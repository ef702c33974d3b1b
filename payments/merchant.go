package payments

import (
	"context"
	"math/bits"
	"sync"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/identity"
	"github.com/agentpay/agentpay/store"
)

// PrepareCapture takes amount of an authorized payment (0: all of it) for
// its merchant: the hold is posted for amount and the rest released, in
// one ledger transfer. A second capture is refused by the lifecycle, and a
// capture racing an expiry or a void is decided by the ledger: only one of
// them resolves the hold.
func (s *Service) PrepareCapture(ctx context.Context, merchantID, id string, amount int64) (agentpay.Payment, *store.Unit, error) {
	p, err := s.ForMerchant(ctx, merchantID, id)
	if err != nil {
		return p, nil, err
	}
	if amount == 0 && p.Status == agentpay.PaymentAuthorized {
		amount = p.Authorized
	}
	next, err := agentpay.NextStatus(p.Status, agentpay.ActionCapture, amount, p.Authorized)
	if err != nil {
		return p, nil, err
	}
	m, err := s.DB.Merchant(ctx, merchantID)
	if err != nil {
		return p, nil, err
	}
	if s.now().UnixMicro() >= p.CaptureExpiresAt {
		return p, nil, agentpay.Errorf(agentpay.ECONFLICT, "authorization_expired", "the authorization expired; the hold is released")
	}
	fee := ProtectionFee(amount, s.ProtectionFeeBPS, s.ProtectionFeeMin)
	fund := ""
	if fee > 0 {
		if fund, err = s.EnsureProtectionFund(ctx, p.Asset); err != nil {
			return p, nil, err
		}
	}
	p.Status, p.Captured = next, amount
	u := s.change(m, &p, "payment.captured", amount, "")
	u.Transfers = append(u.Transfers, agentpay.Transfer{ID: agentpay.NewID("capt"), PendingID: p.HoldID,
		Flags: agentpay.TransferPostPending, Amount: amount, Asset: p.Asset, Reference: p.ID, Code: "payment_capture"})
	if fee > 0 {
		// In the capture's linked group, after the post that credits the
		// merchant: the fee lands with the capture or not at all.
		u.Transfers = append(u.Transfers, agentpay.Transfer{ID: agentpay.NewID("pfee"),
			DebitAccountID: MerchantAccountID(merchantID, p.Asset), CreditAccountID: fund, Amount: fee, Asset: p.Asset,
			Reference: p.ID, Code: "protection_fee"})
	}
	// The denominators of the merchant's and the agent key's claim rates.
	u.Counts = append(u.Counts, CaptureCounts(p, s.now())...)
	return p, u, nil
}

// DefaultProtectionFeeBPS is the protection fee when Service.ProtectionFeeBPS
// is 0: 10 basis points (0.1 %) of each capture.
const DefaultProtectionFeeBPS = 10

// ProtectionFee returns the fee a merchant pays into the protection fund on
// a capture of amount (DESIGN §4): amount × bps / 10,000 rounded half up to
// the minor unit, at least least when amount is not 0, never more than
// amount. bps 0 means DefaultProtectionFeeBPS and a negative bps no fee.
func ProtectionFee(amount, bps, least int64) int64 {
	if bps == 0 {
		bps = DefaultProtectionFeeBPS
	}
	if amount <= 0 || bps < 0 {
		return 0
	}
	// 128-bit product: amount × bps can exceed int64 for large amounts.
	hi, lo := bits.Mul64(uint64(amount), uint64(bps))
	lo, carry := bits.Add64(lo, 5_000, 0)
	hi += carry
	fee := amount
	if hi < 10_000 { // else the quotient does not fit in 64 bits
		if q, _ := bits.Div64(hi, lo, 10_000); q < uint64(amount) {
			fee = int64(q)
		}
	}
	return max(fee, min(least, amount)) // a least above amount is capped at amount
}

// ProtectionFundID is the id of the protection fund's account in asset.
func ProtectionFundID(asset string) string {
	return agentpay.SystemAccountID(agentpay.AccountProtectionFund, asset)
}

var funds sync.Map // fundKey -> struct{}: created, or found to exist

type fundKey struct {
	db *store.DB
	id string
}

// EnsureProtectionFund creates the protection fund's account in asset if it
// does not exist yet, and returns its id. Unlike the other system accounts
// it has no balance flag: the fund is the operator's guarantee, so a user
// is made whole even when the fees collected so far do not cover a claim
// (its balance then goes negative, like funding's).
func (s *Service) EnsureProtectionFund(ctx context.Context, asset string) (string, error) {
	id := ProtectionFundID(asset)
	if _, ok := funds.Load(fundKey{s.DB, id}); ok {
		return id, nil
	}
	if err := agentpay.ValidateAssetCode(asset); err != nil {
		return "", err
	}
	res := s.DB.Committer.Submit(ctx, &store.Unit{Accounts: []agentpay.Account{{ID: id,
		Kind: agentpay.AccountProtectionFund, Asset: asset, Flags: 0}}})
	if res.Err != nil && agentpay.ErrorCode(res.Err) != "account_exists" {
		return "", res.Err
	}
	funds.Store(fundKey{s.DB, id}, struct{}{})
	return id, nil
}

// PrepareVoid releases an authorized payment's hold at its merchant's
// request: the payment is canceled by the merchant.
func (s *Service) PrepareVoid(ctx context.Context, merchantID, id, reason string) (agentpay.Payment, *store.Unit, error) {
	p, err := s.ForMerchant(ctx, merchantID, id)
	if err != nil {
		return p, nil, err
	}
	if p.Status != agentpay.PaymentAuthorized {
		_, err := agentpay.NextStatus(p.Status, agentpay.ActionCapture, 1, 1) // the same refusal as a capture
		if err == nil {
			err = agentpay.Errorf(agentpay.ECONFLICT, "payment_"+string(p.Status), "only an authorized payment can be voided")
		}
		return p, nil, err
	}
	return s.PrepareCancel(ctx, agentpay.ActorMerchant, p, reason)
}

// PrepareRefund returns amount of a captured payment to the user's wallet
// from the merchant's account. Refunds add up to at most what was captured;
// a merchant whose balance cannot cover one is refused (exceeds_credits)
// and nothing moves.
func (s *Service) PrepareRefund(ctx context.Context, merchantID, id string, amount int64, reason string) (agentpay.Payment, store.Refund, *store.Unit, error) {
	p, err := s.ForMerchant(ctx, merchantID, id)
	if err != nil {
		return p, store.Refund{}, nil, err
	}
	if len(reason) > agentpay.PaymentReasonLengthMax {
		return p, store.Refund{}, nil, agentpay.ParamErrorf("reason", "invalid_reason", "reason is at most %d bytes", agentpay.PaymentReasonLengthMax)
	}
	if amount <= 0 {
		return p, store.Refund{}, nil, agentpay.ParamErrorf("amount", "invalid_amount", "amount must be more than 0")
	}
	total, err := agentpay.AddAmounts(p.Refunded, amount)
	if err != nil {
		return p, store.Refund{}, nil, agentpay.ParamErrorf("amount", "refund_exceeds_captured", "refunds would exceed the captured amount")
	}
	next, err := agentpay.NextStatus(p.Status, agentpay.ActionRefund, total, p.Captured)
	if err != nil {
		return p, store.Refund{}, nil, err
	}
	refunds, err := s.DB.Refunds(ctx, p.ID)
	if err != nil {
		return p, store.Refund{}, nil, err
	}
	if len(refunds) >= agentpay.PaymentRefundsMax {
		return p, store.Refund{}, nil, agentpay.Errorf(agentpay.ECONFLICT, "too_many_refunds", "a payment has at most %d refunds", agentpay.PaymentRefundsMax)
	}
	m, err := s.DB.Merchant(ctx, merchantID)
	if err != nil {
		return p, store.Refund{}, nil, err
	}
	now := s.now()
	r := store.Refund{ID: agentpay.NewID("ref"), PaymentID: p.ID, MerchantID: merchantID, Amount: amount, Asset: p.Asset,
		Reason: reason, CreatedAt: now.UnixMicro()}
	r.TransferID = "rfnd_" + r.ID[len("ref_"):]
	p.Status, p.Refunded = next, total
	u := s.change(m, &p, "payment.refunded", amount, r.ID)
	u.Rows = append(u.Rows, r.Row())
	u.Transfers = append(u.Transfers, agentpay.Transfer{ID: r.TransferID, DebitAccountID: MerchantAccountID(merchantID, p.Asset),
		CreditAccountID: identity.WalletID(p.UserID, p.Asset), Amount: amount, Asset: p.Asset, Reference: p.ID, Code: "payment_refund"})
	return p, r, u, nil
}
