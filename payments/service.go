// Package payments runs the payment lifecycle: an agent creates a payment
// under its grant, the user approves that exact version with a passkey (or
// modifies or cancels it), the approval holds the money (a pending ledger
// transfer), and the merchant captures, voids or refunds.
//
// Every operation is a Prepare-style function: it reads, decides with the
// pure state machine (agentpay.NextStatus) and returns the payment as it
// will be and the unit of work that makes it so — the payment's versioned
// update, its ledger transfers, its event and webhook delivery, spend
// counters and approval evidence — so the caller can add its idempotency
// record and nonce and submit once. Nothing here writes on its own except
// the Submit helpers.
package payments

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/identity"
	"github.com/agentpay/agentpay/risk"
	"github.com/agentpay/agentpay/store"
)

// Outbox adds what delivers an event to the merchant (webhook.Enqueue) to
// the event's unit of work.
type Outbox func(u *store.Unit, e store.Event, m store.StoredMerchant, now time.Time)

// Service runs payments over a store.
type Service struct {
	DB       *store.DB
	Identity *identity.Service
	Outbox   Outbox           // nil: events are only stored
	Risk     *risk.Engine     // nil: an engine of its own with the built-in rules
	Now      func() time.Time // nil: time.Now
	// ApprovalTTL and AuthorizationTTL override the defaults
	// (agentpay.PaymentApprovalTTL, agentpay.PaymentAuthorizationTTL).
	ApprovalTTL, AuthorizationTTL time.Duration
	// ProtectionFeeBPS is the fee, in basis points of each capture, that the
	// merchant pays into the protection fund in the capture's linked group
	// (0: DefaultProtectionFeeBPS; negative: none). ProtectionFeeMin is its
	// least amount in minor units when the capture is not zero.
	ProtectionFeeBPS int64
	ProtectionFeeMin int64

	userLocks [userLockStripes]sync.Mutex // see Approve
	riskOnce  sync.Once
	past      pastBuckets // risk counters that no longer change

	payerKeyMu sync.Mutex
	payerKey   []byte
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) approvalTTL() time.Duration {
	if s.ApprovalTTL > 0 {
		return s.ApprovalTTL
	}
	return agentpay.PaymentApprovalTTL
}

func (s *Service) authorizationTTL() time.Duration {
	if s.AuthorizationTTL > 0 {
		return s.AuthorizationTTL
	}
	return agentpay.PaymentAuthorizationTTL
}

// userLockStripes is how many locks the users' approvals share on a node.
const userLockStripes = 256

// holdBackstop is how long after the capture window the ledger itself voids
// a hold: the payments expiry job voids it at the window and marks the
// payment expired; the ledger's timeout only matters if that job never ran.
const holdBackstop = time.Hour

// payerKeySetting names the key of pseudonymous payer ids in settings.
const payerKeySetting = "payments.payer_key"

// PayerID returns the pseudonym merchantID knows userID by: stable for the
// pair, different for every merchant, and not linkable to the user without
// the server's key.
func (s *Service) PayerID(ctx context.Context, merchantID, userID string) (string, error) {
	key, err := s.payerKeyOf(ctx)
	if err != nil {
		return "", err
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(merchantID + "\x00" + userID))
	sum := m.Sum(nil)
	return "pyr_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:16])), nil
}

