package store

import (
	"context"
	"log/slog"
	"time"
)

// Limits of background work.
const (
	expiryBatchMax      = 1000
	idempotencyBatchMax = 10000
	leaseTTL            = 10 * time.Second
	staleBatchMax       = 10000
	// attemptsAge is how long a rate-limited attempt is kept: longer than
	// any window that counts it.
	attemptsAge = 24 * time.Hour
)

// ExpireDue voids, through the committer, open pending transfers whose
// timeout has passed, and returns how many it voided. The committer decides
// again with the database's clock, so a capture racing an expiry still
// leaves exactly one of them applied.
func (db *DB) ExpireDue(ctx context.Context) (int, error) {
	ids, err := db.DuePendingTransfers(ctx, time.Now().UnixMicro(), expiryBatchMax)
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	res := db.Committer.Submit(ctx, &Unit{Expire: ids})
	return len(res.Expired), res.Err
}

// RunBackground runs the ledger's background jobs, and more, until ctx ends: expiry of
// pending transfers, folding of account deltas, and forgetting expired
// idempotency keys, agent nonces, ceremonies, sessions and rate-limited attempts. Each job runs under a lease, so one
// node at a time does it; holder names this node.
func (db *DB) RunBackground(ctx context.Context, holder string, log *slog.Logger, more ...Job) {
	jobs := []*job{
		{name: "ledger.expiry", every: 500 * time.Millisecond, run: func(ctx context.Context) error {
			n, err := db.ExpireDue(ctx)
			if n > 0 {
				log.Info("expired pending transfers", "count", n)
			}
			return err
		}},
		{name: "idempotency.cleanup", every: 10 * time.Minute, run: func(ctx context.Context) error {
			_, err := db.DeleteExpiredIdempotency(ctx, time.Now().UnixMicro(), idempotencyBatchMax)
			return err
		}},
		{name: "stale.cleanup", every: time.Minute, run: func(ctx context.Context) error {
			now := time.Now()
			_, err := db.DeleteStale(ctx, now.UnixMicro(), now.Add(-attemptsAge).UnixMicro(), staleBatchMax)
			return err
		}},
		{name: "agent_nonces.cleanup", every: time.Minute, run: func(ctx context.Context) error {
			_, err := db.DeleteExpiredNonces(ctx, time.Now().UnixMicro(), nonceBatchMax)
			return err
		}},
	}
	for _, j := range more {
		jobs = append(jobs, &job{name: j.Name, every: j.Every, run: j.Run})
	}
	if db.Engine.Locking() {
		// Folding runs often: every batch adds a delta row per hot account,
		// and every batch that loads such an account sums its rows.
		jobs = append(jobs, &job{name: "ledger.fold", every: 100 * time.Millisecond, run: func(ctx context.Context) error {
			_, err := db.Engine.Fold(ctx, db.writer)
			return err
		}})
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			for _, j := range jobs {
				_ = db.ReleaseLease(context.Background(), j.name, holder)
			}
			return
		case <-tick.C:
		}
		for _, j := range jobs {
			if time.Since(j.last) < j.every {
				continue
			}
			if !j.leased(ctx, db, holder, log) {
				continue
			}
			j.last = time.Now()
			if err := j.run(ctx); err != nil && ctx.Err() == nil {
				log.Warn("background job failed", "job", j.name, "error", err)
			}
		}
	}
}

// Job is a periodic background job of another package, run by
// RunBackground under a lease named Name, so one node at a time runs it.
type Job struct {
	Name  string
	Every time.Duration
	Run   func(context.Context) error
}

// job is a periodic background job.
type job struct {
	name        string
	every       time.Duration
	run         func(context.Context) error
	last        time.Time // last run
	leasedUntil time.Time // this node's lease, as last renewed
}

// leased reports whether this node holds the job's lease, renewing it in the
// database only when half of it has run out, so that a job that runs every
// 100 ms does not cost a write transaction every 100 ms.
func (j *job) leased(ctx context.Context, db *DB, holder string, log *slog.Logger) bool {
	if time.Until(j.leasedUntil) > leaseTTL/2 {
		return true
	}
	start := time.Now()
	ok, err := db.Lease(ctx, j.name, holder, leaseTTL)
	if err != nil {
		if ctx.Err() == nil {
			log.Warn("lease failed", "job", j.name, "error", err)
		}
		return false
	}
	if ok {
		j.leasedUntil = start.Add(leaseTTL)
	}
	return ok
}
