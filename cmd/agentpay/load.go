package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"runtime/pprof"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/load"
	"github.com/agentpay/agentpay/store"
)

func loadCommand(ctx context.Context, args []string) error {
	if len(args) > 0 && args[0] == "payments" {
		return loadPayments(ctx, args[1:])
	}
	if len(args) == 0 || args[0] != "ledger" {
		return fmt.Errorf("usage: agentpay load ledger|payments [flags]; see agentpay load ledger --help")
	}
	fs := newFlagSet("load ledger")
	dbURL := fs.String("db", "", "drive this database in process (default: a new SQLite file in a temporary directory)")
	target := fs.String("target", "", "drive a running server over HTTP at this base URL instead, e.g. http://127.0.0.1:8080")
	token := fs.String("token", os.Getenv("AGENTPAY_ADMIN_TOKEN"), "operator token for --target (AGENTPAY_ADMIN_TOKEN)")
	var cfg load.Config
	fs.IntVar(&cfg.Accounts, "accounts", 1000, "funded wallets")
	fs.IntVar(&cfg.Merchants, "merchants", 50, "merchants paid")
	fs.IntVar(&cfg.Transfers, "transfers", 100000, "transfers to submit")
	fs.IntVar(&cfg.Concurrency, "concurrency", 384, "transfers in flight at once")
	fs.Float64Var(&cfg.HotRatio, "hot-ratio", 0.1, "share of transfers paying one hot merchant")
	fs.StringVar(&cfg.Asset, "asset", "USD", "asset of the accounts")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	var driver load.Driver
	switch {
	case *target != "" && *dbURL != "":
		return fmt.Errorf("give --db or --target, not both")
	case *target != "":
		if *token == "" {
			return fmt.Errorf("--target needs the operator token: --token or AGENTPAY_ADMIN_TOKEN")
		}
		driver = load.NewHTTPDriver(*target, *token, cfg.Concurrency)
	default:
		log := loadLog()
		db, closeDB, err := openLoadDB(ctx, *dbURL, log)
		if err != nil {
			return err
		}
		defer closeDB()
		// The background jobs run as in the server: folding deltas matters
		// to PostgreSQL's throughput.
		bg, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { db.RunBackground(bg, agentpay.NewID("node"), log); close(done) }()
		defer func() { stop(); <-done }()
		driver = load.StoreDriver{DB: db}
	}
	r, err := load.Run(ctx, driver, cfg)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(os.Stdout).Encode(r)
	}
	fmt.Println(r)
	return nil
}

// loadPayments runs end-to-end payments over HTTP against a server it
// starts in this process on a loopback port: every payment is an agent's
// signed create, the user's two approval requests with a software passkey
// and the merchant's capture.
func loadPayments(ctx context.Context, args []string) error {
	fs := newFlagSet("load payments")
	dbURL := fs.String("db", "", "database of the server (default: a new SQLite file in a temporary directory)")
	var cfg load.PaymentsConfig
	fs.IntVar(&cfg.Users, "users", 256, "users (each with a passkey, a session, a wallet and an agent)")
	fs.IntVar(&cfg.Merchants, "merchants", 20, "merchants paid")
	fs.IntVar(&cfg.Payments, "payments", 20000, "payments to make")
	fs.IntVar(&cfg.Concurrency, "concurrency", 64, "payments in flight at once")
	fs.StringVar(&cfg.Asset, "asset", "USD", "asset of the payments")
	asJSON := fs.Bool("json", false, "print one JSON object")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run (server and clients) to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := loadLog()
	db, closeDB, err := openLoadDB(ctx, *dbURL, log)
	if err != nil {
		return err
	}
	defer closeDB()
	api, stop, err := load.Serve(db, log)
	if err != nil {
		return err
	}
	defer stop()
	w, err := load.PreparePayments(ctx, db, api.PublicBaseURL, cfg)
	if err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	r, err := w.Run(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(os.Stdout).Encode(r)
	}
	fmt.Println(r)
	return nil
}

func loadLog() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// openLoadDB opens the database of a load run: url, or a new SQLite file
// in a temporary directory that closing removes.
func openLoadDB(ctx context.Context, url string, log *slog.Logger) (*store.DB, func(), error) {
	dir := ""
	if url == "" {
		var err error
		if dir, err = os.MkdirTemp("", "agentpay-load-"); err != nil {
			return nil, nil, err
		}
		url = "sqlite:" + dir + "/load.db"
	}
	db, err := openDB(ctx, url, log, nil)
	if err != nil {
		if dir != "" {
			os.RemoveAll(dir)
		}
		return nil, nil, err
	}
	return db, func() {
		db.Close()
		if dir != "" {
			os.RemoveAll(dir)
		}
	}, nil
}
