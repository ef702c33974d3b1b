package web_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agentpay/agentpay/httpapi"
	"github.com/agentpay/agentpay/sdk"
	"github.com/agentpay/agentpay/store"
	"github.com/agentpay/agentpay/store/sqlite"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

const chromiumPath = "/usr/bin/chromium"

// browserSite is a real server on a loopback port and a headless Chromium
// with a CTAP2 virtual authenticator (resident keys, user verification).
type browserSite struct {
	t     *testing.T
	base  string // http://localhost:PORT: WebAuthn refuses IP addresses
	srv   *httpapi.Server
	db    *store.DB
	codes *codeBox
	ctx   context.Context // for steps, with a deadline
	bctx  context.Context // the browser's own
}

func newBrowserSite(t *testing.T) *browserSite {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skip("no Chromium at " + chromiumPath + ": install Debian's chromium (.ci/run does)")
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := sqlite.Open(context.Background(), t.TempDir()+"/agentpay.db", sqlite.Options{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	srv := httpapi.NewServer(db, sha256.Sum256([]byte(browserAdminToken)), log, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://localhost:" + strings.Split(ln.Addr().String(), ":")[1]
	srv.PublicBaseURL = base
	codes := &codeBox{}
	srv.Notifier = codes
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })

	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(cancelBrowser)
	// The first Run starts the browser and owns its life: no timeout on it.
	if err := chromedp.Do(bctx); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(bctx, 120*time.Second)
	t.Cleanup(cancel)
	if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol:                    webauthn.AuthenticatorProtocolCtap2,
			Ctap2version:                webauthn.Ctap2versionCtap21,
			Transport:                   webauthn.AuthenticatorTransportInternal,
			HasResidentKey:              true,
			HasUserVerification:         true,
			IsUserVerified:              true,
			AutomaticPresenceSimulation: true, // a plain bool: leaving it out sends false and create() hangs
		}}); err != nil {
		t.Fatal(err)
	}
	return &browserSite{t: t, base: base, srv: srv, db: db, codes: codes, ctx: ctx, bctx: bctx}
}

const browserAdminToken = "browser-admin-token"

func id(s string) chromedp.ID { return chromedp.ID(s) }

// run does a step's actions, failing the test with the page's text.
func (b *browserSite) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		body, _ := chromedp.Run(b.bctx, chromedp.Text(chromedp.CSS("body")))
		b.t.Fatalf("%s: %v; page: %q", what, err, body)
	}
}

