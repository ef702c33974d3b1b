package agentpay

// TransferFlags say what kind of transfer it is.
type TransferFlags uint32

// Transfer flags (after TigerBeetle). At most one may be set: a transfer with
// none is single-phase and posts at once.
const (
	// TransferPending reserves the amount: it counts in the pending balances
	// until a post_pending or void_pending transfer resolves it, or its
	// timeout voids it.
	TransferPending TransferFlags = 1 << 0
	// TransferPostPending posts all or part of a pending transfer.
	TransferPostPending TransferFlags = 1 << 1
	// TransferVoidPending releases a pending transfer.
	TransferVoidPending TransferFlags = 1 << 2
)

// PendingStatus is the state of a pending transfer.
type PendingStatus string

// Pending statuses. A pending transfer leaves open exactly once.
const (
	PendingNone    PendingStatus = "" // not a pending transfer
	PendingOpen    PendingStatus = "open"
	PendingPosted  PendingStatus = "posted"
	PendingVoided  PendingStatus = "voided"
	PendingExpired PendingStatus = "expired"
)

// Limits on transfers.
const (
	TransferIDLengthMax       = 64
	TransferTimeoutSecondsMax = 90 * 24 * 3600 // a hold longer than 90 days is a mistake, not a payment
	ReferenceLengthMax        = 128
)

// Transfer moves Amount of Asset from the debit account to the credit account.
// Its ID is chosen by the client, which makes every transfer idempotent: the
// same id with the same fields returns the first result, a rejection included.
type Transfer struct {
	ID              string
	DebitAccountID  string
	CreditAccountID string
	Amount          int64
	Asset           string
	Flags           TransferFlags
	PendingID       string // for post_pending and void_pending: the pending transfer resolved
	TimeoutSeconds  int64  // for pending: seconds until it is voided; 0 means never
	Reference       string // what the transfer is for, e.g. a payment id
	Code            string // why money moved, e.g. "topup", "payout", "payment"

	// Set by the ledger.
	Timestamp     int64         // microseconds since the Unix epoch when applied; unique per node
	ExpiresAt     int64         // for pending with a timeout: Timestamp + timeout, in microseconds
	PendingStatus PendingStatus // for pending transfers
	Result        string        // "" when applied; the rejection code otherwise
}

// Kind returns the API name of the transfer's kind.
func (t *Transfer) Kind() string {
	switch t.Flags {
	case TransferPending:
		return "pending"
	case TransferPostPending:
		return "post_pending"
	case TransferVoidPending:
		return "void_pending"
	}
	return "single"
}

// SameRequest reports whether t and o ask for the same transfer: the fields a
// client sets are equal. It decides whether a reused id is a retry or a
// conflict.
func (t *Transfer) SameRequest(o *Transfer) bool {
	return t.ID == o.ID && t.DebitAccountID == o.DebitAccountID && t.CreditAccountID == o.CreditAccountID &&
		t.Amount == o.Amount && t.Asset == o.Asset && t.Flags == o.Flags && t.PendingID == o.PendingID &&
		t.TimeoutSeconds == o.TimeoutSeconds && t.Reference == o.Reference && t.Code == o.Code
}
