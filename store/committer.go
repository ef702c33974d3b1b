package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/ledger"
)

// Limits of the committer.
const (
	// BatchSizeMax bounds the units committed in one transaction: enough to
	// amortize an fsync over thousands of transfers, small enough that one
	// batch's statements stay well within engine parameter limits.
	BatchSizeMax = 4096
	// QueueLengthMax bounds the units waiting; Submit blocks beyond it.
	QueueLengthMax = 16384
	// retriesMax bounds retries of a batch after transient conflicts.
	retriesMax = 8
	// CachedAccountsMax bounds the account cache; past it the cache starts
	// over.
	CachedAccountsMax = 1 << 20
)

// ErrClosed is returned by Submit after Close.
var ErrClosed = agentpay.Errorf(agentpay.EUNAVAILABLE, "shutting_down", "the server is shutting down; retry on another node")

// Committer commits units of work in batches: one transaction and one fsync
// for many units. One goroutine owns the database writes; requests wait for
// their unit's answer. A unit that fails is answered with its own error and
// the rest of its batch commits.
type Committer struct {
	db     *sql.DB
	engine Engine
	bus    *Bus
	log    *slog.Logger
	stats  *Stats

	queue   chan *Unit
	mu      sync.RWMutex // guards closed against Submit
	closed  bool
	stopped chan struct{}

	// The rest is owned by the committer's goroutine.
	lastTimestamp int64
	timestampRead bool // lastTimestamp was read from the database
	flags         map[string]agentpay.AccountFlags
	// accounts caches committed account states when the engine has one
	// writer: nothing but this committer changes them, so the cache is exact
	// and a batch need not read the accounts it touches.
	accounts map[string]agentpay.Account
	// updates holds a prepared statement per UPDATE text: there are a few
	// dozen (one per table and set of columns), and SQLite would otherwise
	// parse each update of each batch.
	updates map[string]*sql.Stmt
}

// NewCommitter starts a committer writing to db.
func NewCommitter(db *sql.DB, engine Engine, bus *Bus, log *slog.Logger, stats *Stats) *Committer {
	c := &Committer{
		db: db, engine: engine, bus: bus, log: log, stats: stats,
		queue:   make(chan *Unit, QueueLengthMax),
		stopped: make(chan struct{}),
		flags:   map[string]agentpay.AccountFlags{},
		updates: map[string]*sql.Stmt{},
	}
	if !engine.Locking() {
		c.accounts = map[string]agentpay.Account{}
	}
	go func() {
		defer close(c.stopped)
		c.run()
	}()
	return c
}

// Submit hands a unit to the committer and waits for its result. Once a
// unit is queued it is committed or failed even if ctx ends, so Submit then
// still waits: the caller must learn whether money moved.
func (c *Committer) Submit(ctx context.Context, u *Unit) Result {
	u.done = make(chan struct{})
	if ctx.Err() != nil {
		// A request already given up on is not queued: decided here rather
		// than by select, which would pick at random when both are ready.
		return Result{Err: agentpay.Errorf(agentpay.EUNAVAILABLE, "canceled", "the request was canceled before it reached the ledger; it had no effect")}
	}
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return Result{Err: ErrClosed}
	}
	select {
	case c.queue <- u:
		c.mu.RUnlock()
	case <-ctx.Done():
		c.mu.RUnlock()
		return Result{Err: agentpay.Errorf(agentpay.EUNAVAILABLE, "overloaded", "the ledger is overloaded; retry later")}
	}
	<-u.done
	return u.result
}

// Close stops accepting units, commits every queued unit and returns when
// the last batch is answered.
func (c *Committer) Close() {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.queue)
	}
	c.mu.Unlock()
	<-c.stopped
	for q, stmt := range c.updates {
		stmt.Close()
		delete(c.updates, q)
	}
}

