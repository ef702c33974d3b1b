package httpapi_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/agentauth"
	"github.com/agentpay/agentpay/httpapi"
	"github.com/agentpay/agentpay/linking"
	"github.com/agentpay/agentpay/store"
	"github.com/agentpay/agentpay/store/postgres"
	"github.com/agentpay/agentpay/store/postgres/pgtest"
	"github.com/agentpay/agentpay/store/sqlite"
	"github.com/prometheus/client_golang/prometheus"
)

// node is one API server of a test; several may share one database.
type node struct {
	t   *testing.T
	db  *store.DB
	srv *httpapi.Server
	url string
}

// newNode starts a server over db whose public base URL is publicURL, or
// its own URL when publicURL is "". extra routes go in front of the API.
func newNode(t *testing.T, db *store.DB, publicURL string, extra func(*httpapi.Server, *http.ServeMux)) *node {
	srv := httpapi.NewServer(db, sha256.Sum256([]byte(adminToken)), quietLog(), prometheus.NewRegistry())
	var h http.Handler = srv
	if extra != nil {
		mux := http.NewServeMux()
		extra(srv, mux)
		mux.Handle("/", srv)
		h = mux
	}
	hs := httptest.NewUnstartedServer(h)
	url := "http://" + hs.Listener.Addr().String()
	srv.PublicBaseURL = url
	if publicURL != "" {
		srv.PublicBaseURL = publicURL
	}
	hs.Start()
	t.Cleanup(hs.Close)
	return &node{t: t, db: db, srv: srv, url: url}
}

// forEachSharedDB runs f with two databases opened on one SQLite file, and
// on one PostgreSQL schema when AGENTPAY_TEST_POSTGRES_URL is set: two
// nodes of one deployment.
func forEachSharedDB(t *testing.T, f func(t *testing.T, db1, db2 *store.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		path := t.TempDir() + "/x.db"
		open := func() *store.DB {
			db, err := sqlite.Open(context.Background(), path, sqlite.Options{Registry: prometheus.NewRegistry(), Log: quietLog()})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Close() })
			return db
		}
		db1 := open()
		f(t, db1, open())
	})
	t.Run("postgres", func(t *testing.T) {
		url := pgtest.URL(t)
		t.Parallel()
		schema := pgtest.Schema(t, url, "httpapi")
		open := func() *store.DB {
			db, err := postgres.Open(context.Background(), url, postgres.Options{Schema: schema, Registry: prometheus.NewRegistry(), Log: quietLog()})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Close() })
			return db
		}
		db1 := open()
		f(t, db1, open())
	})
}

// linkedAgent is a linked agent: its private key and its grant.
type linkedAgent struct {
	key     ed25519.PrivateKey
	keyID   string
	grantID string
	userID  string
}

// linkAgent links a new agent key through the API and the linking service,
// as TestAgentLinkFlow does, and returns it with its grant.
func linkAgent(t *testing.T, n *node, approval linking.Approval) linkedAgent {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return linkKey(t, n, priv, approval)
}

// mustUser records a user of tier (a new id if id is ""), as sign-up and
// verification would, and returns its id.
func mustUser(t *testing.T, db *store.DB, id string, tier agentpay.Tier) string {
	t.Helper()
	if id == "" {
		id = "usr_" + randomHex(8)
	}
	u := agentpay.User{ID: id, Email: strings.ToLower(id) + "@example.com", DisplayName: "Test User", Country: "US",
		Tier: tier, CreatedAt: time.Now().UnixMicro()}
	if err := db.Committer.Submit(context.Background(), &store.Unit{Rows: []store.Row{store.UserRow(u)}}).Err; err != nil {
		t.Fatal(err)
	}
	return id
}

