package ledger

import (
	"github.com/agentpay/agentpay"
)

func reject(t *agentpay.Transfer, kind, code, param, format string, args ...any) (*agentpay.Transfer, error) {
	t.Result = code
	e := agentpay.Errorf(kind, code, format, args...)
	e.Param = param
	return t, e
}

// invalid refuses a transfer without storing the rejection: the request was
// malformed, so a corrected retry under the same id must be possible.
func invalid(code, param, format string, args ...any) (*agentpay.Transfer, error) {
	e := agentpay.Errorf(agentpay.EINVALID, code, format, args...)
	e.Param = param
	return nil, e
}

// apply applies one transfer of a group. A rejection that depends on the
// ledger's state is returned with t.Result set, so the caller stores it.
func (b *Batch) apply(u *undo, t *agentpay.Transfer) (*agentpay.Transfer, error) {
	t.Timestamp, t.ExpiresAt, t.PendingStatus, t.Result = 0, 0, agentpay.PendingNone, ""
	req := *t // as sent, before a post or void takes fields from its pending transfer
	if !agentpay.ValidID(t.ID) {
		return invalid("invalid_id", "id", "transfer id must be 1 to %d letters, digits, '_' or '-'", agentpay.TransferIDLengthMax)
	}
	var p *agentpay.Transfer
	switch t.Flags {
	case 0, agentpay.TransferPending:
	case agentpay.TransferPostPending, agentpay.TransferVoidPending:
		p = b.transfers[t.PendingID]
		if p != nil && (p.Result != "" || p.ID == t.ID) {
			p = nil
		}
		if p != nil {
			inheritFromPending(t, p)
		}
	default:
		return invalid("invalid_flags", "flags", "a transfer is single, pending, post_pending or void_pending")
	}
	if prior, ok := b.transfers[t.ID]; ok {
		return b.retry(t, &req, prior)
	}
	// The shape is checked before the pending transfer is looked up: a
	// malformed request must not be stored as a rejection, so that a
	// corrected retry under the same id remains possible.
	if err := validateShape(t); err != nil {
		return nil, err
	}
	if p == nil && (t.Flags == agentpay.TransferPostPending || t.Flags == agentpay.TransferVoidPending) {
		return reject(t, agentpay.ENOTFOUND, "pending_transfer_not_found", "pending_id", "pending transfer %s not found", t.PendingID)
	}
	dr, cr := b.accounts[t.DebitAccountID], b.accounts[t.CreditAccountID]
	if dr == nil {
		return reject(t, agentpay.ENOTFOUND, "debit_account_not_found", "debit_account_id", "account %s not found", t.DebitAccountID)
	}
	if cr == nil {
		return reject(t, agentpay.ENOTFOUND, "credit_account_not_found", "credit_account_id", "account %s not found", t.CreditAccountID)
	}
	if dr.Asset != t.Asset || cr.Asset != t.Asset {
		return invalid("asset_mismatch", "asset", "transfer in %s between accounts in %s and %s", t.Asset, dr.Asset, cr.Asset)
	}
	if p != nil {
		if res, err := b.checkPending(t, p); err != nil {
			return res, err
		}
	}
	u.saveAccount(dr)
	u.saveAccount(cr)
	if err := move(t, p, dr, cr); err != nil {
		e := err.(*agentpay.Error)
		return reject(t, e.Kind, e.Code, e.Param, "%s", e.Message)
	}
	b.lastTimestamp = max(b.Now, b.lastTimestamp+1)
	t.Timestamp = b.lastTimestamp
	if t.Flags == agentpay.TransferPending {
		t.PendingStatus = agentpay.PendingOpen
		if t.TimeoutSeconds > 0 {
			t.ExpiresAt = t.Timestamp + t.TimeoutSeconds*1_000_000
		}
	}
	if p != nil {
		u.savePending(p)
		if t.Flags == agentpay.TransferPostPending {
			p.PendingStatus = agentpay.PendingPosted
		} else {
			p.PendingStatus = agentpay.PendingVoided
		}
		if b.loaded[p.ID] && !b.pendingChanged[p.ID] {
			b.pendingChanged[p.ID] = true
			u.pendingChanged = append(u.pendingChanged, p.ID)
		}
	}
	stored := *t
	b.transfers[t.ID] = &stored
	b.created = append(b.created, &stored)
	u.newIDs = append(u.newIDs, t.ID)
	return t, nil
}

