package ledger

import (
	"math"
	"strings"
	"testing"

	"github.com/agentpay/agentpay"
)

// bal is an expected change of an account's four balance fields.
type bal struct{ dp, dpo, cp, cpo int64 }

func single(id, dr, cr string, amount int64) agentpay.Transfer {
	return agentpay.Transfer{ID: id, DebitAccountID: dr, CreditAccountID: cr, Amount: amount, Asset: "USD"}
}

func pendingT(id, dr, cr string, amount, timeout int64) agentpay.Transfer {
	t := single(id, dr, cr, amount)
	t.Flags, t.TimeoutSeconds = agentpay.TransferPending, timeout
	return t
}

func post(id, pendingID string, amount int64) agentpay.Transfer {
	return agentpay.Transfer{ID: id, PendingID: pendingID, Amount: amount, Flags: agentpay.TransferPostPending}
}

func void(id, pendingID string, amount int64) agentpay.Transfer {
	return agentpay.Transfer{ID: id, PendingID: pendingID, Amount: amount, Flags: agentpay.TransferVoidPending}
}

func with(t agentpay.Transfer, f func(*agentpay.Transfer)) agentpay.Transfer {
	f(&t)
	return t
}

type applyCase struct {
	name  string
	setup func(t *testing.T, b *Batch) // runs before the group; its changes are not the case's
	group []agentpay.Transfer

	// On success:
	deltas   map[string]bal                    // accounts not named must not change
	created  int                               // new transfers in Changes; with deltas, 0 means len(group)
	pendings map[string]agentpay.PendingStatus // loaded pendings whose status changed

	// On failure:
	code   string // "" for success
	kind   string
	param  string
	stored bool // the failing transfer's rejection is recorded

	check func(t *testing.T, b *Batch, out []agentpay.Transfer)
}