func (c *Committer) run() {
	batch := make([]*Unit, 0, BatchSizeMax)
	for {
		u, ok := <-c.queue
		if !ok {
			return
		}
		batch = append(batch[:0], u)
	fill:
		for len(batch) < BatchSizeMax {
			select {
			case u, ok := <-c.queue:
				if !ok {
					break fill
				}
				batch = append(batch, u)
			default:
				break fill
			}
		}
		c.commit(batch)
	}
}

// commit commits a batch, retrying transient conflicts and bisecting a batch
// the database rejects, so that only a bad unit fails.
func (c *Committer) commit(units []*Unit) {
	start := time.Now()
	var err error
	for attempt := 0; attempt < retriesMax; attempt++ {
		var results []Result
		// The first attempt does not look up the batch's transfer ids: a
		// retried id is rare, and one that exists makes the insert come up
		// short (errRace), after which the retry looks them up.
		results, err = c.try(units, attempt == 0)
		if err == nil {
			for i, u := range units {
				u.result = results[i]
				close(u.done)
			}
			c.stats.observeBatch(len(units), time.Since(start))
			c.wake(units)
			return
		}
		if !c.engine.Retryable(err) && !errors.Is(err, errRace) {
			break
		}
		c.stats.retries.Inc()
	}
	if len(units) > 1 {
		c.stats.bisections.Inc()
		half := len(units) / 2
		c.commit(units[:half])
		c.commit(units[half:])
		return
	}
	c.log.Error("unit failed to commit", "error", err)
	u := units[0]
	// Usually nothing of the unit was written, but a connection lost during
	// COMMIT leaves that unknown: the caller learns the outcome by retrying
	// with the same ids and Idempotency-Key, which never applies twice.
	u.result = Result{Err: agentpay.Errorf(agentpay.EINTERNAL, "commit_failed",
		"the ledger could not commit this request; retry it with the same Idempotency-Key to learn its outcome")}
	close(u.done)
}

// wake tells local subscribers about committed units. On PostgreSQL the
// notifications come back through LISTEN to every node, this one included.
func (c *Committer) wake(units []*Unit) {
	if c.bus == nil || c.engine.Name() == "postgres" {
		return
	}
	for _, u := range units {
		if u.result.Err == nil && u.result.Replay == nil {
			for _, topic := range u.Notify {
				c.bus.Publish(topic)
			}
		}
	}
}

// errRace means another node wrote an id this batch also wrote between our
// check and our insert; the batch is retried and then sees it.
var errRace = errors.New("store: another writer inserted the same id")

// try runs one transaction for the batch and returns each unit's result.
func (c *Committer) try(units []*Unit, optimistic bool) (results []Result, err error) {
	ctx := context.Background()
	c.prepareUpdates(ctx, units)
	c.engine.Prepare(ctx, c.db, batchTables(units))
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	now, err := c.engine.Now(ctx, tx)
	if err != nil {
		return nil, fmt.Errorf("clock: %w", err)
	}
	if c.accounts != nil {
		// Another process on the same SQLite file (a second server, the
		// load tool) makes the cache stale: start it over.
		others, err := c.engine.OthersWrote(ctx, tx)
		if err != nil {
			return nil, fmt.Errorf("data version: %w", err)
		}
		if others {
			c.accounts = map[string]agentpay.Account{}
			c.timestampRead = false
		}
	}
	if !c.timestampRead {
		// Timestamps continue from the stored ones even if the clock went
		// back across a restart.
		if c.lastTimestamp, err = c.engine.LastTimestamp(ctx, tx); err != nil {
			return nil, fmt.Errorf("last timestamp: %w", err)
		}
		c.timestampRead = true
	}
	p, err := c.load(ctx, tx, units, now, optimistic)
	if err != nil {
		return nil, err
	}
	results = make([]Result, len(units))
	for i, u := range units {
		results[i] = p.apply(u)
	}
	changes, err := p.batch.Changes()
	if err != nil {
		// A bug, not bad input: refuse to commit anything of this batch.
		c.log.Error("ledger invariant broken; batch refused", "error", err)
		return nil, err
	}
	if err := c.write(ctx, tx, p, changes, units, results); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	c.lastTimestamp = p.batch.LastTimestamp()
	for _, a := range p.created {
		c.flags[a.ID] = a.Flags
	}
	c.cacheAccounts(p, changes)
	return results, nil
}

