package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"sync"
	"syscall"
	"time"

	"github.com/agentpay/agentpay"
)

// Limits of one delivery attempt.
const (
	// Timeout bounds an attempt from dialing to the end of the response.
	Timeout = 10 * time.Second
	// responseBytesMax is how much of a response is read (and dropped) so
	// the connection can be reused; the body means nothing to delivery.
	responseBytesMax = 64 << 10
)

// ErrForbiddenAddress is the error of a dial to an address webhooks may not
// reach: loopback (unless allowed), private, link-local and other
// non-public ranges.
var ErrForbiddenAddress = errors.New("webhook: destination address is not public")

// forbidden lists the non-public IP ranges webhooks never reach, besides
// what netip classifies (loopback, private, link-local, multicast,
// unspecified). IPv4-mapped IPv6 addresses are checked as the IPv4 address
// they map to; NAT64 addresses (64:ff9b::/96) as the IPv4 address they
// embed, since a NAT64 gateway would reach it.
var forbidden = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT (RFC 6598)
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and the broadcast address
	netip.MustParsePrefix("fc00::/7"),        // unique local (also IsPrivate; listed for the reader)
	netip.MustParsePrefix("fec0::/10"),       // deprecated site-local
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("100::/64"),        // discard-only
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64
	netip.MustParsePrefix("::ffff:0:0:0/96"), // IPv4-translated (RFC 2765)
}

var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// CheckIP returns ErrForbiddenAddress (wrapped) if webhooks may not reach
// ip. allowLoopback lets loopback addresses through, for development; it
// allows nothing else.
func CheckIP(ip netip.Addr, allowLoopback bool) error {
	ip = ip.Unmap()
	if ip.Is6() && nat64.Contains(ip) {
		b := ip.As16()
		ip = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	}
	deny := func(why string) error { return fmt.Errorf("%w: %s is %s", ErrForbiddenAddress, ip, why) }
	switch {
	case !ip.IsValid():
		return deny("not an IP address")
	case ip.IsLoopback():
		if allowLoopback {
			return nil
		}
		return deny("loopback")
	case ip.IsUnspecified():
		return deny("unspecified")
	case ip.IsPrivate():
		return deny("private")
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		return deny("link-local")
	case ip.IsMulticast(), ip.IsInterfaceLocalMulticast():
		return deny("multicast")
	}
	for _, p := range forbidden {
		if p.Contains(ip) {
			return deny("in the reserved range " + p.String())
		}
	}
	return nil
}

// CheckURL refuses, when it is configured, a webhook URL whose host is an
// IP address webhooks may not reach. Host names are checked when they are
// dialed, against every address they resolve to then: checking them here
// would prove nothing, since DNS can change.
func CheckURL(param, raw string, allowLoopback bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		return agentpay.ParamErrorf(param, "invalid_webhook_url", "%s must be an absolute https URL", param)
	}
	ip, err := netip.ParseAddr(u.Hostname())
	if err != nil {
		return nil // a name, not an address
	}
	if err := CheckIP(ip, allowLoopback); err != nil {
		return agentpay.ParamErrorf(param, "forbidden_webhook_url",
			"%s must reach a public address; %s is not one", param, ip.Unmap())
	}
	return nil
}

// Client posts webhooks. It refuses at connect time every address CheckIP
// refuses, whatever the host name resolved to, so DNS rebinding gains
// nothing; it ignores proxy settings (a proxy would connect for it,
// unchecked) and follows no redirect: a 3xx is the answer, and a failure.
type Client struct {
	// AllowLoopback lets webhooks reach loopback addresses: for development
	// and tests only (serve --webhooks-allow-loopback).
	AllowLoopback bool
	// Timeout bounds an attempt; 0 means the package's Timeout.
	Timeout time.Duration

	once sync.Once
	http *http.Client
}

// NewClient returns a client; allowLoopback is for development only.
func NewClient(allowLoopback bool) *Client {
	return &Client{AllowLoopback: allowLoopback, Timeout: Timeout}
}

// init builds the HTTP client on first use, so a Client literal works too.
func (c *Client) init() { c.once.Do(c.build) }

func (c *Client) build() {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = Timeout
	}
	allow := c.AllowLoopback
	dialer := &net.Dialer{Timeout: timeout, Control: func(_, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: %s is not an IP address", ErrForbiddenAddress, address)
		}
		return CheckIP(ap.Addr(), allow)
	}}
	c.http = &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           dialer.DialContext,
			TLSHandshakeTimeout:   timeout,
			ResponseHeaderTimeout: timeout,
			MaxIdleConnsPerHost:   4,
			IdleConnTimeout:       90 * time.Second,
			ForceAttemptHTTP2:     true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Post sends body as JSON to rawURL with the given headers and returns the
// response's status code. An error means there was no HTTP answer.
func (c *Client) Post(ctx context.Context, rawURL string, headers map[string]string, body []byte) (int, error) {
	c.init()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "agentpay-webhooks/1")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, responseBytesMax))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// Describe says why an attempt failed in words that are safe to store and
// show to the merchant: never the URL (it may hold a token), a secret or
// the response.
func Describe(status int, err error) string {
	var dnsErr *net.DNSError
	var netErr net.Error
	switch {
	case err == nil && status >= 300 && status < 400:
		return fmt.Sprintf("HTTP %d: redirects are not followed", status)
	case err == nil:
		return fmt.Sprintf("HTTP %d", status)
	case errors.Is(err, ErrForbiddenAddress):
		return "refused: the endpoint resolves to a non-public address"
	case errors.As(err, &dnsErr):
		return "DNS lookup failed"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "timed out"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed without an answer"
	}
	var certErr *tls.CertificateVerificationError
	var recordErr tls.RecordHeaderError
	var alert tls.AlertError
	var hostErr x509.HostnameError
	var authErr x509.UnknownAuthorityError
	if errors.As(err, &certErr) || errors.As(err, &recordErr) || errors.As(err, &alert) || errors.As(err, &hostErr) ||
		errors.As(err, &authErr) {
		return "TLS handshake failed"
	}
	return "network error"
}
