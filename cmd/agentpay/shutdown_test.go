package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"syscall"
	"testing"
)

// TestGracefulShutdown sends SIGTERM while payments are in flight: the
// server answers the requests it has, exits 0, and after a restart every
// payment it acknowledged is there.
func TestGracefulShutdown(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, db database) {
		s := startServer(t, db.url)
		l := setUpLedger(t, s, 8, 4)
		out := drive(s, l, 16, 500, func() {
			if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Errorf("SIGTERM: %v", err)
			}
		})
		if err := s.wait(); err != nil {
			t.Fatalf("agentpay serve exited with %v after SIGTERM, want 0\n%s", err, s.log())
		}
		finished := finishedDuringShutdown(s.log())
		// Every response the server gave was a 201: a request it took
		// was finished, not cut off with an error.
		if len(out.refused) > 0 {
			t.Fatalf("%d payments refused, e.g. %s", len(out.refused), out.refused[0])
		}
		s = startServer(t, db.url)
		// A request without a response never reached a handler (the
		// connection was refused or closed idle): nothing the server
		// committed went unanswered.
		if committed := verifyAfterRestart(t, s, l, out); committed != 0 {
			t.Errorf("%d of %d payments without a response had committed", committed, len(out.unknown))
		}
		t.Logf("%s: %d payments acknowledged (%d of them finished after SIGTERM), %d without a response",
			db.name, len(out.acked), finished, len(out.unknown))
		s.must(http.StatusOK, "GET", "/healthz", "", "", nil)
	})
}

// finishedDuringShutdown counts the requests the server logged as answered
// after it logged that it was shutting down. It is informational: how many
// requests were in flight at the signal is up to the scheduler.
func finishedDuringShutdown(log string) int {
	n, stopping := 0, false
	for line := range strings.Lines(log) {
		var entry struct {
			Msg    string `json:"msg"`
			Status int    `json:"status"`
		}
		if json.Unmarshal([]byte(line), &entry) != nil {
			continue
		}
		stopping = stopping || strings.HasPrefix(entry.Msg, "shutting down")
		if stopping && entry.Msg == "request" && entry.Status == http.StatusCreated {
			n++
		}
	}
	return n
}