// chain links each applied transfer to the previous transfer of its debit
// and of its credit account, in the order they were applied (which is their
// timestamp order), and records each account's new history head.
func (p *plan) chain(transfers []*agentpay.Transfer) map[string][2]int64 {
	p.heads = map[string]int64{}
	head := func(id string) int64 {
		if ts, ok := p.heads[id]; ok {
			return ts
		}
		a, _ := p.batch.Account(id)
		return a.HistoryHead
	}
	prev := make(map[string][2]int64, len(transfers))
	for _, t := range transfers {
		if t.Result != "" {
			continue // rejections are not in any account's history
		}
		prev[t.ID] = [2]int64{head(t.DebitAccountID), head(t.CreditAccountID)}
		p.heads[t.DebitAccountID] = t.Timestamp
		p.heads[t.CreditAccountID] = t.Timestamp
	}
	return prev
}

// cacheAccounts keeps the committed states of the accounts a batch loaded,
// created or changed.
func (c *Committer) cacheAccounts(p *plan, changes ledger.Changes) {
	if c.accounts == nil {
		return
	}
	if len(c.accounts) > CachedAccountsMax {
		c.accounts = map[string]agentpay.Account{}
	}
	for _, id := range p.loadedAccounts {
		if a, ok := p.batch.Account(id); ok {
			c.accounts[id] = a
		}
	}
	for _, a := range p.created {
		a.Num = p.nums[a.ID]
		c.accounts[a.ID] = a
	}
	for _, ch := range changes.Accounts {
		a := ch.Account
		a.Num = p.nums[a.ID]
		c.accounts[a.ID] = a
	}
	for id, head := range p.heads {
		a := c.accounts[id]
		a.HistoryHead = head
		c.accounts[id] = a
	}
}

// plan is one attempt at a batch: what was loaded and what the units did.
type plan struct {
	batch          *ledger.Batch
	existing       map[string]map[string]bool // table name -> keys that exist
	replays        map[string]*IdempotencyRecord
	created        []agentpay.Account
	nums           map[string]int64 // account id -> Num, of every account loaded or created
	loadedAccounts []string         // ids of the accounts read from the database
	heads          map[string]int64 // account id -> its newest transfer, for engines that chain history
	rows           map[*Table][][]any
	versions       map[*Table]map[string]int64 // current version of each row the batch updates or inserts
	updates        []Update
	counts         []Count
	idempotency    []IdempotencyRecord
}

