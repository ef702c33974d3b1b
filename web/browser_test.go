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
	"github.com/agentpay/agentpay/store/sqlite"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

const chromiumPath = "/usr/bin/chromium"

// TestBrowserPasskeys drives the pages in headless Chromium with a virtual
// authenticator: sign up, add a passkey, log out, log in with the passkey,
// and see the account.
func TestBrowserPasskeys(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skip("no Chromium at " + chromiumPath)
	}
	start := time.Now()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := sqlite.Open(context.Background(), t.TempDir()+"/agentpay.db", sqlite.Options{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	srv := httpapi.NewServer(db, sha256.Sum256([]byte("admin")), log, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// The browser must use the name localhost: WebAuthn refuses IP addresses.
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
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	// The first Run starts the browser and owns its life: no timeout on it.
	if err := chromedp.Do(bctx); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(bctx, 60*time.Second)
	defer cancel()
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

	id := func(s string) chromedp.ID { return chromedp.ID(s) }
	steps := []struct {
		what    string
		actions []chromedp.Action[chromedp.Void]
	}{
		{"sign up", []chromedp.Action[chromedp.Void]{
			chromedp.Navigate(base + "/signup"),
			chromedp.WaitVisible(id("email")),
			chromedp.SendKeys(id("email"), "ada@example.com"),
			chromedp.SendKeys(id("display_name"), "Ada Lovelace"),
			chromedp.SendKeys(id("country"), "GB"),
			chromedp.Click(id("signup")),
			chromedp.WaitVisible(id("no-passkeys")),
		}},
		{"add a passkey", []chromedp.Action[chromedp.Void]{
			chromedp.Click(id("add-passkey")),
			chromedp.WaitVisible(chromedp.CSS("#passkeys li")),
		}},
		{"log out", []chromedp.Action[chromedp.Void]{
			chromedp.Click(id("logout")),
			chromedp.WaitVisible(id("login")),
			chromedp.Navigate(base + "/account"), // no session: back to the login page
			chromedp.WaitVisible(id("login")),
		}},
		{"log in with the passkey", []chromedp.Action[chromedp.Void]{
			chromedp.Click(id("login")),
			chromedp.WaitVisible(id("display-name")),
		}},
	}
	for _, s := range steps {
		if err := chromedp.Do(ctx, s.actions...); err != nil {
			body, _ := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("body")))
			t.Fatalf("%s: %v; page: %q", s.what, err, body)
		}
	}
	name, err := chromedp.Run(ctx, chromedp.Text(id("display-name")))
	if err != nil || name != "Ada Lovelace" {
		t.Fatalf("account shows %q, %v", name, err)
	}
	if n, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSSAll("#passkeys li"))); err != nil || len(n) != 1 {
		t.Fatalf("passkeys listed: %d, %v", len(n), err)
	}

	// Link an agent: the SDK starts linking and polls while the user
	// verifies their email, opens the link, lowers a limit and approves
	// with the passkey.
	_, agentKey, _ := ed25519.GenerateKey(rand.Reader)
	agent := sdk.NewAgent(base, agentKey)
	pending := make(chan sdk.Pending, 1)
	linked := make(chan error, 1)
	var grant *sdk.Grant
	go func() {
		g, err := agent.Link(ctx, sdk.LinkRequest{AgentName: "Browser shopper", SoftwareID: "com.example.browser",
			Scopes: []string{"payments:create", "tips"}, Limits: sdk.Limits{Asset: "EUR", PerPayment: 150_00, PerDay: 300_00, PerMonth: 1000_00}},
			func(p sdk.Pending) { pending <- p })
		grant = g
		linked <- err
	}()
	var p sdk.Pending
	select {
	case p = <-pending:
	case err := <-linked:
		t.Fatalf("linking did not start: %v", err)
	}
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			body, _ := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("body")))
			t.Fatalf("%s: %v; page: %q", what, err, body)
		}
	}
	run("ask for a code", chromedp.Click(id("verify-code")), chromedp.WaitVisible(id("code")))
	run("enter the code", chromedp.SendKeys(id("code"), codes.last()), chromedp.Click(id("confirm")), chromedp.WaitVisible(id("notice")))
	if tier, err := chromedp.Run(ctx, chromedp.Text(id("tier"))); err != nil || tier != "1" {
		t.Fatalf("tier after verification = %q, %v", tier, err)
	}
	run("open the link", chromedp.Navigate(p.VerificationURIComplete), chromedp.WaitVisible(id("approve-link")))
	if name, err := chromedp.Run(ctx, chromedp.Text(id("agent-name"))); err != nil || name != "Browser shopper" {
		t.Fatalf("link page shows agent %q, %v", name, err)
	}
	screenshot(t, ctx, "link-approval.png")
	run("lower the limit and approve", chromedp.SetValue(id("per_payment"), "40.00"), chromedp.Click(id("approve-link")),
		chromedp.WaitVisible(id("linked")))
	if err := <-linked; err != nil {
		t.Fatalf("the agent's Link: %v", err)
	}
	if grant.Limits.PerPayment != 40_00 || grant.Limits.PerDay != 300_00 {
		t.Fatalf("grant limits %+v, want 40.00 per payment and 300.00 a day as asked", grant.Limits)
	}
	if err := agent.Ping(ctx); err != nil {
		t.Fatalf("linked agent's ping: %v", err)
	}

	// The kill switch: revoke on the account page; the agent's next request
	// is refused.
	run("revoke", chromedp.Navigate(base+"/account"), chromedp.Click(chromedp.CSS("#grant-"+grant.ID+" button.revoke")),
		chromedp.WaitVisible(id("no-grants")))
	var apiErr *sdk.Error
	if err := agent.Ping(ctx); !errors.As(err, &apiErr) || apiErr.Code != "grant_revoked" {
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
