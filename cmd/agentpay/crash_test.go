package main

import (
	"testing"
)

// TestCrashLosesNothing kills the server with SIGKILL in the middle of a
// load, restarts it on the same database and proves that every acknowledged
// payment is there exactly once, that the balances are the sums of what is
// there, and that retrying the payments that were in flight applies each
// at most once.
func TestCrashLosesNothing(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, db database) {
		s := startServer(t, db.url)
		l := setUpLedger(t, s, 8, 4)
		out := drive(s, l, 16, 2000, s.kill)
		if len(out.refused) > 0 {
			t.Fatalf("%d payments refused before the crash, e.g. %s", len(out.refused), out.refused[0])
		}
		if len(out.acked) < 2000 {
			t.Fatalf("only %d payments acknowledged before the server died", len(out.acked))
		}
		select {
		case <-s.exited:
		default:
			t.Fatal("the server still runs after SIGKILL")
		}
		s = startServer(t, db.url)
		committed := verifyAfterRestart(t, s, l, out)
		t.Logf("%s: %d payments acknowledged, %d in flight at the crash, of which %d had committed",
			db.name, len(out.acked), len(out.unknown), committed)
	})
}