// load reads, in a few queries, everything the batch's units refer to.
func (c *Committer) load(ctx context.Context, tx *sql.Tx, units []*Unit, now int64, optimistic bool) (*plan, error) {
	p := &plan{
		batch:    ledger.NewBatch(now, c.lastTimestamp),
		existing: map[string]map[string]bool{},
		replays:  map[string]*IdempotencyRecord{},
		rows:     map[*Table][][]any{},
		nums:     map[string]int64{},
		versions: map[*Table]map[string]int64{},
	}
	transferIDs := set{}
	pendingIDs := set{}
	accountIDs := set{}
	lock := set{}
	keys := map[*Table]set{}
	updated := map[*Table]set{}
	for _, u := range units {
		for _, t := range u.Transfers {
			transferIDs.add(t.ID)
			if t.PendingID != "" {
				pendingIDs.add(t.PendingID)
			}
			accountIDs.add(t.DebitAccountID)
			accountIDs.add(t.CreditAccountID)
			if t.Flags&(agentpay.TransferPostPending|agentpay.TransferVoidPending) == 0 {
				// Posts and voids never raise a constrained total, so only new
				// debits and credits lock the account they constrain. An
				// account whose flags are not known yet is locked to be safe.
				if f, ok := c.flags[t.DebitAccountID]; !ok || f&agentpay.AccountDebitsMustNotExceedCredits != 0 {
					lock.add(t.DebitAccountID)
				}
				if f, ok := c.flags[t.CreditAccountID]; !ok || f&agentpay.AccountCreditsMustNotExceedDebits != 0 {
					lock.add(t.CreditAccountID)
				}
			}
		}
		for _, id := range u.Expire {
			pendingIDs.add(id)
		}
		for _, a := range u.Accounts {
			accountIDs.add(a.ID)
		}
		for _, r := range slices.Concat(u.Guards, u.Rows) {
			if keys[r.Table] == nil {
				keys[r.Table] = set{}
			}
			keys[r.Table].add(r.Key())
		}
		for _, up := range u.Updates {
			if updated[up.Table] == nil {
				updated[up.Table] = set{}
			}
			updated[up.Table].add(up.Key)
		}
		if u.Idempotency != nil {
			if keys[idempotencyTable] == nil {
				keys[idempotencyTable] = set{}
			}
			keys[idempotencyTable].add(u.Idempotency.ID)
		}
	}
	delete(accountIDs, "")
	toLoad := pendingIDs
	if !optimistic {
		toLoad = union(transferIDs, pendingIDs)
	}
	transfers, err := c.engine.LoadTransfers(ctx, tx, toLoad.list(), pendingIDs.list())
	if err != nil {
		return nil, fmt.Errorf("load transfers: %w", err)
	}
	for _, t := range transfers {
		p.batch.AddTransfer(t)
		if _, ok := pendingIDs[t.ID]; ok {
			accountIDs.add(t.DebitAccountID)
			accountIDs.add(t.CreditAccountID)
		}
	}
	if !c.engine.Locking() {
		lock = set{}
	}
	if c.accounts != nil {
		for id := range accountIDs {
			if a, ok := c.accounts[id]; ok {
				p.batch.AddAccount(a)
				p.nums[id] = a.Num
				delete(accountIDs, id)
			}
		}
	}
	accounts, err := c.engine.LoadAccounts(ctx, tx, accountIDs.list(), lock.list())
	if err != nil {
		return nil, fmt.Errorf("load accounts: %w", err)
	}
	for _, a := range accounts {
		p.batch.AddAccount(a)
		c.flags[a.ID] = a.Flags
		p.nums[a.ID] = a.Num
		p.loadedAccounts = append(p.loadedAccounts, a.ID)
	}
	for table, ks := range keys {
		found, err := c.engine.ExistingKeys(ctx, tx, table, ks.list())
		if err != nil {
			return nil, fmt.Errorf("load keys of %s: %w", table.Name, err)
		}
		m := map[string]bool{}
		for _, k := range found {
			m[k] = true
		}
		p.existing[table.Name] = m
	}
	for table, ks := range updated {
		v, err := c.engine.Versions(ctx, tx, table, ks.list())
		if err != nil {
			return nil, fmt.Errorf("load versions of %s: %w", table.Name, err)
		}
		p.versions[table] = v
	}
	if len(p.existing[idempotencyTable.Name]) > 0 {
		ids := make([]string, 0, len(p.existing[idempotencyTable.Name]))
		for id := range p.existing[idempotencyTable.Name] {
			ids = append(ids, id)
		}
		records, err := loadIdempotency(ctx, tx, ids)
		if err != nil {
			return nil, err
		}
		for i := range records {
			p.replays[records[i].ID] = &records[i]
		}
	}
	return p, nil
}

