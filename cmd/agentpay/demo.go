package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/consent"
	"github.com/agentpay/agentpay/identity"
	"github.com/agentpay/agentpay/payments"
	"github.com/agentpay/agentpay/sdk"
	"github.com/agentpay/agentpay/store"
)

// "agentpay demo" shows one agent payment from end to end in a single
// process: an embedded server, a coffee shop that onboards as a merchant,
// a demo user with a funded wallet, a scripted agent linked to them that
// orders a coffee, the user's passkey approval (a person in their browser,
// or a software passkey with --auto), the merchant's capture, and then
// what each party can check: the webhooks, the ledger and the audit trail.

const (
	demoAsk   = "A flat white and a croissant, please."
	demoTopUp = 50_00 // minor units of shopAsset
	// autoTimeout bounds an --auto run, so that CI never hangs on it; a
	// run takes a second or two.
	autoTimeout = time.Minute
)

func demo(ctx context.Context, args []string) error { return runDemo(ctx, args, os.Stdout) }

// runDemo is the demo, telling its story on out.
func runDemo(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlagSet("demo")
	// No AGENTPAY_* fallbacks: a demo must never write into the database
	// a shell's environment names for serve.
	addr := fs.String("addr", "127.0.0.1:8080", "listen address (127.0.0.1:0 picks a free port); pages are at http://localhost:PORT")
	dbURL := fs.String("db", "", "database: sqlite:PATH or postgres://… (default: a new SQLite file in a temporary directory, deleted at exit)")
	auto := fs.Bool("auto", false, "approve with a software passkey instead of a person, then exit (0 when the payment went through and every check passed): for CI")
	ask := fs.String("ask", demoAsk, "what the user asks the agent for: it orders one of each menu item named")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("demo takes no arguments, got %q", fs.Arg(0))
	}
	if *auto {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, autoTimeout)
		defer cancel()
	}
	srv, err := startDemoServer(ctx, *addr, *dbURL, demoLog())
	if err != nil {
		return err
	}
	defer srv.stop()
	shop, err := startCoffeeShop()
	if err != nil {
		return err
	}
	defer shop.stop()
	d := &demoRun{out: out, auto: *auto, ask: *ask, srv: srv, shop: shop}
	return d.run(ctx)
}

// demoRun is one run of the demo and what it made along the way.
type demoRun struct {
	out  io.Writer
	auto bool
	ask  string
	srv  *demoServer
	shop *coffeeShop

	user       agentpay.User
	merchantID string
	merchant   *sdk.Merchant
	agent      *sdk.Agent
	grant      *sdk.Grant
}

func (d *demoRun) printf(format string, args ...any) { fmt.Fprintf(d.out, format, args...) }

func (d *demoRun) section(n int, title string) { d.printf("\n%d. %s\n", n, title) }

// moneyText is an amount with its asset, "12.34 USD".
func moneyText(amount int64, asset string) string {
	return agentpay.Money{Amount: amount, Asset: asset}.String()
}

