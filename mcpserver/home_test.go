package mcpserver_test

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/agentpay/agentpay/mcpserver"
)

// The agent key is made once, private to its owner, and kept: the same
// directory is the same agent.
func TestAgentKeyFile(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix file modes")
	}
	dir := filepath.Join(t.TempDir(), "agentpay")
	first, err := mcpserver.New(mcpserver.Options{ServerURL: "http://localhost:1", Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	first.Close()
	tests := []struct {
		path string
		mode os.FileMode
	}{{dir, 0o700}, {filepath.Join(dir, "agent-key.pem"), 0o600}}
	for _, tt := range tests {
		info, err := os.Stat(tt.path)
		if err != nil || info.Mode().Perm() != tt.mode {
			t.Fatalf("%s: %v, %v; want mode %o", tt.path, info.Mode(), err, tt.mode)
		}
	}
	again, err := mcpserver.New(mcpserver.Options{ServerURL: "http://localhost:1", Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	again.Close()
	if again.KeyID() != first.KeyID() || first.KeyID() == "" {
		t.Fatalf("key %q, then %q", first.KeyID(), again.KeyID())
	}

	// A directory others can read is made private; a key others can read
	// is refused.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, "agent-key.pem"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = mcpserver.New(mcpserver.Options{ServerURL: "http://localhost:1", Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("a readable key: %v", err)
	}
	if info, _ := os.Stat(dir); info.Mode().Perm() != 0o700 {
		t.Fatalf("the directory stays %v", info.Mode())
	}
}

// A link in progress is shown again, even by a new process, until the user
// decides it.
func TestPendingLinkRemembered(t *testing.T) {
	s := newShop(t)
	dir := t.TempDir()
	srv, err := mcpserver.New(mcpserver.Options{ServerURL: s.url, Dir: dir, Sleep: fastSleep})
	if err != nil {
		t.Fatal(err)
	}
	first, _ := ok[mcpserver.LinkAccountOutput](t, connectTo(t, srv, nil, nil), "link_account", map[string]any{"agent_name": "Helper"})
	srv.Close()
	restarted, err := mcpserver.New(mcpserver.Options{ServerURL: s.url, Dir: dir, Sleep: fastSleep})
	if err != nil {
		t.Fatal(err)
	}
	cs := connectTo(t, restarted, nil, nil)
	second, _ := ok[mcpserver.LinkAccountOutput](t, cs, "link_account", map[string]any{})
	if second.Status != "pending" || second.UserCode != first.UserCode {
		t.Fatalf("after a restart: %+v, first %+v", second, first)
	}
	// No process polls it now; the user's approval links the key anyway.
	s.approveLink(first.UserCode)
	if g, _ := ok[mcpserver.GrantOutput](t, cs, "get_grant", map[string]any{}); g.Status != "active" {
		t.Fatalf("get_grant: %+v", g)
	}
	data, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	if info, _ := os.Stat(filepath.Join(dir, "state.json")); runtime.GOOS != "windows" && info.Mode().Perm() != 0o600 {
		t.Fatalf("state.json mode %v", info.Mode())
	}
	if !strings.Contains(string(data), first.UserCode) {
		t.Fatalf("state.json: %s", data)
	}
}
