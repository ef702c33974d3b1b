package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/consent"
	"github.com/agentpay/agentpay/httpapi"
	"github.com/agentpay/agentpay/identity"
	"github.com/agentpay/agentpay/payments"
	"github.com/agentpay/agentpay/store"
	"github.com/agentpay/agentpay/webhook"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// shutdownTimeout bounds how long in-flight requests get to finish.
const shutdownTimeout = 30 * time.Second

func serve(ctx context.Context, args []string) error {
	fs := newFlagSet("serve")
	addr := fs.String("addr", env("AGENTPAY_ADDR", "127.0.0.1:8080"), "listen address (AGENTPAY_ADDR)")
	dbURL := fs.String("db", env("AGENTPAY_DB", defaultDB), "database: sqlite:PATH or postgres://… (AGENTPAY_DB)")
	publicURL := fs.String("public-url", env("AGENTPAY_PUBLIC_URL", ""),
		"the base URL users and agents reach this server at, e.g. https://pay.example (AGENTPAY_PUBLIC_URL; default http://localhost:PORT); passkeys need a host name, not an IP address")
	notifier := fs.String("notifier", env("AGENTPAY_NOTIFIER", "log"),
		"how users' one-time codes are delivered: log (DEVELOPMENT: codes are written to the log) or none (AGENTPAY_NOTIFIER)")
	webhooksLoopback := fs.Bool("webhooks-allow-loopback", envTrue("AGENTPAY_WEBHOOKS_ALLOW_LOOPBACK"),
		"DEVELOPMENT: let webhook URLs reach loopback addresses (127.0.0.0/8, ::1); private and link-local ones stay refused (AGENTPAY_WEBHOOKS_ALLOW_LOOPBACK=true)")
	devTopUps := fs.Bool("dev-topups", envTrue("AGENTPAY_DEV_TOPUPS"),
		"DEVELOPMENT: users may top up their wallets from the funding account on the account page (AGENTPAY_DEV_TOPUPS=true)")
	riskRules := fs.String("risk-rules", env("AGENTPAY_RISK_RULES", ""),
		"risk rules file; at start it is checked (a broken rule is an error naming its line) and, if it differs from the rules in force, saved as their next version (AGENTPAY_RISK_RULES; default: the last rules saved, else the built-in ones)")
	feeBPS := fs.String("protection-fee-bps", env("AGENTPAY_PROTECTION_FEE_BPS", "10"),
		"the protection fee merchants pay into the protection fund on every capture, in basis points of the amount captured: 0 to 10000, 0 for none (AGENTPAY_PROTECTION_FEE_BPS)")
	feeMin := fs.String("protection-fee-min", env("AGENTPAY_PROTECTION_FEE_MIN", "0"),
		"the least protection fee of a capture, in minor units of its asset, never more than the capture (AGENTPAY_PROTECTION_FEE_MIN)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file (for measuring)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	protectionFeeBPS, protectionFeeMin, err := protectionFee(*feeBPS, *feeMin)
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
	var level slog.Level
	if err := level.UnmarshalText([]byte(env("AGENTPAY_LOG_LEVEL", "info"))); err != nil {
		return fmt.Errorf("AGENTPAY_LOG_LEVEL: %w", err)
	}
	logOut := newLogWriter(os.Stderr)
	defer logOut.Close()
	log := slog.New(slog.NewJSONHandler(logOut, &slog.HandlerOptions{Level: level}))
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	db, err := openDB(ctx, *dbURL, log, reg)
	if err != nil {
		return err
	}
	tokenHash, err := adminToken(ctx, db, log)
	if err != nil {
		db.Close()
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		db.Close()
		return err
	}
	api := httpapi.NewServer(db, tokenHash, log, reg)
	api.PublicBaseURL = strings.TrimSuffix(*publicURL, "/")
	api.WebhookAllowLoopback = *webhooksLoopback
	api.DevTopUp = *devTopUps
	api.Payments.ProtectionFeeBPS, api.Payments.ProtectionFeeMin = protectionFeeBPS, protectionFeeMin
	if *devTopUps {
		log.Warn("users may top up their wallets from nothing (--dev-topups): for development only")
	}
	if *webhooksLoopback {
		log.Warn("webhooks may reach loopback addresses (--webhooks-allow-loopback): for development only")
	}
	if api.PublicBaseURL == "" {
		// Passkeys need a domain, and browsers treat localhost as secure.
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		api.PublicBaseURL = "http://localhost:" + port
	}
	if _, _, err := consent.RelyingParty(api.PublicBaseURL); err != nil {
		ln.Close()
		db.Close()
		return fmt.Errorf("--public-url %q: %w", api.PublicBaseURL, err)
	}
	if err := loadRiskRules(ctx, api.Payments, *riskRules, log); err != nil {
		ln.Close()
		db.Close()
		return err
	}
	switch *notifier {
	case "log":
		api.Notifier = identity.LogNotifier{Log: log}
		log.Warn("the development notifier writes one-time codes to this log; run with --notifier=none in production until a real one is configured")
	case "none":
	default:
		ln.Close()
		db.Close()
		return fmt.Errorf("--notifier must be log or none, not %q", *notifier)
	}
	srv := &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 90 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10}

	holder := agentpay.NewID("node")
	bg, stopBackground := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		db.RunBackground(bg, holder, log, api.Payments.Job(), api.Compensation.Job(), api.Subscriptions.Job())
	})
	dispatcher := &webhook.Dispatcher{DB: db, Client: webhook.NewClient(*webhooksLoopback), Log: log, Holder: holder}
	wg.Go(func() { dispatcher.Run(bg) })
	wg.Go(func() { api.Payments.WatchRules(bg, log) })

	log.Info("agentpay serving", "addr", ln.Addr().String(), "db", redact(*dbURL), "engine", db.Engine.Name(), "node", holder)
	logOut.flush() // whoever started us may be waiting for that line
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err = <-errc:
	case <-ctx.Done():
		log.Info("shutting down: finishing in-flight requests")
		sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		err = srv.Shutdown(sctx)
		cancel()
	}
	stopBackground()
	wg.Wait()
	// Close commits every queued unit before it closes the database.
	if cerr := db.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	log.Info("agentpay stopped")
	return err
}

