package agentpay

import (
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// PaymentStatus is where a payment is in its lifecycle:
//
//	requires_approval → approved → authorized → captured → partially_refunded → refunded
//	                  ↘ canceled, declined, expired       ↘ canceled (void), expired (not captured in time)
//	requires_approval or approved → in_review (risk holds it for an operator)
//	in_review → requires_approval (released: the user approves again), declined, canceled, expired
type PaymentStatus string

// Payment statuses.
const (
	PaymentRequiresApproval  PaymentStatus = "requires_approval"
	PaymentApproved          PaymentStatus = "approved"
	PaymentAuthorized        PaymentStatus = "authorized"
	PaymentCaptured          PaymentStatus = "captured"
	PaymentPartiallyRefunded PaymentStatus = "partially_refunded"
	PaymentRefunded          PaymentStatus = "refunded"
	PaymentCanceled          PaymentStatus = "canceled"
	PaymentDeclined          PaymentStatus = "declined"
	PaymentExpired           PaymentStatus = "expired"
	PaymentInReview          PaymentStatus = "in_review"
)

// PaymentStatuses lists every status, for exhaustive tests and validation.
var PaymentStatuses = []PaymentStatus{PaymentRequiresApproval, PaymentApproved, PaymentAuthorized, PaymentCaptured,
	PaymentPartiallyRefunded, PaymentRefunded, PaymentCanceled, PaymentDeclined, PaymentExpired, PaymentInReview}

// PaymentAction is what happens to a payment.
type PaymentAction string

// Payment actions.
const (
	ActionUpdate    PaymentAction = "update"    // the agent or the user changes items or amounts: a new version
	ActionApprove   PaymentAction = "approve"   // the user's passkey approved this exact version
	ActionAuthorize PaymentAction = "authorize" // the hold (a pending transfer) is placed
	ActionCapture   PaymentAction = "capture"   // the merchant takes all or part of the hold
	ActionRefund    PaymentAction = "refund"    // the merchant returns part or all of what it captured
	ActionCancel    PaymentAction = "cancel"    // the user, agent or merchant calls it off before capture
	ActionDecline   PaymentAction = "decline"   // risk control or limits refuse it
	ActionExpire    PaymentAction = "expire"    // not approved, or not captured, in time
	ActionHold      PaymentAction = "hold"      // risk control holds it for an operator's review
	ActionRelease   PaymentAction = "release"   // the operator lets it through: the user must approve (again)
)

// PaymentActions lists every action, for exhaustive tests.
var PaymentActions = []PaymentAction{ActionUpdate, ActionApprove, ActionAuthorize, ActionCapture, ActionRefund,
	ActionCancel, ActionDecline, ActionExpire, ActionHold, ActionRelease}

// Limits of a payment.
const (
	PaymentItemsMax         = 100
	PaymentTextLengthMax    = 500 // description, purpose, item names
	PaymentURLLengthMax     = 2048
	PaymentSKULengthMax     = 100
	PaymentQuantityMax      = 1_000_000
	PaymentReasonLengthMax  = 500
	PaymentApprovalTTL      = 15 * time.Minute   // requires_approval → expired
	PaymentReviewTTL        = 24 * time.Hour     // in_review → expired, if no operator decided
	PaymentAuthorizationTTL = 7 * 24 * time.Hour // authorized → expired (the hold is voided)
	PaymentRefundsMax       = 100                // refunds of one payment
	PaymentSharedFieldsMax  = 3                  // name, email, shipping_address
)

// LineItem is one line of an order. Amounts are minor units of the
// payment's asset.
type LineItem struct {
	Name       string `json:"name"`
	Quantity   int64  `json:"quantity"`
	UnitAmount int64  `json:"unit_amount"`
	SKU        string `json:"sku,omitempty"`
	URL        string `json:"url,omitempty"`
}

// Totals are what the user pays, in minor units: Total = Subtotal + Tax +
// Shipping + Fees + Tip, and Subtotal is the sum of the items.
type Totals struct {
	Subtotal int64 `json:"subtotal"`
	Tax      int64 `json:"tax"`
	Shipping int64 `json:"shipping"`
	Fees     int64 `json:"fees"`
	Tip      int64 `json:"tip"`
	Total    int64 `json:"total"`
}

// Order is what an agent asks the user to pay for: the part of a payment a
// new version may change.
type Order struct {
	Items       []LineItem `json:"items"`
	Totals      Totals     `json:"totals"`
	Description string     `json:"description"`
	Purpose     string     `json:"purpose"` // why the agent buys this, in its own words (unverified)
}

// Actor is who did something to a payment.
type Actor string

// Actors.
const (
	ActorUser     Actor = "user"
	ActorAgent    Actor = "agent"
	ActorMerchant Actor = "merchant"
	ActorSystem   Actor = "system"
)

// Payment is a payment from a user's wallet to a merchant, asked for by an
// agent under a grant.
type Payment struct {
	ID         string // "pay_…"
	Version    int64  // the order's version: 1, then +1 per update; approvals are of one version
	Status     PaymentStatus
	UserID     string
	GrantID    string
	AgentKeyID string
	MerchantID string
	// MandateID names the mandate a payment was charged under, approved by
	// the user once for all its charges; "" for a payment approved itself.
	MandateID string
	Asset     string
	Order
	// Amounts in minor units: what the hold reserved, what the merchant
	// captured, what it refunded.
	Authorized int64
	Captured   int64
	Refunded   int64
	// HoldID is the pending transfer of the authorization.
	HoldID string
	// Shared lists the personal fields the user chose to share with the
	// merchant when approving (name, email).
	Shared            []string
	CancelReason      string
	CanceledBy        Actor
	DeclineCode       string
	ApprovalExpiresAt int64 // microseconds: when requires_approval expires
	CaptureExpiresAt  int64 // microseconds: when an uncaptured hold is voided
	ApprovedAt        int64
	CreatedAt         int64
	UpdatedAt         int64
	Row               int64 // the row's optimistic version (every change), not the order's
}

// Shareable personal fields.
const (
	ShareName  = "name"
	ShareEmail = "email"
)

// Total returns the payment's total as Money.
func (p Payment) Total() Money { return Money{Amount: p.Totals.Total, Asset: p.Asset} }

// Open says whether the payment still waits for the user.
func (p Payment) Open() bool { return p.Status == PaymentRequiresApproval }

// Final says whether nothing more can happen to the payment.
func (p Payment) Final() bool {
	switch p.Status {
	case PaymentRefunded, PaymentCanceled, PaymentDeclined, PaymentExpired:
		return true
	}
	return false
}

// NextStatus is the payment state machine, a pure function: the status
// after action, given the amounts involved. For capture, amount is what is
// captured of the authorized; for refund, amount is refunded so far
// including this refund, of captured. It refuses what the lifecycle does
// not allow with conflict errors (code payment_<status>), and amounts that
// do not fit with invalid ones.
func NextStatus(s PaymentStatus, a PaymentAction, amount, of int64) (PaymentStatus, error) {
	refuse := func() (PaymentStatus, error) {
		return s, Errorf(ECONFLICT, "payment_"+string(s), "a payment that is %s cannot %s", strings.ReplaceAll(string(s), "_", " "), a)
	}
	switch a {
	case ActionUpdate, ActionApprove:
		if s != PaymentRequiresApproval {
			return refuse()
		}
		if a == ActionApprove {
			return PaymentApproved, nil
		}
		return s, nil
	case ActionAuthorize:
		if s != PaymentApproved {
			return refuse()
		}
		return PaymentAuthorized, nil
	case ActionCapture:
		if s != PaymentAuthorized {
			return refuse()
		}
		if amount <= 0 || amount > of {
			return s, ParamErrorf("amount", "invalid_capture_amount", "a capture is more than 0 and at most the %d authorized", of)
		}
		return PaymentCaptured, nil
	case ActionRefund:
		if s != PaymentCaptured && s != PaymentPartiallyRefunded {
			return refuse()
		}
		if amount <= 0 || amount > of {
			return s, ParamErrorf("amount", "refund_exceeds_captured", "refunds total more than 0 and at most the %d captured", of)
		}
		if amount == of {
			return PaymentRefunded, nil
		}
		return PaymentPartiallyRefunded, nil
	case ActionCancel:
		// Before capture: canceling an authorization voids its hold.
		if s != PaymentRequiresApproval && s != PaymentApproved && s != PaymentAuthorized && s != PaymentInReview {
			return refuse()
		}
		return PaymentCanceled, nil
	case ActionDecline:
		if s != PaymentRequiresApproval && s != PaymentApproved && s != PaymentInReview {
			return refuse()
		}
		return PaymentDeclined, nil
	case ActionExpire:
		if s != PaymentRequiresApproval && s != PaymentAuthorized && s != PaymentInReview {
			return refuse()
		}
		return PaymentExpired, nil
	case ActionHold:
		// Before any money is held: a hold on an authorization would
		// leave the user's money reserved while nobody may decide.
		if s != PaymentRequiresApproval && s != PaymentApproved {
			return refuse()
		}
		return PaymentInReview, nil
	case ActionRelease:
		if s != PaymentInReview {
			return refuse()
		}
		return PaymentRequiresApproval, nil
	}
	return s, Errorf(EINVALID, "invalid_action", "unknown payment action %q", a)
}

func validText(s string, max int) bool {
	return len(s) <= max && utf8.ValidString(s) && strings.IndexFunc(s, unicode.IsControl) < 0
}

// Validate checks an order in asset: a known asset, 1 to PaymentItemsMax
// items with names, positive quantities and non-negative unit amounts,
// totals that add up without overflow, a positive total, and bounded text.
// Errors name the API field at fault.
func (o Order) Validate(asset string) error {
	if err := ValidateAssetCode(asset); err != nil {
		return ParamErrorf("asset", "unknown_asset", "unknown asset %q", truncateForMessage(asset))
	}
	if len(o.Items) == 0 || len(o.Items) > PaymentItemsMax {
		return ParamErrorf("items", "invalid_items", "a payment has 1 to %d items", PaymentItemsMax)
	}
	var subtotal int64
	for i, it := range o.Items {
		param := "items[" + strconv.Itoa(i) + "]"
		if it.Name == "" || !validText(it.Name, PaymentTextLengthMax) {
			return ParamErrorf(param+".name", "invalid_item", "each item needs a name of 1 to %d bytes of text", PaymentTextLengthMax)
		}
		if it.Quantity <= 0 || it.Quantity > PaymentQuantityMax {
			return ParamErrorf(param+".quantity", "invalid_item", "quantity must be 1 to %d", PaymentQuantityMax)
		}
		if it.UnitAmount < 0 {
			return ParamErrorf(param+".unit_amount", "invalid_item", "unit_amount must not be negative")
		}
		if !validText(it.SKU, PaymentSKULengthMax) {
			return ParamErrorf(param+".sku", "invalid_item", "sku is at most %d bytes of text", PaymentSKULengthMax)
		}
		if it.URL != "" && (!validText(it.URL, PaymentURLLengthMax) || !(strings.HasPrefix(it.URL, "https://") || strings.HasPrefix(it.URL, "http://"))) {
			return ParamErrorf(param+".url", "invalid_item", "url must be an http(s) URL of at most %d bytes", PaymentURLLengthMax)
		}
		line, err := MulAmount(it.UnitAmount, it.Quantity)
		if err == nil {
			subtotal, err = AddAmounts(subtotal, line)
		}
		if err != nil {
			return ParamErrorf(param, "amount_overflow", "the items' amounts overflow")
		}
	}
	t := o.Totals
	for _, f := range []struct {
		name string
		v    int64
	}{{"subtotal", t.Subtotal}, {"tax", t.Tax}, {"shipping", t.Shipping}, {"fees", t.Fees}, {"tip", t.Tip}, {"total", t.Total}} {
		if f.v < 0 {
			return ParamErrorf("totals."+f.name, "invalid_totals", "totals.%s must not be negative", f.name)
		}
	}
	if t.Subtotal != subtotal {
		return ParamErrorf("totals.subtotal", "totals_mismatch", "totals.subtotal is %d but the items add up to %d", t.Subtotal, subtotal)
	}
	sum := t.Subtotal
	for _, v := range []int64{t.Tax, t.Shipping, t.Fees, t.Tip} {
		var err error
		if sum, err = AddAmounts(sum, v); err != nil {
			return ParamErrorf("totals", "amount_overflow", "the totals overflow")
		}
	}
	if t.Total != sum {
		return ParamErrorf("totals.total", "totals_mismatch", "totals.total is %d but subtotal + tax + shipping + fees + tip is %d", t.Total, sum)
	}
	if t.Total <= 0 {
		return ParamErrorf("totals.total", "invalid_totals", "totals.total must be more than 0")
	}
	if !validText(o.Description, PaymentTextLengthMax) {
		return ParamErrorf("description", "invalid_description", "description is at most %d bytes of text", PaymentTextLengthMax)
	}
	if !validText(o.Purpose, PaymentTextLengthMax) {
		return ParamErrorf("purpose", "invalid_purpose", "purpose is at most %d bytes of text", PaymentTextLengthMax)
	}
	return nil
}
