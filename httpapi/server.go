package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/compensation"
	"github.com/agentpay/agentpay/identity"
	"github.com/agentpay/agentpay/linking"
	"github.com/agentpay/agentpay/payments"
	"github.com/agentpay/agentpay/store"
	"github.com/agentpay/agentpay/subscriptions"
	"github.com/agentpay/agentpay/webhook"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Limits of the API.
const (
	// BodyBytesMax bounds a request body; a linked group of 256 transfers
	// fits many times over.
	BodyBytesMax = 1 << 20
	// IdempotencyKeyLengthMax bounds Idempotency-Key.
	IdempotencyKeyLengthMax = 255
	// IdempotencyTTL is how long a key is remembered (at least 24 h, DESIGN §4).
	IdempotencyTTL = 48 * time.Hour
	// GroupSizeMax bounds the transfers of one linked group.
	GroupSizeMax = 256
)

// Server is the HTTP API.
type Server struct {
	DB *store.DB
	// AdminTokenSHA256 is the SHA-256 of the operator's bearer token; only
	// the hash is kept in memory.
	AdminTokenSHA256 [32]byte
	Log              *slog.Logger
	Registry         *prometheus.Registry
	// PublicBaseURL is where users reach this server, without a trailing
	// slash; "" means DefaultPublicBaseURL. Linking pages live under it.
	PublicBaseURL string
	// Links runs agent linking.
	Links *linking.Service
	// Notifier delivers users' one-time codes; nil refuses to send them.
	Notifier identity.Notifier
	// DevTopUp lets users top up their wallets from the funding account on
	// the account page (development: serve --dev-topups).
	DevTopUp bool
	// Identity holds users; Payments runs payments; Compensation runs
	// claims.
	Identity     *identity.Service
	Payments     *payments.Service
	Compensation *compensation.Service
	// WebhookAllowLoopback accepts webhook URLs on loopback addresses (for
	// development: serve --webhooks-allow-loopback).
	WebhookAllowLoopback bool
	// Subscriptions runs subscriptions and their scheduler (Job).
	Subscriptions *subscriptions.Service

	inflight      sync.Map     // scoped idempotency key -> struct{}: requests running on this node
	touching      sync.Map     // API key id -> struct{}: last_used_at updates running on this node
	agentKeys     sync.Map     // stored JWK text -> ed25519.PublicKey, parsed
	agentKeyCount atomic.Int64 // entries in agentKeys
	mux           *http.ServeMux
	metrics       *httpMetrics
	web           webMount // the user's pages; built on first use, from PublicBaseURL
}

// NewServer builds the routes. adminTokenSHA256 is the SHA-256 of the
// operator's bearer token.
func NewServer(db *store.DB, adminTokenSHA256 [32]byte, log *slog.Logger, reg *prometheus.Registry) *Server {
	ids := &identity.Service{DB: db}
	s := &Server{DB: db, AdminTokenSHA256: adminTokenSHA256, Log: log, Registry: reg, mux: http.NewServeMux(),
		Links: &linking.Service{DB: db}, Identity: ids, Payments: &payments.Service{DB: db, Identity: ids, Outbox: webhook.Enqueue}}
	s.Compensation = s.newCompensation()
	s.Subscriptions = &subscriptions.Service{DB: db, Payments: s.Payments, Outbox: webhook.Enqueue}
	s.metrics = newHTTPMetrics(reg)
	s.routes()
	return s
}

func (s *Server) routes() {
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, map[string]string{"status": "ok"}) })
	s.mux.HandleFunc("GET /readyz", s.ready)
	if s.Registry != nil {
		s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{}))
	}
	s.mux.Handle("POST /v1/accounts", s.admin(s.idempotent(s.createAccount)))
	s.mux.Handle("GET /v1/accounts/{id}", s.admin(s.getAccount))
	s.mux.Handle("GET /v1/accounts/{id}/transfers", s.admin(s.accountTransfers))
	s.mux.Handle("POST /v1/accounts/{id}/topups", s.admin(s.idempotent(s.topUp)))
	s.mux.Handle("POST /v1/accounts/{id}/payouts", s.admin(s.idempotent(s.payout)))
	s.mux.Handle("POST /v1/transfers", s.admin(s.idempotent(s.createTransfers)))
	s.mux.Handle("GET /v1/transfers/{id}", s.admin(s.getTransfer))
	s.mux.Handle("GET /v1/ledger/check", s.admin(s.checkLedger))
	s.mux.Handle("POST /v1/merchants", s.admin(s.idempotent(s.createMerchant)))
	s.mux.Handle("GET /v1/merchants/{id}", s.admin(s.getMerchant))
	s.mux.Handle("POST /v1/merchants/{id}/suspend", s.admin(emptyBodyIsObject(s.idempotent(s.setMerchantStatus(agentpay.MerchantSuspended)))))
	s.mux.Handle("POST /v1/merchants/{id}/resume", s.admin(emptyBodyIsObject(s.idempotent(s.setMerchantStatus(agentpay.MerchantActive)))))
	s.mux.Handle("GET /v1/merchant", s.merchant(s.getSelf))
	s.mux.Handle("GET /v1/merchant/api-keys", s.merchant(s.listAPIKeys))
	s.mux.Handle("POST /v1/merchant/api-keys", s.merchant(emptyBodyIsObject(s.idempotent(s.createAPIKey))))
	s.mux.Handle("POST /v1/merchant/api-keys/{id}/revoke", s.merchant(emptyBodyIsObject(s.idempotent(s.revokeAPIKey))))
	s.mux.Handle("POST /v1/merchant/webhook", s.merchant(s.idempotent(s.setWebhook)))
	s.mux.Handle("GET /v1/merchant/accounts", s.merchant(s.listMerchantAccounts))
	s.mux.Handle("POST /v1/merchant/accounts", s.merchant(s.idempotent(s.createMerchantAccount)))
	s.mux.Handle("POST /v1/agent-links", s.agentLinkCaller(s.idempotent(s.startAgentLink)))
	s.mux.HandleFunc("POST /v1/agent-links/token", s.pollAgentLink)
	s.mux.Handle("GET /v1/agent/grant", s.agent("", s.getAgentGrant))
	s.mux.Handle("POST /v1/agent/ping", s.agent("", emptyBodyIsObject(s.idempotent(s.agentPing))))
	s.mux.Handle("POST /v1/agent/keys/rotate", s.agent("", s.idempotent(s.rotateAgentKey)))
	s.mux.Handle("POST /v1/agent-keys/{keyid}/suspend", s.admin(emptyBodyIsObject(s.idempotent(s.setAgentSuspension("key", true)))))
	s.mux.Handle("POST /v1/agent-keys/{keyid}/resume", s.admin(emptyBodyIsObject(s.idempotent(s.setAgentSuspension("key", false)))))
	s.mux.Handle("POST /v1/software/{software_id}/suspend", s.admin(emptyBodyIsObject(s.idempotent(s.setAgentSuspension("software", true)))))
	s.mux.Handle("POST /v1/software/{software_id}/resume", s.admin(emptyBodyIsObject(s.idempotent(s.setAgentSuspension("software", false)))))
	s.meRoutes()
	s.webhookRoutes()
	s.paymentRoutes()
	s.mandateRoutes()
	s.claimRoutes()
	s.tipRoutes()
	s.directoryRoutes()
	s.catalogRoutes()
	s.riskRoutes()
	s.subscriptionRoutes()
	s.webRoutes()
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, agentpay.Errorf(agentpay.ENOTFOUND, "route_not_found", "no route %s %s", r.Method, r.URL.Path))
	})
}

