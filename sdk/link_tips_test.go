package sdk_test

import (
	"context"
	"testing"

	"github.com/agentpay/agentpay/sdk"
)

// An agent asks to tip without a tap when it links; the grant Link returns
// says what the user kept, and the tips mandate that holds the budget.
// Terms that cannot be approved are refused when the link starts.
func TestLinkAsksForTipBudget(t *testing.T) {
	ts := server(t)
	ctx := context.Background()
	a := sdk.NewAgent(ts.URL, newKey(t))
	a.Sleep = noSleep
	req := linkReq
	req.TipAutoApproveMax, req.TipBudgetPerDay = 2_00, 5_00
	g, err := a.Link(ctx, req, func(p sdk.Pending) {
		if err := ts.approve(p.UserCode); err != nil {
			t.Error(err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if g.TipAutoApproveMax != 2_00 || g.TipBudgetPerDay != 5_00 || g.TipsMandate == "" {
		t.Fatalf("grant %+v", g)
	}

	req.TipAutoApproveMax = 0
	_, err = sdk.NewAgent(ts.URL, newKey(t)).Link(ctx, req, nil)
	if sdk.ErrorCode(err) != "tip_auto_approve_required" {
		t.Fatalf("a budget without a tip threshold: %v", err)
	}
}
