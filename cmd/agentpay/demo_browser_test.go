package main

import (
	"context"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

const chromiumPath = "/usr/bin/chromium"

// TestDemoPersonInBrowser runs "agentpay demo" without --auto and plays
// the person in headless Chromium with a virtual authenticator: open the
// printed link, create a passkey on the demo's page, approve on the
// product's approval page; the demo then captures and reports.
func TestDemoPersonInBrowser(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skip("no Chromium at " + chromiumPath + ": install Debian's chromium (.ci/run does)")
	}
	t.Parallel()
	ctx, stopDemo := context.WithCancel(context.Background())
	defer stopDemo()
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- runDemo(ctx, []string{"--addr", "127.0.0.1:0"}, &out) }()
	link := waitForOutput(t, &out, done, regexp.MustCompile(`Open (http://localhost:\d+/demo/start\?token=[0-9a-f]+) to approve with your passkey`))

	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(chromiumPath), chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-quic", true), chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	// The first Do starts the browser and owns its life: no timeout on it.
	if err := chromedp.Do(bctx); err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithTimeout(bctx, time.Minute)
	defer cancel()
	if _, err := chromedp.Call(sctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(sctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{Protocol: webauthn.AuthenticatorProtocolCtap2,
			Ctap2version: webauthn.Ctap2versionCtap21, Transport: webauthn.AuthenticatorTransportInternal,
			HasResidentKey: true, HasUserVerification: true, IsUserVerified: true,
			AutomaticPresenceSimulation: true, // a plain bool: leaving it out sends false and create() hangs
		}}); err != nil {
		t.Fatal(err)
	}
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(sctx, actions...); err != nil {
			body, _ := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("body")))
			t.Fatalf("%s: %v; page: %q\ndemo output:\n%s", what, err, body, out.String())
		}
	}
	step("open the link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("add-passkey")))
	step("create a passkey, then see the payment", chromedp.Click(chromedp.ID("add-passkey")),
		chromedp.WaitVisible(chromedp.ID("approve-payment")))
	step("approve it", chromedp.Click(chromedp.ID("approve-payment")))
	waitForOutput(t, &out, done, regexp.MustCompile(`()Press Ctrl-C to stop\.`))
	// The page follows the payment live: approved, then paid.
	step("see it paid", chromedp.WaitVisible(chromedp.CSS("#payment[data-status=captured]")))

	stopDemo()
	if err := <-done; err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	text := out.String()
	for _, w := range []string{"ledger.Check: passed", "(consent.Passkeys.VerifyApproval): valid",
		"payment.captured", "signature verified"} {
		if !strings.Contains(text, w) {
			t.Errorf("the output lacks %q:\n%s", w, text)
		}
	}
}

// waitForOutput waits until the demo printed a match of re and returns its
// first group; the demo ending first fails the test.
func waitForOutput(t *testing.T, out *syncBuffer, done <-chan error, re *regexp.Regexp) string {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			return m[1]
		}
		select {
		case err := <-done:
			t.Fatalf("the demo ended (%v) before printing %s:\n%s", err, re, out.String())
		case <-deadline:
			t.Fatalf("the demo did not print %s:\n%s", re, out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