func (d *demoRun) run(ctx context.Context) error {
	base := d.srv.base
	d.printf("agentpay demo: an AI agent buys a coffee for its user, who approves it with a passkey\n\n")
	d.printf("  server     %s, data in %s\n", base, d.srv.dbShown)
	d.printf("  operator   token %s (this run only; the operator page is %s/ops)\n", d.srv.adminToken, base)
	var err error
	if d.merchant, d.merchantID, err = d.shop.onboard(ctx, base, d.srv.adminToken); err != nil {
		return err
	}
	d.printf("  merchant   %s %s, category %s, settles in %s; its menu and webhook endpoint are at %s\n",
		shopName, d.merchantID, shopMCC, shopAsset, d.shop.url)
	if d.user, err = newDemoUser(ctx, d.srv.db); err != nil {
		return err
	}
	d.printf("  user       %s %s, email verified (tier %d), wallet topped up with %s\n",
		d.user.DisplayName, d.user.ID, d.user.Tier, moneyText(demoTopUp, shopAsset))
	if d.agent, d.grant, err = linkDemoAgent(ctx, base, d.srv.api.Links, d.user.ID); err != nil {
		return err
	}
	d.printf("  agent      %q, key %s, linked under grant %s: %s, up to %s a payment and %s a day, category %s only\n",
		demoAgentName, d.agent.KeyID(), d.grant.ID, strings.Join(d.grant.Scopes, ", "),
		moneyText(d.grant.Limits.PerPayment, d.grant.Limits.Asset), moneyText(d.grant.Limits.PerDay, d.grant.Limits.Asset),
		strings.Join(d.grant.Categories, ", "))

	p, err := d.order(ctx)
	if err != nil {
		return err
	}
	if p, err = d.approval(ctx, p); err != nil {
		return err
	}

	d.section(3, "The merchant captures")
	captured, err := d.merchant.Capture(ctx, p.ID, 0)
	if err != nil {
		return fmt.Errorf("capturing %s: %w", p.ID, err)
	}
	if captured.Status != sdk.PaymentCaptured {
		return fmt.Errorf("captured payment %s is %s", p.ID, captured.Status)
	}
	svc := d.srv.api.Payments
	d.printf("  %s captured %s of %s (sdk.Merchant.Capture); the protection fee of %d bps, %s, goes to the protection fund\n",
		shopName, moneyText(captured.Captured, captured.Asset), p.ID, feeBPS(svc.ProtectionFeeBPS),
		moneyText(payments.ProtectionFee(captured.Captured, svc.ProtectionFeeBPS, svc.ProtectionFeeMin), captured.Asset))
	if err := d.shop.waitFor(ctx, p.ID, "payment.captured", 10*time.Second); err != nil {
		return err
	}

	if err := d.report(ctx, captured); err != nil {
		return err
	}
	if d.auto {
		d.printf("\nDone: the payment went through and every check passed.\n")
		return nil
	}
	d.printf("\nDone. The server stays up so you can look around: your account %s/account, the payment %s/pay/%s, the operator page %s/ops.\nPress Ctrl-C to stop.\n",
		base, base, p.ID, base)
	<-ctx.Done()
	return nil
}