// linkKey links the agent key priv, approved by approval.UserID (a new
// tier 2 user if "").
func linkKey(t *testing.T, n *node, priv ed25519.PrivateKey, approval linking.Approval) linkedAgent {
	t.Helper()
	pub := priv.Public().(ed25519.PublicKey)
	a := &api{t: t, db: n.db, url: n.url}
	r := a.send(request{Method: "POST", Path: "/v1/agent-links", Key: "k-" + randomHex(8),
		Body: linkBody(string(agentauth.JWK(pub))), Token: new(string)})
	mustStatus(t, r, 201)
	var l linkOut
	l.from(t, r)
	if approval.UserID == "" {
		approval.UserID = mustUser(t, n.db, "", agentpay.TierDocument)
	}
	if _, err := (&linking.Service{DB: n.db}).Approve(context.Background(), l.UserCode, approval); err != nil {
		t.Fatal(err)
	}
	r = poll(t, a, l.DeviceCode)
	mustStatus(t, r, 200)
	var g struct {
		ID string `json:"id"`
	}
	r.decode(t, &g)
	return linkedAgent{key: priv, keyID: agentauth.Thumbprint(pub), grantID: g.ID, userID: approval.UserID}
}

// signed is a signed request as sent: its headers can be sent again.
type signed struct {
	Method, Path string
	Body         []byte
	Header       http.Header
}