// apply applies one unit to the plan in memory. A unit that fails leaves
// nothing behind but stored rejections of its transfers and its idempotency
// record.
func (p *plan) apply(u *Unit) Result {
	if u.Idempotency != nil {
		if rec := p.replays[u.Idempotency.ID]; rec != nil {
			return Result{Replay: rec}
		}
	}
	for i, r := range u.Guards {
		twice := slices.ContainsFunc(u.Guards[:i], func(o Row) bool { return o.Table.Name == r.Table.Name && o.Key() == r.Key() })
		if twice || p.existing[r.Table.Name][r.Key()] {
			// Refused before anything of the unit, its response included,
			// is recorded: the request was not the key owner's to answer.
			return Result{Err: duplicateRowError(r)}
		}
	}
	for _, r := range u.Guards {
		p.existing[r.Table.Name][r.Key()] = true
		p.rows[r.Table] = append(p.rows[r.Table], r.Values)
	}
	res := p.applyEffects(u)
	if u.Idempotency != nil {
		status, body := u.Idempotency.Render(res)
		if status < 500 {
			rec := IdempotencyRecord{ID: u.Idempotency.ID, RequestHash: u.Idempotency.RequestHash,
				Status: status, Body: body, CreatedAt: p.batch.Now, ExpiresAt: u.Idempotency.ExpiresAt}
			p.idempotency = append(p.idempotency, rec)
			p.replays[rec.ID] = &rec // a second unit with this key in the batch replays it
			res.Response = &rec
		}
	}
	return res
}

func (p *plan) applyEffects(u *Unit) Result {
	for i, r := range u.Rows {
		// A key given twice in one unit must fail here too: it would pass the
		// check against the database, and the insert then coming up short would
		// be taken for another node's race and retried until commit_failed.
		twice := slices.ContainsFunc(u.Rows[:i], func(o Row) bool { return o.Table.Name == r.Table.Name && o.Key() == r.Key() })
		if twice || p.existing[r.Table.Name][r.Key()] {
			return Result{Err: duplicateRowError(r)}
		}
	}
	if err := p.checkUpdates(u); err != nil {
		return Result{Err: err}
	}
	for i, a := range u.Accounts {
		if err := p.batch.CreateAccount(a); err != nil {
			for _, done := range u.Accounts[:i] {
				p.batch.RemoveAccount(done.ID)
			}
			return Result{Err: err}
		}
	}
	var res Result
	if len(u.Transfers) > 0 {
		applied, err := p.batch.ApplyGroup(u.Transfers)
		if err != nil {
			for _, a := range u.Accounts {
				p.batch.RemoveAccount(a.ID)
			}
			return Result{Err: err}
		}
		res.Transfers = applied
	}
	for _, id := range u.Expire {
		if p.batch.Expire(id) == nil {
			res.Expired = append(res.Expired, id)
		}
	}
	for _, a := range u.Accounts {
		created, _ := p.batch.Account(a.ID)
		created.CreatedAt = p.batch.Now // the batch holds the account as given; report it as stored
		res.Accounts = append(res.Accounts, created)
		a.DebitsPending, a.DebitsPosted, a.CreditsPending, a.CreditsPosted = 0, 0, 0, 0
		a.CreatedAt = p.batch.Now
		p.created = append(p.created, a)
	}
	for _, r := range u.Rows {
		p.existing[r.Table.Name][r.Key()] = true
		p.rows[r.Table] = append(p.rows[r.Table], r.Values)
		if r.Table.Version != "" {
			p.version(r.Table)[r.Key()] = r.Values[r.Table.versionIndex()].(int64)
		}
	}
	for _, up := range u.Updates {
		p.version(up.Table)[up.Key] = up.Version + 1
		p.updates = append(p.updates, up)
	}
	p.counts = append(p.counts, u.Counts...)
	return res
}

