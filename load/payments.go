package load

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/agentauth"
	"github.com/agentpay/agentpay/consent"
	"github.com/agentpay/agentpay/consent/consenttest"
	"github.com/agentpay/agentpay/httpapi"
	"github.com/agentpay/agentpay/identity"
	"github.com/agentpay/agentpay/linking"
	"github.com/agentpay/agentpay/payments"
	"github.com/agentpay/agentpay/risk"
	"github.com/agentpay/agentpay/store"
	"github.com/go-webauthn/webauthn/protocol"
)

// PaymentsConfig is the shape of an end-to-end payments run: each payment
// is created by an agent (a signed request), approved by its user with a
// software passkey through the approval page's two requests, and captured
// by the merchant — four HTTP requests and one authenticator signature.
type PaymentsConfig struct {
	Users       int // users, each with a passkey, a session, a funded wallet and a linked agent
	Merchants   int
	Payments    int
	Concurrency int // payments in flight; each worker keeps to its own users
	Asset       string
}

// PaymentsReport is an end-to-end run's result. Latencies are per payment
// (all four requests) and per request as the client saw them over
// loopback, which bounds the server's own.
type PaymentsReport struct {
	Payments          int     `json:"payments"`
	Seconds           float64 `json:"seconds"`
	PaymentsPerSecond float64 `json:"payments_per_second"`
	PaymentP50ms      float64 `json:"payment_p50_ms"`
	PaymentP99ms      float64 `json:"payment_p99_ms"`
	RequestP50ms      float64 `json:"request_p50_ms"`
	RequestP99ms      float64 `json:"request_p99_ms"`
	CreateP99ms       float64 `json:"create_p99_ms"`
	ApproveBeginP99ms float64 `json:"approve_begin_p99_ms"`
	ApproveP99ms      float64 `json:"approve_finish_p99_ms"`
	CaptureP99ms      float64 `json:"capture_p99_ms"`
	Concurrency       int     `json:"concurrency"`
	Users             int     `json:"users"`
	CheckPassed       bool    `json:"check_passed"`
}

func (r PaymentsReport) String() string {
	return fmt.Sprintf("%d payments in %.2fs: %.0f payments/s (create → passkey approval → capture); per payment p50 %.2f ms, p99 %.2f ms; "+
		"per request p50 %.2f ms, p99 %.2f ms (create %.2f, approve begin %.2f, approve finish %.2f, capture %.2f); ledger.Check passed: %v",
		r.Payments, r.Seconds, r.PaymentsPerSecond, r.PaymentP50ms, r.PaymentP99ms, r.RequestP50ms, r.RequestP99ms,
		r.CreateP99ms, r.ApproveBeginP99ms, r.ApproveP99ms, r.CaptureP99ms, r.CheckPassed)
}

// payer is one user of the run and everything that acts for them.
type payer struct {
	agentKey   ed25519.PrivateKey
	agentKeyID string
	passkey    *consenttest.Authenticator
	cookie     *http.Cookie
	csrf       string
}

// PaymentsWorkload is a prepared payments run against a server at BaseURL
// whose database is DB (setup writes users, passkeys, sessions, grants and
// merchants straight into it; the run itself is only HTTP).
type PaymentsWorkload struct {
	cfg       PaymentsConfig
	baseURL   string
	db        *store.DB
	client    *http.Client
	payers    []payer
	merchants []string // ids
	apiKeys   []string // their API keys, by index
}

// PreparePayments sets up a payments run against the server at baseURL
// (its public base URL: signatures and passkeys are bound to it).
func PreparePayments(ctx context.Context, db *store.DB, baseURL string, cfg PaymentsConfig) (*PaymentsWorkload, error) {
	if cfg.Users < 1 || cfg.Merchants < 1 || cfg.Payments < 1 || cfg.Concurrency < 1 || cfg.Users < cfg.Concurrency {
		return nil, errors.New("load: users, merchants, payments and concurrency must be positive, and users at least concurrency")
	}
	if cfg.Asset == "" {
		cfg.Asset = "USD"
	}
	w := &PaymentsWorkload{cfg: cfg, baseURL: baseURL, db: db,
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4 * cfg.Concurrency, MaxConnsPerHost: 4 * cfg.Concurrency}}}
	if err := w.setupMerchants(ctx); err != nil {
		return nil, err
	}
	pk, err := consent.NewPasskeys(db, baseURL)
	if err != nil {
		return nil, err
	}
	w.payers = make([]payer, cfg.Users)
	errs := make(chan error, cfg.Users)
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	for i := range cfg.Users {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			p, err := setupPayer(ctx, db, pk, baseURL, cfg.Asset, i)
			if err != nil {
				errs <- err
				return
			}
			w.payers[i] = p
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	return w, nil
}

