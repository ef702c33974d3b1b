package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/linking"
	"github.com/agentpay/agentpay/sdk"
)

// The demo's agent: what an AI agent does through the SDK — link its key
// to the user, read a menu, order, wait for the user — with its choice
// written down instead of reasoned, so every run orders the same thing.

const (
	demoAgentName  = "Demo coffee agent"
	demoSoftwareID = "agentpay.demo"
)

// demoAgentLimits is what the agent asks the user to let it spend.
var demoAgentLimits = sdk.Limits{Asset: shopAsset, PerPayment: 20_00, PerDay: 50_00, PerMonth: 200_00}

// linkDemoAgent links a fresh agent key to userID over the real linking
// API (RFC 8628 device flow). The user's side is decided in process: the
// person running the demo asked for exactly this agent by running it, so
// the demo approves the link as the demo user, for the shop's category only
// (linking.Service.Approve, as the linking page does after its passkey
// assertion).
func linkDemoAgent(ctx context.Context, base string, links *linking.Service, userID string) (*sdk.Agent, *sdk.Grant, error) {
	key, err := sdk.GenerateKey()
	if err != nil {
		return nil, nil, err
	}
	agent := sdk.NewAgent(base, key)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var approveErr error
	grant, err := agent.Link(ctx, sdk.LinkRequest{AgentName: demoAgentName, SoftwareID: demoSoftwareID,
		Scopes: []string{string(agentpay.ScopePaymentsCreate)}, Limits: demoAgentLimits},
		func(p sdk.Pending) {
			// Link polls right after this returns: approved here, its
			// first poll gets the grant.
			if _, approveErr = links.Approve(ctx, p.UserCode, linking.Approval{UserID: userID, Categories: []string{shopMCC}}); approveErr != nil {
				cancel()
			}
		})
	if approveErr != nil {
		return nil, nil, fmt.Errorf("approving the agent's link: %w", approveErr)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("linking the agent: %w", err)
	}
	return agent, grant, nil
}

// readMenu fetches the shop's menu, as an agent would browse it.
func readMenu(ctx context.Context, shopURL string) (shopMenu, error) {
	var m shopMenu
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, shopURL+"/menu", nil)
	if err != nil {
		return m, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return m, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return m, fmt.Errorf("the menu: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		return m, fmt.Errorf("the menu: %w", err)
	}
	return m, nil
}

// chooseFromMenu is the agent's "reasoning": one of every menu item the
// user's words name.
func chooseFromMenu(m shopMenu, ask string) ([]sdk.LineItem, error) {
	words := strings.ToLower(ask)
	var items []sdk.LineItem
	var names []string
	for _, it := range m.Items {
		names = append(names, it.Name)
		if strings.Contains(words, strings.ToLower(it.Name)) {
			items = append(items, sdk.LineItem{Name: it.Name, Quantity: 1, UnitAmount: it.UnitAmount})
		}
	}
	if len(items) == 0 {
		return nil, errors.New("nothing on " + m.MerchantName + "'s menu matches " + fmt.Sprintf("%q", ask) +
			"; the menu has: " + strings.Join(names, ", "))
	}
	return items, nil
}