// write writes the plan with bulk statements.
func (c *Committer) write(ctx context.Context, tx *sql.Tx, p *plan, ch ledger.Changes, units []*Unit, results []Result) error {
	if len(p.created) > 0 {
		nums, err := c.engine.InsertAccounts(ctx, tx, p.created)
		if err != nil {
			return fmt.Errorf("insert accounts: %w", err)
		}
		if len(nums) != len(p.created) {
			return errRace
		}
		for id, num := range nums {
			p.nums[id] = num
		}
	}
	w := &LedgerWrites{Transfers: ch.Transfers, Links: &Links{Nums: p.nums}, Pendings: ch.Pendings}
	if c.engine.ChainsHistory() && len(ch.Transfers) > 0 {
		w.Links.Prev = p.chain(ch.Transfers)
	}
	w.Rows, w.Deltas = c.splitAccounts(p, ch.Accounts)
	if err := c.engine.WriteLedger(ctx, tx, w); err != nil {
		if errors.Is(err, ErrIDTaken) {
			return errRace
		}
		return fmt.Errorf("write ledger: %w", err)
	}
	tables := make([]*Table, 0, len(p.rows))
	for t := range p.rows {
		tables = append(tables, t)
	}
	sort.Slice(tables, func(i, j int) bool { return tables[i].Name < tables[j].Name })
	for _, t := range tables {
		n, err := c.engine.InsertRows(ctx, tx, t, p.rows[t])
		if err != nil {
			return fmt.Errorf("insert %s: %w", t.Name, err)
		}
		if n != len(p.rows[t]) {
			return errRace
		}
	}
	if err := c.writeUpdates(ctx, tx, p.updates); err != nil {
		return err
	}
	if len(p.counts) > 0 {
		if err := c.engine.AddCounts(ctx, tx, sumCounts(p.counts)); err != nil {
			return fmt.Errorf("add counts: %w", err)
		}
	}
	if len(p.idempotency) > 0 {
		rows := make([][]any, len(p.idempotency))
		for i, r := range p.idempotency {
			rows[i] = []any{r.ID, r.RequestHash, int64(r.Status), r.Body, r.CreatedAt, r.ExpiresAt}
		}
		n, err := c.engine.InsertRows(ctx, tx, idempotencyTable, rows)
		if err != nil {
			return fmt.Errorf("insert idempotency: %w", err)
		}
		if n != len(rows) {
			return errRace
		}
	}
	var topics []string
	for i, u := range units {
		if results[i].Err == nil && results[i].Replay == nil {
			topics = append(topics, u.Notify...)
		}
	}
	if len(topics) > 0 {
		if err := c.engine.Notify(ctx, tx, topics); err != nil {
			return fmt.Errorf("notify: %w", err)
		}
	}
	return nil
}

// version returns the versions the plan knows of a table's rows.
func (p *plan) version(t *Table) map[string]int64 {
	if p.versions[t] == nil {
		p.versions[t] = map[string]int64{}
	}
	return p.versions[t]
}

// checkUpdates checks a unit's updates against the rows' current versions,
// counting the changes of earlier units of the batch (and of this one: a row
// updated twice in one unit conflicts with itself).
func (p *plan) checkUpdates(u *Unit) error {
	seen := map[string]bool{}
	for _, up := range u.Updates {
		if !up.valid() {
			return agentpay.Errorf(agentpay.EINTERNAL, "invalid_update", "update of %s %s is malformed", up.Table.Name, up.Key)
		}
		current, ok := p.version(up.Table)[up.Key]
		if !ok {
			return agentpay.Errorf(agentpay.ENOTFOUND, "not_found", "%s %s not found", up.Table.Name, up.Key)
		}
		if current != up.Version || seen[up.Table.Name+"\x00"+up.Key] {
			return agentpay.Errorf(agentpay.ECONFLICT, "version_conflict",
				"%s %s changed since it was read; read it again", up.Table.Name, up.Key)
		}
		seen[up.Table.Name+"\x00"+up.Key] = true
	}
	return nil
}

