package httpapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/httpapi"
	"github.com/agentpay/agentpay/store"
	"github.com/agentpay/agentpay/store/postgres"
	"github.com/agentpay/agentpay/store/postgres/pgtest"
	"github.com/agentpay/agentpay/store/sqlite"
	"github.com/prometheus/client_golang/prometheus"
)

// adminToken is the operator token of every test server.
const adminToken = "test-operator-token-0123456789"

// api is one test server over one fresh database.
type api struct {
	t   *testing.T
	db  *store.DB
	url string
}

// forEachDB runs f against SQLite and, when AGENTPAY_TEST_POSTGRES_URL is
// set, against PostgreSQL in a schema of its own.
func forEachDB(t *testing.T, f func(t *testing.T, a *api)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		reg := prometheus.NewRegistry()
		db, err := sqlite.Open(context.Background(), t.TempDir()+"/x.db", sqlite.Options{Registry: reg, Log: quietLog()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		f(t, newAPI(t, db, reg))
	})
	t.Run("postgres", func(t *testing.T) {
		url := pgtest.URL(t)
		t.Parallel()
		reg := prometheus.NewRegistry()
		schema := pgtest.Schema(t, url, "httpapi")
		db, err := postgres.Open(context.Background(), url, postgres.Options{Schema: schema, Registry: reg, Log: quietLog()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		f(t, newAPI(t, db, reg))
	})
}

// newID returns a new client-chosen id.
func newID(prefix string) string { return agentpay.NewID(prefix) }

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func newAPI(t *testing.T, db *store.DB, reg *prometheus.Registry) *api {
	srv := httpapi.NewServer(db, sha256.Sum256([]byte(adminToken)), quietLog(), reg)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close) // runs before the database closes: cleanups run last-in first-out
	return &api{t: t, db: db, url: hs.URL}
}

// response is a response read whole.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) String() string {
	return fmt.Sprintf("HTTP %d %s", r.Status, bytes.TrimSpace(r.Body))
}

// replayed reports whether the response is a stored one played back.
func (r response) replayed() bool { return r.Header.Get("Idempotent-Replayed") == "true" }

// decode unmarshals the body into v, failing the test if it cannot.
func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("%v: decode: %v", r, err)
	}
}

// request is what a test sends; zero values mean the usual (the operator
// token, no Idempotency-Key).
type request struct {
	Method  string
	Path    string
	Key     string
	Body    string
	Token   *string // nil: the operator token; "": no Authorization header
	Headers map[string]string
}

