package web_test

import (
	"context"
	"crypto/sha256"
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
	t.Logf("browser test took %v", time.Since(start))
}
