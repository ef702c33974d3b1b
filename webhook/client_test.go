package webhook_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"syscall"
	"testing"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/webhook"
)

func TestCheckIP(t *testing.T) {
	tests := []struct {
		ip       string
		public   bool // reachable without the development flag
		loopback bool // reachable with it
	}{
		{"93.184.215.14", true, true},
		{"2606:4700::6810:84e5", true, true},
		{"127.0.0.1", false, true},
		{"127.9.9.9", false, true},
		{"::1", false, true},
		{"::ffff:127.0.0.1", false, true},
		{"10.0.0.1", false, false},
		{"172.16.5.4", false, false},
		{"192.168.1.1", false, false},
		{"169.254.169.254", false, false},
		{"::ffff:169.254.169.254", false, false},
		{"::ffff:10.0.0.1", false, false},
		{"64:ff9b::a9fe:a9fe", false, false}, // NAT64 of 169.254.169.254
		{"100.64.0.1", false, false},
		{"0.0.0.0", false, false},
		{"::", false, false},
		{"224.0.0.1", false, false},
		{"ff02::1", false, false},
		{"fe80::1", false, false},
		{"fc00::1", false, false},
		{"fd12:3456::1", false, false},
		{"255.255.255.255", false, false},
		{"198.18.0.1", false, false},
	}
	for _, tt := range tests {
		ip := netip.MustParseAddr(tt.ip)
		if err := webhook.CheckIP(ip, false); (err == nil) != tt.public {
			t.Errorf("%s without loopback: %v", tt.ip, err)
		} else if err != nil && !errors.Is(err, webhook.ErrForbiddenAddress) {
			t.Errorf("%s: %v is not ErrForbiddenAddress", tt.ip, err)
		}
		if err := webhook.CheckIP(ip, true); (err == nil) != tt.loopback {
			t.Errorf("%s with loopback: %v", tt.ip, err)
		}
	}
}

// TestClientRefusesAtConnect dials each forbidden address for real: the
// dialer's Control refuses it before any packet leaves.
func TestClientRefusesAtConnect(t *testing.T) {
	rc := newReceiver(t) // on 127.0.0.1: a refused dial must not reach it
	_, p, err := net.SplitHostPort(rc.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		url           string
		allowLoopback bool
		ok            bool
	}{
		{rc.URL, false, false},
		{"http://localhost:" + p, false, false},
		{"http://10.0.0.1/h", false, false},
		{"http://169.254.169.254/latest/meta-data", false, false},
		{"http://[::1]:" + p + "/h", false, false},
		{"http://[::ffff:127.0.0.1]:" + p + "/h", false, false},
		{"http://[fe80::1%25lo]/h", false, false},
		{"http://10.0.0.1/h", true, false},
		{"http://169.254.169.254/", true, false},
		{"http://192.168.0.1/", true, false},
		{rc.URL, true, true},
	}
	for _, tt := range tests {
		c := webhook.NewClient(tt.allowLoopback)
		status, err := c.Post(context.Background(), tt.url, nil, []byte(`{}`))
		switch {
		case tt.ok && (err != nil || status != 200):
			t.Errorf("%s (loopback %v): %d %v", tt.url, tt.allowLoopback, status, err)
		case !tt.ok && errors.Is(err, syscall.EAFNOSUPPORT):
			t.Logf("%s: no IPv6 here; the Control check is covered by TestCheckIP", tt.url)
		case !tt.ok && !errors.Is(err, webhook.ErrForbiddenAddress):
			t.Errorf("%s (loopback %v): %d %v, want ErrForbiddenAddress", tt.url, tt.allowLoopback, status, err)
		case !tt.ok && webhook.Describe(status, err) != "refused: the endpoint resolves to a non-public address":
			t.Errorf("%s: described as %q", tt.url, webhook.Describe(status, err))
		}
	}
	if n := len(rc.requests()); n != 1 {
		t.Fatalf("the receiver got %d requests, want 1 (the allowed one)", n)
	}
}

// TestClientNoRedirect: a 3xx is the answer; its Location is never
// fetched.
func TestClientNoRedirect(t *testing.T) {
	rc := newReceiver(t)
	rc.answer(302)
	status, err := webhook.NewClient(true).Post(context.Background(), rc.URL+"/hook", nil, []byte(`{}`))
	if err != nil || status != 302 {
		t.Fatalf("%d %v", status, err)
	}
	if got := rc.requests(); len(got) != 1 {
		t.Fatalf("%d requests: the redirect was followed", len(got))
	}
	if d := webhook.Describe(status, nil); d != "HTTP 302: redirects are not followed" {
		t.Fatal(d)
	}
}

func TestCheckURL(t *testing.T) {
	tests := []struct {
		url           string
		allowLoopback bool
		ok            bool
	}{
		{"https://acme.example/hooks", false, true},
		{"https://93.184.215.14/hooks", false, true},
		{"https://localhost/hooks", false, true}, // a name: checked when dialed
		{"https://10.0.0.1/h", false, false},
		{"https://169.254.169.254/h", false, false},
		{"https://[::1]/h", false, false},
		{"https://[::ffff:127.0.0.1]/h", false, false},
		{"http://127.0.0.1:8080/h", false, false},
		{"http://127.0.0.1:8080/h", true, true},
		{"https://[fd00::1]/h", true, false},
		{"", false, true},
	}
	for _, tt := range tests {
		err := webhook.CheckURL("url", tt.url, tt.allowLoopback)
		if (err == nil) != tt.ok {
			t.Errorf("%q (loopback %v): %v", tt.url, tt.allowLoopback, err)
		}
		if err != nil && (agentpay.ErrorCode(err) != "forbidden_webhook_url" || agentpay.ErrorKind(err) != agentpay.EINVALID) {
			t.Errorf("%q: %v", tt.url, err)
		}
	}
}