func TestApplyGroup(t *testing.T) {
	const maxI = math.MaxInt64
	long := strings.Repeat("x", agentpay.ReferenceLengthMax)
	cases := []applyCase{
		// Accepted transfers.
		{
			name:   "single",
			group:  []agentpay.Transfer{single("s1", "wallet", "merchant", 100)},
			deltas: map[string]bal{"wallet": {dpo: 100}, "merchant": {cpo: 100}},
			check: func(t *testing.T, b *Batch, out []agentpay.Transfer) {
				o := out[0]
				if o.Timestamp != now || o.ExpiresAt != 0 || o.PendingStatus != "" || o.Result != "" {
					t.Fatalf("out = %+v", o)
				}
				out[0].Amount = 1 // the result is a copy: the batch keeps its own
				if got := b.transfers["s1"].Amount; got != 100 {
					t.Fatalf("stored amount = %d after changing the result", got)
				}
			},
		},
		{
			name:   "single from an unflagged account may overdraw it",
			group:  []agentpay.Transfer{single("s1", "fund", "wallet", 1_000_000)},
			deltas: map[string]bal{"fund": {dpo: 1_000_000}, "wallet": {cpo: 1_000_000}},
		},
		{
			name:   "single spends exactly what is available",
			group:  []agentpay.Transfer{single("s1", "wallet", "merchant", avail)},
			deltas: map[string]bal{"wallet": {dpo: avail}, "merchant": {cpo: avail}},
		},
		{
			name:   "single between unflagged accounts of another asset",
			group:  []agentpay.Transfer{with(single("s1", "eurfund", "eurwallet", 7), func(t *agentpay.Transfer) { t.Asset = "EUR" })},
			deltas: map[string]bal{"eurfund": {dpo: 7}, "eurwallet": {cpo: 7}},
		},
		{
			name:   "credits up to the debits of a credits_must_not_exceed_debits account",
			group:  []agentpay.Transfer{single("s1", "fund", "capped", 500)},
			deltas: map[string]bal{"fund": {dpo: 500}, "capped": {cpo: 500}},
		},
		{
			name: "reference and code at their limit",
			group: []agentpay.Transfer{with(single("s1", "wallet", "merchant", 1), func(t *agentpay.Transfer) {
				t.Reference, t.Code = long, long
			})},
			deltas: map[string]bal{"wallet": {dpo: 1}, "merchant": {cpo: 1}},
		},
		{
			name:   "pending without timeout",
			group:  []agentpay.Transfer{pendingT("h1", "wallet", "merchant", 100, 0)},
			deltas: map[string]bal{"wallet": {dp: 100}, "merchant": {cp: 100}},
			check: func(t *testing.T, b *Batch, out []agentpay.Transfer) {
				if o := out[0]; o.PendingStatus != agentpay.PendingOpen || o.ExpiresAt != 0 || o.Timestamp != now {
					t.Fatalf("out = %+v", o)
				}
			},
		},
		{
			name:   "pending with timeout expires timeout seconds after its timestamp",
			setup:  func(t *testing.T, b *Batch) { b.lastTimestamp = now + 41 },
			group:  []agentpay.Transfer{pendingT("h1", "wallet", "merchant", 100, 60)},
			deltas: map[string]bal{"wallet": {dp: 100}, "merchant": {cp: 100}},
			check: func(t *testing.T, b *Batch, out []agentpay.Transfer) {
				o := out[0]
				if o.Timestamp != now+42 || o.ExpiresAt != now+42+60*sec || o.PendingStatus != agentpay.PendingOpen {
					t.Fatalf("out = %+v", o)
				}
			},
		},
		{
			name:   "pending with the longest timeout",
			group:  []agentpay.Transfer{pendingT("h1", "wallet", "merchant", 100, agentpay.TransferTimeoutSecondsMax)},
			deltas: map[string]bal{"wallet": {dp: 100}, "merchant": {cp: 100}},
			check: func(t *testing.T, b *Batch, out []agentpay.Transfer) {
				if out[0].ExpiresAt != now+agentpay.TransferTimeoutSecondsMax*sec {
					t.Fatalf("out = %+v", out[0])
				}
			},
		},
		{
			name:     "post the full amount (amount 0)",
			group:    []agentpay.Transfer{post("pp", "p_open", 0)},
			deltas:   map[string]bal{"wallet": {dp: -300, dpo: 300}, "merchant": {cp: -300, cpo: 300}},
			pendings: map[string]agentpay.PendingStatus{"p_open": agentpay.PendingPosted},
			check: func(t *testing.T, b *Batch, out []agentpay.Transfer) {
				o := out[0]
				if o.Amount != 300 || o.DebitAccountID != "wallet" || o.CreditAccountID != "merchant" || o.Asset != "USD" ||
					o.PendingStatus != "" || o.Timestamp != now {
					t.Fatalf("post did not inherit from the pending transfer: %+v", o)
				}
			},
		},
		{
			name:     "post part of the amount releases the rest",
			group:    []agentpay.Transfer{post("pp", "p_open", 120)},
			deltas:   map[string]bal{"wallet": {dp: -300, dpo: 120}, "merchant": {cp: -300, cpo: 120}},
			pendings: map[string]agentpay.PendingStatus{"p_open": agentpay.PendingPosted},
		},
		{
			name: "post naming the pending transfer's accounts and asset",
			group: []agentpay.Transfer{with(post("pp", "p_open", 300), func(t *agentpay.Transfer) {
				t.DebitAccountID, t.CreditAccountID, t.Asset = "wallet", "merchant", "USD"
			})},
			deltas:   map[string]bal{"wallet": {dp: -300, dpo: 300}, "merchant": {cp: -300, cpo: 300}},
			pendings: map[string]agentpay.PendingStatus{"p_open": agentpay.PendingPosted},
		},
		{
			name:     "post before the timeout",
			group:    []agentpay.Transfer{post("pp", "p_later", 0)},
			deltas:   map[string]bal{"wallet": {dp: -50, dpo: 50}, "merchant": {cp: -50, cpo: 50}},
			pendings: map[string]agentpay.PendingStatus{"p_later": agentpay.PendingPosted},
		},
		{
			name:     "void (amount 0)",
			group:    []agentpay.Transfer{void("vv", "p_open", 0)},
			deltas:   map[string]bal{"wallet": {dp: -300}, "merchant": {cp: -300}},
			pendings: map[string]agentpay.PendingStatus{"p_open": agentpay.PendingVoided},
			check: func(t *testing.T, b *Batch, out []agentpay.Transfer) {
				if out[0].Amount != 300 {
					t.Fatalf("void amount = %d, want the pending amount", out[0].Amount)
				}
			},
		},
		{
			name:     "void naming the whole amount",
			group:    []agentpay.Transfer{void("vv", "p_open", 300)},
			deltas:   map[string]bal{"wallet": {dp: -300}, "merchant": {cp: -300}},
			pendings: map[string]agentpay.PendingStatus{"p_open": agentpay.PendingVoided},
		},
		{
			name: "linked group applies every transfer in order",
			group: []agentpay.Transfer{
				single("g1", "wallet", "merchant", 10),
				pendingT("g2", "wallet", "merchant", 20, 5),
				single("g3", "merchant", "fund", 5),
			},
			deltas: map[string]bal{"wallet": {dpo: 10, dp: 20}, "merchant": {cpo: 10, cp: 20, dpo: 5}, "fund": {cpo: 5}},
			check: func(t *testing.T, b *Batch, out []agentpay.Transfer) {
				for i, o := range out {
					if o.Timestamp != now+int64(i) {
						t.Fatalf("out[%d].Timestamp = %d, want %d", i, o.Timestamp, now+int64(i))
					}
				}
			},
		},
		{
			name:   "pending and its post in one group",
			group:  []agentpay.Transfer{pendingT("g1", "wallet", "merchant", 100, 0), post("g2", "g1", 40)},
			deltas: map[string]bal{"wallet": {dpo: 40}, "merchant": {cpo: 40}},
			check: func(t *testing.T, b *Batch, out []agentpay.Transfer) {
				if out[0].PendingStatus != agentpay.PendingOpen {
					t.Fatalf("out[0] = %+v, want the status when it was applied", out[0])
				}
				// The pending transfer is new, so the store inserts it with its final status.
				ch, _ := b.Changes()
				if g := ch.Transfers[0]; g.ID != "g1" || g.PendingStatus != agentpay.PendingPosted {
					t.Fatalf("created pending = %+v", g)
				}
			},
		},
		{
			name:    "the same transfer twice in a group is applied once",
			group:   []agentpay.Transfer{single("g1", "wallet", "merchant", 10), single("g1", "wallet", "merchant", 10)},
			deltas:  map[string]bal{"wallet": {dpo: 10}, "merchant": {cpo: 10}},
			created: 1,
			check: func(t *testing.T, b *Batch, out []agentpay.Transfer) {
				if out[0] != out[1] {
					t.Fatalf("retry = %+v, first = %+v", out[1], out[0])
				}
			},
		},

		// Retries.
		{
			name:    "retry of a stored transfer returns it",
			group:   []agentpay.Transfer{single("single1", "wallet", "merchant", 100)},
			created: 0,
			check: func(t *testing.T, b *Batch, out []agentpay.Transfer) {
				if out[0].Timestamp != now-100 {
					t.Fatalf("out = %+v, want the stored transfer", out[0])
				}
			},
		},
		{
			name: "retry of a transfer applied earlier in the batch returns it",
			setup: func(t *testing.T, b *Batch) {
				mustApply(t, b, pendingT("h1", "wallet", "merchant", 10, 30))
			},
			group:   []agentpay.Transfer{pendingT("h1", "wallet", "merchant", 10, 30)},
			created: 0,
			check: func(t *testing.T, b *Batch, out []agentpay.Transfer) {
				if out[0].Timestamp != now || out[0].ExpiresAt != now+30*sec {
					t.Fatalf("out = %+v", out[0])
				}
			},
		},
		{
			name:    "retry of a full post (amount 0) returns it",
			setup:   func(t *testing.T, b *Batch) { mustApply(t, b, post("pp", "p_open", 0)) },
			group:   []agentpay.Transfer{post("pp", "p_open", 0)},
			created: 0,
			check: func(t *testing.T, b *Batch, out []agentpay.Transfer) {
				if out[0].Amount != 300 || out[0].Timestamp != now {
					t.Fatalf("out = %+v", out[0])
				}
			},
		},
		{
			name:  "retry with different fields",
			group: []agentpay.Transfer{single("single1", "wallet", "merchant", 101)},
			code:  "exists_with_different_fields", kind: agentpay.EINVALID, param: "id",
		},
		{
			name:  "retry of a pending with a different timeout",
			setup: func(t *testing.T, b *Batch) { mustApply(t, b, pendingT("h1", "wallet", "merchant", 10, 30)) },
			group: []agentpay.Transfer{pendingT("h1", "wallet", "merchant", 10, 31)},
			code:  "exists_with_different_fields", kind: agentpay.EINVALID, param: "id",
		},
		{
			name:  "retry of a post with a different amount",
			setup: func(t *testing.T, b *Batch) { mustApply(t, b, post("pp", "p_open", 0)) },
			group: []agentpay.Transfer{post("pp", "p_open", 299)},
			code:  "exists_with_different_fields", kind: agentpay.EINVALID, param: "id",
		},
		{
			name:  "retry of a stored rejection replays it",
			group: []agentpay.Transfer{single("rej_credits", "wallet", "merchant", 5000)},
			code:  "exceeds_credits", kind: agentpay.ECONFLICT,
		},
		{
			name:  "retry of a stored not-found rejection replays it as not found",
			group: []agentpay.Transfer{single("rej_notfound", "ghost", "merchant", 5)},
			code:  "debit_account_not_found", kind: agentpay.ENOTFOUND,
		},
		{
			name:  "retry of a stored rejection with different fields",
			group: []agentpay.Transfer{single("rej_credits", "wallet", "merchant", 50)},
			code:  "exists_with_different_fields", kind: agentpay.EINVALID, param: "id",
		},
		{
			name: "retry of a rejection replays it even once the transfer would succeed",
			setup: func(t *testing.T, b *Batch) {
				if _, err := b.ApplyGroup([]agentpay.Transfer{single("r1", "wallet", "merchant", avail+1)}); agentpay.ErrorCode(err) != "exceeds_credits" {
					t.Fatalf("setup: %v", err)
				}
				mustApply(t, b, single("topup", "fund", "wallet", 10_000))
			},
			group: []agentpay.Transfer{single("r1", "wallet", "merchant", avail+1)},
			code:  "exceeds_credits", kind: agentpay.ECONFLICT,
		},
		{
			name: "retry of a post rejected as not found, after the pending transfer appeared",
			setup: func(t *testing.T, b *Batch) {
				if _, err := b.ApplyGroup([]agentpay.Transfer{post("early", "h1", 0)}); agentpay.ErrorCode(err) != "pending_transfer_not_found" {
					t.Fatalf("setup: %v", err)
				}
				mustApply(t, b, pendingT("h1", "wallet", "merchant", 10, 0))
			},
			group: []agentpay.Transfer{post("early", "h1", 0)},
			code:  "pending_transfer_not_found", kind: agentpay.ENOTFOUND,
		},

		// Malformed requests: refused and not stored, so a corrected retry may use the id.
		{name: "empty id", group: []agentpay.Transfer{single("", "wallet", "merchant", 1)}, code: "invalid_id", kind: agentpay.EINVALID, param: "id"},
		{name: "id with a space", group: []agentpay.Transfer{single("a b", "wallet", "merchant", 1)}, code: "invalid_id", kind: agentpay.EINVALID, param: "id"},
		{name: "id too long", group: []agentpay.Transfer{single(strings.Repeat("a", agentpay.TransferIDLengthMax+1), "wallet", "merchant", 1)}, code: "invalid_id", kind: agentpay.EINVALID, param: "id"},
		{name: "two flags", group: []agentpay.Transfer{with(single("s1", "wallet", "merchant", 1), func(t *agentpay.Transfer) { t.Flags = agentpay.TransferPending | agentpay.TransferPostPending })}, code: "invalid_flags", kind: agentpay.EINVALID, param: "flags"},
		{name: "unknown flag", group: []agentpay.Transfer{with(single("s1", "wallet", "merchant", 1), func(t *agentpay.Transfer) { t.Flags = 1 << 3 })}, code: "invalid_flags", kind: agentpay.EINVALID, param: "flags"},
		{name: "zero amount", group: []agentpay.Transfer{single("s1", "wallet", "merchant", 0)}, code: "invalid_amount", kind: agentpay.EINVALID, param: "amount"},
		{name: "negative amount", group: []agentpay.Transfer{single("s1", "wallet", "merchant", -1)}, code: "invalid_amount", kind: agentpay.EINVALID, param: "amount"},
		{name: "pending of zero amount", group: []agentpay.Transfer{pendingT("h1", "wallet", "merchant", 0, 0)}, code: "invalid_amount", kind: agentpay.EINVALID, param: "amount"},
		{name: "post of a negative amount", group: []agentpay.Transfer{post("pp", "p_open", -1)}, code: "invalid_amount", kind: agentpay.EINVALID, param: "amount"},
		{name: "single with a pending id", group: []agentpay.Transfer{with(single("s1", "wallet", "merchant", 1), func(t *agentpay.Transfer) { t.PendingID = "p_open" })}, code: "invalid_pending_id", kind: agentpay.EINVALID, param: "pending_id"},
		{name: "post without a pending id", group: []agentpay.Transfer{post("pp", "", 10)}, code: "invalid_pending_id", kind: agentpay.EINVALID, param: "pending_id"},
		{name: "post with an invalid pending id", group: []agentpay.Transfer{post("pp", "p open", 10)}, code: "invalid_pending_id", kind: agentpay.EINVALID, param: "pending_id"},
		{name: "single with a timeout", group: []agentpay.Transfer{with(single("s1", "wallet", "merchant", 1), func(t *agentpay.Transfer) { t.TimeoutSeconds = 5 })}, code: "invalid_timeout", kind: agentpay.EINVALID, param: "timeout_seconds"},
		{name: "negative timeout", group: []agentpay.Transfer{pendingT("h1", "wallet", "merchant", 1, -1)}, code: "invalid_timeout", kind: agentpay.EINVALID, param: "timeout_seconds"},
		{name: "timeout too long", group: []agentpay.Transfer{pendingT("h1", "wallet", "merchant", 1, agentpay.TransferTimeoutSecondsMax+1)}, code: "invalid_timeout", kind: agentpay.EINVALID, param: "timeout_seconds"},
		{name: "post with a timeout", group: []agentpay.Transfer{with(post("pp", "p_open", 0), func(t *agentpay.Transfer) { t.TimeoutSeconds = 5 })}, code: "invalid_timeout", kind: agentpay.EINVALID, param: "timeout_seconds"},
		{name: "missing debit account", group: []agentpay.Transfer{single("s1", "", "merchant", 1)}, code: "invalid_account", kind: agentpay.EINVALID, param: "debit_account_id"},
		{name: "invalid credit account", group: []agentpay.Transfer{single("s1", "wallet", "mer chant", 1)}, code: "invalid_account", kind: agentpay.EINVALID, param: "credit_account_id"},
		{name: "same account on both sides", group: []agentpay.Transfer{single("s1", "wallet", "wallet", 1)}, code: "accounts_must_be_different", kind: agentpay.EINVALID, param: "credit_account_id"},
		{name: "post naming one account on both sides", group: []agentpay.Transfer{with(post("pp", "p_open", 0), func(t *agentpay.Transfer) { t.CreditAccountID = "wallet" })}, code: "accounts_must_be_different", kind: agentpay.EINVALID, param: "credit_account_id"},
		{name: "reference too long", group: []agentpay.Transfer{with(single("s1", "wallet", "merchant", 1), func(t *agentpay.Transfer) { t.Reference = long + "x" })}, code: "too_long", kind: agentpay.EINVALID, param: "reference"},
		{name: "code too long", group: []agentpay.Transfer{with(single("s1", "wallet", "merchant", 1), func(t *agentpay.Transfer) { t.Code = long + "x" })}, code: "too_long", kind: agentpay.EINVALID, param: "reference"},
		{name: "asset other than the accounts'", group: []agentpay.Transfer{with(single("s1", "wallet", "merchant", 1), func(t *agentpay.Transfer) { t.Asset = "EUR" })}, code: "asset_mismatch", kind: agentpay.EINVALID, param: "asset"},
		{name: "accounts of different assets", group: []agentpay.Transfer{single("s1", "wallet", "eurwallet", 1)}, code: "asset_mismatch", kind: agentpay.EINVALID, param: "asset"},
		{name: "post in another asset", group: []agentpay.Transfer{with(post("pp", "p_open", 0), func(t *agentpay.Transfer) { t.Asset = "EUR" })}, code: "asset_mismatch", kind: agentpay.EINVALID, param: "asset"},
		{name: "post naming other accounts", group: []agentpay.Transfer{with(post("pp", "p_open", 0), func(t *agentpay.Transfer) { t.CreditAccountID = "fund" })}, code: "pending_transfer_has_different_accounts", kind: agentpay.EINVALID, param: "pending_id"},
		{name: "void naming other accounts", group: []agentpay.Transfer{with(void("vv", "p_open", 0), func(t *agentpay.Transfer) { t.DebitAccountID = "capped" })}, code: "pending_transfer_has_different_accounts", kind: agentpay.EINVALID, param: "pending_id"},
		{name: "void of part of the amount", group: []agentpay.Transfer{void("vv", "p_open", 299)}, code: "pending_transfer_has_different_amount", kind: agentpay.EINVALID, param: "amount"},
		// A malformed post of an unknown pending transfer is malformed first.
		{name: "post of an unknown pending transfer with a timeout", group: []agentpay.Transfer{with(post("pp", "nope", 0), func(t *agentpay.Transfer) { t.TimeoutSeconds = 5 })}, code: "invalid_timeout", kind: agentpay.EINVALID, param: "timeout_seconds"},
		{name: "post of an unknown pending transfer with a negative amount", group: []agentpay.Transfer{post("pp", "nope", -1)}, code: "invalid_amount", kind: agentpay.EINVALID, param: "amount"},
		{name: "void of an unknown pending transfer with a long reference", group: []agentpay.Transfer{with(void("vv", "nope", 0), func(t *agentpay.Transfer) { t.Reference = long + "x" })}, code: "too_long", kind: agentpay.EINVALID, param: "reference"},

		// Rejections that depend on the ledger's state: stored, so a retry gets them again.
		{name: "unknown debit account", group: []agentpay.Transfer{single("s1", "ghost", "merchant", 1)}, code: "debit_account_not_found", kind: agentpay.ENOTFOUND, param: "debit_account_id", stored: true},
		{name: "unknown credit account", group: []agentpay.Transfer{single("s1", "wallet", "ghost", 1)}, code: "credit_account_not_found", kind: agentpay.ENOTFOUND, param: "credit_account_id", stored: true},
		{name: "post of an unknown pending transfer", group: []agentpay.Transfer{post("pp", "nope", 0)}, code: "pending_transfer_not_found", kind: agentpay.ENOTFOUND, param: "pending_id", stored: true},
		{name: "void of an unknown pending transfer", group: []agentpay.Transfer{void("vv", "nope", 10)}, code: "pending_transfer_not_found", kind: agentpay.ENOTFOUND, param: "pending_id", stored: true},
		{name: "post of a rejected transfer", group: []agentpay.Transfer{post("pp", "rej_credits", 0)}, code: "pending_transfer_not_found", kind: agentpay.ENOTFOUND, param: "pending_id", stored: true},
		{name: "post of itself", group: []agentpay.Transfer{post("pp", "pp", 10)}, code: "pending_transfer_not_found", kind: agentpay.ENOTFOUND, param: "pending_id", stored: true},
		{name: "post of a single-phase transfer", group: []agentpay.Transfer{post("pp", "single1", 0)}, code: "pending_transfer_not_pending", kind: agentpay.ECONFLICT, param: "pending_id", stored: true},
		{name: "void of a post", group: []agentpay.Transfer{void("vv", "post_pp", 0)}, code: "pending_transfer_not_pending", kind: agentpay.ECONFLICT, param: "pending_id", stored: true},
		{name: "post of a posted transfer", group: []agentpay.Transfer{post("pp", "p_posted", 0)}, code: "pending_transfer_already_posted", kind: agentpay.ECONFLICT, param: "pending_id", stored: true},
		{name: "void of a posted transfer", group: []agentpay.Transfer{void("vv", "p_posted", 0)}, code: "pending_transfer_already_posted", kind: agentpay.ECONFLICT, param: "pending_id", stored: true},
		{name: "post of a voided transfer", group: []agentpay.Transfer{post("pp", "p_voided", 0)}, code: "pending_transfer_already_voided", kind: agentpay.ECONFLICT, param: "pending_id", stored: true},
		{name: "void of a voided transfer", group: []agentpay.Transfer{void("vv", "p_voided", 0)}, code: "pending_transfer_already_voided", kind: agentpay.ECONFLICT, param: "pending_id", stored: true},
		{name: "post of an expired transfer", group: []agentpay.Transfer{post("pp", "p_expired", 0)}, code: "pending_transfer_expired", kind: agentpay.ECONFLICT, param: "pending_id", stored: true},
		{name: "void of an expired transfer", group: []agentpay.Transfer{void("vv", "p_expired", 0)}, code: "pending_transfer_expired", kind: agentpay.ECONFLICT, param: "pending_id", stored: true},
		{
			name:  "post at the instant the timeout passes",
			group: []agentpay.Transfer{post("pp", "p_due", 0)},
			code:  "pending_transfer_expired", kind: agentpay.ECONFLICT, param: "pending_id", stored: true,
			check: func(t *testing.T, b *Batch, out []agentpay.Transfer) {
				// Rejecting the post does not expire the pending transfer: Expire does.
				if p := b.transfers["p_due"]; p.PendingStatus != agentpay.PendingOpen {
					t.Fatalf("p_due = %+v", p)
				}
			},
		},
		{
			name:  "void after the timeout passed",
			setup: func(t *testing.T, b *Batch) { b.Now = now + 5*sec },
			group: []agentpay.Transfer{void("vv", "p_later", 0)},
			code:  "pending_transfer_expired", kind: agentpay.ECONFLICT, param: "pending_id", stored: true,
		},
		{name: "post of more than the pending amount", group: []agentpay.Transfer{post("pp", "p_open", 301)}, code: "exceeds_pending_transfer_amount", kind: agentpay.ECONFLICT, param: "amount", stored: true},
		{name: "void of more than the pending amount", group: []agentpay.Transfer{void("vv", "p_open", 301)}, code: "exceeds_pending_transfer_amount", kind: agentpay.ECONFLICT, param: "amount", stored: true},
		{name: "single beyond the available balance", group: []agentpay.Transfer{single("s1", "wallet", "merchant", avail+1)}, code: "exceeds_credits", kind: agentpay.ECONFLICT, param: "amount", stored: true},
		{name: "pending beyond the available balance", group: []agentpay.Transfer{pendingT("h1", "wallet", "merchant", avail+1, 0)}, code: "exceeds_credits", kind: agentpay.ECONFLICT, param: "amount", stored: true},
		{name: "single beyond the debits of a credits_must_not_exceed_debits account", group: []agentpay.Transfer{single("s1", "fund", "capped", 501)}, code: "exceeds_debits", kind: agentpay.ECONFLICT, param: "amount", stored: true},
		{
			name:  "pending credits count against credits_must_not_exceed_debits",
			setup: func(t *testing.T, b *Batch) { mustApply(t, b, pendingT("h1", "fund", "capped", 300, 0)) },
			group: []agentpay.Transfer{single("s1", "fund", "capped", 201)},
			code:  "exceeds_debits", kind: agentpay.ECONFLICT, param: "amount", stored: true,
		},
		{
			name: "overflow of credits posted",
			setup: func(t *testing.T, b *Batch) {
				addBalanced(b, agentpay.Account{ID: "big", Asset: "USD", CreditsPosted: maxI - 10})
			},
			group: []agentpay.Transfer{single("s1", "fund", "big", 11)},
			code:  "overflow", kind: agentpay.ECONFLICT, stored: true,
		},
		{
			name: "overflow of debits posted",
			setup: func(t *testing.T, b *Batch) {
				addBalanced(b, agentpay.Account{ID: "big", Asset: "USD", DebitsPosted: maxI})
			},
			group: []agentpay.Transfer{single("s1", "big", "fund", 1)},
			code:  "overflow", kind: agentpay.ECONFLICT, stored: true,
		},
		{
			name: "overflow of credits posted by a post",
			setup: func(t *testing.T, b *Batch) {
				addBalanced(b, agentpay.Account{ID: "big", Asset: "USD", CreditsPosted: maxI - 10})
				mustApply(t, b, pendingT("h1", "fund", "big", 11, 0))
			},
			group: []agentpay.Transfer{post("pp", "h1", 0)},
			code:  "overflow", kind: agentpay.ECONFLICT, stored: true,
		},
		{
			name: "overflow of debits pending plus posted counts as exceeding credits",
			setup: func(t *testing.T, b *Batch) {
				addBalanced(b, agentpay.Account{ID: "rich", Asset: "USD", Flags: agentpay.AccountDebitsMustNotExceedCredits,
					CreditsPosted: maxI, DebitsPosted: maxI - 5})
			},
			group: []agentpay.Transfer{pendingT("h1", "rich", "fund", 10, 0)},
			code:  "exceeds_credits", kind: agentpay.ECONFLICT, param: "amount", stored: true,
		},
		{
			name: "overflow of credits pending plus posted counts as exceeding debits",
			setup: func(t *testing.T, b *Batch) {
				addBalanced(b, agentpay.Account{ID: "rich", Asset: "USD", Flags: agentpay.AccountCreditsMustNotExceedDebits,
					DebitsPosted: maxI, CreditsPosted: maxI - 5})
			},
			group: []agentpay.Transfer{pendingT("h1", "fund", "rich", 10, 0)},
			code:  "exceeds_debits", kind: agentpay.ECONFLICT, param: "amount", stored: true,
		},

		// Linked groups: all or nothing, and the error names the failing transfer.
		{
			name: "group fails on a later transfer's state",
			group: []agentpay.Transfer{
				single("g1", "wallet", "merchant", 10),
				pendingT("g2", "wallet", "merchant", 20, 0),
				single("g3", "wallet", "merchant", avail-29),
			},
			code: "exceeds_credits", kind: agentpay.ECONFLICT, param: "transfers[2].amount", stored: true,
			check: func(t *testing.T, b *Batch, out []agentpay.Transfer) {
				if b.isKnown("g1") || b.isKnown("g2") {
					t.Fatal("siblings of the failing transfer are known to the batch")
				}
			},
		},
		{
			name:  "group fails on a malformed transfer",
			group: []agentpay.Transfer{single("g1", "wallet", "merchant", 10), single("g2", "wallet", "merchant", 0)},
			code:  "invalid_amount", kind: agentpay.EINVALID, param: "transfers[1].amount",
		},
		{
			name:  "group that posts then voids a loaded pending transfer",
			group: []agentpay.Transfer{post("g1", "p_open", 0), void("g2", "p_open", 0)},
			code:  "pending_transfer_already_posted", kind: agentpay.ECONFLICT, param: "transfers[1].pending_id", stored: true,
			check: func(t *testing.T, b *Batch, out []agentpay.Transfer) {
				if p := b.transfers["p_open"]; p.PendingStatus != agentpay.PendingOpen {
					t.Fatalf("p_open = %+v after the group failed", p)
				}
			},
		},
		{
			name:  "group that posts more than a pending transfer it created",
			group: []agentpay.Transfer{pendingT("g1", "wallet", "merchant", 100, 0), post("g2", "g1", 200)},
			code:  "exceeds_pending_transfer_amount", kind: agentpay.ECONFLICT, param: "transfers[1].amount", stored: true,
		},
		{
			name:  "group with a retry of a stored rejection",
			group: []agentpay.Transfer{single("g1", "wallet", "merchant", 10), single("rej_credits", "wallet", "merchant", 5000)},
			code:  "exceeds_credits", kind: agentpay.ECONFLICT,
		},
		{
			name:  "group reusing an id with different fields",
			group: []agentpay.Transfer{single("g1", "wallet", "merchant", 10), single("g1", "wallet", "merchant", 11)},
			code:  "exists_with_different_fields", kind: agentpay.EINVALID, param: "transfers[1].id",
		},
		{
			name:  "group with an unknown account",
			group: []agentpay.Transfer{single("g1", "wallet", "merchant", 10), single("g2", "wallet", "merchant", 10), single("g3", "ghost", "merchant", 1)},
			code:  "debit_account_not_found", kind: agentpay.ENOTFOUND, param: "transfers[2].debit_account_id", stored: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { runApplyCase(t, tc) })
	}
}