// inheritFromPending fills the fields a post or void may leave out.
func inheritFromPending(t, p *agentpay.Transfer) {
	if t.DebitAccountID == "" {
		t.DebitAccountID = p.DebitAccountID
	}
	if t.CreditAccountID == "" {
		t.CreditAccountID = p.CreditAccountID
	}
	if t.Asset == "" {
		t.Asset = p.Asset
	}
	if t.Amount == 0 {
		t.Amount = p.Amount // post the full amount, or void it
	}
}

// retry answers a transfer whose id the ledger already holds: the first result
// if the fields are the same, a conflict otherwise. t is the request as
// completed from its pending transfer, req as sent: an applied post or void
// is stored completed, a rejection as sent (see ApplyGroup), and the pending
// transfer may have appeared or vanished since a rejection, so either may be
// the one that matches.
func (b *Batch) retry(t, req, prior *agentpay.Transfer) (*agentpay.Transfer, error) {
	if !prior.SameRequest(t) && !prior.SameRequest(req) {
		return invalid("exists_with_different_fields", "id",
			"transfer %s already exists with different fields; use a new id for a new transfer", t.ID)
	}
	if prior.Result != "" {
		e := agentpay.Errorf(rejectionKind(prior.Result), prior.Result,
			"transfer %s was rejected when first submitted: %s", t.ID, prior.Result)
		return nil, e
	}
	return prior, nil
}

// rejectionKind maps a stored rejection code back to its error kind.
func rejectionKind(code string) string {
	switch code {
	case "debit_account_not_found", "credit_account_not_found", "pending_transfer_not_found":
		return agentpay.ENOTFOUND
	}
	return agentpay.ECONFLICT
}

// validateShape checks what needs no ledger state.
func validateShape(t *agentpay.Transfer) error {
	// A post or void may leave the amount out (0) when it takes it from its
	// pending transfer; it is still 0 here only if that one is unknown.
	resolves := t.Flags == agentpay.TransferPostPending || t.Flags == agentpay.TransferVoidPending
	if t.Amount < 0 || t.Amount == 0 && !resolves {
		_, err := invalid("invalid_amount", "amount", "amount must be a positive number of minor units")
		return err
	}
	if resolves {
		if !agentpay.ValidID(t.PendingID) {
			_, err := invalid("invalid_pending_id", "pending_id", "post and void need the pending transfer's id")
			return err
		}
	} else if t.PendingID != "" {
		_, err := invalid("invalid_pending_id", "pending_id", "only post and void refer to a pending transfer")
		return err
	}
	if t.TimeoutSeconds != 0 && t.Flags != agentpay.TransferPending {
		_, err := invalid("invalid_timeout", "timeout_seconds", "only pending transfers have a timeout")
		return err
	}
	if t.TimeoutSeconds < 0 || t.TimeoutSeconds > agentpay.TransferTimeoutSecondsMax {
		_, err := invalid("invalid_timeout", "timeout_seconds", "timeout must be 0 to %d seconds", agentpay.TransferTimeoutSecondsMax)
		return err
	}
	if t.PendingID == "" {
		if !agentpay.ValidID(t.DebitAccountID) {
			_, err := invalid("invalid_account", "debit_account_id", "debit_account_id is required")
			return err
		}
		if !agentpay.ValidID(t.CreditAccountID) {
			_, err := invalid("invalid_account", "credit_account_id", "credit_account_id is required")
			return err
		}
	}
	// Accounts a post or void of an unknown pending transfer left out are
	// both empty, which is not the same account.
	if t.DebitAccountID != "" && t.DebitAccountID == t.CreditAccountID {
		_, err := invalid("accounts_must_be_different", "credit_account_id", "debit and credit account must differ")
		return err
	}
	if len(t.Reference) > agentpay.ReferenceLengthMax || len(t.Code) > agentpay.ReferenceLengthMax {
		_, err := invalid("too_long", "reference", "reference and code are at most %d bytes", agentpay.ReferenceLengthMax)
		return err
	}
	return nil
}