func (w *PaymentsWorkload) setupMerchants(ctx context.Context) error {
	now := time.Now().UnixMicro()
	for i := range w.cfg.Merchants {
		m := agentpay.Merchant{ID: agentpay.NewID("mer"), Name: fmt.Sprintf("Load Shop %d", i), MCC: "5411", Country: "US",
			SettlementAsset: w.cfg.Asset, Status: agentpay.MerchantActive, CreatedAt: now}
		secret := agentpay.NewAPIKeySecret()
		key := agentpay.APIKey{ID: agentpay.NewID("key"), MerchantID: m.ID, Prefix: agentpay.APIKeyDisplayPrefix(secret), CreatedAt: now}
		acc := payments.MerchantAccount(m.ID, w.cfg.Asset)
		if err := w.db.Committer.Submit(ctx, &store.Unit{Accounts: []agentpay.Account{acc},
			Rows: []store.Row{store.MerchantRow(m, agentpay.NewWebhookSecret()), store.APIKeyRow(key, agentpay.HashAPIKey(secret))}}).Err; err != nil {
			return fmt.Errorf("load: merchant: %w", err)
		}
		w.merchants = append(w.merchants, m.ID)
		w.apiKeys = append(w.apiKeys, secret)
	}
	return nil
}

// setupPayer makes user i: tier 2, a passkey, a session, a wallet funded
// for the run and an agent linked with limits the run stays under.
func setupPayer(ctx context.Context, db *store.DB, pk *consent.Passkeys, baseURL, asset string, i int) (payer, error) {
	now := time.Now()
	u := agentpay.User{ID: agentpay.NewID("usr"), Email: fmt.Sprintf("load%d@example.com", i), DisplayName: fmt.Sprintf("Load User %d", i),
		Country: "US", Tier: agentpay.TierDocument, CreatedAt: now.UnixMicro()}
	if err := db.Committer.Submit(ctx, &store.Unit{Rows: []store.Row{store.UserRow(u)}}).Err; err != nil {
		return payer{}, fmt.Errorf("load: user: %w", err)
	}
	a, err := consenttest.NewAuthenticator(baseURL)
	if err != nil {
		return payer{}, err
	}
	cid, creation, err := pk.BeginRegistration(ctx, u.ID)
	if err != nil {
		return payer{}, err
	}
	resp, err := a.CreateResponse(creation)
	if err != nil {
		return payer{}, err
	}
	if _, err := pk.FinishRegistration(ctx, u.ID, cid, resp); err != nil {
		return payer{}, err
	}
	sessions := &consent.Sessions{DB: db, Secure: consent.SecureCookies(baseURL)}
	cookie, sess, err := sessions.Open(ctx, u.ID)
	if err != nil {
		return payer{}, err
	}
	ids := &identity.Service{DB: db}
	if _, err := ids.TopUp(ctx, u.ID, agentpay.Money{Amount: 1_000_000_00, Asset: asset}, "load"); err != nil {
		return payer{}, err
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return payer{}, err
	}
	links := &linking.Service{DB: db}
	limits := agentpay.GrantLimits{Asset: asset, PerPayment: 100_00, PerDay: 10_000_00, PerMonth: 50_000_00}
	st, err := links.Start(ctx, linking.StartRequest{PublicKeyJWK: agentauth.JWK(pub), AgentName: "Load agent", SoftwareID: "agentpay.load",
		Scopes: []agentpay.Scope{agentpay.ScopePaymentsCreate}, Limits: limits}, linking.RequestMeta{RemoteIP: "127.0.0.1"})
	if err != nil {
		return payer{}, err
	}
	if _, err := links.Approve(ctx, st.Link.UserCode, linking.Approval{UserID: u.ID}); err != nil {
		return payer{}, err
	}
	return payer{agentKey: priv, agentKeyID: agentauth.Thumbprint(pub), passkey: a, cookie: cookie, csrf: sess.CSRFToken}, nil
}