// order is the agent's part: read the menu, choose, ask to pay.
func (d *demoRun) order(ctx context.Context) (*sdk.Payment, error) {
	d.section(1, "The agent orders")
	menu, err := readMenu(ctx, d.shop.url)
	if err != nil {
		return nil, err
	}
	var lines []string
	for _, it := range menu.Items {
		lines = append(lines, it.Name+" "+amountText(it.UnitAmount, menu.Asset))
	}
	d.printf("  the user asked:  %q\n", d.ask)
	d.printf("  the menu (GET %s/menu): %s (%s)\n", d.shop.url, strings.Join(lines, ", "), menu.Asset)
	items, err := chooseFromMenu(menu, d.ask)
	if err != nil {
		return nil, err
	}
	order := sdk.NewOrder(items, 0, 0, 0, 0)
	order.Description = shopName + " order"
	order.Purpose = "the user asked: " + d.ask
	for _, it := range items {
		d.printf("  the agent chose: %d × %s at %s\n", it.Quantity, it.Name, moneyText(it.UnitAmount, menu.Asset))
	}
	p, err := d.agent.CreatePayment(ctx, sdk.PaymentRequest{Merchant: menu.Merchant, Asset: menu.Asset, Order: order})
	if err != nil {
		return nil, fmt.Errorf("the agent's payment: %w", err)
	}
	d.printf("  payment %s created by a signed request (sdk.Agent.CreatePayment): %s, version %d\n", p.ID, p.Status, p.Version)
	d.printf("  what the agent tells the user: %q, approve at %s\n", p.Summary, p.ApprovalURL)
	decisions, err := d.srv.db.RiskDecisions(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	for _, r := range decisions {
		d.printf("  risk control at %s: %s%s\n", r.Stage, r.Outcome, reasonsText(r.Reasons))
	}
	if p.Status != sdk.PaymentRequiresApproval {
		return nil, fmt.Errorf("payment %s is %s (%s), not waiting for the user", p.ID, p.Status, p.DeclineCode)
	}
	return p, nil
}

// approval is the user's part: a person with their passkey in a browser,
// or a software passkey with --auto, while the agent waits for the
// decision as agents do (sdk.Agent.WaitForDecision).
func (d *demoRun) approval(ctx context.Context, p *sdk.Payment) (*sdk.Payment, error) {
	d.section(2, "The user approves with a passkey")
	d.srv.start.setTarget(d.user.ID, d.user.DisplayName, p.ID, p.Summary)
	link := d.srv.base + d.srv.start.link()
	var decided *sdk.Payment
	var err error
	if d.auto {
		decided, err = d.autoApproval(ctx, p, link)
	} else {
		decided, err = d.personApproval(ctx, p, link)
	}
	if err != nil {
		return nil, err
	}
	if decided.Status != sdk.PaymentAuthorized {
		return nil, fmt.Errorf("payment %s was not approved: it is %s %s", p.ID, decided.Status, decided.DeclineCode)
	}
	d.printf("  the agent sees it approved (version %d): %s is held in the user's wallet for %s\n",
		decided.Version, moneyText(decided.Authorized, decided.Asset), shopName)
	return decided, nil
}

func (d *demoRun) autoApproval(ctx context.Context, p *sdk.Payment, link string) (*sdk.Payment, error) {
	person, err := newSoftwarePerson(d.srv.base)
	if err != nil {
		return nil, err
	}
	d.printf("  --auto: a software passkey plays the person who would open\n    %s\n", link)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	approved := make(chan error, 1)
	go func() {
		err := person.approve(ctx, d.srv.start.link(), p.ID, p.Version)
		if err != nil {
			cancel() // the agent would otherwise wait for a decision that will not come
		}
		approved <- err
	}()
	decided, err := d.agent.WaitForDecision(ctx, p.ID)
	if perr := <-approved; perr != nil {
		return nil, fmt.Errorf("the software passkey could not approve: %w", perr)
	}
	if err != nil {
		return nil, err
	}
	d.printf("  it opened the link (a session for %s), registered passkey %s (POST /webauthn/register/begin|finish),\n"+
		"  saw /pay/%s and approved it (POST /pay/%s/approve/begin|finish)\n", d.user.DisplayName, person.credentialID(), p.ID, p.ID)
	return decided, nil
}

func (d *demoRun) personApproval(ctx context.Context, p *sdk.Payment, link string) (*sdk.Payment, error) {
	d.printf("  Open %s to approve with your passkey\n", link)
	d.printf("  (it works once, from this machine: it signs you in as %s, asks your browser for a new passkey and shows the payment)\n", d.user.DisplayName)
	d.printf("  waiting for your decision (the payment expires in 15 minutes; Ctrl-C stops the demo)…\n")
	for {
		decided, err := d.agent.WaitForDecision(ctx, p.ID)
		if err != nil {
			if ctx.Err() != nil {
				return nil, errors.New("stopped before the payment was decided")
			}
			return nil, err
		}
		if !decided.Pending() {
			return decided, nil
		}
		// The person lowered a quantity on the page: a new version,
		// which they approve in turn.
		d.printf("  you changed the order: version %d, %s; waiting for your approval of it…\n",
			decided.Version, moneyText(decided.Totals.Total, decided.Asset))
	}
}

// newDemoUser signs the demo user up and verifies their email the way
// every user does, with a one-time code — read from the demo's own
// notifier instead of a mailbox — then tops up their wallet.
func newDemoUser(ctx context.Context, db *store.DB) (agentpay.User, error) {
	codes := &demoCodes{}
	ids := &identity.Service{DB: db, Notifier: codes}
	email := "ada-demo-" + consent.RandomToken()[:8] + "@example.com" // unique, so --db can be reused
	u, err := ids.SignUp(ctx, identity.SignUpRequest{Email: email, DisplayName: "Ada Demo", Country: shopCountry})
	if err != nil {
		return u, fmt.Errorf("the demo user: %w", err)
	}
	v := &identity.CodeVerifier{Service: ids}
	challenge, err := v.Start(ctx, u.ID)
	if err != nil {
		return u, fmt.Errorf("verifying the demo user: %w", err)
	}
	if u.Tier, err = v.Confirm(ctx, u.ID, challenge, codes.last()); err != nil {
		return u, fmt.Errorf("verifying the demo user: %w", err)
	}
	if _, err := ids.TopUp(ctx, u.ID, agentpay.Money{Amount: demoTopUp, Asset: shopAsset}, "demo"); err != nil {
		return u, fmt.Errorf("topping up the demo wallet: %w", err)
	}
	return u, nil
}

// demoCodes is the demo's notifier: it keeps the last one-time code.
type demoCodes struct {
	mu   sync.Mutex
	code string
}

var sixDigits = regexp.MustCompile(`\b\d{6}\b`)

func (c *demoCodes) Send(_ context.Context, _, _, message string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.code = sixDigits.FindString(message)
	return nil
}

func (c *demoCodes) last() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.code
}
