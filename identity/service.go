package identity

import (
	"context"
	"strings"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
)

// Service holds users: sign-up, reads, wallets and tier limits.
type Service struct {
	DB       *store.DB
	Notifier Notifier         // delivers one-time codes; see LogNotifier for development
	Now      func() time.Time // nil: time.Now
	Limits   agentpay.Limits  // nil: agentpay.DefaultTierLimits()
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// TierLimits returns the limits of every tier in force: Limits, or the
// defaults.
func (s *Service) TierLimits() agentpay.Limits { return s.limits() }

func (s *Service) limits() agentpay.Limits {
	if s.Limits != nil {
		return s.Limits
	}
	return defaultLimits
}

var defaultLimits = agentpay.DefaultTierLimits()

// SignUpRequest is what a person gives to sign up. At least one of Email and
// Phone is required; both may be given, and each must not belong to another
// user. Email is normalized (trimmed, lower case) before it is checked.
type SignUpRequest struct {
	Email       string
	Phone       string
	DisplayName string
	Country     string
}

// Contact keys in user_contacts.
func emailContact(email string) string { return "email:" + email }
func phoneContact(phone string) string { return "phone:" + phone }

// SignUp creates a user at tier 0. An email address or phone number that
// belongs to another user is conflict (user_exists), also when two sign-ups
// race on different nodes: the contact's row key decides.
func (s *Service) SignUp(ctx context.Context, req SignUpRequest) (agentpay.User, error) {
	u := agentpay.User{
		ID:          agentpay.NewID("usr"),
		Email:       agentpay.NormalizeEmail(req.Email),
		Phone:       strings.TrimSpace(req.Phone),
		DisplayName: req.DisplayName,
		Country:     req.Country,
		Tier:        agentpay.TierUnverified,
		CreatedAt:   s.now().UnixMicro(),
		Version:     1,
	}
	if err := u.Validate(); err != nil {
		return agentpay.User{}, err
	}
	unit := &store.Unit{Rows: []store.Row{store.UserRow(u)}}
	var contacts []struct{ key, param string }
	if u.Email != "" {
		contacts = append(contacts, struct{ key, param string }{emailContact(u.Email), "email"})
	}
	if u.Phone != "" {
		contacts = append(contacts, struct{ key, param string }{phoneContact(u.Phone), "phone"})
	}
	for _, c := range contacts {
		unit.Rows = append(unit.Rows, store.UserContactRow(c.key, u.ID, u.CreatedAt))
	}
	res := s.DB.Committer.Submit(ctx, unit)
	if res.Err == nil {
		return u, nil
	}
	if agentpay.ErrorCode(res.Err) != "already_exists" {
		return agentpay.User{}, res.Err
	}
	// Name the field at fault when it can be found; the committer's answer
	// is authoritative either way.
	e := &agentpay.Error{Kind: agentpay.ECONFLICT, Code: "user_exists", Message: "a user with this email address or phone number exists"}
	for _, c := range contacts {
		if owner, err := s.DB.ContactOwner(ctx, c.key); err == nil && owner != "" {
			e.Param = c.param
			break
		}
	}
	return agentpay.User{}, e
}

// User returns a user; an unknown id is not_found (user_not_found).
func (s *Service) User(ctx context.Context, id string) (agentpay.User, error) {
	if !agentpay.ValidID(id) {
		return agentpay.User{}, agentpay.Errorf(agentpay.ENOTFOUND, "user_not_found", "user not found")
	}
	u, err := s.DB.User(ctx, id)
	return u.User, err
}

// WalletID returns the id of a user's wallet in an asset. It is
// deterministic, so that concurrent first uses on any node create one
// account.
func WalletID(userID, asset string) string { return "acc_" + userID + "_" + asset }

// Wallet returns the id of the user's user_wallet account in asset,
// creating it with zero balances on first use.
func (s *Service) Wallet(ctx context.Context, userID, asset string) (string, error) {
	if err := agentpay.ValidateAssetCode(asset); err != nil {
		return "", err
	}
	if _, err := s.User(ctx, userID); err != nil {
		return "", err
	}
	id := WalletID(userID, asset)
	if _, err := s.DB.Account(ctx, id); err == nil {
		return id, nil
	}
	kind := agentpay.AccountUserWallet
	res := s.DB.Committer.Submit(ctx, &store.Unit{Accounts: []agentpay.Account{{
		ID: id, Kind: kind, Asset: asset, Flags: kind.DefaultFlags(), OwnerID: userID}}})
	if res.Err != nil && agentpay.ErrorCode(res.Err) != "account_exists" {
		return "", res.Err
	}
	return id, nil
}

// TopUp credits amount to userID's wallet in its asset (made on first use)
// from the funding account, the outside world, in one transfer with code
// "topup"; reference says why. It returns the wallet's id. It is for
// development servers, tests and load runs: real money arrives through
// the operator API's top-ups.
func (s *Service) TopUp(ctx context.Context, userID string, amount agentpay.Money, reference string) (string, error) {
	wallet, err := s.Wallet(ctx, userID, amount.Asset)
	if err != nil {
		return "", err
	}
	funding, err := s.DB.EnsureSystemAccount(ctx, agentpay.AccountFunding, amount.Asset)
	if err != nil {
		return "", err
	}
	err = s.DB.Committer.Submit(ctx, &store.Unit{Transfers: []agentpay.Transfer{{ID: agentpay.NewID("trf"), DebitAccountID: funding,
		CreditAccountID: wallet, Amount: amount.Amount, Asset: amount.Asset, Code: "topup", Reference: reference}}}).Err
	return wallet, err
}

// Allow decides whether the user's tier lets their agents pay amount, given
// what they already spent today and this month in that asset (see
// agentpay.TierLimits.Allow for the codes). Callers that move money call it
// inside the same decision that consumes a grant or mandate, which may only
// narrow these limits.
func (s *Service) Allow(ctx context.Context, userID string, amount agentpay.Money, spentToday, spentThisMonth int64) error {
	u, err := s.User(ctx, userID)
	if err != nil {
		return err
	}
	return s.limits().Allow(u.Tier, amount.Asset, amount.Amount, spentToday, spentThisMonth)
}
