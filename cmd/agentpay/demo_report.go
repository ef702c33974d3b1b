package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/consent"
	"github.com/agentpay/agentpay/identity"
	"github.com/agentpay/agentpay/payments"
	"github.com/agentpay/agentpay/risk"
	"github.com/agentpay/agentpay/sdk"
)

// The end of the demo: what each party can check after the payment, read
// from where they would read it — the merchant's webhook receiver, the
// ledger, and the tables an auditor or a claim's adjudication reads. Any
// check that fails is reported and makes the run fail.

// report prints sections 4 to 6 and returns every failed check.
func (d *demoRun) report(ctx context.Context, p *sdk.Payment) error {
	var failed []error
	failed = append(failed, d.reportWebhooks()...)
	problems, err := d.reportLedger(ctx, p.Asset)
	if err != nil {
		return err
	}
	failed = append(failed, problems...)
	if problems, err = d.reportAudit(ctx, p.ID); err != nil {
		return err
	}
	return errors.Join(append(failed, problems...)...)
}

func (d *demoRun) table() *tabwriter.Writer { return tabwriter.NewWriter(d.out, 0, 4, 2, ' ', 0) }

func (d *demoRun) reportWebhooks() []error {
	d.section(4, "Webhooks "+shopName+" received")
	d.printf("  each checked on arrival with sdk.WebhookVerifier: an HMAC-SHA256 of id.timestamp.body under the endpoint's secret\n")
	var failed []error
	tw := d.table()
	for _, g := range d.shop.received() {
		status := "signature verified"
		if !g.Verified {
			status = "signature REFUSED: " + g.Refusal
			failed = append(failed, fmt.Errorf("a webhook's signature was refused: %s", g.Refusal))
		}
		fmt.Fprintf(tw, "  %s\t%s\tseq %d\tabout %s\t%s\n", g.Event.Type, g.Event.ID, g.Event.Seq, g.Event.ObjectID, status)
	}
	tw.Flush()
	return failed
}

func (d *demoRun) reportLedger(ctx context.Context, asset string) ([]error, error) {
	d.section(5, "The ledger")
	db := d.srv.db
	accounts := []struct{ label, id string }{
		{"user wallet", identity.WalletID(d.user.ID, asset)},
		{"merchant " + shopName, payments.MerchantAccountID(d.merchantID, asset)},
		{"protection fund", payments.ProtectionFundID(asset)},
		{"funding (the outside world)", agentpay.SystemAccountID(agentpay.AccountFunding, asset)},
	}
	names := map[string]string{}
	tw := d.table()
	fmt.Fprintf(tw, "  account (%s)\tid\t%9s\t%9s\t%9s\n", asset, "balance", "held", "available")
	var sum int64
	for _, a := range accounts {
		acc, err := db.Account(ctx, a.id)
		if err != nil {
			return nil, fmt.Errorf("the %s: %w", a.label, err)
		}
		names[a.id] = a.label
		sum += acc.Balance()
		fmt.Fprintf(tw, "  %s\t%s\t%9s\t%9s\t%9s\n", a.label, a.id, amountText(acc.Balance(), asset),
			amountText(acc.DebitsPending, asset), amountText(acc.Available(), asset))
	}
	tw.Flush()
	if sum == 0 {
		d.printf("  these accounts sum to %s: money only moves from one account to another\n", moneyText(0, asset))
	} else {
		d.printf("  these accounts sum to %s: the database holds other accounts too\n", moneyText(sum, asset))
	}

	// Every transfer of the wallet and of the merchant, oldest first.
	var transfers []agentpay.Transfer
	for _, id := range []string{accounts[0].id, accounts[1].id} {
		list, err := db.AccountTransfers(ctx, id, nil, 100)
		if err != nil {
			return nil, err
		}
		for _, t := range list {
			if !slices.ContainsFunc(transfers, func(u agentpay.Transfer) bool { return u.ID == t.ID }) {
				transfers = append(transfers, t)
			}
		}
	}
	slices.SortFunc(transfers, func(a, b agentpay.Transfer) int { return int(a.Timestamp - b.Timestamp) })
	d.printf("  transfers (%s), oldest first:\n", asset)
	tw = d.table()
	for _, t := range transfers {
		what := t.Kind()
		if t.PendingID != "" {
			what += " of " + t.PendingID
		}
		fmt.Fprintf(tw, "    %s\t%s\t%9s\t%s → %s\t%s\n", t.Code, t.ID, amountText(t.Amount, t.Asset),
			nameOf(names, t.DebitAccountID), nameOf(names, t.CreditAccountID), what)
	}
	tw.Flush()

	if err := db.CheckLedger(ctx); err != nil {
		d.printf("  ledger.Check: FAILED: %v\n", err)
		return []error{fmt.Errorf("ledger.Check: %w", err)}, nil
	}
	d.printf("  ledger.Check: passed (per asset every balance sums to zero, no account breaks its flags, pending totals equal the open holds)\n")
	return nil, nil
}

func nameOf(names map[string]string, id string) string {
	if n, ok := names[id]; ok {
		return n
	}
	return id
}

