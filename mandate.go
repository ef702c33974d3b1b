package agentpay

import (
	"slices"
	"strings"
	"time"
)

// A mandate is what lets money move without a passkey tap each time
// (DESIGN §5): terms the user approved once with a passkey — one payee or
// some merchant categories, an amount per payment, a budget per period, a
// validity window — under which payments are charged, each consuming the
// budget inside its own unit of work. Subscriptions, tips, AP2 open
// mandates and x402 budgets are all mandates.

// MandateKind says what a mandate is for.
type MandateKind string

// Mandate kinds.
const (
	MandateSubscription MandateKind = "subscription" // recurring charges by one merchant
	MandateTips         MandateKind = "tips"         // small tips an agent gives on the user's behalf
	MandateOpen         MandateKind = "open"         // an agent's purchases within limits (AP2 open mandates, x402 budgets)
)

// MandateStatus is where a mandate is in its life.
type MandateStatus string

// Mandate statuses: a mandate is proposed (requires_approval), approved by
// the user's passkey (active), and may be paused and resumed or revoked by
// the user at any time; it expires at its end.
const (
	MandateRequiresApproval MandateStatus = "requires_approval"
	MandateActive           MandateStatus = "active"
	MandatePaused           MandateStatus = "paused"
	MandateRevoked          MandateStatus = "revoked"
	MandateExpired          MandateStatus = "expired"
)

// Limits of a mandate.
const (
	MandateDescriptionLengthMax = 500
	MandateApprovalTTL          = 24 * time.Hour // a proposal not approved by then is expired
)

// Mandate is a user's standing permission for charges.
type Mandate struct {
	ID            string // "man_…"
	Kind          MandateKind
	UserID        string
	GrantID       string   // the agent that proposed it or charges under it; "" if a merchant proposed it
	MerchantID    string   // the one payee; "" means any merchant of Categories
	Categories    []string // merchant category codes, with MerchantID ""; a tips mandate with neither: any merchant
	Asset         string
	PerPaymentMax int64    // no single charge above this
	Budget        int64    // at most this charged per Period
	Period        Interval // the budget's period, anchored at StartsAt in TimeZone
	TimeZone      string   // IANA name: whose calendar the periods follow
	StartsAt      int64    // microseconds; charges before it are refused
	EndsAt        int64    // microseconds; 0: until revoked
	Description   string   // what the user reads when approving
	Status        MandateStatus
	ApprovedAt    int64
	CreatedAt     int64
	UpdatedAt     int64
	Row           int64 // the row's version
}

// Validate checks a mandate's terms.
func (m Mandate) Validate() error {
	if !strings.HasPrefix(m.ID, "man_") || !ValidID(m.ID) {
		return ParamErrorf("id", "invalid_id", "a mandate id is \"man_\" and letters or digits")
	}
	switch m.Kind {
	case MandateSubscription, MandateTips, MandateOpen:
	default:
		return ParamErrorf("kind", "invalid_kind", "kind is subscription, tips or open")
	}
	if m.UserID == "" || !ValidID(m.UserID) {
		return ParamErrorf("user", "invalid_id", "a mandate needs its user")
	}
	if m.GrantID != "" && !ValidID(m.GrantID) {
		return ParamErrorf("grant", "invalid_id", "grant is not a grant id")
	}
	// Only tips may name no payee: the tip budget a user sets when linking
	// an agent covers whatever the agent's grant may pay, and the grant
	// still bounds every charge. Money for goods always names its payees.
	switch {
	case m.MerchantID != "" && len(m.Categories) > 0:
		return ParamErrorf("categories", "invalid_payee", "a mandate names one merchant or some categories, not both")
	case m.MerchantID == "" && len(m.Categories) == 0 && m.Kind != MandateTips:
		return ParamErrorf("merchant", "invalid_payee", "a mandate names its merchant or the merchant categories it may pay")
	case m.MerchantID != "" && (!strings.HasPrefix(m.MerchantID, "mer_") || !ValidID(m.MerchantID)):
		return ParamErrorf("merchant", "invalid_id", "merchant is not a merchant id")
	}
	if err := ValidateCategories("categories", m.Categories); err != nil {
		return err
	}
	if m.Kind == MandateSubscription && m.MerchantID == "" {
		return ParamErrorf("merchant", "invalid_payee", "a subscription is with one merchant")
	}
	if err := ValidateAssetCode(m.Asset); err != nil {
		return ParamErrorf("asset", "unknown_asset", "unknown asset")
	}
	if m.PerPaymentMax <= 0 {
		return ParamErrorf("per_payment_max", "invalid_amount", "per_payment_max must be more than 0")
	}
	if m.Budget < m.PerPaymentMax {
		return ParamErrorf("budget", "invalid_amount", "budget must be at least per_payment_max")
	}
	if err := m.Period.Validate("period"); err != nil {
		return err
	}
	if _, err := LoadLocation("time_zone", m.TimeZone); err != nil {
		return err
	}
	if m.StartsAt <= 0 || (m.EndsAt != 0 && m.EndsAt <= m.StartsAt) {
		return ParamErrorf("ends_at", "invalid_window", "a mandate starts at a time and, if it ends, ends after it starts")
	}
	if m.Description == "" || !validText(m.Description, MandateDescriptionLengthMax) {
		return ParamErrorf("description", "invalid_description", "a description of 1 to %d bytes of text is what the user approves", MandateDescriptionLengthMax)
	}
	return nil
}

