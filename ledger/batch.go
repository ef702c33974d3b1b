// Package ledger holds the double-entry rules: single-phase and two-phase
// transfers, linked groups, balance flags and the invariants every balance
// keeps. It works in memory on accounts a store loaded; it knows nothing of
// SQL, so the same rules apply on every engine and in tests.
package ledger

import (
	"fmt"
	"math/big"

	"github.com/agentpay/agentpay"
)

// Batch applies groups of transfers to accounts in memory, in order. A store
// loads every account and every pending or same-id transfer the batch refers
// to, applies the batch, then writes what Changes reports.
//
// A Batch is not safe for concurrent use: one committer owns it.
type Batch struct {
	// Now is the database's clock in microseconds; expiry is decided by it.
	Now int64

	accounts  map[string]*agentpay.Account
	original  map[string]agentpay.Account // as loaded, to compute deltas
	transfers map[string]*agentpay.Transfer
	loaded    map[string]bool // transfers that came from the store (not new in this batch)

	created        []*agentpay.Transfer // new transfers and stored rejections, in order
	pendingChanged map[string]bool      // loaded pending transfers whose status changed
	lastTimestamp  int64
}

// NewBatch returns an empty batch deciding expiry at now (microseconds).
// lastTimestamp is the greatest timestamp the caller has handed out; new
// transfers get strictly greater ones.
func NewBatch(now, lastTimestamp int64) *Batch {
	return &Batch{
		Now:            now,
		accounts:       map[string]*agentpay.Account{},
		original:       map[string]agentpay.Account{},
		transfers:      map[string]*agentpay.Transfer{},
		loaded:         map[string]bool{},
		pendingChanged: map[string]bool{},
		lastTimestamp:  lastTimestamp,
	}
}

// AddAccount makes a loaded account known to the batch.
func (b *Batch) AddAccount(a agentpay.Account) {
	b.accounts[a.ID] = &a
	b.original[a.ID] = a
}

// CreateAccount adds an account new in this batch, with zero balances. It
// fails if the id is already known.
func (b *Batch) CreateAccount(a agentpay.Account) error {
	if _, ok := b.accounts[a.ID]; ok {
		return agentpay.Errorf(agentpay.ECONFLICT, "account_exists", "account %s already exists", a.ID)
	}
	a.DebitsPending, a.DebitsPosted, a.CreditsPending, a.CreditsPosted = 0, 0, 0, 0
	b.accounts[a.ID] = &a
	b.original[a.ID] = a
	return nil
}

// AddTransfer makes a stored transfer (or stored rejection) known to the batch.
func (b *Batch) AddTransfer(t agentpay.Transfer) {
	b.transfers[t.ID] = &t
	b.loaded[t.ID] = true
}

// Account returns the batch's current state of an account.
func (b *Batch) Account(id string) (agentpay.Account, bool) {
	a, ok := b.accounts[id]
	if !ok {
		return agentpay.Account{}, false
	}
	return *a, true
}

// undo records what a group changed so a failing group leaves no trace.
type undo struct {
	accounts       map[string]agentpay.Account
	pendings       map[string]agentpay.Transfer
	createdLen     int
	newIDs         []string
	lastTimestamp  int64
	pendingChanged []string
}

func (b *Batch) begin() *undo {
	return &undo{accounts: map[string]agentpay.Account{}, pendings: map[string]agentpay.Transfer{},
		createdLen: len(b.created), lastTimestamp: b.lastTimestamp}
}

func (u *undo) saveAccount(a *agentpay.Account) {
	if _, ok := u.accounts[a.ID]; !ok {
		u.accounts[a.ID] = *a
	}
}

func (u *undo) savePending(p *agentpay.Transfer) {
	if _, ok := u.pendings[p.ID]; !ok {
		u.pendings[p.ID] = *p
	}
}

func (b *Batch) rollback(u *undo) {
	for id, a := range u.accounts {
		*b.accounts[id] = a
	}
	for id, p := range u.pendings {
		*b.transfers[id] = p
	}
	for _, id := range u.newIDs {
		delete(b.transfers, id)
	}
	for _, id := range u.pendingChanged {
		delete(b.pendingChanged, id)
	}
	b.created = b.created[:u.createdLen]
	b.lastTimestamp = u.lastTimestamp
}

// ApplyGroup applies transfers all-or-nothing, in order, and returns each as
// applied (with timestamp, expiry and pending status), or as first applied if
// it is a retry of an id the ledger already holds. On failure nothing changes
// but the stored rejection of the failing transfer, and the error says which
// transfer failed and why.
func (b *Batch) ApplyGroup(group []agentpay.Transfer) ([]agentpay.Transfer, error) {
	u := b.begin()
	out := make([]agentpay.Transfer, 0, len(group))
	for i := range group {
		t := group[i]
		res, err := b.apply(u, &t)
		if err != nil {
			b.rollback(u)
			if res != nil && res.Result != "" && !b.isKnown(res.ID) {
				// Store the rejection so that a retry of this id gets it again.
				// It is stored as sent, not as completed from a pending
				// transfer: that one may be gone with the rolled-back group,
				// or appear later, and a retry must still match.
				r := group[i]
				r.Timestamp, r.ExpiresAt, r.PendingStatus, r.Result = 0, 0, agentpay.PendingNone, res.Result
				b.record(&r)
			}
			return nil, groupError(err, i, len(group), t.ID)
		}
		out = append(out, *res)
	}
	return out, nil
}

func (b *Batch) isKnown(id string) bool { _, ok := b.transfers[id]; return ok }