// ServeHTTP adds the request id, the body limit, the request log, metrics
// and panic recovery around every route.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := r.Header.Get("X-Request-Id")
	if id == "" || len(id) > 128 || !agentpay.ValidID(id) {
		id = agentpay.NewID("req")
	}
	w.Header().Set("X-Request-Id", id)
	log := s.Log.With("request_id", id)
	r = r.WithContext(context.WithValue(r.Context(), logKey{}, log))
	r.Body = http.MaxBytesReader(w, r.Body, BodyBytesMax)
	rec := &statusRecorder{ResponseWriter: w, status: 200}
	defer func() {
		if p := recover(); p != nil {
			log.Error("panic", "panic", p)
			if !rec.wrote {
				s.writeError(rec, r, agentpay.Errorf(agentpay.EINTERNAL, "panic", "%v", p))
			}
		}
		elapsed := time.Since(start)
		s.metrics.observe(r.Pattern, rec.status, elapsed) // the mux set r.Pattern
		log.Info("request", "method", r.Method, "path", r.URL.Path, "route", r.Pattern,
			"status", rec.status, "duration_ms", float64(elapsed.Microseconds())/1000)
	}()
	s.mux.ServeHTTP(rec, r)
}

type logKey struct{}

func (s *Server) log(r *http.Request) *slog.Logger {
	if l, ok := r.Context().Value(logKey{}).(*slog.Logger); ok {
		return l
	}
	return s.Log
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer, so
// that event streams can flush and extend their write deadline.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// admin lets through only requests with the operator's bearer token. The
// token is compared by hash in constant time, and never logged.
func (s *Server) admin(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		const prefix = "Bearer "
		deny := func(code, message string) {
			// RFC 9110 §11.6.1: a 401 must say which scheme to use.
			w.Header().Set("WWW-Authenticate", `Bearer realm="agentpay"`)
			s.writeError(w, r, agentpay.Errorf(agentpay.EUNAUTHORIZED, code, "%s", message))
		}
		h := r.Header.Get("Authorization")
		if len(h) <= len(prefix) || h[:len(prefix)] != prefix {
			deny("missing_token", "send the operator token as Authorization: Bearer TOKEN")
			return
		}
		got := sha256.Sum256([]byte(h[len(prefix):]))
		if subtle.ConstantTimeCompare(got[:], s.AdminTokenSHA256[:]) != 1 {
			deny("invalid_token", "the operator token is not valid")
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, "admin")))
	})
}

type callerKey struct{}

func caller(r *http.Request) string {
	c, _ := r.Context().Value(callerKey{}).(string)
	return c
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.DB.Ping(ctx); err != nil {
		s.writeError(w, r, agentpay.Errorf(agentpay.EUNAVAILABLE, "database_unavailable", "the database does not answer"))
		return
	}
	writeJSON(w, 200, map[string]string{"status": "ready"})
}

type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg *prometheus.Registry) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "agentpay_http_requests_total",
			Help: "HTTP requests by route and status."}, []string{"route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "agentpay_http_request_seconds",
			Help: "HTTP request latency by route.", Buckets: prometheus.ExponentialBuckets(0.0001, 2, 18)}, []string{"route"}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.duration)
	}
	return m
}

func (m *httpMetrics) observe(route string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(route).Observe(d.Seconds())
}

// checkLedger runs ledger.Check over the whole ledger: for operators and the
// load tool, which ends every run with it.
func (s *Server) checkLedger(w http.ResponseWriter, r *http.Request) {
	if err := s.DB.CheckLedger(r.Context()); err != nil {
		s.log(r).Error("ledger check failed", "error", err)
		writeJSON(w, http.StatusOK, map[string]any{"object": "ledger_check", "ok": false, "error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "ledger_check", "ok": true})
}
