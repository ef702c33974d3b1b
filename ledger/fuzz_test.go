package ledger

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/agentpay/agentpay"
)

// FuzzLedger decodes its input into operations on a few accounts of two
// assets (single, pending, post, void, linked groups, retries, Expire) spread
// over several batches, and checks the ledger against an oracle: a separate,
// straightforward model of the rules that predicts every outcome. Between
// batches the Changes of a batch are applied to a model "database", from
// which the next batch is loaded, as the store does. After every batch:
//   - Changes succeeds and reports exactly what the oracle expects;
//   - Check passes on every account and every open pending transfer;
//   - balances recomputed from the stored transfers alone equal the accounts.
//
// The clock moves between batches and, now and then, within one.
//
// Run with: go test -run='^$' -fuzz=FuzzLedger ./ledger/
func FuzzLedger(f *testing.F) {
	// Seeds, spelled out against the decoding below (op byte, then the
	// operation's bytes).
	f.Add([]byte{})
	f.Add([]byte{
		1, 2, 1, 0, // flags: u1 debits_must_not_exceed_credits, u2 credits_must_not_exceed_debits, e1 debits_…, e2 none
		0, 0, 0, 16, 200, 49, 0, // t0: single u0 -> u1, 50
		0, 2, 1, 17, 200, 29, 3, 0, // t1: pending u1 -> u0, 30, timeout 5 s
		0, 2, 1, 17, 200, 9, 0, 0, // t2: pending u1 -> u0, 10
		9, 5, // next batch, 1 s later
		0, 3, 0, 16, 200, 0, 132, 1, 0, // t3: post 4 of t2
		0, 4, 0, 16, 200, 0, 0, 1, 0, // t4: void t2: already posted
		7, 4, // retry of t4: the same rejection
		6, 1, // expire t1: not due
		9, 17, // next batch, 4 s later: 1 µs before t1 is due
		6, 1, // expire t1: not due
		9, 5, // next batch, 1 s later
		6, 1, // expire t1
		0, 3, 0, 16, 200, 1, 0, 1, 0, // t5: post t1: expired
		5, 1, 0, 0, 16, 200, 19, 0, 2, 1, 17, 200, 99, 0, 0, // group t6, t7: single u0 -> u1, 20; pending u1 -> u0, 100: exceeds credits
		8, 7, // retry of the group
	})
	f.Add([]byte{
		0, 0, 2, 1, // flags: e1 credits_must_not_exceed_debits, e2 debits_must_not_exceed_credits
		0, 0, 3, 17, 200, 240, 0, // t0: single e0 -> e2, 2^62
		0, 0, 3, 17, 200, 248, 0, // t1: single e0 -> e2, MaxInt64: overflow
		5, 2, 0, 4, 17, 200, 9, 0, 0, 3, 16, 200, 9, 0, 0, 5, 16, 200, 6, 0, // group e1 -> e0 10, e0 -> e1 10, e2 -> e0 7
		5, 1, 0, 5, 16, 200, 0, 0, 0, 3, 16, 200, 4, 0, // group e2 -> e0 1, e0 -> e1 5: exceeds debits
		0, 2, 5, 16, 200, 49, 4, 0, // pending e2 -> e0, 50, timeout 30 s
		5, 1, 3, 0, 16, 200, 0, 0, 1, 0, 4, 0, 16, 200, 0, 0, 1, 0, // group: post it, void it: already posted
		0, 3, 0, 16, 200, 0, 0, 1, 0, // post it
		9, 2, // next batch, no time later
		8, 6, // retry of the post
		0, 0, 3, 17, 200, 5, 240, // a malformed id
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > fuzzInputMax {
			data = data[:fuzzInputMax]
		}
		runLedgerFuzz(t, data)
	})
}

// fuzzInputMax bounds what FuzzLedger decodes, some 60 operations. The
// fuzzer minimizes every input that finds new coverage by trying to remove
// each range of its bytes, quadratic in its length, for up to a minute: with
// long inputs it spends its time minimizing rather than fuzzing. Longer
// sequences are TestLedgerRandom's job.
const fuzzInputMax = 256

