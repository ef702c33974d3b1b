package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"testing"
)

// runLoad runs "agentpay load ledger --json ARGS" and returns its report
// as a map, so that the test sees the JSON keys as printed.
func runLoad(t *testing.T, args ...string) map[string]any {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"load", "ledger", "--json"}, args...)...)
	cmd.Env = append(os.Environ(), "AGENTPAY_ADMIN_TOKEN="+processToken, "AGENTPAY_DB=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("agentpay load: %v\n%s", err, stderr.Bytes())
	}
	var report map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &report); err != nil {
		t.Fatalf("agentpay load --json printed %q: %v", stdout.Bytes(), err)
	}
	if n, _ := report["transfers"].(float64); n != 3000 {
		t.Errorf("transfers = %v, want 3000", report["transfers"])
	}
	if tps, _ := report["transfers_per_second"].(float64); !(tps > 0) {
		t.Errorf("transfers_per_second = %v, want > 0", report["transfers_per_second"])
	}
	for _, key := range []string{"p50_ms", "p95_ms", "p99_ms", "max_ms", "rejected", "seconds"} {
		if _, ok := report[key].(float64); !ok {
			t.Errorf("report has no number %s: %s", key, stdout.Bytes())
		}
	}
	if report["check_passed"] != true {
		t.Errorf("check_passed = %v", report["check_passed"])
	}
	if report["rejected"] != 0.0 {
		t.Errorf("rejected = %v, want 0", report["rejected"])
	}
	return report
}

// TestLoadInProcess runs the load tool on its own temporary SQLite database.
func TestLoadInProcess(t *testing.T) {
	t.Parallel()
	r := runLoad(t, "--transfers", "3000", "--concurrency", "32")
	if r["concurrency"] != 32.0 {
		t.Errorf("concurrency = %v", r["concurrency"])
	}
}

// TestLoadAgainstServer runs the load tool over HTTP against a running
// server, which then still passes its ledger check.
func TestLoadAgainstServer(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, db database) {
		s := startServer(t, db.url)
		runLoad(t, "--transfers", "3000", "--concurrency", "32", "--accounts", "100", "--merchants", "10", "--target", s.url)
		checkLedgerOK(t, s)
	})
}
