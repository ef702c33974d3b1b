package mcpserver

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/agentpay/agentpay/sdk"
)

// Files in the agent's directory.
const (
	keyFile   = "agent-key.pem" // the Ed25519 private key, PKCS #8 PEM, mode 0600
	stateFile = "state.json"    // the link in progress, mode 0600
)

// DefaultDir is where the agent keeps its key: the user's configuration
// directory (os.UserConfigDir), under agentpay.
func DefaultDir() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("agentpay mcp: no configuration directory for the agent key (%w); pass --config-dir", err)
	}
	return filepath.Join(dir, "agentpay"), nil
}

// home is the agent's directory: its key, and what it remembers of a link
// in progress so that the same code is shown again (even after a restart)
// until it expires.
type home struct {
	dir string
	key ed25519.PrivateKey
	mu  sync.Mutex // state file
}

// pendingLink is a link the user has not decided yet, for one server.
type pendingLink struct {
	Server                  string    `json:"server"`
	UserCode                string    `json:"user_code"`
	VerificationURI         string    `json:"verification_uri"`
	VerificationURIComplete string    `json:"verification_uri_complete"`
	ExpiresAt               time.Time `json:"expires_at"`
}

type state struct {
	Pending *pendingLink `json:"pending,omitempty"`
}

// openHome opens dir, creating it (0700) and the agent key (0600) on first
// use. The key is the agent's identity: whoever reads it can pay as the
// agent within its grant, so a key file others can read is refused rather
// than used.
func openHome(dir string) (*home, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("agentpay mcp: %w", err)
	}
	if err := private(dir, 0o700); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, keyFile)
	key, err := sdk.ReadPrivateKeyPEM(path)
	if errors.Is(err, fs.ErrNotExist) {
		if key, err = sdk.GenerateKey(); err != nil {
			return nil, err
		}
		err = sdk.WritePrivateKeyPEM(path, key)
		if errors.Is(err, fs.ErrExist) {
			// Another agentpay mcp of this user made it first: use theirs.
			key, err = sdk.ReadPrivateKeyPEM(path)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("agentpay mcp: the agent key: %w", err)
	}
	if err := private(path, 0o600); err != nil {
		return nil, err
	}
	return &home{dir: dir, key: key}, nil
}

// private checks that path is its owner's only, tightening a directory
// that is not (it is ours) and refusing a key file that is not (it may
// have leaked already). Windows has no such mode bits.
func private(path string, mode fs.FileMode) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("agentpay mcp: %w", err)
	}
	if info.Mode().Perm()&0o077 == 0 {
		return nil
	}
	if info.IsDir() {
		if err := os.Chmod(path, mode); err != nil {
			return fmt.Errorf("agentpay mcp: %w", err)
		}
		return nil
	}
	return fmt.Errorf("agentpay mcp: %s can be read by other users (mode %o): make it private (chmod 600) or delete it to make a new key and link again",
		path, info.Mode().Perm())
}

// pending returns the link in progress with server, if it has not expired.
func (h *home) pending(server string, now time.Time) *pendingLink {
	h.mu.Lock()
	defer h.mu.Unlock()
	st, _ := h.read() // a missing or broken state file is no link in progress
	if p := st.Pending; p != nil && p.Server == server && now.Before(p.ExpiresAt) {
		return p
	}
	return nil
}

// setPending records p as the link in progress (nil: none).
func (h *home) setPending(p *pendingLink) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	st, _ := h.read()
	st.Pending = p
	return h.write(st)
}

// clearPending forgets the link in progress if it is the one with code.
func (h *home) clearPending(server, userCode string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	st, _ := h.read()
	if st.Pending == nil || st.Pending.Server != server || st.Pending.UserCode != userCode {
		return nil
	}
	st.Pending = nil
	return h.write(st)
}

func (h *home) read() (state, error) {
	var st state
	data, err := os.ReadFile(filepath.Join(h.dir, stateFile))
	if err != nil {
		return st, err
	}
	err = json.Unmarshal(data, &st)
	return st, err
}

// write replaces the state file whole (a temporary file, which
// os.CreateTemp makes 0600, renamed over it), so a reader never sees half
// of it.
func (h *home) write(st state) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(h.dir, stateFile+".*")
	if err != nil {
		return err
	}
	_, err = f.Write(append(data, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(h.dir, stateFile))
	}
	if err != nil {
		_ = os.Remove(f.Name())
	}
	return err
}