func mustApply(t *testing.T, b *Batch, group ...agentpay.Transfer) []agentpay.Transfer {
	t.Helper()
	out, err := b.ApplyGroup(group)
	if err != nil {
		t.Fatalf("ApplyGroup: %v", err)
	}
	return out
}

func runApplyCase(t *testing.T, tc applyCase) {
	b := fixture()
	if tc.setup != nil {
		tc.setup(t, b)
	}
	before, err := b.Changes()
	if err != nil {
		t.Fatalf("Changes after setup: %v", err)
	}
	nCreated := len(before.Transfers)
	pendingsBefore := map[string]bool{}
	for _, p := range before.Pendings {
		pendingsBefore[p.ID] = true
	}
	accounts := map[string]agentpay.Account{}
	for _, a := range accountsOf(b) {
		accounts[a.ID] = a
	}
	last := b.LastTimestamp()

	out, err := b.ApplyGroup(tc.group)
	ch := checkBatch(t, b)
	created := ch.Transfers[nCreated:]
	var pendings []*agentpay.Transfer
	for _, p := range ch.Pendings {
		if !pendingsBefore[p.ID] {
			pendings = append(pendings, p)
		}
	}

	if tc.code != "" {
		if err == nil {
			t.Fatalf("ApplyGroup = %+v, want error %s", out, tc.code)
		}
		e := asError(t, err)
		if e.Code != tc.code || e.Kind != tc.kind || e.Param != tc.param {
			t.Fatalf("error = %q (kind %s, param %q), want %s (kind %s, param %q)", e.Error(), e.Kind, e.Param, tc.code, tc.kind, tc.param)
		}
		if out != nil {
			t.Fatalf("out = %+v on error", out)
		}
		i := failingIndex(tc.group, e)
		if len(tc.group) > 1 {
			if want := "transfer " + itoa(i) + " (" + tc.group[i].ID + ") of the linked group"; !strings.Contains(e.Message, want) {
				t.Fatalf("message %q does not name the failing transfer (%q)", e.Message, want)
			}
		} else if strings.Contains(e.Message, "linked group") {
			t.Fatalf("message %q of a group of one mentions the group", e.Message)
		}
		for id, a := range accounts {
			if got, _ := b.Account(id); got != a {
				t.Fatalf("account %s changed by a failed group: %+v, was %+v", id, got, a)
			}
		}
		if len(pendings) != 0 {
			t.Fatalf("pendings changed by a failed group: %+v", pendings[0])
		}
		if !tc.stored {
			if len(created) != 0 {
				t.Fatalf("recorded %+v, want nothing", created[0])
			}
			if b.LastTimestamp() != last {
				t.Fatalf("LastTimestamp = %d, was %d", b.LastTimestamp(), last)
			}
		} else {
			if len(created) != 1 {
				t.Fatalf("recorded %d transfers, want the failing one", len(created))
			}
			// The rejection is stored as sent, with the next timestamp:
			// none of the rolled-back transfers keeps one.
			r, sent := created[0], tc.group[i]
			ts := max(b.Now, last+1)
			if !r.SameRequest(&sent) || r.Result != tc.code || r.Timestamp != ts || r.PendingStatus != "" || r.ExpiresAt != 0 {
				t.Fatalf("recorded %+v, want the rejection of %+v at %d", r, sent, ts)
			}
			if b.LastTimestamp() != ts {
				t.Fatalf("LastTimestamp = %d, want %d", b.LastTimestamp(), ts)
			}
			last = ts
			// A retry of the rejected transfer replays the rejection and
			// records nothing more.
			_, err := b.ApplyGroup([]agentpay.Transfer{tc.group[i]})
			if e := asError(t, err); e.Code != tc.code || e.Kind != tc.kind {
				t.Fatalf("retry of the rejected transfer: %v, want %s (%s)", err, tc.code, tc.kind)
			}
			if ch := checkBatch(t, b); len(ch.Transfers) != nCreated+1 {
				t.Fatalf("retry recorded another transfer")
			}
			if b.LastTimestamp() != last {
				t.Fatalf("retry took a timestamp")
			}
		}
	} else {
		if err != nil {
			t.Fatalf("ApplyGroup: %v", err)
		}
		if len(out) != len(tc.group) {
			t.Fatalf("len(out) = %d, want %d", len(out), len(tc.group))
		}
		want := tc.created
		if want == 0 && tc.deltas != nil {
			want = len(tc.group)
		}
		if len(created) != want {
			t.Fatalf("created %d transfers, want %d", len(created), want)
		}
		prev := last
		for _, c := range created {
			if c.Result != "" || c.Timestamp <= prev || c.Timestamp < b.Now {
				t.Fatalf("created %+v after timestamp %d at now %d", c, prev, b.Now)
			}
			prev = c.Timestamp
		}
		if b.LastTimestamp() != prev {
			t.Fatalf("LastTimestamp = %d, want %d", b.LastTimestamp(), prev)
		}
		for _, o := range out {
			if o.Result != "" || o.Timestamp == 0 {
				t.Fatalf("out %+v", o)
			}
		}
		for id, a := range accounts {
			got, _ := b.Account(id)
			d := tc.deltas[id]
			if got.DebitsPending-a.DebitsPending != d.dp || got.DebitsPosted-a.DebitsPosted != d.dpo ||
				got.CreditsPending-a.CreditsPending != d.cp || got.CreditsPosted-a.CreditsPosted != d.cpo {
				t.Fatalf("account %s = %+v, was %+v, want change %+v", id, got, a, d)
			}
		}
		if len(pendings) != len(tc.pendings) {
			t.Fatalf("%d pendings changed, want %d", len(pendings), len(tc.pendings))
		}
		for _, p := range pendings {
			if st, ok := tc.pendings[p.ID]; !ok || p.PendingStatus != st {
				t.Fatalf("pending %+v changed, want %v", p, tc.pendings)
			}
		}
	}
	if tc.check != nil {
		tc.check(t, b, out)
	}
}

