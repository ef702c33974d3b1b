// Package load drives the ledger with a synthetic payment workload and
// measures it: wallets paying merchants, a share of them one hot merchant,
// each transfer its own unit of work (in process) or its own HTTP request
// (against a running server). It reports throughput and latency percentiles
// and ends by checking the ledger's invariants.
package load

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agentpay/agentpay"
)

// Driver is what the workload runs against.
type Driver interface {
	// CreateAccount creates an account and returns its id.
	CreateAccount(ctx context.Context, kind agentpay.AccountKind, asset string) (string, error)
	// TopUp credits a wallet from the outside world.
	TopUp(ctx context.Context, transferID, accountID string, amount int64, asset string) error
	// Transfer submits one single-phase transfer and waits until it is
	// durable or refused.
	Transfer(ctx context.Context, t agentpay.Transfer) error
	// Check runs ledger.Check over the whole ledger.
	Check(ctx context.Context) error
}

// Config is one run's shape.
type Config struct {
	Accounts    int     // funded wallets
	Merchants   int     // merchants paid
	Transfers   int     // transfers to submit
	Concurrency int     // transfers in flight at once
	HotRatio    float64 // share of transfers paying merchant 0
	Asset       string
}

// Report is a run's result.
type Report struct {
	Transfers          int     `json:"transfers"`
	Rejected           int     `json:"rejected"`
	Seconds            float64 `json:"seconds"`
	TransfersPerSecond float64 `json:"transfers_per_second"`
	P50ms              float64 `json:"p50_ms"`
	P95ms              float64 `json:"p95_ms"`
	P99ms              float64 `json:"p99_ms"`
	MaxMs              float64 `json:"max_ms"`
	Concurrency        int     `json:"concurrency"`
	Accounts           int     `json:"accounts"`
	Merchants          int     `json:"merchants"`
	HotRatio           float64 `json:"hot_ratio"`
	CheckPassed        bool    `json:"check_passed"`
}

func (r Report) String() string {
	return fmt.Sprintf("%d transfers (%d rejected) in %.2fs: %.0f transfers/s; latency p50 %.2f ms, p95 %.2f ms, p99 %.2f ms, max %.2f ms; ledger.Check passed: %v",
		r.Transfers, r.Rejected, r.Seconds, r.TransfersPerSecond, r.P50ms, r.P95ms, r.P99ms, r.MaxMs, r.CheckPassed)
}

// Run sets up the accounts, drives the transfers and checks the ledger. It
// fails if any transfer fails for a reason other than a clean rejection, or
// if the ledger's invariants break.
func Run(ctx context.Context, d Driver, cfg Config) (Report, error) {
	w, err := Prepare(ctx, d, cfg)
	if err != nil {
		return Report{}, err
	}
	return w.Run(ctx)
}

// Workload is a prepared run: accounts created and funded.
type Workload struct {
	d         Driver
	cfg       Config
	wallets   []string
	merchants []string
}

// Prepare creates and funds the accounts of a run.
func Prepare(ctx context.Context, d Driver, cfg Config) (*Workload, error) {
	if cfg.Accounts < 1 || cfg.Merchants < 1 || cfg.Transfers < 1 || cfg.Concurrency < 1 || cfg.HotRatio < 0 || cfg.HotRatio > 1 {
		return nil, errors.New("load: accounts, merchants, transfers and concurrency must be positive, hot ratio in [0,1]")
	}
	wallets, merchants, err := setup(ctx, d, cfg)
	if err != nil {
		return nil, err
	}
	return &Workload{d: d, cfg: cfg, wallets: wallets, merchants: merchants}, nil
}

// Run drives the transfers, timing only them, then checks the ledger.
func (wl *Workload) Run(ctx context.Context) (Report, error) {
	d, cfg, wallets, merchants := wl.d, wl.cfg, wl.wallets, wl.merchants
	var next atomic.Int64
	var rejected atomic.Int64
	latencies := make([][]time.Duration, cfg.Concurrency)
	errs := make(chan error, cfg.Concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < cfg.Concurrency; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), uint64(start.UnixNano())))
			lat := make([]time.Duration, 0, cfg.Transfers/cfg.Concurrency+1)
			for next.Add(1) <= int64(cfg.Transfers) {
				m := merchants[0]
				if rng.Float64() >= cfg.HotRatio && len(merchants) > 1 {
					m = merchants[1+rng.IntN(len(merchants)-1)]
				}
				t := agentpay.Transfer{ID: agentpay.NewID("trf"), DebitAccountID: wallets[rng.IntN(len(wallets))],
					CreditAccountID: m, Amount: 1 + rng.Int64N(100), Asset: cfg.Asset, Code: "load"}
				t0 := time.Now()
				err := d.Transfer(ctx, t)
				lat = append(lat, time.Since(t0))
				if err != nil {
					if agentpay.ErrorCode(err) == "exceeds_credits" {
						rejected.Add(1)
						continue
					}
					errs <- fmt.Errorf("load: transfer %s: %w", t.ID, err)
					return
				}
			}
			latencies[w] = lat
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return Report{}, err
	}
	all := slices.Concat(latencies...)
	slices.Sort(all)
	r := Report{
		Transfers: len(all), Rejected: int(rejected.Load()), Seconds: elapsed.Seconds(),
		TransfersPerSecond: float64(len(all)) / elapsed.Seconds(),
		P50ms:              ms(percentile(all, 0.50)), P95ms: ms(percentile(all, 0.95)),
		P99ms: ms(percentile(all, 0.99)), MaxMs: ms(percentile(all, 1)),
		Concurrency: cfg.Concurrency, Accounts: cfg.Accounts, Merchants: cfg.Merchants, HotRatio: cfg.HotRatio,
	}
	if err := d.Check(ctx); err != nil {
		return r, fmt.Errorf("load: LEDGER INVARIANT BROKEN: %w", err)
	}
	r.CheckPassed = true
	return r, nil
}

// setup creates and funds the wallets and creates the merchants, in
// parallel so that setting up does not dominate a short run.
func setup(ctx context.Context, d Driver, cfg Config) (wallets, merchants []string, err error) {
	wallets = make([]string, cfg.Accounts)
	merchants = make([]string, cfg.Merchants)
	// Enough for every transfer to draw its maximum from one wallet: the
	// workload measures the ledger, not rejections.
	funds := int64(cfg.Transfers)*100 + 1
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	sem := make(chan struct{}, min(cfg.Concurrency, 64))
	do := func(f func() error) {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := f(); err != nil {
				mu.Lock()
				first = cmp(first, err)
				mu.Unlock()
			}
		}()
	}
	for i := range wallets {
		do(func() error {
			id, err := d.CreateAccount(ctx, agentpay.AccountUserWallet, cfg.Asset)
			if err != nil {
				return err
			}
			wallets[i] = id
			return d.TopUp(ctx, agentpay.NewID("trf"), id, funds, cfg.Asset)
		})
	}
	for i := range merchants {
		do(func() error {
			id, err := d.CreateAccount(ctx, agentpay.AccountMerchant, cfg.Asset)
			merchants[i] = id
			return err
		})
	}
	wg.Wait()
	if first != nil {
		return nil, nil, fmt.Errorf("load: setup: %w", first)
	}
	return wallets, merchants, nil
}

func cmp(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
