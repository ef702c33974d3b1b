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

// RunBackground runs the ledger's background jobs until ctx ends: expiry of
// pending transfers, folding of account deltas, and forgetting expired
// idempotency keys. Each job runs under a lease, so one node at a time does
// it; holder names this node.
func (db *DB) RunBackground(ctx context.Context, holder string, log *slog.Logger) {
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	lastCleanup := time.Time{}
	for {
		select {
		case <-ctx.Done():
			for _, name := range []string{"ledger.expiry", "ledger.fold", "idempotency.cleanup"} {
				_ = db.ReleaseLease(context.Background(), name, holder)
			}
			return
		case <-tick.C:
		}
		if ok, err := db.Lease(ctx, "ledger.expiry", holder, leaseTTL); err != nil {
			log.Warn("lease failed", "job", "ledger.expiry", "error", err)
		} else if ok {
			if n, err := db.ExpireDue(ctx); err != nil {
				log.Error("expiry failed", "error", err)
			} else if n > 0 {
				log.Info("expired pending transfers", "count", n)
			}
		}
		if db.Engine.Locking() {
			if ok, err := db.Lease(ctx, "ledger.fold", holder, leaseTTL); err == nil && ok {
				if _, err := db.Engine.Fold(ctx, db.writer); err != nil && ctx.Err() == nil {
					log.Warn("folding account deltas failed", "error", err)
				}
			}
		}
		if time.Since(lastCleanup) > 10*time.Minute {
			if ok, err := db.Lease(ctx, "idempotency.cleanup", holder, leaseTTL); err == nil && ok {
				if _, err := db.DeleteExpiredIdempotency(ctx, time.Now().UnixMicro(), idempotencyBatchMax); err != nil && ctx.Err() == nil {
					log.Warn("idempotency cleanup failed", "error", err)
				}
				lastCleanup = time.Now()
			}
		}
	}
}