// call sends one request and decodes a 2xx JSON answer into out.
func (w *PaymentsWorkload) call(ctx context.Context, req *http.Request, body []byte, out any) error {
	resp, err := w.client.Do(req.WithContext(ctx))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", req.Method, req.URL.Path, resp.StatusCode, bytes.TrimSpace(b))
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

func (w *PaymentsWorkload) newRequest(method, path string, body []byte) (*http.Request, error) {
	req, err := http.NewRequest(method, w.baseURL+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if method == http.MethodPost {
		req.Header.Set("Idempotency-Key", agentpay.NewID("idem"))
	}
	return req, nil
}

// pay runs one payment end to end and returns the four request latencies.
func (w *PaymentsWorkload) pay(ctx context.Context, p payer, merchant int, amount int64) ([4]time.Duration, error) {
	var lat [4]time.Duration
	order := map[string]any{"merchant": w.merchants[merchant], "asset": w.cfg.Asset,
		"items":  []map[string]any{{"name": "Load item", "quantity": 1, "unit_amount": amount}},
		"totals": map[string]int64{"subtotal": amount, "total": amount}}
	body, _ := json.Marshal(order)
	req, err := w.newRequest(http.MethodPost, "/v1/payments", body)
	if err != nil {
		return lat, err
	}
	if err := agentauth.Sign(req, body, p.agentKey, p.agentKeyID, agentauth.SignParams{}); err != nil {
		return lat, err
	}
	var created struct {
		ID      string `json:"id"`
		Version int64  `json:"version"`
		Status  string `json:"status"`
	}
	t0 := time.Now()
	if err := w.call(ctx, req, body, &created); err != nil {
		return lat, err
	}
	lat[0] = time.Since(t0)
	if created.Status != string(agentpay.PaymentRequiresApproval) {
		return lat, fmt.Errorf("load: payment %s is %s", created.ID, created.Status)
	}

	body, _ = json.Marshal(map[string]any{"version": created.Version, "share": []string{}})
	req, err = w.newRequest(http.MethodPost, "/pay/"+created.ID+"/approve/begin", body)
	if err != nil {
		return lat, err
	}
	req.AddCookie(p.cookie)
	req.Header.Set("X-CSRF-Token", p.csrf)
	var begun struct {
		Ceremony string                       `json:"ceremony"`
		Options  protocol.CredentialAssertion `json:"options"`
	}
	t0 = time.Now()
	if err := w.call(ctx, req, body, &begun); err != nil {
		return lat, err
	}
	lat[1] = time.Since(t0)
	assertion, err := p.passkey.GetResponse(&begun.Options)
	if err != nil {
		return lat, err
	}
	req, err = w.newRequest(http.MethodPost, "/pay/"+created.ID+"/approve/finish?ceremony="+begun.Ceremony, assertion)
	if err != nil {
		return lat, err
	}
	req.AddCookie(p.cookie)
	req.Header.Set("X-CSRF-Token", p.csrf)
	var approved struct {
		Status string `json:"status"`
	}
	t0 = time.Now()
	if err := w.call(ctx, req, assertion, &approved); err != nil {
		return lat, err
	}
	lat[2] = time.Since(t0)
	if approved.Status != string(agentpay.PaymentAuthorized) {
		return lat, fmt.Errorf("load: approved payment %s is %s", created.ID, approved.Status)
	}

	body = []byte(`{}`)
	req, err = w.newRequest(http.MethodPost, "/v1/payments/"+created.ID+"/capture", body)
	if err != nil {
		return lat, err
	}
	req.Header.Set("Authorization", "Bearer "+w.apiKeys[merchant])
	var captured struct {
		Status string `json:"status"`
	}
	t0 = time.Now()
	if err := w.call(ctx, req, body, &captured); err != nil {
		return lat, err
	}
	lat[3] = time.Since(t0)
	if captured.Status != string(agentpay.PaymentCaptured) {
		return lat, fmt.Errorf("load: captured payment %s is %s", created.ID, captured.Status)
	}
	return lat, nil
}

// Run drives the payments, timing only them, then checks the ledger.
func (w *PaymentsWorkload) Run(ctx context.Context) (PaymentsReport, error) {
	cfg := w.cfg
	var next atomic.Int64
	perPayment := make([][]time.Duration, cfg.Concurrency)
	perRequest := make([][4][]time.Duration, cfg.Concurrency)
	errs := make(chan error, cfg.Concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for k := range cfg.Concurrency {
		wg.Go(func() {
			// Worker k keeps to users k, k+C, k+2C…: a user's approvals
			// take turns anyway, as a person's would.
			var mine []payer
			for i := k; i < len(w.payers); i += cfg.Concurrency {
				mine = append(mine, w.payers[i])
			}
			for n := 0; ; n++ {
				i := next.Add(1)
				if i > int64(cfg.Payments) {
					return
				}
				t0 := time.Now()
				lat, err := w.pay(ctx, mine[n%len(mine)], int(i)%len(w.merchants), 1+i%100)
				if err != nil {
					errs <- err
					return
				}
				perPayment[k] = append(perPayment[k], time.Since(t0))
				for j := range lat {
					perRequest[k][j] = append(perRequest[k][j], lat[j])
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return PaymentsReport{}, err
	}
	all := slices.Concat(perPayment...)
	slices.Sort(all)
	var kinds [4][]time.Duration
	var requests []time.Duration
	for _, pr := range perRequest {
		for j := range pr {
			kinds[j] = append(kinds[j], pr[j]...)
			requests = append(requests, pr[j]...)
		}
	}
	for j := range kinds {
		slices.Sort(kinds[j])
	}
	slices.Sort(requests)
	r := PaymentsReport{Payments: len(all), Seconds: elapsed.Seconds(), PaymentsPerSecond: float64(len(all)) / elapsed.Seconds(),
		PaymentP50ms: ms(percentile(all, 0.5)), PaymentP99ms: ms(percentile(all, 0.99)),
		RequestP50ms: ms(percentile(requests, 0.5)), RequestP99ms: ms(percentile(requests, 0.99)),
		CreateP99ms: ms(percentile(kinds[0], 0.99)), ApproveBeginP99ms: ms(percentile(kinds[1], 0.99)),
		ApproveP99ms: ms(percentile(kinds[2], 0.99)), CaptureP99ms: ms(percentile(kinds[3], 0.99)),
		Concurrency: cfg.Concurrency, Users: cfg.Users}
	if err := w.db.CheckLedger(ctx); err != nil {
		return r, fmt.Errorf("load: LEDGER INVARIANT BROKEN: %w", err)
	}
	r.CheckPassed = true
	return r, nil
}

// LoadRules are the built-in risk rules without the velocity rules: a few
// hundred users paying as fast as the machine allows is exactly the burst
// those rules hold for an operator, and a run would measure review queues
// instead of payments. Every other rule is evaluated, over the same
// signals (velocity counters included), so the cost of risk control is in
// the numbers.
func LoadRules() string {
	var kept []string
	for _, line := range strings.Split(risk.DefaultRules, "\n") {
		if !strings.HasPrefix(line, "velocity_") {
			kept = append(kept, line)
		}
	}
	return strings.Join(kept, "\n")
}

// Serve starts an agentpay server over db on a loopback port, with its
// background jobs (payment expiry included), for a payments run: its public
// base URL names localhost, as passkeys need a host name. stop shuts both
// down.
func Serve(db *store.DB, log *slog.Logger) (api *httpapi.Server, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	api = httpapi.NewServer(db, sha256.Sum256([]byte(agentpay.NewID("tok"))), log, nil)
	api.PublicBaseURL = "http://localhost:" + port
	rules, err := risk.Compile(LoadRules())
	if err != nil {
		ln.Close()
		return nil, nil, err
	}
	api.Payments.Risk = risk.NewEngine(rules, 0)
	srv := &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { db.RunBackground(ctx, agentpay.NewID("node"), log, api.Payments.Job()); close(done) }()
	return api, func() { srv.Close(); cancel(); <-done }, nil
}