// sign signs method and path (with body) for the public base URL base.
func (ag linkedAgent) sign(t *testing.T, base, method, path, body string, p agentauth.SignParams) signed {
	t.Helper()
	req, err := http.NewRequest(method, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := agentauth.Sign(req, []byte(body), ag.key, ag.keyID, p); err != nil {
		t.Fatal(err)
	}
	return signed{Method: method, Path: path, Body: []byte(body), Header: req.Header}
}

// send sends s to the node with Idempotency-Key key ("" for none).
func (n *node) send(s signed, key string) response {
	n.t.Helper()
	req, err := http.NewRequest(s.Method, n.url+s.Path, bytes.NewReader(s.Body))
	if err != nil {
		n.t.Fatal(err)
	}
	req.Header = s.Header.Clone()
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	if len(s.Body) > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		n.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		n.t.Fatal(err)
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// mustRefuse checks a refusal: status, code, and for a 401 the scheme.
func mustRefuse(t *testing.T, r response, status int, code string) {
	t.Helper()
	if got, _ := errorCode(t, r); r.Status != status || got != code {
		t.Fatalf("want %d %s, got %v", status, code, r)
	}
	if status == 401 && r.Header.Get("WWW-Authenticate") != `Signature realm="agentpay"` {
		t.Fatalf("401 without WWW-Authenticate: %v", r.Header)
	}
}

func TestAgentSignedRequests(t *testing.T) {
	forEachSharedDB(t, func(t *testing.T, db, _ *store.DB) {
		n := newNode(t, db, "", nil)
		ag := linkAgent(t, n, linking.Approval{})
		none := agentauth.SignParams{}

		// A valid GET returns the grant it is signed under.
		r := n.send(ag.sign(t, n.url, "GET", "/v1/agent/grant", "", none), "")
		mustStatus(t, r, 200)
		var gj map[string]any
		r.decode(t, &gj)
		if gj["object"] != "grant" || gj["id"] != ag.grantID || gj["agent_key_id"] != ag.keyID || gj["status"] != "active" {
			t.Fatalf("grant: %v", r)
		}

		// A valid POST records its nonce.
		ping := ag.sign(t, n.url, "POST", "/v1/agent/ping", `{}`, none)
		r = n.send(ping, "k1")
		mustStatus(t, r, 200)
		var p struct {
			OK      bool   `json:"ok"`
			GrantID string `json:"grant_id"`
		}
		r.decode(t, &p)
		if !p.OK || p.GrantID != ag.grantID || r.replayed() {
			t.Fatalf("ping: %v", r)
		}
		var count int
		if err := db.Reader().QueryRow(`SELECT COUNT(*) FROM agent_nonces`).Scan(&count); err != nil || count != 1 {
			t.Fatalf("nonces: %d %v", count, err)
		}
		// An empty body is an empty object.
		mustStatus(t, n.send(ag.sign(t, n.url, "POST", "/v1/agent/ping", "", none), "k-empty"), 200)

		// The same request again with the same key: the first response.
		r = n.send(ping, "k1")
		mustStatus(t, r, 200)
		if !r.replayed() {
			t.Fatalf("retry not replayed: %v", r)
		}
		// With another key: a replay, refused, and the key stays free.
		mustRefuse(t, n.send(ping, "k2"), 401, "nonce_replayed")
		mustRefuse(t, n.send(ping, "k2"), 401, "nonce_replayed")
		r = n.send(ag.sign(t, n.url, "POST", "/v1/agent/ping", `{}`, none), "k2")
		mustStatus(t, r, 200)
		if r.replayed() {
			t.Fatalf("a fresh request under a refused replay's key was replayed: %v", r)
		}

		// Unsigned.
		mustRefuse(t, n.send(signed{Method: "GET", Path: "/v1/agent/grant", Header: http.Header{}}, ""), 401, "signature_missing")
		mustRefuse(t, n.send(signed{Method: "POST", Path: "/v1/agent/ping", Body: []byte(`{}`), Header: http.Header{}}, "k3"), 401, "signature_missing")

		// Tampered method, path, body.
		s := ag.sign(t, n.url, "POST", "/v1/agent/grant", "", none)
		s.Method = "GET"
		mustRefuse(t, n.send(s, ""), 401, "signature_invalid")
		s = ag.sign(t, n.url, "GET", "/v1/agent/grant?x=1", "", none)
		s.Path = "/v1/agent/grant"
		mustRefuse(t, n.send(s, ""), 401, "signature_invalid")
		s = ag.sign(t, n.url, "POST", "/v1/agent/ping", `{}`, none)
		s.Body = []byte(`{"a":1}`)
		mustRefuse(t, n.send(s, "k4"), 401, "digest_mismatch")
		// Signed for another host.
		mustRefuse(t, n.send(ag.sign(t, "https://elsewhere.example", "GET", "/v1/agent/grant", "", none), ""), 401, "signature_invalid")

		// Expired signature.
		old := agentauth.SignParams{Created: time.Now().Add(-10 * time.Minute)}
		mustRefuse(t, n.send(ag.sign(t, n.url, "GET", "/v1/agent/grant", "", old), ""), 401, "signature_expired")
		short := agentauth.SignParams{Created: time.Now().Add(-2 * time.Minute), Lifetime: time.Minute}
		mustRefuse(t, n.send(ag.sign(t, n.url, "POST", "/v1/agent/ping", `{}`, short), "k5"), 401, "signature_expired")

		// An unknown key.
		_, stranger, _ := ed25519.GenerateKey(rand.Reader)
		other := linkedAgent{key: stranger, keyID: agentauth.Thumbprint(stranger.Public().(ed25519.PublicKey))}
		mustRefuse(t, n.send(other.sign(t, n.url, "GET", "/v1/agent/grant", "", none), ""), 401, "unknown_key")

		// Revoked: the next request is refused, at once.
		svc := &linking.Service{DB: db}
		if err := svc.Revoke(context.Background(), ag.grantID, "usr_other"); agentpay.ErrorCode(err) != "grant_not_found" {
			t.Fatalf("revoke by another user: %v", err)
		}
		if err := svc.Revoke(context.Background(), ag.grantID, ag.userID); err != nil {
			t.Fatal(err)
		}
		if err := svc.Revoke(context.Background(), ag.grantID, ag.userID); err != nil {
			t.Fatalf("revoke twice: %v", err)
		}
		mustRefuse(t, n.send(ag.sign(t, n.url, "GET", "/v1/agent/grant", "", none), ""), 401, "grant_revoked")
		mustRefuse(t, n.send(ag.sign(t, n.url, "POST", "/v1/agent/ping", `{}`, none), "k6"), 401, "grant_revoked")
	})
}

func TestAgentGrantExpiryAndScope(t *testing.T) {
	forEachSharedDB(t, func(t *testing.T, db, _ *store.DB) {
		n := newNode(t, db, "", func(srv *httpapi.Server, mux *http.ServeMux) {
			mux.Handle("GET /test/subscriptions", srv.AgentForTest(agentpay.ScopeSubscriptions, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(204)
			}))
			mux.Handle("GET /test/tips", srv.AgentForTest(agentpay.ScopeTips, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(204)
			}))
		})
		ag := linkAgent(t, n, linking.Approval{})
		mustStatus(t, n.send(ag.sign(t, n.url, "GET", "/test/tips", "", agentauth.SignParams{}), ""), 204)
		mustRefuse(t, n.send(ag.sign(t, n.url, "GET", "/test/subscriptions", "", agentauth.SignParams{}), ""), 403, "insufficient_scope")

		short := linkAgent(t, n, linking.Approval{ExpiresIn: time.Second})
		time.Sleep(1100 * time.Millisecond)
		mustRefuse(t, n.send(short.sign(t, n.url, "GET", "/v1/agent/grant", "", agentauth.SignParams{}), ""), 401, "grant_expired")
	})
}