// record stores a rejection beside the transfers. It takes a timestamp from
// the transfers' sequence, unique like theirs.
func (b *Batch) record(t *agentpay.Transfer) {
	b.lastTimestamp = max(b.Now, b.lastTimestamp+1)
	t.Timestamp = b.lastTimestamp
	b.transfers[t.ID] = t
	b.created = append(b.created, t)
}

// groupError names the failing transfer when the group has several.
func groupError(err error, i, n int, id string) error {
	e, ok := err.(*agentpay.Error)
	if !ok || n == 1 {
		return err
	}
	c := *e
	c.Message = fmt.Sprintf("transfer %d (%s) of the linked group: %s; no transfer of the group was applied", i, id, e.Message)
	if c.Param != "" {
		c.Param = fmt.Sprintf("transfers[%d].%s", i, c.Param)
	}
	return &c
}

// Expire voids an open pending transfer whose timeout has passed by b.Now. It
// fails, changing nothing, if the transfer is unknown, not open or not yet due.
func (b *Batch) Expire(pendingID string) error {
	p, ok := b.transfers[pendingID]
	if !ok || p.Result != "" || p.Flags != agentpay.TransferPending {
		return agentpay.Errorf(agentpay.ENOTFOUND, "pending_transfer_not_found", "pending transfer %s not found", pendingID)
	}
	if p.PendingStatus != agentpay.PendingOpen || p.ExpiresAt == 0 || b.Now < p.ExpiresAt {
		return agentpay.Errorf(agentpay.ECONFLICT, "pending_transfer_not_expired", "pending transfer %s is not open and due", pendingID)
	}
	dr, cr := b.accounts[p.DebitAccountID], b.accounts[p.CreditAccountID]
	if dr == nil || cr == nil {
		return agentpay.Errorf(agentpay.EINTERNAL, "account_not_loaded", "accounts of pending transfer %s not loaded", pendingID)
	}
	dr.DebitsPending -= p.Amount
	cr.CreditsPending -= p.Amount
	p.PendingStatus = agentpay.PendingExpired
	if b.loaded[p.ID] {
		b.pendingChanged[p.ID] = true
	}
	return nil
}

// Changes reports what the batch changed, for the store to write.
type Changes struct {
	Transfers []*agentpay.Transfer // new transfers and stored rejections, in order
	Pendings  []*agentpay.Transfer // stored pending transfers whose status changed
	Accounts  []AccountChange      // accounts whose balances changed
}

// AccountChange is an account's state after the batch and the difference from
// its state as loaded.
type AccountChange struct {
	Account agentpay.Account
	Delta   agentpay.Account // only the four balance fields are set
}

// Changes returns the batch's writes. It first asserts the double-entry
// invariant over the batch: per asset, the debits it added equal the credits
// it added, posted and pending alike. A failure means a bug in this package,
// and the store must not commit.
func (b *Batch) Changes() (Changes, error) {
	var c Changes
	c.Transfers = b.created
	for id := range b.pendingChanged {
		c.Pendings = append(c.Pendings, b.transfers[id])
	}
	// Summed with big integers: int64 sums could wrap and hide an imbalance.
	type sums struct{ posted, pending big.Int }
	perAsset := map[string]*sums{}
	for id, a := range b.accounts {
		o := b.original[id]
		d := agentpay.Account{
			ID:             id,
			DebitsPending:  a.DebitsPending - o.DebitsPending,
			DebitsPosted:   a.DebitsPosted - o.DebitsPosted,
			CreditsPending: a.CreditsPending - o.CreditsPending,
			CreditsPosted:  a.CreditsPosted - o.CreditsPosted,
		}
		if d.DebitsPending == 0 && d.DebitsPosted == 0 && d.CreditsPending == 0 && d.CreditsPosted == 0 {
			continue
		}
		s := perAsset[a.Asset]
		if s == nil {
			s = &sums{}
			perAsset[a.Asset] = s
		}
		s.posted.Add(&s.posted, big.NewInt(d.CreditsPosted))
		s.posted.Sub(&s.posted, big.NewInt(d.DebitsPosted))
		s.pending.Add(&s.pending, big.NewInt(d.CreditsPending))
		s.pending.Sub(&s.pending, big.NewInt(d.DebitsPending))
		if err := checkFlags(a); err != nil {
			return Changes{}, agentpay.Errorf(agentpay.EINTERNAL, "invariant_broken", "account %s: %v", id, err)
		}
		c.Accounts = append(c.Accounts, AccountChange{Account: *a, Delta: d})
	}
	for asset, s := range perAsset {
		if s.posted.Sign() != 0 || s.pending.Sign() != 0 {
			return Changes{}, agentpay.Errorf(agentpay.EINTERNAL, "invariant_broken",
				"batch does not balance in %s: posted %s, pending %s", asset, &s.posted, &s.pending)
		}
	}
	return c, nil
}

// LastTimestamp returns the greatest timestamp the batch handed out.
func (b *Batch) LastTimestamp() int64 { return b.lastTimestamp }

// RemoveAccount undoes CreateAccount for a unit that failed. Only an account
// created in this batch and not changed since may be removed.
func (b *Batch) RemoveAccount(id string) {
	a, ok := b.accounts[id]
	if !ok || a.DebitsPending != 0 || a.DebitsPosted != 0 || a.CreditsPending != 0 || a.CreditsPosted != 0 {
		panic("ledger: RemoveAccount of an account that is not new and untouched: " + id)
	}
	delete(b.accounts, id)
	delete(b.original, id)
}