// Allows checks one charge against the mandate's terms, the budget
// excepted (that is counted in the charge's unit of work): the status, the
// window, the payee, the asset and the amount per payment.
func (m Mandate) Allows(merchantID, mcc, asset string, amount int64, at time.Time) error {
	switch m.Status {
	case MandateActive:
	case MandateRequiresApproval:
		return Errorf(ECONFLICT, "mandate_not_approved", "the user has not approved this mandate")
	default:
		return Errorf(ECONFLICT, "mandate_"+string(m.Status), "the mandate is %s", m.Status)
	}
	us := at.UnixMicro()
	if us < m.StartsAt {
		return Errorf(ECONFLICT, "mandate_not_started", "the mandate starts later")
	}
	if m.EndsAt != 0 && us >= m.EndsAt {
		return Errorf(ECONFLICT, "mandate_expired", "the mandate ended")
	}
	if m.MerchantID == "" && len(m.Categories) == 0 && m.Kind != MandateTips {
		// Validate refuses such a mandate; one read from elsewhere pays no one.
		return ParamErrorf("merchant", "payee_not_in_mandate", "the mandate names no payee")
	}
	if m.MerchantID != "" && merchantID != m.MerchantID {
		return ParamErrorf("merchant", "payee_not_in_mandate", "the mandate does not cover this merchant")
	}
	if len(m.Categories) > 0 && !slices.Contains(m.Categories, mcc) {
		return ParamErrorf("merchant", "payee_not_in_mandate", "the mandate does not cover merchant category %s", mcc)
	}
	if asset != m.Asset {
		return ParamErrorf("asset", "asset_not_in_mandate", "the mandate is in %s", m.Asset)
	}
	if amount <= 0 || amount > m.PerPaymentMax {
		return ParamErrorf("amount", "exceeds_mandate_per_payment", "a charge under this mandate is more than 0 and at most %d", m.PerPaymentMax)
	}
	return nil
}

// BudgetPeriod returns the start and end of the budget period holding at.
func (m Mandate) BudgetPeriod(at time.Time) (start, end time.Time, err error) {
	if err := m.Period.Validate("period"); err != nil { // PeriodOf panics on an invalid one
		return start, end, err
	}
	loc, err := LoadLocation("time_zone", m.TimeZone)
	if err != nil {
		return start, end, err
	}
	_, start, end, ok := m.Period.PeriodOf(time.UnixMicro(m.StartsAt), at, loc)
	if !ok {
		return start, end, Errorf(ECONFLICT, "mandate_not_started", "the mandate starts later")
	}
	return start, end, nil
}