// failingIndex returns the index of the transfer an error names, from its
// message for groups of several.
func failingIndex(group []agentpay.Transfer, e *agentpay.Error) int {
	if len(group) == 1 {
		return 0
	}
	for i := range group {
		if strings.Contains(e.Message, "transfer "+itoa(i)+" (") {
			return i
		}
	}
	return len(group) - 1
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}

func TestTimestampsIncrease(t *testing.T) {
	t.Run("after a last timestamp in the future", func(t *testing.T) {
		b := NewBatch(now, now+100)
		b.AddAccount(agentpay.Account{ID: "a", Asset: "USD"})
		b.AddAccount(agentpay.Account{ID: "b", Asset: "USD"})
		out := mustApply(t, b, single("t1", "a", "b", 1), single("t2", "a", "b", 1))
		out = append(out, mustApply(t, b, single("t3", "b", "a", 1))...)
		for i, o := range out {
			if want := now + 101 + int64(i); o.Timestamp != want {
				t.Fatalf("out[%d].Timestamp = %d, want %d", i, o.Timestamp, want)
			}
		}
		if b.LastTimestamp() != now+103 {
			t.Fatalf("LastTimestamp = %d", b.LastTimestamp())
		}
	})
	t.Run("a failed group hands out a timestamp only to a stored rejection", func(t *testing.T) {
		b := fixture()
		first := mustApply(t, b, single("t1", "wallet", "merchant", 1))[0]
		if _, err := b.ApplyGroup([]agentpay.Transfer{single("t2", "wallet", "merchant", 1), single("t3", "wallet", "merchant", 0)}); err == nil {
			t.Fatal("group with a malformed transfer applied")
		}
		second := mustApply(t, b, single("t4", "wallet", "merchant", 1))[0]
		if _, err := b.ApplyGroup([]agentpay.Transfer{single("t5", "wallet", "merchant", 1), single("t6", "wallet", "merchant", avail)}); err == nil {
			t.Fatal("group beyond the balance applied")
		}
		third := mustApply(t, b, single("t7", "wallet", "merchant", 1))[0]
		ch := checkBatch(t, b)
		var ts []int64
		for _, c := range ch.Transfers {
			ts = append(ts, c.Timestamp)
		}
		if first.Timestamp != now || second.Timestamp != now+1 || third.Timestamp != now+3 ||
			len(ts) != 4 || ts[2] != now+2 || ch.Transfers[2].ID != "t6" {
			t.Fatalf("timestamps %d, %d, %d; stored %v", first.Timestamp, second.Timestamp, third.Timestamp, ts)
		}
	})
	t.Run("never before now", func(t *testing.T) {
		b := fixture()
		b.Now = now + 1_000
		if o := mustApply(t, b, single("t1", "wallet", "merchant", 1))[0]; o.Timestamp != now+1_000 {
			t.Fatalf("Timestamp = %d", o.Timestamp)
		}
	})
}

