package main

// Tests that run the real binary: built once by TestMain, started as a
// subprocess with "agentpay serve", killed or stopped, and restarted on the
// same database.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentpay/agentpay/store/postgres/pgtest"
)

// processToken is the operator token the subprocesses get.
const processToken = "process-test-token-0123456789"

// binary is the agentpay binary under test, built by TestMain.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "agentpay-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "agentpay")
	args := []string{"build", "-o", binary}
	if raceEnabled && os.Getenv("AGENTPAY_TEST_RACE_BINARY") != "" {
		// Off by default: a race-built server is several times slower, and
		// the same handlers and committer already run under -race in the
		// httpapi and store tests.
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, ".")...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building agentpay:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// database is a fresh database for a subprocess, as a --db URL.
type database struct {
	name string
	url  string
}

// forEachDatabase runs f on a new SQLite database and, when
// AGENTPAY_TEST_POSTGRES_URL is set, a new PostgreSQL schema (dropped when
// the test ends), selected through search_path in the URL.
func forEachDatabase(t *testing.T, f func(t *testing.T, db database)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		f(t, database{name: "sqlite", url: "sqlite:" + filepath.Join(t.TempDir(), "a.db")})
	})
	t.Run("postgres", func(t *testing.T) {
		base := pgtest.URL(t)
		t.Parallel()
		// Cleanups run last-in first-out: the schema goes after the servers
		// the test starts are gone.
		schema := pgtest.Schema(t, base, "cmd")
		f(t, database{name: "postgres", url: pgtest.WithSearchPath(base, schema)})
	})
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// server is a running "agentpay serve" subprocess.
type server struct {
	t      *testing.T
	cmd    *exec.Cmd
	url    string
	client *http.Client
	exited chan struct{} // closed when the process has exited
	err    error         // what Wait returned; read after exited is closed

	mu     sync.Mutex
	stderr []string // the last lines of the server's log
}

// startServer starts "agentpay serve" on a free port and waits until it
// answers /readyz.
func startServer(t *testing.T, dbURL string) *server {
	t.Helper()
	cmd := exec.Command(binary, "serve", "--addr", "127.0.0.1:0", "--db", dbURL)
	cmd.Env = append(os.Environ(), "AGENTPAY_ADMIN_TOKEN="+processToken, "AGENTPAY_ADDR=", "AGENTPAY_DB=")
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, cmd: cmd, exited: make(chan struct{}),
		client: &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	addr := make(chan string, 1)
	logDone := make(chan struct{})
	go func() {
		defer close(logDone)
		sc := bufio.NewScanner(pipe)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			var entry struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal([]byte(line), &entry) == nil && entry.Msg == "agentpay serving" {
				addr <- entry.Addr
			}
			s.mu.Lock()
			s.stderr = append(s.stderr, line)
			if len(s.stderr) > 200 {
				s.stderr = s.stderr[len(s.stderr)-100:]
			}
			s.mu.Unlock()
		}
		_, _ = io.Copy(io.Discard, pipe)
	}()
	go func() {
		<-logDone // Wait closes the pipe: read it to the end first
		s.err = cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		s.kill()
		if t.Failed() {
			t.Logf("server log (last lines):\n%s", s.log())
		}
	})
	select {
	case a := <-addr:
		s.url = "http://" + a
	case <-s.exited:
		t.Fatalf("agentpay serve exited at start: %v\n%s", s.err, s.log())
	case <-time.After(60 * time.Second):
		t.Fatalf("agentpay serve did not start\n%s", s.log())
	}
	waitUntil(t, "/readyz", func() bool {
		r, err := s.do("GET", "/readyz", "", "")
		return err == nil && r.Status == http.StatusOK
	})
	return s
}

func (s *server) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.stderr, "\n")
}

// kill sends SIGKILL, as a crash would, and waits for the process to end.
func (s *server) kill() {
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
}

// wait waits for the process to exit by itself and returns what Wait said.
func (s *server) wait() error {
	select {
	case <-s.exited:
		return s.err
	case <-time.After(90 * time.Second):
		s.t.Fatalf("agentpay serve did not exit\n%s", s.log())
		return nil
	}
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

// do sends one request with the operator token; an error means no response
// arrived (whether the request took effect is then unknown).
func (s *server) do(method, path, key, body string) (response, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, s.url+path, rd)
	if err != nil {
		return response{}, err
	}
	req.Header.Set("Authorization", "Bearer "+processToken)
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, err
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// must sends a request that must get the status; it returns the body.
func (s *server) must(status int, method, path, key, body string, out any) response {
	s.t.Helper()
	r, err := s.do(method, path, key, body)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	if r.Status != status {
		s.t.Fatalf("%s %s: want HTTP %d, got %v", method, path, status, r)
	}
	if out != nil {
		if err := json.Unmarshal(r.Body, out); err != nil {
			s.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	return r
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