// payerKeyOf returns the key of payer pseudonyms, made once for the
// deployment and kept in settings; a failed read is tried again next time.
func (s *Service) payerKeyOf(ctx context.Context) ([]byte, error) {
	s.payerKeyMu.Lock()
	defer s.payerKeyMu.Unlock()
	if s.payerKey != nil {
		return s.payerKey, nil
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	v, _, err := s.DB.InitSetting(ctx, payerKeySetting, hex.EncodeToString(b[:]))
	if err != nil {
		return nil, err
	}
	key, err := hex.DecodeString(v)
	if err != nil {
		return nil, fmt.Errorf("payments: stored payer key: %w", err)
	}
	s.payerKey = key
	return key, nil
}

// read returns the payment id names; malformed ids are not_found too.
func (s *Service) read(ctx context.Context, id string) (agentpay.Payment, error) {
	if !strings.HasPrefix(id, "pay_") || !agentpay.ValidID(id) {
		return agentpay.Payment{}, agentpay.Errorf(agentpay.ENOTFOUND, "payment_not_found", "payment not found")
	}
	return s.DB.Payment(ctx, id)
}

// Operator returns any payment, for the operator.
func (s *Service) Operator(ctx context.Context, id string) (agentpay.Payment, error) {
	return s.read(ctx, id)
}

// ForAgent returns a payment made under grantID; another grant's payment is
// not_found.
func (s *Service) ForAgent(ctx context.Context, grantID, id string) (agentpay.Payment, error) {
	p, err := s.read(ctx, id)
	if err == nil && p.GrantID != grantID {
		err = agentpay.Errorf(agentpay.ENOTFOUND, "payment_not_found", "payment not found")
	}
	return p, err
}

// ForUser returns a payment of userID; another user's is not_found.
func (s *Service) ForUser(ctx context.Context, userID, id string) (agentpay.Payment, error) {
	p, err := s.read(ctx, id)
	if err == nil && p.UserID != userID {
		err = agentpay.Errorf(agentpay.ENOTFOUND, "payment_not_found", "payment not found")
	}
	return p, err
}

// ForMerchant returns a payment to merchantID; another merchant's is
// not_found.
func (s *Service) ForMerchant(ctx context.Context, merchantID, id string) (agentpay.Payment, error) {
	p, err := s.read(ctx, id)
	if err == nil && p.MerchantID != merchantID {
		err = agentpay.Errorf(agentpay.ENOTFOUND, "payment_not_found", "payment not found")
	}
	return p, err
}

// Topic is the bus topic woken when a payment changes.
func Topic(paymentID string) string { return "payment:" + paymentID }

// UserTopic is the bus topic woken when any payment of a user changes.
func UserTopic(userID string) string { return "user_payments:" + userID }

// eventData is what an event says: ids, amounts and statuses only.
type eventData struct {
	Payment    string `json:"payment"`
	Status     string `json:"status"`
	Version    int64  `json:"version"`
	Asset      string `json:"asset"`
	Total      int64  `json:"total"`
	Authorized int64  `json:"authorized"`
	Captured   int64  `json:"captured"`
	Refunded   int64  `json:"refunded"`
	Amount     int64  `json:"amount,omitempty"` // of this capture or refund
	Refund     string `json:"refund,omitempty"`
	Reason     string `json:"reason,omitempty"`
}

// emit adds the event of a change to p (whose Row is the version written
// by the unit) and its webhook delivery, and wakes waiters on commit.
func (s *Service) emit(u *store.Unit, m store.StoredMerchant, p agentpay.Payment, typ string, amount int64, refund string) {
	data, err := json.Marshal(eventData{Payment: p.ID, Status: string(p.Status), Version: p.Version, Asset: p.Asset,
		Total: p.Totals.Total, Authorized: p.Authorized, Captured: p.Captured, Refunded: p.Refunded, Amount: amount,
		Refund: refund, Reason: p.DeclineCode})
	if err != nil {
		panic("payments: encode event: " + err.Error()) // plain structs always encode
	}
	now := s.now()
	e := store.Event{ID: agentpay.NewID("evt"), ObjectID: p.ID, MerchantID: p.MerchantID, UserID: p.UserID, Type: typ,
		Seq: p.Row, Data: string(data), CreatedAt: now.UnixMicro()}
	u.Rows = append(u.Rows, e.Row())
	if s.Outbox != nil {
		s.Outbox(u, e, m, now)
	}
	u.Notify = append(u.Notify, Topic(p.ID), UserTopic(p.UserID))
}

// change returns the unit that writes p over the row as read and emits
// its event; p.Row becomes the version written.
func (s *Service) change(m store.StoredMerchant, p *agentpay.Payment, typ string, amount int64, refund string) *store.Unit {
	p.UpdatedAt = s.now().UnixMicro()
	u := &store.Unit{Updates: []store.Update{store.PaymentUpdate(*p)}}
	p.Row++
	s.emit(u, m, *p, typ, amount, refund)
	return u
}

// Commit commits a prepared unit, for callers without an idempotency
// record of their own, and returns the payment as committed.
func (s *Service) Commit(ctx context.Context, p agentpay.Payment, u *store.Unit) (agentpay.Payment, error) {
	if err := s.DB.Committer.Submit(ctx, u).Err; err != nil {
		return agentpay.Payment{}, err
	}
	return p, nil
}
