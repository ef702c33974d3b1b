package mcpserver_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/consent"
	"github.com/agentpay/agentpay/consent/consenttest"
	"github.com/agentpay/agentpay/httpapi"
	"github.com/agentpay/agentpay/linking"
	"github.com/agentpay/agentpay/mcpserver"
	"github.com/agentpay/agentpay/risk"
	"github.com/agentpay/agentpay/sdk"
	"github.com/agentpay/agentpay/store"
	"github.com/agentpay/agentpay/store/sqlite"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/prometheus/client_golang/prometheus"
)

const (
	adminToken = "mcp-test-operator-token-0123456789"
	userID     = "usr_mcp"
	// passkeyOrigin is where the test user's software passkey lives; the
	// payments service verifies approvals as the approval page does.
	passkeyOrigin = "https://pay.example.com"
)

// shop is an agentpay server over a fresh SQLite database with a verified,
// funded user who approves with a software passkey, and a merchant.
type shop struct {
	t          *testing.T
	url        string
	srv        *httpapi.Server
	db         *store.DB
	merchant   *sdk.Merchant
	merchantID string
	pk         *consent.Passkeys
	key        *consenttest.Authenticator
}

func newShop(t *testing.T) *shop {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	reg := prometheus.NewRegistry()
	db, err := sqlite.Open(ctx, t.TempDir()+"/agentpay.db", sqlite.Options{Registry: reg, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	user := agentpay.User{ID: userID, Email: "mcp@example.com", DisplayName: "MCP User", Country: "US",
		Tier: agentpay.TierDocument, CreatedAt: time.Now().UnixMicro()}
	if err := db.Committer.Submit(ctx, &store.Unit{Rows: []store.Row{store.UserRow(user)}}).Err; err != nil {
		t.Fatal(err)
	}
	srv := httpapi.NewServer(db, sha256.Sum256([]byte(adminToken)), log, reg)
	hs := httptest.NewUnstartedServer(srv)
	hs.Start()
	t.Cleanup(hs.Close)
	srv.PublicBaseURL = hs.URL // before any request: signatures cover it
	s := &shop{t: t, url: hs.URL, srv: srv, db: db}

	apiKey := s.onboard("Corner Coffee", "5814")
	s.merchant = sdk.NewMerchant(hs.URL, apiKey)
	me, err := s.merchant.Me(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.merchantID = me.ID
	if s.pk, err = consent.NewPasskeys(db, passkeyOrigin); err != nil {
		t.Fatal(err)
	}
	s.key = consenttest.New(t, passkeyOrigin)
	id, creation, err := s.pk.BeginRegistration(ctx, userID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.pk.FinishRegistration(ctx, userID, id, s.key.Create(t, creation)); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Identity.TopUp(ctx, userID, agentpay.Money{Amount: 500_00, Asset: "USD"}, "test"); err != nil {
		t.Fatal(err)
	}
	return s
}

// noRisk turns risk control off, for tests that make many payments fast
// (the built-in rules hold bursts for review).
func (s *shop) noRisk() { s.srv.Payments.Risk = risk.NewEngine(risk.MustCompile(""), 1) }

// onboard onboards a merchant through the operator API and returns its API
// key.
func (s *shop) onboard(name, mcc string) string {
	s.t.Helper()
	body := fmt.Sprintf(`{"name":%q,"mcc":%q,"country":"US","settlement_asset":"USD"}`, name, mcc)
	req, err := http.NewRequest(http.MethodPost, s.url+"/v1/merchants", bytes.NewReader([]byte(body)))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Idempotency-Key", "onboard-"+name)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		s.t.Fatalf("onboarding %s: %d %s", name, resp.StatusCode, data)
	}
	var out struct {
		APIKey string `json:"api_key"`
	}
	if err := json.Unmarshal(data, &out); err != nil {
		s.t.Fatal(err)
	}
	return out.APIKey
}

// approveLink approves the link showing userCode, as the user does on the
// linking page. The agent's background poll writes the link too (when it
// last polled); an approval that loses that race is tried again, as the
// user would press Approve again.
func (s *shop) approveLink(userCode string) {
	s.t.Helper()
	var err error
	for range 20 {
		_, err = s.srv.Links.Approve(context.Background(), userCode, linking.Approval{UserID: userID})
		if agentpay.ErrorCode(err) != "version_conflict" {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatal(err)
	}
}

// approvePayment is the user's passkey approval of the payment as it is
// now, as the approval page makes it.
func (s *shop) approvePayment(id string) error {
	ctx := context.Background()
	svc := s.srv.Payments
	p, err := svc.ForUser(ctx, userID, id)
	if err != nil {
		return err
	}
	obj, err := svc.Approval(ctx, p, nil)
	if err != nil {
		return err
	}
	cid, assertion, err := s.pk.BeginApproval(ctx, userID, id, obj)
	if err != nil {
		return err
	}
	ev, err := s.pk.FinishApproval(ctx, userID, cid, s.key.Get(s.t, assertion))
	if err != nil {
		return err
	}
	_, err = svc.Approve(ctx, userID, id, ev)
	return err
}

func fastSleep(ctx context.Context, _ time.Duration) error {
	t := time.NewTimer(10 * time.Millisecond)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// connect serves a new agentpay MCP server (its own key in a new
// directory) to a new client with opts over an in-memory transport.
func (s *shop) connect(opts *mcp.ClientOptions, session *mcp.ClientSessionOptions) (*mcp.ClientSession, *mcpserver.Server) {
	s.t.Helper()
	srv, err := mcpserver.New(mcpserver.Options{ServerURL: s.url, Dir: s.t.TempDir(), Sleep: fastSleep, Version: "test"})
	if err != nil {
		s.t.Fatal(err)
	}
	return connectTo(s.t, srv, opts, session), srv
}

func connectTo(t *testing.T, srv *mcpserver.Server, opts *mcp.ClientOptions, session *mcp.ClientSessionOptions) *mcp.ClientSession {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ct, st := mcp.NewInMemoryTransports()
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, st) }()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test-client", Version: "1"}, opts).Connect(ctx, ct, session)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cs.Close()
		cancel()
		<-done
	})
	return cs
}

// call calls a tool; a protocol error fails the test (tool errors are
// results).
func call(t *testing.T, cs *mcp.ClientSession, name string, args any) *mcp.CallToolResult {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return res
}

// ok calls a tool that must succeed and decodes its structured content.
func ok[T any](t *testing.T, cs *mcp.ClientSession, name string, args any) (T, string) {
	t.Helper()
	res := call(t, cs, name, args)
	var out T
	if res.IsError {
		t.Fatalf("%s: tool error %s", name, text(res))
	}
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s: %v in %s", name, err, b)
	}
	return out, text(res)
}

// toolError calls a tool that must fail with code and returns its text.
func toolError(t *testing.T, cs *mcp.ClientSession, name string, args any, code string) string {
	t.Helper()
	res := call(t, cs, name, args)
	if !res.IsError || !strings.HasPrefix(text(res), code+": ") {
		t.Fatalf("%s: want tool error %s, got %v %s", name, code, res.IsError, text(res))
	}
	return text(res)
}

// text is the text content of a result.
func text(res *mcp.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n")
}

// link links srv's agent through link_account, approved by the user.
func (s *shop) link(cs *mcp.ClientSession, args map[string]any) mcpserver.LinkAccountOutput {
	s.t.Helper()
	l, _ := ok[mcpserver.LinkAccountOutput](s.t, cs, "link_account", args)
	if l.Status != "pending" || l.UserCode == "" {
		s.t.Fatalf("link_account: %+v", l)
	}
	s.approveLink(l.UserCode)
	return l
}

func mustKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	key, err := sdk.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return key
}
