package mcpserver_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/linking"
	"github.com/agentpay/agentpay/mcpserver"
	"github.com/agentpay/agentpay/sdk"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// linkTipper links srv's agent with tips up to 2.00 given without asking,
// and has the user approve a tips mandate for the shop's merchant (2.00 a
// tip, 5.00 a day) with their passkey.
func (s *shop) linkTipper(cs *mcp.ClientSession, srv *mcpserver.Server) {
	t := s.t
	t.Helper()
	ctx := context.Background()
	l, _ := ok[mcpserver.LinkAccountOutput](t, cs, "link_account", map[string]any{})
	var err error
	for range 20 { // the agent's background poll may write the link meanwhile
		_, err = s.srv.Links.Approve(ctx, l.UserCode, linking.Approval{UserID: userID, TipAutoApproveMax: 2_00})
		if agentpay.ErrorCode(err) != "version_conflict" {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	key, err := s.db.AgentKey(ctx, srv.KeyID())
	if err != nil {
		t.Fatal(err)
	}
	svc := s.srv.Payments
	m, u, err := svc.PrepareProposeMandate(ctx, agentpay.Mandate{Kind: agentpay.MandateTips, UserID: userID, GrantID: key.Grant.ID,
		MerchantID: s.merchantID, Asset: "USD", PerPaymentMax: 2_00, Budget: 5_00,
		Period: agentpay.Interval{Unit: agentpay.IntervalDay, Count: 1}, TimeZone: "UTC", Description: "Tips for the coffee shop"})
	if err == nil {
		err = s.db.Committer.Submit(ctx, u).Err
	}
	if err != nil {
		t.Fatal(err)
	}
	obj, err := svc.MandateApproval(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	cid, assertion, err := s.pk.BeginApproval(ctx, userID, m.ID, obj)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := s.pk.FinishApproval(ctx, userID, cid, s.key.Get(t, assertion))
	if err != nil {
		t.Fatal(err)
	}
	if _, u, err = svc.PrepareApproveMandate(ctx, userID, m.ID, ev); err == nil {
		err = s.db.Committer.Submit(ctx, u).Err
	}
	if err != nil {
		t.Fatal(err)
	}
}

// The tip tool: listed as additive with its schema; a tip within the
// user's tips mandate is given at once, a larger one is an approval
// request the model relays; a retry with the same request_id tips once.
func TestTipTool(t *testing.T) {
	s := newShop(t)
	cs, srv := s.connect(nil, nil)
	res, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var tool *mcp.Tool
	for _, x := range res.Tools {
		if x.Name == "tip" {
			tool = x
		}
	}
	if tool == nil || tool.Annotations == nil || tool.Annotations.ReadOnlyHint || tool.Annotations.DestructiveHint == nil ||
		*tool.Annotations.DestructiveHint || tool.OutputSchema == nil {
		t.Fatalf("tip tool: %+v", tool)
	}
	toolError(t, cs, "tip", map[string]any{"merchant": s.merchantID, "amount": 150}, "unknown_key")

	s.linkTipper(cs, srv)
	args := map[string]any{"merchant": s.merchantID, "amount": 150, "note": "great latte art", "request_id": "tip-1"}
	out, msg := ok[mcpserver.TipOutput](t, cs, "tip", args)
	if out.Status != sdk.PaymentCaptured || !out.AutoApproved || out.Mandate == "" || msg != "Tipped 1.50 USD to Corner Coffee." {
		t.Fatalf("tip: %+v %q", out, msg)
	}
	again, _ := ok[mcpserver.TipOutput](t, cs, "tip", args)
	if again.ID != out.ID {
		t.Fatalf("retry tipped twice: %s and %s", out.ID, again.ID)
	}
	big, msg := ok[mcpserver.TipOutput](t, cs, "tip", map[string]any{"merchant": s.merchantID, "amount": 500, "asset": "USD"})
	if big.Status != sdk.PaymentRequiresApproval || big.AutoApproved ||
		!strings.HasPrefix(msg, "Ask the user to approve the tip of 5.00 USD to Corner Coffee at "+big.ApprovalURL) {
		t.Fatalf("a tip to approve: %+v %q", big, msg)
	}
	toolError(t, cs, "tip", map[string]any{"merchant": "mer_nobody", "amount": 100}, "merchant_not_found")
	if res := call(t, cs, "tip", map[string]any{"merchant": s.merchantID, "amount": 100, "note": strings.Repeat("n", 281)}); !res.IsError {
		t.Fatal("a note over 280 characters was accepted")
	}
}