// checkPending checks a post or void against the pending transfer it resolves.
func (b *Batch) checkPending(t, p *agentpay.Transfer) (*agentpay.Transfer, error) {
	if p.Flags != agentpay.TransferPending {
		return reject(t, agentpay.ECONFLICT, "pending_transfer_not_pending", "pending_id", "transfer %s is not pending", p.ID)
	}
	if t.DebitAccountID != p.DebitAccountID || t.CreditAccountID != p.CreditAccountID || t.Asset != p.Asset {
		return invalid("pending_transfer_has_different_accounts", "pending_id",
			"accounts and asset must be those of pending transfer %s", p.ID)
	}
	switch p.PendingStatus {
	case agentpay.PendingPosted:
		return reject(t, agentpay.ECONFLICT, "pending_transfer_already_posted", "pending_id", "pending transfer %s is already posted", p.ID)
	case agentpay.PendingVoided:
		return reject(t, agentpay.ECONFLICT, "pending_transfer_already_voided", "pending_id", "pending transfer %s is already voided", p.ID)
	case agentpay.PendingExpired:
		return reject(t, agentpay.ECONFLICT, "pending_transfer_expired", "pending_id", "pending transfer %s expired", p.ID)
	}
	if p.ExpiresAt != 0 && b.Now >= p.ExpiresAt {
		return reject(t, agentpay.ECONFLICT, "pending_transfer_expired", "pending_id", "pending transfer %s expired", p.ID)
	}
	if t.Amount > p.Amount {
		return reject(t, agentpay.ECONFLICT, "exceeds_pending_transfer_amount", "amount",
			"amount %d exceeds pending amount %d", t.Amount, p.Amount)
	}
	if t.Flags == agentpay.TransferVoidPending && t.Amount != p.Amount {
		return invalid("pending_transfer_has_different_amount", "amount", "a void releases the whole pending amount %d", p.Amount)
	}
	return nil, nil
}

// move changes the balances, or leaves them as they were if the result would
// overflow or break a flag.
func move(t, p *agentpay.Transfer, drp, crp *agentpay.Account) error {
	dr, cr := *drp, *crp
	var err error
	add := func(v *int64, d int64) {
		if err != nil {
			return
		}
		var r int64
		r, err = agentpay.AddAmounts(*v, d)
		if err == nil {
			*v = r
		}
	}
	switch t.Flags {
	case 0:
		add(&dr.DebitsPosted, t.Amount)
		add(&cr.CreditsPosted, t.Amount)
	case agentpay.TransferPending:
		add(&dr.DebitsPending, t.Amount)
		add(&cr.CreditsPending, t.Amount)
	case agentpay.TransferPostPending:
		add(&dr.DebitsPending, -p.Amount)
		add(&cr.CreditsPending, -p.Amount)
		add(&dr.DebitsPosted, t.Amount)
		add(&cr.CreditsPosted, t.Amount)
	case agentpay.TransferVoidPending:
		add(&dr.DebitsPending, -p.Amount)
		add(&cr.CreditsPending, -p.Amount)
	}
	if err != nil {
		return agentpay.Errorf(agentpay.ECONFLICT, "overflow", "transfer would overflow an account's totals")
	}
	if err := checkFlags(&dr); err != nil {
		if err.(*agentpay.Error).Code == "exceeds_credits" {
			// checkFlags saw the balance with this transfer in it; tell the
			// client what was available before it, not the shortfall after.
			e := agentpay.Errorf(agentpay.ECONFLICT, "exceeds_credits",
				"account %s has %d available; the transfer needs %d", drp.ID, drp.Available(), t.Amount)
			e.Param = "amount"
			return e
		}
		return err
	}
	if err := checkFlags(&cr); err != nil {
		return err
	}
	*drp, *crp = dr, cr
	return nil
}

// checkFlags checks an account's balance against its flags, with overflow of
// the sums counted as a breach.
func checkFlags(a *agentpay.Account) error {
	if a.Flags&agentpay.AccountDebitsMustNotExceedCredits != 0 {
		d, err := agentpay.AddAmounts(a.DebitsPending, a.DebitsPosted)
		if err != nil || d > a.CreditsPosted {
			e := agentpay.Errorf(agentpay.ECONFLICT, "exceeds_credits",
				"account %s has %d available; the transfer needs more", a.ID, a.Available())
			e.Param = "amount"
			return e
		}
	}
	if a.Flags&agentpay.AccountCreditsMustNotExceedDebits != 0 {
		c, err := agentpay.AddAmounts(a.CreditsPending, a.CreditsPosted)
		if err != nil || c > a.DebitsPosted {
			e := agentpay.Errorf(agentpay.ECONFLICT, "exceeds_debits",
				"account %s may not hold more credits than debits", a.ID)
			e.Param = "amount"
			return e
		}
	}
	return nil
}
