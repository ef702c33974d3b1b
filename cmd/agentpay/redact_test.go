package main

import (
	"strings"
	"testing"
)

// TestRedact: a database URL is shown (in logs and errors) without its
// password, wherever the URL carries it.
func TestRedact(t *testing.T) {
	for _, c := range []struct{ url, secret, keep string }{
		{"postgres://app:s3cret@db.example:5432/agentpay?sslmode=require", "s3cret", "db.example:5432/agentpay"},
		{"postgresql://app:s3cret@db.example/agentpay", "s3cret", "db.example/agentpay"},
		{"postgres://db.example/agentpay?user=app&password=s3cret&sslmode=disable", "s3cret", "sslmode=disable"},
		{"postgres://app:p%40ss@db.example/agentpay", "p%40ss", "db.example/agentpay"},
		{"postgres://app:p@ss@db.example/agentpay", "ss@db", "postgres://"},
		{"postgres://app@db.example/agentpay?sslpassword=s3cret", "s3cret", "db.example/agentpay"},
		{"postgres://app:s3cret@db.example/agent pay%zz", "s3cret", "postgres://"},
		{"sqlite:./agentpay.db", "\x00", "sqlite:./agentpay.db"},
		{"mysql://root:s3cret@localhost/x", "s3cret", "localhost"},
	} {
		got := redact(c.url)
		if strings.Contains(got, c.secret) || !strings.Contains(got, c.keep) {
			t.Errorf("redact(%q) = %q", c.url, got)
		}
	}
	if got := redact("postgres://app@db.example/agentpay"); got != "postgres://app@db.example/agentpay" {
		t.Errorf("a URL without a password is shown as it is, got %q", got)
	}
}