func (b *browserSite) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(id(sel)))
	if err != nil {
		b.t.Fatalf("text of #%s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

func jsString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// signUpVerified signs up through the pages, adds a passkey and verifies
// the email address with the delivered code (tier 1).
func (b *browserSite) signUpVerified(email, name string) {
	b.t.Helper()
	b.run("sign up", chromedp.Navigate(b.base+"/signup"), chromedp.WaitVisible(id("email")),
		chromedp.SendKeys(id("email"), email), chromedp.SendKeys(id("display_name"), name),
		chromedp.SendKeys(id("country"), "GB"), chromedp.Click(id("signup")), chromedp.WaitVisible(id("no-passkeys")))
	b.run("add a passkey", chromedp.Click(id("add-passkey")), chromedp.WaitVisible(chromedp.CSS("#passkeys li")))
	b.run("ask for a code", chromedp.Click(id("verify-code")), chromedp.WaitVisible(id("code")))
	b.run("enter the code", chromedp.SendKeys(id("code"), b.codes.last()), chromedp.Click(id("confirm")), chromedp.WaitVisible(id("notice")))
	if tier := b.text("tier"); tier != "1" {
		b.t.Fatalf("tier after verification = %q", tier)
	}
}

// linkAgent links a real SDK agent: it starts linking and polls while the
// user opens the link, optionally lowers the per-payment limit and
// approves with the passkey.
func (b *browserSite) linkAgent(limits sdk.Limits, perPayment string, shot string) (*sdk.Agent, *sdk.Grant) {
	b.t.Helper()
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	agent := sdk.NewAgent(b.base, key)
	pending := make(chan sdk.Pending, 1)
	linked := make(chan error, 1)
	var grant *sdk.Grant
	go func() {
		g, err := agent.Link(b.ctx, sdk.LinkRequest{AgentName: "Browser shopper", SoftwareID: "com.example.browser",
			Scopes: []string{"payments:create", "tips"}, Limits: limits}, func(p sdk.Pending) { pending <- p })
		grant = g
		linked <- err
	}()
	var p sdk.Pending
	select {
	case p = <-pending:
	case err := <-linked:
		b.t.Fatalf("linking did not start: %v", err)
	}
	b.run("open the link", chromedp.Navigate(p.VerificationURIComplete), chromedp.WaitVisible(id("approve-link")))
	if name := b.text("agent-name"); name != "Browser shopper" {
		b.t.Fatalf("link page shows agent %q", name)
	}
	if shot != "" {
		screenshot(b.t, b.ctx, shot)
	}
	if perPayment != "" {
		b.run("lower the limit", chromedp.SetValue(id("per_payment"), perPayment))
	}
	b.run("approve the link", chromedp.Click(id("approve-link")), chromedp.WaitVisible(id("linked")))
	if err := <-linked; err != nil {
		b.t.Fatalf("the agent's Link: %v", err)
	}
	return agent, grant
}

// TestBrowserPasskeys drives the pages in headless Chromium with a virtual
// authenticator: sign up, add a passkey, log out, log in with the passkey,
// verify the email, link an agent with a lowered limit, revoke it.
func TestBrowserPasskeys(t *testing.T) {
	start := time.Now()
	b := newBrowserSite(t)
	b.run("sign up", chromedp.Navigate(b.base+"/signup"), chromedp.WaitVisible(id("email")),
		chromedp.SendKeys(id("email"), "ada@example.com"), chromedp.SendKeys(id("display_name"), "Ada Lovelace"),
		chromedp.SendKeys(id("country"), "GB"), chromedp.Click(id("signup")), chromedp.WaitVisible(id("no-passkeys")))
	b.run("add a passkey", chromedp.Click(id("add-passkey")), chromedp.WaitVisible(chromedp.CSS("#passkeys li")))
	b.run("log out", chromedp.Click(id("logout")), chromedp.WaitVisible(id("login")),
		chromedp.Navigate(b.base+"/account"), // no session: back to the login page
		chromedp.WaitVisible(id("login")))
	b.run("log in with the passkey", chromedp.Click(id("login")), chromedp.WaitVisible(id("display-name")))
	if name := b.text("display-name"); name != "Ada Lovelace" {
		t.Fatalf("account shows %q", name)
	}
	if n, err := chromedp.Run(b.ctx, chromedp.Nodes(chromedp.CSSAll("#passkeys li"))); err != nil || len(n) != 1 {
		t.Fatalf("passkeys listed: %d, %v", len(n), err)
	}
	b.run("ask for a code", chromedp.Click(id("verify-code")), chromedp.WaitVisible(id("code")))
	b.run("enter the code", chromedp.SendKeys(id("code"), b.codes.last()), chromedp.Click(id("confirm")), chromedp.WaitVisible(id("notice")))
	if tier := b.text("tier"); tier != "1" {
		t.Fatalf("tier after verification = %q", tier)
	}

	agent, grant := b.linkAgent(sdk.Limits{Asset: "EUR", PerPayment: 150_00, PerDay: 300_00, PerMonth: 1000_00}, "40.00", "link-approval.png")
	if grant.Limits.PerPayment != 40_00 || grant.Limits.PerDay != 300_00 {
		t.Fatalf("grant limits %+v, want 40.00 per payment and 300.00 a day as asked", grant.Limits)
	}
	if err := agent.Ping(b.ctx); err != nil {
		t.Fatalf("linked agent's ping: %v", err)
	}

	// The kill switch: revoke on the account page; the agent's next request
	// is refused.
	b.run("revoke", chromedp.Navigate(b.base+"/account"), chromedp.Click(chromedp.CSS("#grant-"+grant.ID+" button.revoke")),
		chromedp.WaitVisible(id("no-grants")))
	var apiErr *sdk.Error
	if err := agent.Ping(b.ctx); !errors.As(err, &apiErr) || apiErr.Code != "grant_revoked" {
		t.Fatalf("ping after revoking: %v", err)
	}
	t.Logf("browser test took %v", time.Since(start))
}

// screenshot saves the page to docs/screenshots when AGENTPAY_SCREENSHOTS
// is set (a page's look is checked by people, not by this test).
func screenshot(t *testing.T, ctx context.Context, name string) {
	if os.Getenv("AGENTPAY_SCREENSHOTS") == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("../docs/screenshots/"+name, png, 0o644); err != nil {
		t.Fatal(err)
	}
}