func (a *api) send(rq request) response {
	a.t.Helper()
	var body io.Reader
	if rq.Body != "" {
		body = strings.NewReader(rq.Body)
	}
	req, err := http.NewRequest(rq.Method, a.url+rq.Path, body)
	if err != nil {
		a.t.Fatal(err)
	}
	token := adminToken
	if rq.Token != nil {
		token = *rq.Token
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if rq.Key != "" {
		req.Header.Set("Idempotency-Key", rq.Key)
	}
	if rq.Body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range rq.Headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", rq.Method, rq.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatalf("%s %s: read: %v", rq.Method, rq.Path, err)
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

func (a *api) get(path string) response {
	a.t.Helper()
	return a.send(request{Method: "GET", Path: path})
}

// post sends a mutating request with a new Idempotency-Key.
func (a *api) post(path, body string) response {
	a.t.Helper()
	return a.send(request{Method: "POST", Path: path, Key: "key-" + randomHex(8), Body: body})
}

// mustStatus fails the test unless r has the status.
func mustStatus(t *testing.T, r response, status int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("want HTTP %d, got %v", status, r)
	}
}

func jsonString(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

type accountOut struct {
	ID             string   `json:"id"`
	Kind           string   `json:"kind"`
	Asset          string   `json:"asset"`
	Flags          []string `json:"flags"`
	DebitsPending  int64    `json:"debits_pending"`
	DebitsPosted   int64    `json:"debits_posted"`
	CreditsPending int64    `json:"credits_pending"`
	CreditsPosted  int64    `json:"credits_posted"`
	Balance        int64    `json:"balance"`
	Available      int64    `json:"available"`
}

type transferOut struct {
	ID              string `json:"id"`
	Type            string `json:"type"`
	DebitAccountID  string `json:"debit_account_id"`
	CreditAccountID string `json:"credit_account_id"`
	Amount          int64  `json:"amount"`
	Asset           string `json:"asset"`
	PendingID       string `json:"pending_id"`
	PendingStatus   string `json:"pending_status"`
	Timestamp       int64  `json:"timestamp"`
}

type listOut struct {
	Object     string        `json:"object"`
	Data       []transferOut `json:"data"`
	HasMore    bool          `json:"has_more"`
	NextCursor string        `json:"next_cursor"`
}

func (a *api) createAccount(kind, asset string) string {
	a.t.Helper()
	r := a.post("/v1/accounts", jsonString(map[string]string{"kind": kind, "asset": asset}))
	mustStatus(a.t, r, http.StatusCreated)
	var acc accountOut
	r.decode(a.t, &acc)
	return acc.ID
}

func (a *api) topUp(account string, amount int64) string {
	a.t.Helper()
	id := newID("top")
	r := a.post("/v1/accounts/"+account+"/topups", jsonString(map[string]any{"id": id, "amount": amount}))
	mustStatus(a.t, r, http.StatusCreated)
	return id
}

// transfer posts one transfer and requires a 201.
func (a *api) transfer(fields map[string]any) transferOut {
	a.t.Helper()
	r := a.post("/v1/transfers", jsonString(fields))
	mustStatus(a.t, r, http.StatusCreated)
	var out transferOut
	r.decode(a.t, &out)
	return out
}

func (a *api) account(id string) accountOut {
	a.t.Helper()
	r := a.get("/v1/accounts/" + id)
	mustStatus(a.t, r, http.StatusOK)
	var acc accountOut
	r.decode(a.t, &acc)
	return acc
}

func (a *api) getTransfer(id string) transferOut {
	a.t.Helper()
	r := a.get("/v1/transfers/" + id)
	mustStatus(a.t, r, http.StatusOK)
	var out transferOut
	r.decode(a.t, &out)
	return out
}

// history returns an account's whole history, newest first, following
// next_cursor with pages of limit.
func (a *api) history(account string, limit int) []transferOut {
	a.t.Helper()
	var all []transferOut
	cursor := ""
	for range 10000 {
		path := fmt.Sprintf("/v1/accounts/%s/transfers?limit=%d", account, limit)
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		r := a.get(path)
		mustStatus(a.t, r, http.StatusOK)
		var page listOut
		r.decode(a.t, &page)
		if len(page.Data) > limit {
			a.t.Fatalf("page of %d transfers for limit %d", len(page.Data), limit)
		}
		all = append(all, page.Data...)
		if !page.HasMore {
			if page.NextCursor != "" {
				a.t.Fatalf("last page has next_cursor %q", page.NextCursor)
			}
			return all
		}
		if page.NextCursor == "" || len(page.Data) != limit {
			a.t.Fatalf("page with has_more has %d transfers and next_cursor %q", len(page.Data), page.NextCursor)
		}
		cursor = page.NextCursor
	}
	a.t.Fatal("history does not end")
	return nil
}

// count counts rows in the database directly: what the API cannot list.
func (a *api) count(query string) int {
	a.t.Helper()
	var n int
	if err := a.db.Reader().QueryRow(query).Scan(&n); err != nil {
		a.t.Fatal(err)
	}
	return n
}

// snapshot is everything a bad request must leave as it was: the accounts'
// JSON, their histories, and the number of accounts, applied transfers and
// open pending transfers in the database.
func (a *api) snapshot(accounts ...string) string {
	a.t.Helper()
	var b strings.Builder
	for _, id := range accounts {
		for _, path := range []string{"/v1/accounts/" + id, "/v1/accounts/" + id + "/transfers?limit=100"} {
			r := a.get(path)
			mustStatus(a.t, r, http.StatusOK)
			b.Write(r.Body)
		}
	}
	fmt.Fprintf(&b, "accounts=%d transfers=%d open=%d\n",
		a.count(`SELECT COUNT(*) FROM accounts`),
		a.count(`SELECT COUNT(*) FROM transfers WHERE result = ''`),
		a.count(`SELECT COUNT(*) FROM transfers WHERE result = '' AND pending_status = 'open'`))
	return b.String()
}

// checkLedger requires GET /v1/ledger/check to report ok.
func (a *api) checkLedger() {
	a.t.Helper()
	r := a.get("/v1/ledger/check")
	mustStatus(a.t, r, http.StatusOK)
	var out struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	r.decode(a.t, &out)
	if !out.OK {
		a.t.Fatalf("ledger check failed: %s", out.Error)
	}
}

// checkErrorShape requires r to be a JSON error of the one shape
// {"error":{"type","code","message","param"}} with the given status, code
// and param ("" when the error names no field). It returns the message.
func checkErrorShape(t *testing.T, r response, status int, code, param string) string {
	t.Helper()
	if r.Status != status {
		t.Fatalf("want HTTP %d %s, got %v", status, code, r)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(r.Body, &top); err != nil {
		t.Fatalf("error body is not a JSON object: %v: %s", err, r.Body)
	}
	if len(top) != 1 || top["error"] == nil {
		t.Fatalf("error body must be exactly {\"error\":{…}}: %s", r.Body)
	}
	var detail map[string]any
	if err := json.Unmarshal(top["error"], &detail); err != nil {
		t.Fatalf("error is not an object: %s", r.Body)
	}
	for k, v := range detail {
		if !slices.Contains([]string{"type", "code", "message", "param"}, k) {
			t.Errorf("unexpected error field %q in %s", k, r.Body)
		}
		if _, ok := v.(string); !ok {
			t.Errorf("error field %q is not a string in %s", k, r.Body)
		}
	}
	str := func(k string) string { s, _ := detail[k].(string); return s }
	wantType := map[int]string{400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error",
		409: "conflict_error", 413: "invalid_request_error", 422: "idempotency_error"}[status]
	if str("type") != wantType {
		t.Errorf("type %q, want %q in %s", str("type"), wantType, r.Body)
	}
	if str("code") != code {
		t.Errorf("code %q, want %q in %s", str("code"), code, r.Body)
	}
	if str("param") != param {
		t.Errorf("param %q, want %q in %s", str("param"), param, r.Body)
	}
	msg := str("message")
	if msg == "" || strings.HasPrefix(msg, " ") {
		t.Errorf("message %q is not a clear sentence in %s", msg, r.Body)
	}
	return msg
}

// waitFor polls cond until it holds, failing the test if it still does not
// after a generous bound. It asserts nothing about how long that took.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