// splitAccounts sorts the changed accounts into the two ways an account is
// written, once per batch: as a relative update of its row when the account
// was locked (or the engine has one writer), as a delta row beside it
// otherwise, so that nobody waits on a hot account.
func (c *Committer) splitAccounts(p *plan, changes []ledger.AccountChange) (rows, deltas []agentpay.Account) {
	changed := map[string]bool{}
	for _, a := range changes {
		changed[a.Account.ID] = true
		a.Delta.HistoryHead = p.heads[a.Account.ID]
		if c.engine.Locking() && !needsLock(c.flags[a.Account.ID], a.Delta) {
			deltas = append(deltas, a.Delta)
		} else {
			rows = append(rows, a.Delta)
		}
	}
	// A transfer whose effect on an account cancelled out within the batch
	// (a hold and its void) still moved the account's history head.
	for id, head := range p.heads {
		if !changed[id] {
			rows = append(rows, agentpay.Account{ID: id, HistoryHead: head})
		}
	}
	return rows, deltas
}

// needsLock reports whether a change to an account with these flags raised a
// constrained total, which is exactly when the account had to be locked.
func needsLock(f agentpay.AccountFlags, d agentpay.Account) bool {
	if f&agentpay.AccountDebitsMustNotExceedCredits != 0 && d.DebitsPending+d.DebitsPosted > 0 {
		return true
	}
	if f&agentpay.AccountCreditsMustNotExceedDebits != 0 && d.CreditsPending+d.CreditsPosted > 0 {
		return true
	}
	return false
}

// updateStatementsMax bounds the committer's cache of UPDATE statements.
const updateStatementsMax = 256

// writeUpdate writes one update, in SQL both engines share. The version in
// the WHERE clause makes it safe with several writers: a row another node
// changed since the batch read it matches nothing, and the batch is retried.
func (c *Committer) writeUpdate(ctx context.Context, tx *sql.Tx, up Update) error {
	q, args := updateSQL(up)
	var res sql.Result
	var err error
	if stmt, ok := c.updates[q]; ok {
		res, err = tx.StmtContext(ctx, stmt).ExecContext(ctx, args...)
	} else {
		res, err = tx.ExecContext(ctx, q, args...)
	}
	if err != nil {
		return fmt.Errorf("update %s: %w", up.Table.Name, err)
	}
	if affected, err := res.RowsAffected(); err != nil || affected != 1 {
		return errRace
	}
	return nil
}

// updatesPerStatementMax bounds the rows of one batched UPDATE, so its
// parameters stay far below both engines' limits.
const updatesPerStatementMax = 200

// writeUpdates writes a batch's updates. Updates of the same table and
// columns are written by one UPDATE … FROM (VALUES …) statement each: on
// PostgreSQL every statement is a round trip, and the committer's
// transaction, which every request waits on, would otherwise make one per
// updated row. The versions are checked as in writeUpdate: fewer rows
// changed than updates given means another writer got there first.
func (c *Committer) writeUpdates(ctx context.Context, tx *sql.Tx, ups []Update) error {
	if !c.engine.GroupsUpdates() {
		for _, up := range ups {
			if err := c.writeUpdate(ctx, tx, up); err != nil {
				return err
			}
		}
		return nil
	}
	type group struct {
		ups  []Update
		keys map[any]bool
	}
	var order []string
	groups := map[string]*group{}
	for _, up := range ups {
		sig := up.Table.Name + "\x00" + strings.Join(up.Set, ",")
		g := groups[sig]
		if g == nil || g.keys[up.Key] || len(g.ups) >= updatesPerStatementMax {
			if g != nil {
				// A second update of a row, or a full group: flush what
				// is grouped so far, in order.
				if err := c.writeGroup(ctx, tx, g.ups); err != nil {
					return err
				}
			}
			g = &group{keys: map[any]bool{}}
			if groups[sig] == nil {
				order = append(order, sig)
			}
			groups[sig] = g
		}
		g.ups = append(g.ups, up)
		g.keys[up.Key] = true
	}
	for _, sig := range order {
		if err := c.writeGroup(ctx, tx, groups[sig].ups); err != nil {
			return err
		}
	}
	return nil
}

