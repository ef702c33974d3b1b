package agentpay

// AccountKind says what an account is for. It decides the account's default
// flags and who may own it.
type AccountKind string

// Account kinds.
const (
	AccountUserWallet      AccountKind = "user_wallet"
	AccountMerchant        AccountKind = "merchant"
	AccountMerchantReserve AccountKind = "merchant_reserve"
	AccountProtectionFund  AccountKind = "protection_fund"
	AccountFees            AccountKind = "fees"
	AccountFunding         AccountKind = "funding" // the outside world: top-ups come from it, payouts go to it
)

// Valid reports whether k is a known kind.
func (k AccountKind) Valid() bool {
	switch k {
	case AccountUserWallet, AccountMerchant, AccountMerchantReserve, AccountProtectionFund, AccountFees, AccountFunding:
		return true
	}
	return false
}

// DefaultFlags returns the flags an account of this kind gets when none are
// given. Every account that holds somebody's money may not go negative; only
// funding, the mirror of the outside world, may.
func (k AccountKind) DefaultFlags() AccountFlags {
	if k == AccountFunding {
		return 0
	}
	return AccountDebitsMustNotExceedCredits
}

// AccountFlags constrain an account's balance.
type AccountFlags uint32

// Account flags (after TigerBeetle).
const (
	// AccountDebitsMustNotExceedCredits refuses any transfer that would make
	// debits_pending + debits_posted exceed credits_posted.
	AccountDebitsMustNotExceedCredits AccountFlags = 1 << 0
	// AccountCreditsMustNotExceedDebits refuses any transfer that would make
	// credits_pending + credits_posted exceed debits_posted.
	AccountCreditsMustNotExceedDebits AccountFlags = 1 << 1

	accountFlagsAll = AccountDebitsMustNotExceedCredits | AccountCreditsMustNotExceedDebits
)

// Valid reports whether f holds only known flags and not both of them.
func (f AccountFlags) Valid() bool {
	return f&^accountFlagsAll == 0 && f != accountFlagsAll
}

// Names returns the flags' names as used in the API.
func (f AccountFlags) Names() []string {
	names := []string{}
	if f&AccountDebitsMustNotExceedCredits != 0 {
		names = append(names, "debits_must_not_exceed_credits")
	}
	if f&AccountCreditsMustNotExceedDebits != 0 {
		names = append(names, "credits_must_not_exceed_debits")
	}
	return names
}

// ParseAccountFlags is the inverse of Names.
func ParseAccountFlags(names []string) (AccountFlags, error) {
	var f AccountFlags
	for _, n := range names {
		switch n {
		case "debits_must_not_exceed_credits":
			f |= AccountDebitsMustNotExceedCredits
		case "credits_must_not_exceed_debits":
			f |= AccountCreditsMustNotExceedDebits
		default:
			return 0, ParamErrorf("flags", "invalid_flag", "unknown account flag %q", n)
		}
	}
	if !f.Valid() {
		return 0, ParamErrorf("flags", "invalid_flag", "an account cannot have both balance flags")
	}
	return f, nil
}

// Account is a ledger account of one asset. Balances are sums of transfers in
// the asset's minor units; an account's balance is never stored apart from them.
type Account struct {
	ID             string
	Kind           AccountKind
	Asset          string
	Flags          AccountFlags
	OwnerID        string // the user or merchant the account belongs to; empty for system accounts
	DebitsPending  int64
	DebitsPosted   int64
	CreditsPending int64
	CreditsPosted  int64
	CreatedAt      int64 // microseconds since the Unix epoch, UTC

	// Num is the account's number inside the database and HistoryHead the
	// timestamp of its newest transfer, kept by stores that chain an
	// account's transfers rather than index them; 0 otherwise.
	Num         int64
	HistoryHead int64
}

// Balance returns credits_posted - debits_posted: what the account holds now,
// counting only posted transfers. It cannot overflow for balances the ledger
// accepted, since the ledger refuses any sum that does not fit in an int64.
func (a Account) Balance() int64 { return a.CreditsPosted - a.DebitsPosted }

// Available returns what can still be debited from a credit-normal account:
// credits_posted - debits_posted - debits_pending.
func (a Account) Available() int64 { return a.CreditsPosted - a.DebitsPosted - a.DebitsPending }

// SystemAccountID returns the id of the one system account of a kind and asset
// (funding, fees, protection fund). It is deterministic so that every node
// agrees on it without coordination.
func SystemAccountID(kind AccountKind, asset string) string {
	return "acc_" + string(kind) + "_" + asset
}
