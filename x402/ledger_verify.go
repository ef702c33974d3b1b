package x402

import (
	"context"
	"crypto/ed25519"
	"errors"
	"time"
)

// LedgerVerifier checks ledger-scheme payments for a facilitator: the
// authorization against the requirements, its time window and its
// signature. It does not move money or remember nonces: the facilitator
// records LedgerPayment.Nonce with the transfer, in one unit of work, so a
// nonce settles at most once.
type LedgerVerifier struct {
	// Keys returns the public key whose thumbprint is keyID, or nil (and no
	// error) if there is none. Other errors are returned from Verify and
	// VerifySettle unchanged: the facilitator could not decide.
	Keys func(ctx context.Context, keyID string) (ed25519.PublicKey, error)
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// LedgerPayment is a verified ledger-scheme payment.
type LedgerPayment struct {
	Authorization Authorization
	// Payer is Authorization.From, the payer's key id.
	Payer string
	// Amount is what to move: Value for exact; for upto, at verify time the
	// maximum and at settle time the requirements' amount (the usage).
	Amount int64
	// Nonce is the nonce's bytes: with Payer, the replay key to record.
	Nonce [32]byte
}

// Verify checks req as POST /verify does. The returned error is an *Error
// whose Reason is the invalidReason to answer with, unless Keys failed.
func (v *LedgerVerifier) Verify(ctx context.Context, req *FacilitatorRequest) (*LedgerPayment, error) {
	return v.verify(ctx, req, false)
}

// VerifySettle checks req as POST /settle does before moving money. It
// differs from Verify only for upto, where the requirements' amount is the
// usage to settle, which may be anything from 0 to the authorized maximum.
func (v *LedgerVerifier) VerifySettle(ctx context.Context, req *FacilitatorRequest) (*LedgerPayment, error) {
	return v.verify(ctx, req, true)
}

func (v *LedgerVerifier) verify(ctx context.Context, req *FacilitatorRequest, settle bool) (*LedgerPayment, error) {
	if v.Keys == nil {
		return nil, errors.New("x402: LedgerVerifier.Keys is nil")
	}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	r := &req.PaymentRequirements
	if !IsLedgerScheme(r.Scheme) {
		return nil, errorf(ReasonUnsupportedScheme, "the ledger supports the schemes exact and upto")
	}
	if !IsLedgerNetwork(r.Network) {
		return nil, errorf(ReasonInvalidNetwork, "the ledger's networks are agentpay:<ledger id>")
	}
	p, err := ParseLedgerPayload(req.PaymentPayload.Payload)
	if err != nil {
		return nil, err
	}
	a := &p.Authorization
	if err := checkAgainst(a, req, settle); err != nil {
		return nil, err
	}
	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	if err := a.CheckTime(now); err != nil {
		return nil, err
	}
	key, err := v.Keys(ctx, a.From)
	if err != nil {
		return nil, err
	}
	if key == nil {
		return nil, errorf(ReasonLedgerPayer, "no agent key has the thumbprint in from")
	}
	if err := VerifyAuthorization(a, p.Signature, key); err != nil {
		return nil, err
	}
	nonce, _ := a.NonceBytes()
	amount := a.ValueAmount()
	if settle && a.Scheme == SchemeUpto {
		amount, _ = parseAmount64(r.Amount)
	}
	return &LedgerPayment{Authorization: *a, Payer: a.From, Amount: amount, Nonce: nonce}, nil
}

// checkAgainst checks that the authorization is for what the requirements
// ask: the same scheme, network, asset and payee, the resource the payload
// names, and the amount.
func checkAgainst(a *Authorization, req *FacilitatorRequest, settle bool) error {
	r := &req.PaymentRequirements
	switch {
	case a.Scheme != r.Scheme:
		return errorf(ReasonLedgerSchemeMismatch, "the authorization is for scheme %s", quoteShort(a.Scheme))
	case a.Network != r.Network:
		return errorf(ReasonLedgerNetworkMismatch, "the authorization is for network %s", quoteShort(a.Network))
	case a.Asset != r.Asset:
		return errorf(ReasonLedgerAssetMismatch, "the authorization is for asset %s", quoteShort(a.Asset))
	case a.To != r.PayTo:
		return errorf(ReasonLedgerRecipientMismatch, "the authorization pays %s, not payTo", quoteShort(a.To))
	}
	if res := req.PaymentPayload.Resource; res != nil && res.URL != "" && res.URL != a.Resource {
		return errorf(ReasonLedgerResourceMismatch, "the authorization is for another resource")
	}
	if a.Scheme == SchemeUpto && settle {
		usage, ok := parseAmount64(r.Amount)
		if !ok {
			return errorf(ReasonInvalidPaymentRequirements, "amount to settle must fit in 64 bits")
		}
		if usage > a.ValueAmount() {
			return errorf(ReasonLedgerSettleAmountExceeded, "the amount to settle exceeds the authorized maximum %s", a.Value)
		}
		return nil
	}
	if a.Value != r.Amount {
		return errorf(ReasonLedgerValueMismatch, "the authorization is for %s, the requirements ask %s", a.Value, quoteShort(r.Amount))
	}
	return nil
}