func TestExpire(t *testing.T) {
	t.Run("due", func(t *testing.T) {
		b := fixture()
		if err := b.Expire("p_due"); err != nil {
			t.Fatal(err)
		}
		ch := checkBatch(t, b)
		if len(ch.Pendings) != 1 || ch.Pendings[0].ID != "p_due" || ch.Pendings[0].PendingStatus != agentpay.PendingExpired {
			t.Fatalf("Pendings = %+v", ch.Pendings)
		}
		if len(ch.Transfers) != 0 {
			t.Fatalf("Transfers = %+v", ch.Transfers)
		}
		want := map[string]bal{"wallet": {dp: -100}, "merchant": {cp: -100}}
		if len(ch.Accounts) != 2 {
			t.Fatalf("Accounts = %+v", ch.Accounts)
		}
		for _, a := range ch.Accounts {
			d := want[a.Account.ID]
			if a.Delta.ID != a.Account.ID || a.Delta.DebitsPending != d.dp || a.Delta.CreditsPending != d.cp ||
				a.Delta.DebitsPosted != 0 || a.Delta.CreditsPosted != 0 {
				t.Fatalf("change %+v, want %+v", a, d)
			}
		}
		// A post after expiry is refused as expired, like the second Expire.
		if _, err := b.ApplyGroup([]agentpay.Transfer{post("pp", "p_due", 0)}); agentpay.ErrorCode(err) != "pending_transfer_expired" {
			t.Fatalf("post after expiry: %v", err)
		}
		if err := b.Expire("p_due"); agentpay.ErrorCode(err) != "pending_transfer_not_expired" {
			t.Fatalf("second Expire: %v", err)
		}
	})
	t.Run("created and expired in the batch", func(t *testing.T) {
		b := fixture()
		mustApply(t, b, pendingT("h1", "wallet", "merchant", 10, 1))
		if err := b.Expire("h1"); agentpay.ErrorCode(err) != "pending_transfer_not_expired" {
			t.Fatalf("Expire before the timeout: %v", err)
		}
		b.Now = now + sec - 1 // the pending transfer's timestamp is now
		if err := b.Expire("h1"); agentpay.ErrorCode(err) != "pending_transfer_not_expired" {
			t.Fatalf("Expire a microsecond early: %v", err)
		}
		b.Now = now + sec
		if err := b.Expire("h1"); err != nil {
			t.Fatal(err)
		}
		ch := checkBatch(t, b)
		if len(ch.Pendings) != 0 || len(ch.Accounts) != 0 || len(ch.Transfers) != 1 || ch.Transfers[0].PendingStatus != agentpay.PendingExpired {
			t.Fatalf("changes = %+v", ch)
		}
	})
	t.Run("accounts not loaded", func(t *testing.T) {
		// A store that loads a due pending transfer but not its accounts
		// has a bug: Expire refuses rather than guess.
		b := NewBatch(now, lastTS)
		for _, tr := range fixtureTransfers() {
			b.AddTransfer(tr)
		}
		err := b.Expire("p_due")
		if e := asError(t, err); e.Kind != agentpay.EINTERNAL || e.Code != "account_not_loaded" {
			t.Fatalf("Expire = %v", err)
		}
		if p := b.transfers["p_due"]; p.PendingStatus != agentpay.PendingOpen {
			t.Fatalf("p_due = %+v", p)
		}
	})
	for _, tc := range []struct{ id, code string }{
		{"nope", "pending_transfer_not_found"},
		{"single1", "pending_transfer_not_found"},
		{"rej_credits", "pending_transfer_not_found"},
		{"p_open", "pending_transfer_not_expired"}, // no timeout
		{"p_later", "pending_transfer_not_expired"},
		{"p_posted", "pending_transfer_not_expired"},
		{"p_voided", "pending_transfer_not_expired"},
		{"p_expired", "pending_transfer_not_expired"},
	} {
		t.Run(tc.id, func(t *testing.T) {
			b := fixture()
			if err := b.Expire(tc.id); agentpay.ErrorCode(err) != tc.code {
				t.Fatalf("Expire(%s) = %v, want %s", tc.id, err, tc.code)
			}
			if ch := checkBatch(t, b); len(ch.Pendings)+len(ch.Accounts)+len(ch.Transfers) != 0 {
				t.Fatalf("changes = %+v", ch)
			}
		})
	}
}