// writeGroup writes updates of one table and set of columns, of distinct
// rows.
func (c *Committer) writeGroup(ctx context.Context, tx *sql.Tx, ups []Update) error {
	if len(ups) == 1 {
		return c.writeUpdate(ctx, tx, ups[0])
	}
	t := ups[0].Table
	typeOf := func(col string) string {
		for i, c := range t.Columns {
			if c == col {
				switch t.Types[i] {
				case Int:
					return "BIGINT"
				case Bytes:
					return "BYTEA"
				}
			}
		}
		return "TEXT"
	}
	cols := append([]string{t.Key, t.Version}, ups[0].Set...)
	types := make([]string, len(cols))
	for i, col := range cols {
		types[i] = typeOf(col)
	}
	types[1] = "BIGINT"
	var q strings.Builder
	fmt.Fprintf(&q, "UPDATE %s SET ", t.Name)
	for i, col := range ups[0].Set {
		fmt.Fprintf(&q, "%s = v.column%d, ", col, i+3)
	}
	fmt.Fprintf(&q, "%s = %s.%s + 1 FROM (VALUES ", t.Version, t.Name, t.Version)
	args := make([]any, 0, len(ups)*len(cols))
	for r, up := range ups {
		if r > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(")
		vals := append([]any{up.Key, up.Version}, up.Values...)
		for i, v := range vals {
			if i > 0 {
				q.WriteString(", ")
			}
			args = append(args, v)
			fmt.Fprintf(&q, "CAST($%d AS %s)", len(args), types[i])
		}
		q.WriteString(")")
	}
	fmt.Fprintf(&q, ") AS v WHERE %s.%s = v.column1 AND %s.%s = v.column2", t.Name, t.Key, t.Name, t.Version)
	res, err := tx.ExecContext(ctx, q.String(), args...)
	if err != nil {
		return fmt.Errorf("update %s: %w", t.Name, err)
	}
	if affected, err := res.RowsAffected(); err != nil || affected != int64(len(ups)) {
		return errRace
	}
	return nil
}

// updateSQL returns an update's statement and arguments.
func updateSQL(up Update) (string, []any) {
	var set strings.Builder
	args := make([]any, 0, len(up.Values)+2)
	for i, col := range up.Set {
		fmt.Fprintf(&set, "%s = $%d, ", col, i+1)
		args = append(args, up.Values[i])
	}
	n := len(args)
	q := fmt.Sprintf("UPDATE %s SET %s%s = %s + 1 WHERE %s = $%d AND %s = $%d",
		up.Table.Name, set.String(), up.Table.Version, up.Table.Version, up.Table.Key, n+1, up.Table.Version, n+2)
	return q, append(args, up.Key, up.Version)
}

// batchTables returns the tables a batch writes.
func batchTables(units []*Unit) []*Table {
	tables := []*Table{idempotencyTable}
	seen := map[*Table]bool{idempotencyTable: true}
	add := func(t *Table) {
		if !seen[t] {
			seen[t] = true
			tables = append(tables, t)
		}
	}
	for _, u := range units {
		for _, r := range u.Rows {
			add(r.Table)
		}
		for _, r := range u.Guards {
			add(r.Table)
		}
		for _, up := range u.Updates {
			add(up.Table)
		}
	}
	return tables
}

// prepareUpdates prepares the UPDATE statements of units not prepared yet.
// It runs before the batch's transaction begins: with one writer
// connection, preparing during it would wait for that connection forever.
func (c *Committer) prepareUpdates(ctx context.Context, units []*Unit) {
	for _, u := range units {
		for _, up := range u.Updates {
			if len(c.updates) >= updateStatementsMax {
				return
			}
			q, _ := updateSQL(up)
			if _, ok := c.updates[q]; ok {
				continue
			}
			if stmt, err := c.db.PrepareContext(ctx, q); err == nil {
				c.updates[q] = stmt
			}
		}
	}
}