// protectionFee parses --protection-fee-bps and --protection-fee-min into
// payments.Service's ProtectionFeeBPS (where 0 means the default, so no fee
// is -1) and ProtectionFeeMin.
func protectionFee(bpsText, minText string) (bps, least int64, err error) {
	bps, err = strconv.ParseInt(bpsText, 10, 64)
	if err != nil || bps < 0 || bps > 10_000 {
		return 0, 0, fmt.Errorf("--protection-fee-bps must be 0 to 10000 basis points, not %q", bpsText)
	}
	least, err = strconv.ParseInt(minText, 10, 64)
	if err != nil || least < 0 {
		return 0, 0, fmt.Errorf("--protection-fee-min must be a whole number of minor units, 0 or more, not %q", minText)
	}
	if bps == 0 {
		return -1, 0, nil // no fee at all, whatever the minimum
	}
	return bps, least, nil
}

// envTrue reports whether the environment variable name is set to true
// (true, 1, t, TRUE…).
func envTrue(name string) bool {
	b, _ := strconv.ParseBool(env(name, "false"))
	return b
}

// adminToken returns the SHA-256 of the operator's bearer token:
// AGENTPAY_ADMIN_TOKEN if set; otherwise one generated at the first start,
// printed once on the terminal and kept only as a hash.
func adminToken(ctx context.Context, db *store.DB, log *slog.Logger) ([32]byte, error) {
	if t := os.Getenv("AGENTPAY_ADMIN_TOKEN"); t != "" {
		if len(t) < 16 {
			return [32]byte{}, fmt.Errorf("AGENTPAY_ADMIN_TOKEN must be at least 16 characters")
		}
		return sha256.Sum256([]byte(t)), nil
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return [32]byte{}, err
	}
	token := "apt_" + base64.RawURLEncoding.EncodeToString(raw[:])
	sum := sha256.Sum256([]byte(token))
	stored, created, err := db.InitSetting(ctx, "admin_token_sha256", hex.EncodeToString(sum[:]))
	if err != nil {
		return [32]byte{}, err
	}
	if created {
		// Shown once, on the terminal, never in the logs.
		fmt.Fprintf(os.Stderr, "\n  Operator token (shown once, keep it safe): %s\n  Use it as: Authorization: Bearer %s\n\n", token, token)
	} else {
		log.Info("using the operator token generated at first start; set AGENTPAY_ADMIN_TOKEN to use another")
	}
	var out [32]byte
	b, err := hex.DecodeString(stored)
	if err != nil || len(b) != 32 {
		return out, fmt.Errorf("stored operator token hash is corrupt")
	}
	copy(out[:], b)
	return out, nil
}

// loadRiskRules puts the rules in force at start: those of the file if one
// is given (saved as a new version when they differ), else the last saved.
func loadRiskRules(ctx context.Context, p *payments.Service, file string, log *slog.Logger) error {
	if file == "" {
		v, err := p.LoadRules(ctx)
		if err != nil {
			return fmt.Errorf("risk rules: %w", err)
		}
		log.Info("risk rules in force", "version", v)
		return nil
	}
	text, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("--risk-rules: %w", err)
	}
	v, err := p.SaveRules(ctx, string(text))
	if err != nil {
		return fmt.Errorf("--risk-rules %s: %w", file, err)
	}
	log.Info("risk rules in force", "version", v, "file", file)
	return nil
}
