package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/httpapi"
	"github.com/agentpay/agentpay/linking"
	"github.com/agentpay/agentpay/store"
	"github.com/agentpay/agentpay/store/sqlite"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/prometheus/client_golang/prometheus"
)

// mcpStderr collects a subprocess's stderr for failure messages.
type mcpStderr struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *mcpStderr) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *mcpStderr) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// The built binary's "agentpay mcp" speaks MCP over stdio to the official
// SDK's client: it lists its tools, links its own key (the user approves
// the link as on the linking page) and calls the API signed with that key.
func TestMCPOverStdio(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	reg := prometheus.NewRegistry()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "a.db"), sqlite.Options{Registry: reg, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	user := agentpay.User{ID: "usr_stdio", Email: "stdio@example.com", DisplayName: "Stdio", Country: "US",
		Tier: agentpay.TierDocument, CreatedAt: time.Now().UnixMicro()}
	if err := db.Committer.Submit(ctx, &store.Unit{Rows: []store.Row{store.UserRow(user)}}).Err; err != nil {
		t.Fatal(err)
	}
	api := httpapi.NewServer(db, sha256.Sum256([]byte(processToken)), log, reg)
	hs := httptest.NewServer(api)
	t.Cleanup(hs.Close)
	api.PublicBaseURL = hs.URL
	onboard := `{"name":"Corner Coffee","mcc":"5814","country":"US","settlement_asset":"USD"}`
	req, _ := http.NewRequest(http.MethodPost, hs.URL+"/v1/merchants", strings.NewReader(onboard))
	req.Header.Set("Authorization", "Bearer "+processToken)
	req.Header.Set("Idempotency-Key", "onboard")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("onboarding: %d %s", resp.StatusCode, body)
	}

	dir := filepath.Join(t.TempDir(), "config")
	cmd := exec.Command(binary, "mcp", "--server", hs.URL, "--config-dir", dir)
	stderr := &mcpStderr{}
	cmd.Stderr = stderr
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "stdio-test", Version: "1"}, nil).Connect(cctx, &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		t.Fatalf("connect: %v\n%s", err, stderr)
	}
	defer func() {
		if err := cs.Close(); err != nil {
			t.Errorf("close: %v\n%s", err, stderr)
		}
	}()
	callTool := func(name string, args map[string]any) (map[string]any, string) {
		t.Helper()
		res, err := cs.CallTool(cctx, &mcp.CallToolParams{Name: name, Arguments: args})
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, stderr)
		}
		var text string
		for _, c := range res.Content {
			if tc, ok := c.(*mcp.TextContent); ok {
				text += tc.Text
			}
		}
		if res.IsError {
			return nil, text
		}
		b, _ := json.Marshal(res.StructuredContent)
		var out map[string]any
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatal(err)
		}
		return out, text
	}

	tools, err := cs.ListTools(cctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range tools.Tools {
		names = append(names, tool.Name)
	}
	for _, want := range []string{"link_account", "get_grant", "list_merchants", "create_payment", "update_payment",
		"wait_for_approval", "get_payment", "list_payments", "cancel_payment", "file_claim"} {
		if !strings.Contains(" "+strings.Join(names, " ")+" ", " "+want+" ") {
			t.Errorf("tools/list lacks %s: %v", want, names)
		}
	}

	if out, text := callTool("get_grant", map[string]any{}); out != nil || !strings.HasPrefix(text, "unknown_key: ") {
		t.Fatalf("get_grant before linking: %v %s", out, text)
	}
	link, text := callTool("link_account", map[string]any{})
	code, _ := link["user_code"].(string)
	if link["status"] != "pending" || code == "" || !strings.Contains(text, hs.URL+"/link?code="+code) {
		t.Fatalf("link_account: %v %s", link, text)
	}
	for i := 0; ; i++ { // the binary's poll may write the link at the same moment
		_, err := api.Links.Approve(ctx, code, linking.Approval{UserID: user.ID})
		if err == nil {
			break
		}
		if agentpay.ErrorCode(err) != "version_conflict" || i == 20 {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	grant, text := callTool("get_grant", map[string]any{})
	if grant == nil || grant["status"] != "active" || grant["asset"] != "USD" || !strings.Contains(text, "100.00 USD left") {
		t.Fatalf("get_grant: %v %s", grant, text)
	}
	merchants, text := callTool("list_merchants", map[string]any{})
	list, _ := merchants["merchants"].([]any)
	if len(list) != 1 || !strings.Contains(text, "Corner Coffee") {
		t.Fatalf("list_merchants: %v %s", merchants, text)
	}

	info, err := os.Stat(filepath.Join(dir, "agent-key.pem"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("the agent key: %v, %v", info, err)
	}
}