func TestAgentNonceReplayAcrossNodes(t *testing.T) {
	forEachSharedDB(t, func(t *testing.T, db1, db2 *store.DB) {
		n1 := newNode(t, db1, "", nil)
		// Both nodes serve one public URL, as behind a load balancer.
		n2 := newNode(t, db2, n1.url, nil)
		ag := linkAgent(t, n1, linking.Approval{})
		ping := ag.sign(t, n1.url, "POST", "/v1/agent/ping", `{}`, agentauth.SignParams{})
		mustStatus(t, n1.send(ping, "k1"), 200)
		mustRefuse(t, n2.send(ping, "k2"), 401, "nonce_replayed")
		r := n2.send(ping, "k1")
		mustStatus(t, r, 200)
		if !r.replayed() {
			t.Fatalf("retry on the other node not replayed: %v", r)
		}
		// The other node serves fresh requests of the agent.
		mustStatus(t, n2.send(ag.sign(t, n1.url, "POST", "/v1/agent/ping", `{}`, agentauth.SignParams{}), "k3"), 200)
		mustStatus(t, n2.send(ag.sign(t, n1.url, "GET", "/v1/agent/grant", "", agentauth.SignParams{}), ""), 200)
	})
}

func TestAgentNonceCleanup(t *testing.T) {
	forEachSharedDB(t, func(t *testing.T, db, _ *store.DB) {
		ctx := context.Background()
		now := time.Now().UnixMicro()
		res := db.Committer.Submit(ctx, &store.Unit{Rows: []store.Row{
			store.AgentNonceRow("key", "old-nonce-0123456789", now-1),
			store.AgentNonceRow("key", "new-nonce-0123456789", now+time.Minute.Microseconds()),
		}})
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		// A recorded nonce fails a unit that records it again.
		res = db.Committer.Submit(ctx, &store.Unit{Rows: []store.Row{store.AgentNonceRow("key", "new-nonce-0123456789", now)}})
		if !store.IsDuplicateRow(res.Err, store.AgentNonceRow("key", "new-nonce-0123456789", now)) {
			t.Fatalf("duplicate nonce: %v", res.Err)
		}
		n, err := db.DeleteExpiredNonces(ctx, now, 100)
		if err != nil || n != 1 {
			t.Fatalf("deleted %d, %v", n, err)
		}
		n, err = db.DeleteExpiredNonces(ctx, now+2*time.Minute.Microseconds(), 100)
		if err != nil || n != 1 {
			t.Fatalf("deleted %d, %v", n, err)
		}
		// Forgotten, the nonce could be recorded again (its signature has
		// long expired, so it never verifies).
		if res := db.Committer.Submit(ctx, &store.Unit{Rows: []store.Row{store.AgentNonceRow("key", "new-nonce-0123456789", now)}}); res.Err != nil {
			t.Fatal(res.Err)
		}
	})
}
