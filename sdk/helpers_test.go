package sdk_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/httpapi"
	"github.com/agentpay/agentpay/linking"
	"github.com/agentpay/agentpay/store"
	"github.com/agentpay/agentpay/store/sqlite"
	"github.com/prometheus/client_golang/prometheus"
)

// adminToken is the operator token of every test server.
const adminToken = "sdk-test-operator-token-0123456789"

// testServer is a real agentpay server over a fresh SQLite database.
type testServer struct {
	URL string
	Srv *httpapi.Server
	DB  *store.DB
	hs  *httptest.Server
	dir string
}

// newTestServer starts a server; Close stops it and removes its database.
func newTestServer() (*testServer, error) {
	dir, err := os.MkdirTemp("", "agentpay-sdk-")
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := prometheus.NewRegistry()
	db, err := sqlite.Open(context.Background(), dir+"/agentpay.db", sqlite.Options{Registry: reg, Log: log})
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	// The user who approves links: tier 2, as verification would leave them.
	user := agentpay.User{ID: "usr_sdk", Email: "sdk@example.com", DisplayName: "SDK User", Country: "US",
		Tier: agentpay.TierDocument, CreatedAt: time.Now().UnixMicro()}
	if err := db.Committer.Submit(context.Background(), &store.Unit{Rows: []store.Row{store.UserRow(user)}}).Err; err != nil {
		_ = db.Close()
		_ = os.RemoveAll(dir)
		return nil, err
	}
	srv := httpapi.NewServer(db, sha256.Sum256([]byte(adminToken)), log, reg)
	hs := httptest.NewUnstartedServer(srv)
	hs.Start()
	srv.PublicBaseURL = hs.URL // before any request: signatures cover it
	return &testServer{URL: hs.URL, Srv: srv, DB: db, hs: hs, dir: dir}, nil
}

func mustServer() *testServer {
	ts, err := newTestServer()
	if err != nil {
		panic(err)
	}
	return ts
}

func (ts *testServer) Close() {
	ts.hs.Close()
	_ = ts.DB.Close()
	_ = os.RemoveAll(ts.dir)
}

// approve approves the link shown with userCode, as the user would.
func (ts *testServer) approve(userCode string) error {
	_, err := ts.Srv.Links.Approve(context.Background(), userCode, linking.Approval{UserID: "usr_sdk"})
	return err
}

func (ts *testServer) deny(userCode string) error {
	return ts.Srv.Links.Deny(context.Background(), userCode, "usr_sdk")
}

// onboard onboards a merchant through the operator route and returns its
// API key.
func (ts *testServer) onboard(name string) (string, error) {
	body := `{"name":"` + name + `","mcc":"5411","country":"US","settlement_asset":"USD"}`
	req, err := http.NewRequest(http.MethodPost, ts.URL+"/v1/merchants", bytes.NewReader([]byte(body)))
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", "onboard-"+name)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer func() { _ = resp.Body.Close() }()
	var out struct {
		APIKey string `json:"api_key"`
	}
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("onboarding: %d %s", resp.StatusCode, data)
	}
	if err := json.Unmarshal(data, &out); err != nil {
		return "", err
	}
	return out.APIKey, nil
}
