package risk

// Stages at which the payments service asks for a decision.
const (
	StageCreate  = "create"  // the agent created or modified the payment
	StageApprove = "approve" // the user or a mandate is approving it
)

// Signals are everything a decision may look at. The caller gathers them from
// its counters; the engine only reads them. JSON field names are the names
// rules use: payment.amount, velocity.grant.m1.count, merchant.claim_rate.
//
// Amounts are in the minor units of the payment's asset (Payment.Asset);
// history and velocity amounts are of that asset only, so rules can compare
// them with the payment's amount.
type Signals struct {
	Stage    string          `json:"stage"` // StageCreate or StageApprove
	Payment  PaymentSignals  `json:"payment"`
	User     UserSignals     `json:"user"`
	Velocity VelocitySignals `json:"velocity"`
	Merchant MerchantSignals `json:"merchant"`
	AgentKey AgentKeySignals `json:"agent_key"`
	Intent   IntentSignals   `json:"intent"`
}

// PaymentSignals describe the payment being decided.
type PaymentSignals struct {
	Amount           int64  `json:"amount"`            // the total, minor units
	Asset            string `json:"asset"`             // e.g. "USD", "USDC"
	Items            int64  `json:"items"`             // number of line items
	MerchantCategory string `json:"merchant_category"` // ISO 18245 MCC, four digits
	// Mandate: charged under a mandate the user approved with a passkey
	// (no tap for this payment). MandatePayee: that mandate names this
	// very merchant (not only its category), so the user chose the payee.
	Mandate      bool `json:"mandate"`
	MandatePayee bool `json:"mandate_payee"`
}

// UserSignals describe the paying user: their history in the payment's asset
// (see Bucket and Quantile for how the caller keeps it) and their tier.
type UserSignals struct {
	HistoryCount  int64 `json:"history_count"`  // earlier payments of this user in this asset
	HistoryMedian int64 `json:"history_median"` // their median amount, 0 without history
	HistoryP95    int64 `json:"history_p95"`    // their 95th percentile amount, 0 without history
	Tier          int64 `json:"tier"`           // agentpay.Tier
	// TierPerPayment is the tier's limit for one payment in this asset. As in
	// agentpay.TierLimits, 0 allows nothing.
	TierPerPayment int64 `json:"tier_per_payment"`
}

// Window is a velocity over one window: the number of payments in it and
// their total amount in minor units. Both count other payments only, never
// the one being decided, so "more than 10 a minute" is m1.count >= 10.
type Window struct {
	Count  int64 `json:"count"`
	Amount int64 `json:"amount"`
}

// Velocity is one subject's velocity over the last minute, hour and day.
type Velocity struct {
	M1 Window `json:"m1"`
	H1 Window `json:"h1"`
	D1 Window `json:"d1"`
}

// VelocitySignals hold the velocities of each subject the payment touches.
type VelocitySignals struct {
	Grant    Velocity `json:"grant"`
	AgentKey Velocity `json:"agent_key"`
	User     Velocity `json:"user"`
	Merchant Velocity `json:"merchant"`
}

// MerchantSignals describe the payee, as seen by this user and by everyone.
type MerchantSignals struct {
	FirstPayment    bool    `json:"first_payment"`    // this user never paid this merchant before
	CategoryAllowed bool    `json:"category_allowed"` // the grant's categories allow it, or it has none
	Captures30d     int64   `json:"captures_30d"`     // captured payments in the last 30 days
	Claims30d       int64   `json:"claims_30d"`       // compensation claims in the last 30 days
	ClaimRate       float64 `json:"claim_rate"`       // Claims30d / Captures30d, 0 without captures
}

// AgentKeySignals describe the agent key that signed the request, across
// every user it pays for: one key paying for many users is a stolen key.
type AgentKeySignals struct {
	UsersH1      int64   `json:"users_h1"`      // distinct users paying through it in the last hour
	UsersD1      int64   `json:"users_d1"`      // and in the last day
	Decisions24h int64   `json:"decisions_24h"` // risk decisions about its payments in the last 24 hours
	Denies24h    int64   `json:"denies_24h"`    // of which were Deny
	DenyRate     float64 `json:"deny_rate"`     // Denies24h / Decisions24h, 0 without decisions
	Claims30d    int64   `json:"claims_30d"`
	Captures30d  int64   `json:"captures_30d"`
	ClaimRate    float64 `json:"claim_rate"` // Claims30d / Captures30d, 0 without captures
}

// IntentSignals compare what the agent said it was buying with what it is
// paying for (see IntentOverlap): the defence against an agent talked into
// paying someone else by a prompt injection.
type IntentSignals struct {
	Purpose  string  `json:"purpose"`  // the agent's stated purpose
	Mismatch bool    `json:"mismatch"` // nothing of the purpose appears in the merchant or items
	Overlap  float64 `json:"overlap"`  // the fraction of the purpose's words that do
}