func TestChanges(t *testing.T) {
	t.Run("deltas and final states", func(t *testing.T) {
		b := fixture()
		mustApply(t, b, post("pp", "p_open", 100), single("s1", "merchant", "fund", 50))
		if err := b.Expire("p_due"); err != nil {
			t.Fatal(err)
		}
		ch := checkBatch(t, b)
		if len(ch.Transfers) != 2 || ch.Transfers[0].ID != "pp" || ch.Transfers[1].ID != "s1" {
			t.Fatalf("Transfers = %+v", ch.Transfers)
		}
		if len(ch.Pendings) != 2 {
			t.Fatalf("Pendings = %+v", ch.Pendings)
		}
		status := map[string]agentpay.PendingStatus{}
		for _, p := range ch.Pendings {
			status[p.ID] = p.PendingStatus
		}
		if status["p_open"] != agentpay.PendingPosted || status["p_due"] != agentpay.PendingExpired {
			t.Fatalf("Pendings = %v", status)
		}
		want := map[string]bal{
			"wallet":   {dp: -400, dpo: 100},
			"merchant": {cp: -400, cpo: 100, dpo: 50},
			"fund":     {cpo: 50},
		}
		if len(ch.Accounts) != len(want) {
			t.Fatalf("Accounts = %+v", ch.Accounts)
		}
		orig := map[string]agentpay.Account{}
		for _, a := range fixtureAccounts() {
			orig[a.ID] = a
		}
		for _, c := range ch.Accounts {
			d, o := want[c.Account.ID], orig[c.Account.ID]
			got := bal{c.Delta.DebitsPending, c.Delta.DebitsPosted, c.Delta.CreditsPending, c.Delta.CreditsPosted}
			if got != d {
				t.Fatalf("delta of %s = %+v, want %+v", c.Account.ID, got, d)
			}
			if c.Account.DebitsPending != o.DebitsPending+d.dp || c.Account.DebitsPosted != o.DebitsPosted+d.dpo ||
				c.Account.CreditsPending != o.CreditsPending+d.cp || c.Account.CreditsPosted != o.CreditsPosted+d.cpo ||
				c.Account.Flags != o.Flags || c.Account.Asset != o.Asset {
				t.Fatalf("account %+v, was %+v, delta %+v", c.Account, o, d)
			}
		}
	})
	t.Run("refuses a batch that does not balance", func(t *testing.T) {
		b := fixture()
		mustApply(t, b, single("s1", "wallet", "merchant", 10))
		b.accounts["merchant"].CreditsPosted++ // a bug that credits more than it debits
		_, err := b.Changes()
		if e := asError(t, err); e.Kind != agentpay.EINTERNAL || e.Code != "invariant_broken" || !strings.Contains(e.Message, "USD") {
			t.Fatalf("Changes = %v", err)
		}
	})
	t.Run("refuses a batch that does not balance its pending totals", func(t *testing.T) {
		b := fixture()
		b.accounts["eurwallet"].DebitsPending++
		if _, err := b.Changes(); agentpay.ErrorCode(err) != "invariant_broken" {
			t.Fatalf("Changes = %v", err)
		}
	})
	t.Run("refuses a batch that breaks a flag", func(t *testing.T) {
		b := fixture()
		b.accounts["wallet"].DebitsPosted += 10_000 // balanced, but beyond the wallet's credits
		b.accounts["fund"].CreditsPosted += 10_000
		_, err := b.Changes()
		if e := asError(t, err); e.Kind != agentpay.EINTERNAL || e.Code != "invariant_broken" || !strings.Contains(e.Message, "wallet") {
			t.Fatalf("Changes = %v", err)
		}
	})
}