func (d *demoRun) reportAudit(ctx context.Context, paymentID string) ([]error, error) {
	d.section(6, "The audit trail of "+paymentID)
	db := d.srv.db
	events, err := db.EventsOf(ctx, paymentID, 100)
	if err != nil {
		return nil, err
	}
	d.printf("  events (table events, written in the same transaction as each change):\n")
	tw := d.table()
	for _, e := range events {
		fmt.Fprintf(tw, "    seq %d\t%s\t%s\t%s\n", e.Seq, clock(e.CreatedAt), e.Type, e.ID)
	}
	tw.Flush()

	decisions, err := db.RiskDecisions(ctx, paymentID)
	if err != nil {
		return nil, err
	}
	d.printf("  risk decisions (table risk_decisions, each with the signals it used):\n")
	tw = d.table()
	for _, r := range decisions {
		fmt.Fprintf(tw, "    %s\t%s\tversion %d\t%s\trules version %d%s\n", clock(r.CreatedAt), r.Stage, r.PaymentVersion, r.Outcome,
			r.RulesVersion, reasonsText(r.Reasons))
	}
	tw.Flush()

	failed, err := d.reportApprovals(ctx, paymentID)
	if err != nil {
		return nil, err
	}
	return failed, nil
}

// reportApprovals shows the stored passkey approvals of a payment and
// checks them as a claim's adjudication would: each re-verified offline
// against the passkey's public key, and what it signed compared with the
// payment as stored now.
func (d *demoRun) reportApprovals(ctx context.Context, paymentID string) ([]error, error) {
	db := d.srv.db
	approvals, err := db.ApprovalsOf(ctx, paymentID)
	if err != nil {
		return nil, err
	}
	d.printf("  approval evidence (table approvals):\n")
	if len(approvals) == 0 {
		d.printf("    NONE\n")
		return []error{fmt.Errorf("no approval of %s is on record", paymentID)}, nil
	}
	pk, err := consent.NewPasskeys(db, d.srv.base)
	if err != nil {
		return nil, err
	}
	stored, err := db.Payment(ctx, paymentID)
	if err != nil {
		return nil, err
	}
	want, err := d.srv.api.Payments.ApprovedObject(ctx, stored)
	if err != nil {
		return nil, err
	}
	wantJSON, err := consent.Canonical(want)
	if err != nil {
		return nil, err
	}
	var failed []error
	for _, a := range approvals {
		var signed consent.Signed
		var obj payments.ApprovalObject
		if err := json.Unmarshal([]byte(a.Object), &signed); err != nil {
			return nil, fmt.Errorf("approval %s: %w", a.ID, err)
		}
		if err := json.Unmarshal(signed.Object, &obj); err != nil {
			return nil, fmt.Errorf("approval %s: %w", a.ID, err)
		}
		d.printf("    %s at %s by %s with passkey %s\n", a.ID, clock(a.CreatedAt), a.UserID, a.PasskeyID)
		d.printf("    the passkey signed SHA-256 %s\n", a.Challenge)
		d.printf("      of {nonce %s…, subject %s, user_id %s, object:\n", signed.Nonce[:8], signed.Subject, signed.UserID)
		d.printf("        %s %s version %d: pay %s %s (category %s) for %s\n", obj.Type, obj.Payment, obj.Version,
			obj.MerchantNm, moneyText(obj.Totals.Total, obj.Asset), obj.MCC, itemsText(obj.Items))
		d.printf("        from wallet %s, asked by %q (key %s, grant %s), capture within %s}\n",
			obj.Wallet, obj.AgentName, obj.AgentKey, obj.Grant, secondsText(obj.CaptureBy))
		key, err := db.Passkey(ctx, a.PasskeyID)
		if err == nil {
			err = pk.VerifyApproval(a, key)
		}
		if err != nil {
			d.printf("    re-verified offline: FAILED: %v\n", err)
			failed = append(failed, fmt.Errorf("approval %s does not verify: %w", a.ID, err))
		} else {
			d.printf("    re-verified offline with the passkey's stored public key (consent.Passkeys.VerifyApproval): valid\n")
		}
		got, err := consent.Canonical(signed.Object)
		if err != nil || !bytes.Equal(got, wantJSON) {
			d.printf("    what it signed is NOT the payment as stored now\n")
			failed = append(failed, fmt.Errorf("approval %s signed something other than payment %s as stored", a.ID, paymentID))
		} else {
			d.printf("    what it signed is the payment as stored now (payments.Service.ApprovedObject): yes\n")
		}
	}
	return failed, nil
}

// reasonsText renders a risk decision's stored reasons, "" for none.
func reasonsText(reasonsJSON string) string {
	var reasons []risk.Reason
	if json.Unmarshal([]byte(reasonsJSON), &reasons) != nil || len(reasons) == 0 {
		return ""
	}
	var parts []string
	for _, r := range reasons {
		parts = append(parts, fmt.Sprintf("%s %q", r.Code, r.Message))
	}
	return " — " + strings.Join(parts, "; ")
}

func itemsText(items []agentpay.LineItem) string {
	var parts []string
	for _, it := range items {
		parts = append(parts, fmt.Sprintf("%d × %s", it.Quantity, it.Name))
	}
	return strings.Join(parts, ", ")
}

// amountText is an amount without its asset, "12.34".
func amountText(amount int64, asset string) string {
	s, err := agentpay.FormatAmount(amount, asset)
	if err != nil {
		return fmt.Sprint(amount)
	}
	return s
}

// secondsText is a span of seconds for people: "7 days", "36h0m0s".
func secondsText(s int64) string {
	if s > 0 && s%86400 == 0 {
		return fmt.Sprintf("%d days", s/86400)
	}
	return (time.Duration(s) * time.Second).String()
}

// clock is a stored time as the time of day, UTC, to the millisecond.
func clock(us int64) string { return time.UnixMicro(us).UTC().Format("15:04:05.000") }

// feeBPS is the protection fee in force, from payments.Service's setting
// (0: the default; negative: none).
func feeBPS(setting int64) int64 {
	switch {
	case setting == 0:
		return payments.DefaultProtectionFeeBPS
	case setting < 0:
		return 0
	}
	return setting
}
