package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/consent"
	"github.com/agentpay/agentpay/httpapi"
	"github.com/agentpay/agentpay/store"
	"github.com/agentpay/agentpay/webhook"
)

// demoServer is the agentpay a demo runs in its own process: the API and
// the user's pages on addr, the payment expiry and compensation jobs and
// the webhook dispatcher, as serve wires them, over a database of its own.
type demoServer struct {
	db         *store.DB
	api        *httpapi.Server
	base       string // the public URL: http://localhost:PORT
	adminToken string // the operator's token, made for this run only
	dbShown    string // where the data is, for the terminal
	start      *demoStart
	stop       func()
}

// startDemoServer opens dbURL ("": a new SQLite file in a temporary
// directory, removed by stop) and serves on addr.
func startDemoServer(ctx context.Context, addr, dbURL string, log *slog.Logger) (*demoServer, error) {
	dir, shown := "", redact(dbURL)
	if dbURL == "" {
		var err error
		if dir, err = os.MkdirTemp("", "agentpay-demo-"); err != nil {
			return nil, err
		}
		path := filepath.Join(dir, "demo.db")
		dbURL, shown = "sqlite:"+path, path+", deleted at exit"
	}
	cleanup := func() {
		if dir != "" {
			os.RemoveAll(dir)
		}
	}
	db, err := openDB(ctx, dbURL, log, nil)
	if err != nil {
		cleanup()
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		db.Close()
		cleanup()
		return nil, fmt.Errorf("%w (is a server running there? --addr 127.0.0.1:0 picks a free port)", err)
	}
	// Passkeys need a host name, and browsers treat localhost as secure.
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	base := "http://localhost:" + port
	// A token of its own, never stored: the demo onboards its merchant
	// through the operator API with it, and a newcomer may use it to look
	// at /ops while the demo runs.
	token := "apt_demo_" + consent.RandomToken()
	api := httpapi.NewServer(db, sha256.Sum256([]byte(token)), log, nil)
	api.PublicBaseURL = base
	// The demo's merchant receives its webhooks on a loopback port.
	api.WebhookAllowLoopback = true
	if err := loadRiskRules(ctx, api.Payments, "", log); err != nil {
		ln.Close()
		db.Close()
		cleanup()
		return nil, err
	}
	start := newDemoStart(db, base)
	mux := http.NewServeMux()
	start.routes(mux)
	mux.Handle("/", api)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	holder := agentpay.NewID("node")
	bg, stopBackground := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		db.RunBackground(bg, holder, log, api.Payments.Job(), api.Compensation.Job(), api.Subscriptions.Job())
	})
	dispatcher := &webhook.Dispatcher{DB: db, Client: webhook.NewClient(true), Log: log, Holder: holder}
	wg.Go(func() { dispatcher.Run(bg) })
	wg.Go(func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			log.Error("demo server stopped", "error", err)
		}
	})
	stop := func() {
		// A browser may keep a live-update stream open: give requests a
		// moment, then close whatever is left.
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if srv.Shutdown(sctx) != nil {
			srv.Close()
		}
		cancel()
		stopBackground()
		wg.Wait()
		if err := db.Close(); err != nil {
			log.Error("closing the demo database", "error", err)
		}
		cleanup()
	}
	return &demoServer{db: db, api: api, base: base, adminToken: token, dbShown: shown, start: start, stop: stop}, nil
}

// demoLog is the embedded server's log: warnings and errors only, on
// stderr, so that the demo's own story on stdout stays readable.
func demoLog() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