func TestCreateAndRemoveAccount(t *testing.T) {
	b := fixture()
	if err := b.CreateAccount(agentpay.Account{ID: "new", Asset: "USD", Flags: agentpay.AccountDebitsMustNotExceedCredits, CreditsPosted: 1_000}); err != nil {
		t.Fatal(err)
	}
	if a, ok := b.Account("new"); !ok || a.CreditsPosted != 0 || a.Flags != agentpay.AccountDebitsMustNotExceedCredits {
		t.Fatalf("created account = %+v, %v; want zero balances", a, ok)
	}
	err := b.CreateAccount(agentpay.Account{ID: "wallet", Asset: "USD"})
	if e := asError(t, err); e.Code != "account_exists" || e.Kind != agentpay.ECONFLICT {
		t.Fatalf("CreateAccount of a known id = %v", err)
	}
	if _, err := b.ApplyGroup([]agentpay.Transfer{single("s1", "new", "merchant", 1)}); agentpay.ErrorCode(err) != "exceeds_credits" {
		t.Fatalf("transfer from a new, empty account: %v", err)
	}
	b.RemoveAccount("new")
	if _, ok := b.Account("new"); ok {
		t.Fatal("removed account still known")
	}
	if ch := checkBatch(t, b); len(ch.Accounts) != 0 {
		t.Fatalf("Accounts = %+v", ch.Accounts)
	}

	if err := b.CreateAccount(agentpay.Account{ID: "new2", Asset: "USD"}); err != nil {
		t.Fatal(err)
	}
	mustApply(t, b, single("s2", "merchant", "new2", 1))
	defer func() {
		if recover() == nil {
			t.Fatal("RemoveAccount of a changed account did not panic")
		}
	}()
	b.RemoveAccount("new2")
}