// TestLedgerRandom runs the fuzz body on pseudo-random inputs, so that plain
// `go test` covers far more than the seed corpus.
func TestLedgerRandom(t *testing.T) {
	n := 1000
	if testing.Short() {
		n = 100
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range n {
		data := make([]byte, 20+r.IntN(2000))
		for j := range data {
			data[j] = byte(r.UintN(256))
		}
		if !t.Run(fmt.Sprint(i), func(t *testing.T) { runLedgerFuzz(t, data) }) {
			t.Fatalf("input: %q", data)
		}
	}
}

// fuzzInput reads the fuzz input; past its end it reads zeros. It remembers
// the ids it handed out, so that retries, conflicts and posts of known
// pending transfers are frequent.
type fuzzInput struct {
	data     []byte
	i        int
	ids      []string // every id handed out
	pendings []string // ids of pending transfers handed out
}

func (in *fuzzInput) more() bool { return in.i < len(in.data) }

func (in *fuzzInput) next() byte {
	if in.i >= len(in.data) {
		return 0
	}
	c := in.data[in.i]
	in.i++
	return c
}

func (in *fuzzInput) pick(n int) int { return int(in.next()) % n }

// id returns a new id, or now and then one handed out before.
func (in *fuzzInput) id() string {
	if c := in.next(); c < 32 && len(in.ids) > 0 {
		return in.ids[int(c)%len(in.ids)]
	}
	id := fmt.Sprintf("t%d", len(in.ids))
	in.ids = append(in.ids, id)
	return id
}

// pendingID returns the id of a recent pending transfer, mostly.
func (in *fuzzInput) pendingID() string {
	switch c := int(in.next()); {
	case c < 208 && len(in.pendings) > 0:
		return in.pendings[len(in.pendings)-1-c%min(len(in.pendings), 6)]
	case c < 240 && len(in.ids) > 0:
		return in.ids[c%len(in.ids)]
	default:
		return "nope"
	}
}

var (
	fuzzAccounts = []string{"u0", "u1", "u2", "e0", "e1", "e2"}
	fuzzTimeouts = []int64{0, 1, 2, 5, 30}
)

func fuzzAsset(account string) string {
	if strings.HasPrefix(account, "u") {
		return "USD"
	}
	return "EUR"
}

func (in *fuzzInput) amount() int64 {
	switch c := in.next(); {
	case c < 200:
		return int64(c%100) + 1
	case c < 240:
		return int64(c) * 1000
	case c < 248:
		return 1 << 62
	case c < 252:
		return math.MaxInt64
	case c < 254:
		return 0
	default:
		return math.MaxInt64 - int64(in.next())
	}
}

// advance returns how far the clock moves: often whole seconds, so that it
// lands exactly on expiries, sometimes a few microseconds more.
func (in *fuzzInput) advance() int64 {
	c := int64(in.next())
	switch c % 4 {
	case 0:
		return 0
	case 1:
		return (c / 4 % 6) * sec
	case 2:
		return (c/4%31)*sec + c/4%4 // up to the longest timeout, and a little
	default:
		return c / 4 * sec
	}
}

// accounts returns two accounts: mostly different ones of one asset,
// sometimes any two.
func (in *fuzzInput) accounts() (string, string) {
	i := in.pick(len(fuzzAccounts))
	c := in.next()
	if c < 16 {
		return fuzzAccounts[i], fuzzAccounts[int(c)%len(fuzzAccounts)]
	}
	base := i / 3 * 3
	return fuzzAccounts[i], fuzzAccounts[base+(i-base+1+int(c)%2)%3]
}

// transfer decodes one transfer: mostly well-formed, sometimes not.
func (in *fuzzInput) transfer() agentpay.Transfer {
	kind := in.pick(5)
	dr, cr := in.accounts()
	t := agentpay.Transfer{ID: in.id(), Asset: fuzzAsset(dr)}
	switch kind {
	case 0, 1:
		t.DebitAccountID, t.CreditAccountID, t.Amount = dr, cr, in.amount()
	case 2:
		t.DebitAccountID, t.CreditAccountID, t.Amount = dr, cr, in.amount()
		t.Flags = agentpay.TransferPending
		t.TimeoutSeconds = fuzzTimeouts[in.pick(len(fuzzTimeouts))]
		in.pendings = append(in.pendings, t.ID)
	case 3, 4:
		t.Flags = agentpay.TransferPostPending
		if kind == 4 {
			t.Flags = agentpay.TransferVoidPending
		}
		t.PendingID = in.pendingID()
		t.Asset = ""
		switch c := in.next(); {
		case c < 128:
			// the full amount, left out
		case c < 240:
			t.Amount = int64(c % 64)
		default:
			t.Amount = in.amount()
		}
		if in.next()%8 == 0 {
			// Name accounts and asset, right or wrong.
			t.DebitAccountID, t.CreditAccountID, t.Asset = dr, cr, fuzzAsset(dr)
		}
	}
	if c := in.next(); c >= 240 {
		switch c % 8 {
		case 0:
			t.ID = "bad id"
		case 1:
			t.Flags |= agentpay.TransferFlags(1 << (c % 4))
		case 2:
			t.Amount = -t.Amount - 1
		case 3:
			t.TimeoutSeconds = int64(c%3) - 1
		case 4:
			t.Reference = strings.Repeat("r", agentpay.ReferenceLengthMax+int(c%2))
		case 5:
			t.Asset = "JPY"
		case 6:
			t.CreditAccountID = t.DebitAccountID
		case 7:
			t.PendingID = in.pendingID()
		}
	}
	return t
}

// --- The oracle ---------------------------------------------------------------

type oracleAccount struct {
	asset            string
	flags            agentpay.AccountFlags
	dp, dpo, cp, cpo int64
}

type oracle struct {
	now, last int64
	accounts  map[string]oracleAccount
	transfers map[string]agentpay.Transfer
	undo      []func() // undoes the current group's writes, last first
}

func (m *oracle) setAccount(id string, a oracleAccount) {
	old := m.accounts[id]
	m.undo = append(m.undo, func() { m.accounts[id] = old })
	m.accounts[id] = a
}

func (m *oracle) setTransfer(t agentpay.Transfer) {
	old, ok := m.transfers[t.ID]
	m.undo = append(m.undo, func() {
		if ok {
			m.transfers[t.ID] = old
		} else {
			delete(m.transfers, t.ID)
		}
	})
	m.transfers[t.ID] = t
}

// outcome is what the oracle predicts for one transfer.
type outcome struct {
	res    agentpay.Transfer
	code   string // "" when applied
	kind   string
	stored bool // the rejection is stored
}

func invalidOutcome(code string) outcome { return outcome{code: code, kind: agentpay.EINVALID} }

func storedOutcome(code string) outcome {
	kind := agentpay.ECONFLICT
	if strings.HasSuffix(code, "not_found") {
		kind = agentpay.ENOTFOUND
	}
	return outcome{code: code, kind: kind, stored: true}
}

// sameRequest compares the fields a client sets.
func sameRequest(a, b agentpay.Transfer) bool {
	return a.ID == b.ID && a.DebitAccountID == b.DebitAccountID && a.CreditAccountID == b.CreditAccountID &&
		a.Amount == b.Amount && a.Asset == b.Asset && a.Flags == b.Flags && a.PendingID == b.PendingID &&
		a.TimeoutSeconds == b.TimeoutSeconds && a.Reference == b.Reference && a.Code == b.Code
}

func fits(v *big.Int) bool { return v.IsInt64() && v.Sign() >= 0 }

// apply predicts one transfer and, if it applies, applies it to the oracle.
func (m *oracle) apply(req agentpay.Transfer) outcome {
	req.Timestamp, req.ExpiresAt, req.PendingStatus, req.Result = 0, 0, agentpay.PendingNone, ""
	t := req
	if !agentpay.ValidID(t.ID) {
		return invalidOutcome("invalid_id")
	}
	resolves := t.Flags == agentpay.TransferPostPending || t.Flags == agentpay.TransferVoidPending
	if t.Flags != 0 && t.Flags != agentpay.TransferPending && !resolves {
		return invalidOutcome("invalid_flags")
	}
	var p *agentpay.Transfer
	if resolves {
		if q, ok := m.transfers[t.PendingID]; ok && q.Result == "" && q.ID != t.ID {
			p = &q
			if t.DebitAccountID == "" {
				t.DebitAccountID = q.DebitAccountID
			}
			if t.CreditAccountID == "" {
				t.CreditAccountID = q.CreditAccountID
			}
			if t.Asset == "" {
				t.Asset = q.Asset
			}
			if t.Amount == 0 {
				t.Amount = q.Amount
			}
		}
	}
	if prior, ok := m.transfers[t.ID]; ok {
		// A retry: the same request, as sent or as completed from its
		// pending transfer, gets the first result.
		if !sameRequest(prior, t) && !sameRequest(prior, req) {
			return invalidOutcome("exists_with_different_fields")
		}
		if prior.Result != "" {
			o := storedOutcome(prior.Result)
			o.stored = false // already stored
			return o
		}
		return outcome{res: prior}
	}

	// What the request says on its own.
	switch {
	case t.Amount < 0 || t.Amount == 0 && !resolves:
		return invalidOutcome("invalid_amount")
	case resolves && !agentpay.ValidID(t.PendingID), !resolves && t.PendingID != "":
		return invalidOutcome("invalid_pending_id")
	case t.TimeoutSeconds != 0 && t.Flags != agentpay.TransferPending,
		t.TimeoutSeconds < 0 || t.TimeoutSeconds > agentpay.TransferTimeoutSecondsMax:
		return invalidOutcome("invalid_timeout")
	case !resolves && !agentpay.ValidID(t.DebitAccountID), !resolves && !agentpay.ValidID(t.CreditAccountID):
		return invalidOutcome("invalid_account")
	case t.DebitAccountID != "" && t.DebitAccountID == t.CreditAccountID:
		return invalidOutcome("accounts_must_be_different")
	case len(t.Reference) > agentpay.ReferenceLengthMax || len(t.Code) > agentpay.ReferenceLengthMax:
		return invalidOutcome("too_long")
	}

	// What it says against the ledger.
	if resolves && p == nil {
		return storedOutcome("pending_transfer_not_found")
	}
	dr, ok := m.accounts[t.DebitAccountID]
	if !ok {
		return storedOutcome("debit_account_not_found")
	}
	cr, ok := m.accounts[t.CreditAccountID]
	if !ok {
		return storedOutcome("credit_account_not_found")
	}
	if dr.asset != t.Asset || cr.asset != t.Asset {
		return invalidOutcome("asset_mismatch")
	}
	if p != nil {
		switch {
		case p.Flags != agentpay.TransferPending:
			return storedOutcome("pending_transfer_not_pending")
		case t.DebitAccountID != p.DebitAccountID || t.CreditAccountID != p.CreditAccountID || t.Asset != p.Asset:
			return invalidOutcome("pending_transfer_has_different_accounts")
		case p.PendingStatus == agentpay.PendingPosted:
			return storedOutcome("pending_transfer_already_posted")
		case p.PendingStatus == agentpay.PendingVoided:
			return storedOutcome("pending_transfer_already_voided")
		case p.PendingStatus == agentpay.PendingExpired, p.ExpiresAt != 0 && m.now >= p.ExpiresAt:
			return storedOutcome("pending_transfer_expired")
		case t.Amount > p.Amount:
			return storedOutcome("exceeds_pending_transfer_amount")
		case t.Flags == agentpay.TransferVoidPending && t.Amount != p.Amount:
			return invalidOutcome("pending_transfer_has_different_amount")
		}
	}

	// The balances after it, exactly.
	b := func(v int64) *big.Int { return big.NewInt(v) }
	ddp, ddpo, ccp, ccpo := b(dr.dp), b(dr.dpo), b(cr.cp), b(cr.cpo)
	amount := b(t.Amount)
	switch t.Flags {
	case 0:
		ddpo.Add(ddpo, amount)
		ccpo.Add(ccpo, amount)
	case agentpay.TransferPending:
		ddp.Add(ddp, amount)
		ccp.Add(ccp, amount)
	default:
		ddp.Sub(ddp, b(p.Amount))
		ccp.Sub(ccp, b(p.Amount))
		if t.Flags == agentpay.TransferPostPending {
			ddpo.Add(ddpo, amount)
			ccpo.Add(ccpo, amount)
		}
	}
	if !fits(ddp) || !fits(ddpo) || !fits(ccp) || !fits(ccpo) {
		return storedOutcome("overflow")
	}
	if dr.flags&agentpay.AccountDebitsMustNotExceedCredits != 0 && new(big.Int).Add(ddp, ddpo).Cmp(b(dr.cpo)) > 0 {
		return storedOutcome("exceeds_credits")
	}
	if dr.flags&agentpay.AccountCreditsMustNotExceedDebits != 0 && b(dr.cp+dr.cpo).Cmp(ddpo) > 0 {
		return storedOutcome("exceeds_debits") // cannot happen: a debit only raises debits
	}
	if cr.flags&agentpay.AccountDebitsMustNotExceedCredits != 0 && b(cr.dp+cr.dpo).Cmp(ccpo) > 0 {
		return storedOutcome("exceeds_credits") // cannot happen: a credit only raises credits
	}
	if cr.flags&agentpay.AccountCreditsMustNotExceedDebits != 0 && new(big.Int).Add(ccp, ccpo).Cmp(b(cr.dpo)) > 0 {
		return storedOutcome("exceeds_debits")
	}
	dr.dp, dr.dpo, cr.cp, cr.cpo = ddp.Int64(), ddpo.Int64(), ccp.Int64(), ccpo.Int64()
	m.setAccount(t.DebitAccountID, dr)
	m.setAccount(t.CreditAccountID, cr)

	m.last = max(m.now, m.last+1)
	t.Timestamp = m.last
	if t.Flags == agentpay.TransferPending {
		t.PendingStatus = agentpay.PendingOpen
		if t.TimeoutSeconds > 0 {
			t.ExpiresAt = t.Timestamp + t.TimeoutSeconds*1_000_000
		}
	}
	if p != nil {
		if t.Flags == agentpay.TransferPostPending {
			p.PendingStatus = agentpay.PendingPosted
		} else {
			p.PendingStatus = agentpay.PendingVoided
		}
		m.setTransfer(*p)
	}
	m.setTransfer(t)
	return outcome{res: t}
}

// applyGroup predicts a linked group: the outputs, or the index and outcome
// of the first transfer that fails.
func (m *oracle) applyGroup(group []agentpay.Transfer) ([]agentpay.Transfer, int, outcome) {
	m.undo = m.undo[:0]
	last := m.last
	var out []agentpay.Transfer
	for i, t := range group {
		o := m.apply(t)
		if o.code == "" {
			out = append(out, o.res)
			continue
		}
		for j := len(m.undo) - 1; j >= 0; j-- {
			m.undo[j]()
		}
		m.undo, m.last = m.undo[:0], last
		if _, known := m.transfers[t.ID]; o.stored && !known {
			// The rejection is stored as it was sent, with the next
			// timestamp.
			m.last = max(m.now, m.last+1)
			r := t
			r.Timestamp, r.ExpiresAt, r.PendingStatus, r.Result = m.last, 0, agentpay.PendingNone, o.code
			m.transfers[r.ID] = r
		}
		return nil, i, o
	}
	m.undo = m.undo[:0]
	return out, -1, outcome{}
}

func (m *oracle) expire(id string) string {
	p, ok := m.transfers[id]
	if !ok || p.Result != "" || p.Flags != agentpay.TransferPending {
		return "pending_transfer_not_found"
	}
	if p.PendingStatus != agentpay.PendingOpen || p.ExpiresAt == 0 || m.now < p.ExpiresAt {
		return "pending_transfer_not_expired"
	}
	dr, cr := m.accounts[p.DebitAccountID], m.accounts[p.CreditAccountID]
	dr.dp -= p.Amount
	cr.cp -= p.Amount
	m.accounts[p.DebitAccountID], m.accounts[p.CreditAccountID] = dr, cr
	p.PendingStatus = agentpay.PendingExpired
	m.transfers[id] = p
	return ""
}

// --- The database and the run -------------------------------------------------

// fuzzDB is what a store would hold: accounts and transfers as written from
// Changes.
type fuzzDB struct {
	accounts  map[string]agentpay.Account
	transfers map[string]agentpay.Transfer
	order     []string // transfer ids in the order written
}

func runLedgerFuzz(t *testing.T, data []byte) {
	in := &fuzzInput{data: data}
	db := &fuzzDB{accounts: map[string]agentpay.Account{}, transfers: map[string]agentpay.Transfer{}}
	m := &oracle{now: now, last: now - 1, accounts: map[string]oracleAccount{}, transfers: map[string]agentpay.Transfer{}}
	for i, id := range fuzzAccounts {
		// u0 and e0 are unconstrained, so that money can enter.
		var flags agentpay.AccountFlags
		if i != 0 && i != 3 {
			flags = []agentpay.AccountFlags{0, agentpay.AccountDebitsMustNotExceedCredits, agentpay.AccountCreditsMustNotExceedDebits}[in.pick(3)]
		}
		db.accounts[id] = agentpay.Account{ID: id, Asset: fuzzAsset(id), Flags: flags}
		m.accounts[id] = oracleAccount{asset: fuzzAsset(id), flags: flags}
	}

	var history [][]agentpay.Transfer // groups submitted, for retries
	step := 0
	for {
		start := m.now
		b := NewBatch(start, m.last)
		for _, a := range db.accounts {
			b.AddAccount(a)
		}
		for _, tr := range db.transfers {
			b.AddTransfer(tr)
		}
		for in.more() {
			step++
			op := in.pick(11)
			if op == 9 {
				break
			}
			if op == 10 {
				// The clock moves on within the batch.
				b.Now += in.advance()
				m.now = b.Now
				continue
			}
			var group []agentpay.Transfer
			switch op {
			case 5:
				for range 1 + in.pick(3) {
					group = append(group, in.transfer())
				}
			case 6:
				id := in.pendingID()
				err := b.Expire(id)
				if want := m.expire(id); agentpay.ErrorCode(err) != want && !(want == "" && err == nil) {
					t.Fatalf("step %d: Expire(%s) = %v, want %q", step, id, err, want)
				}
				continue
			case 7, 8:
				if len(history) == 0 {
					continue
				}
				group = history[in.pick(len(history))]
			default:
				group = []agentpay.Transfer{in.transfer()}
			}
			history = append(history, group)
			checkGroup(t, step, b, m, group)
		}
		commitBatch(t, b, start, m, db)
		if !in.more() {
			return
		}
		m.now += in.advance()
	}
}

func checkGroup(t *testing.T, step int, b *Batch, m *oracle, group []agentpay.Transfer) {
	t.Helper()
	// The ledger must not change the caller's slice.
	in := append([]agentpay.Transfer(nil), group...)
	out, err := b.ApplyGroup(group)
	for i := range group {
		if group[i] != in[i] {
			t.Fatalf("step %d: ApplyGroup changed its input", step)
		}
	}
	want, failed, o := m.applyGroup(group)
	if failed < 0 {
		if err != nil {
			t.Fatalf("step %d: ApplyGroup(%+v) = %v, want success", step, group, err)
		}
		if len(out) != len(want) {
			t.Fatalf("step %d: %d results, want %d", step, len(out), len(want))
		}
		for i := range out {
			if out[i] != want[i] {
				t.Fatalf("step %d: out[%d] = %+v\nwant %+v", step, i, out[i], want[i])
			}
		}
		return
	}
	if err == nil {
		t.Fatalf("step %d: ApplyGroup(%+v) applied, want transfer %d to fail with %s", step, group, failed, o.code)
	}
	e, ok := err.(*agentpay.Error)
	if !ok || e.Code != o.code || e.Kind != o.kind || out != nil {
		t.Fatalf("step %d: ApplyGroup(%+v) = %v, want transfer %d to fail with %s (%s)", step, group, err, failed, o.code, o.kind)
	}
	if len(group) > 1 && !strings.Contains(e.Message, fmt.Sprintf("transfer %d (%s) of the linked group", failed, group[failed].ID)) {
		t.Fatalf("step %d: error %q does not name transfer %d", step, e.Message, failed)
	}
	if len(group) > 1 && e.Param != "" && !strings.HasPrefix(e.Param, fmt.Sprintf("transfers[%d].", failed)) {
		t.Fatalf("step %d: param %q does not name transfer %d", step, e.Param, failed)
	}
}

// commitBatch checks a batch's Changes against the oracle and writes them to
// the database, then checks the database.
func commitBatch(t *testing.T, b *Batch, start int64, m *oracle, db *fuzzDB) {
	t.Helper()
	ch, err := b.Changes()
	if err != nil {
		t.Fatalf("Changes: %v", err)
	}
	if b.LastTimestamp() != m.last {
		t.Fatalf("LastTimestamp = %d, want %d", b.LastTimestamp(), m.last)
	}
	prev := int64(math.MinInt64)
	for _, tr := range db.order {
		if ts := db.transfers[tr].Timestamp; ts > prev {
			prev = ts
		}
	}
	for _, tr := range ch.Transfers {
		if _, ok := db.transfers[tr.ID]; ok {
			t.Fatalf("Changes creates %s, which exists", tr.ID)
		}
		// Transfers and stored rejections share one increasing sequence.
		if tr.Timestamp <= prev || tr.Timestamp < start {
			t.Fatalf("transfer %+v after timestamp %d, in a batch started at %d", *tr, prev, start)
		}
		prev = tr.Timestamp
		if tr.Result != "" && (tr.PendingStatus != "" || tr.ExpiresAt != 0) {
			t.Fatalf("stored rejection %+v", *tr)
		}
		db.transfers[tr.ID] = *tr
		db.order = append(db.order, tr.ID)
	}
	seen := map[string]bool{}
	for _, p := range ch.Pendings {
		old, ok := db.transfers[p.ID]
		if !ok || seen[p.ID] || old.Flags != agentpay.TransferPending || old.PendingStatus != agentpay.PendingOpen ||
			p.PendingStatus == agentpay.PendingOpen {
			t.Fatalf("Pendings reports %+v, stored as %+v", *p, old)
		}
		seen[p.ID] = true
		old.PendingStatus = p.PendingStatus
		if old != *p {
			t.Fatalf("Pendings reports %+v, stored as %+v", *p, old)
		}
		db.transfers[p.ID] = old
	}
	for _, c := range ch.Accounts {
		old := db.accounts[c.Account.ID]
		d := c.Delta
		if d.ID != c.Account.ID || d.DebitsPending != c.Account.DebitsPending-old.DebitsPending ||
			d.DebitsPosted != c.Account.DebitsPosted-old.DebitsPosted || d.CreditsPending != c.Account.CreditsPending-old.CreditsPending ||
			d.CreditsPosted != c.Account.CreditsPosted-old.CreditsPosted {
			t.Fatalf("account %+v with delta %+v, was %+v", c.Account, d, old)
		}
		if d.DebitsPending == 0 && d.DebitsPosted == 0 && d.CreditsPending == 0 && d.CreditsPosted == 0 {
			t.Fatalf("unchanged account %s in Changes", c.Account.ID)
		}
		old.DebitsPending, old.DebitsPosted, old.CreditsPending, old.CreditsPosted =
			c.Account.DebitsPending, c.Account.DebitsPosted, c.Account.CreditsPending, c.Account.CreditsPosted
		if old != c.Account {
			t.Fatalf("Changes has account %+v, stored as %+v", c.Account, db.accounts[c.Account.ID])
		}
		db.accounts[c.Account.ID] = old
	}

	// The database is what the oracle expects.
	if len(db.transfers) != len(m.transfers) {
		t.Fatalf("database has %d transfers, oracle %d", len(db.transfers), len(m.transfers))
	}
	for id, want := range m.transfers {
		if got := db.transfers[id]; got != want {
			t.Fatalf("transfer %s = %+v\nwant %+v", id, got, want)
		}
	}
	for id, want := range m.accounts {
		got := db.accounts[id]
		if got.DebitsPending != want.dp || got.DebitsPosted != want.dpo || got.CreditsPending != want.cp || got.CreditsPosted != want.cpo {
			t.Fatalf("account %s = %+v, oracle %+v", id, got, want)
		}
	}

	// Balances recomputed from the stored transfers alone.
	type sums struct{ dp, dpo, cp, cpo big.Int }
	recomputed := map[string]*sums{}
	get := func(id string) *sums {
		if recomputed[id] == nil {
			recomputed[id] = &sums{}
		}
		return recomputed[id]
	}
	resolved := map[string]agentpay.TransferFlags{}
	var open []agentpay.Transfer
	for _, id := range db.order {
		tr := db.transfers[id]
		if tr.Result != "" {
			continue
		}
		amount := big.NewInt(tr.Amount)
		dr, cr := get(tr.DebitAccountID), get(tr.CreditAccountID)
		switch tr.Flags {
		case 0:
			dr.dpo.Add(&dr.dpo, amount)
			cr.cpo.Add(&cr.cpo, amount)
		case agentpay.TransferPending:
			if tr.PendingStatus == agentpay.PendingOpen {
				dr.dp.Add(&dr.dp, amount)
				cr.cp.Add(&cr.cp, amount)
				open = append(open, tr)
			}
		case agentpay.TransferPostPending, agentpay.TransferVoidPending:
			if _, dup := resolved[tr.PendingID]; dup {
				t.Fatalf("pending transfer %s resolved twice", tr.PendingID)
			}
			resolved[tr.PendingID] = tr.Flags
			if tr.Flags == agentpay.TransferPostPending {
				dr.dpo.Add(&dr.dpo, amount)
				cr.cpo.Add(&cr.cpo, amount)
			}
		}
	}
	for _, id := range db.order {
		tr := db.transfers[id]
		if tr.Result != "" || tr.Flags != agentpay.TransferPending {
			continue
		}
		want := map[agentpay.TransferFlags]agentpay.PendingStatus{
			agentpay.TransferPostPending: agentpay.PendingPosted, agentpay.TransferVoidPending: agentpay.PendingVoided}[resolved[id]]
		if f, ok := resolved[id]; ok && tr.PendingStatus != want || !ok && tr.PendingStatus != agentpay.PendingOpen && tr.PendingStatus != agentpay.PendingExpired {
			t.Fatalf("pending transfer %+v, resolved by %v", tr, f)
		}
	}
	ids := make([]string, 0, len(db.accounts))
	for id := range db.accounts {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	accounts := make([]agentpay.Account, 0, len(ids))
	for _, id := range ids {
		a := db.accounts[id]
		s := get(id)
		if s.dp.Cmp(big.NewInt(a.DebitsPending)) != 0 || s.dpo.Cmp(big.NewInt(a.DebitsPosted)) != 0 ||
			s.cp.Cmp(big.NewInt(a.CreditsPending)) != 0 || s.cpo.Cmp(big.NewInt(a.CreditsPosted)) != 0 {
			t.Fatalf("account %+v, but its transfers sum to debits %s/%s credits %s/%s (pending/posted)",
				a, &s.dp, &s.dpo, &s.cp, &s.cpo)
		}
		accounts = append(accounts, a)
	}
	if err := Check(accounts, open); err != nil {
		t.Fatalf("Check: %v", err)
	}
}
