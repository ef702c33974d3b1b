package sdk_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/agentpay/agentpay/sdk"
)

func ExampleAgent_Link() {
	ts := mustServer() // a local agentpay server
	defer ts.Close()
	ctx := context.Background()

	key, err := sdk.GenerateKey()
	if err != nil {
		panic(err)
	}
	agent := sdk.NewAgent(ts.URL, key)
	grant, err := agent.Link(ctx, sdk.LinkRequest{
		AgentName:  "Shopping Helper",
		SoftwareID: "com.example.helper",
		Scopes:     []string{"payments:create", "tips"},
		Limits:     sdk.Limits{Asset: "USD", PerPayment: 5000, PerDay: 10000, PerMonth: 50000},
	}, func(p sdk.Pending) {
		// A real app shows p.UserCode and p.VerificationURI to the user,
		// who approves in the browser; here the example approves itself.
		fmt.Println("visit", strings.TrimPrefix(p.VerificationURI, ts.URL), "and enter a code like", len(p.UserCode) == 9)
		if err := ts.approve(p.UserCode); err != nil {
			panic(err)
		}
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("linked:", grant.Status, grant.Scopes, grant.Limits.PerPayment, grant.Limits.Asset)
	fmt.Println("key matches:", grant.AgentKeyID == agent.KeyID())
	if err := agent.Ping(ctx); err != nil {
		panic(err)
	}
	fmt.Println("ping ok")
	// Output:
	// visit /link and enter a code like true
	// linked: active [payments:create tips] 5000 USD
	// key matches: true
	// ping ok
}

func ExampleNewMerchant() {
	ts := mustServer() // a local agentpay server
	defer ts.Close()
	ctx := context.Background()
	apiKey, err := ts.onboard("Corner Shop") // the operator onboards the merchant
	if err != nil {
		panic(err)
	}

	m := sdk.NewMerchant(ts.URL, apiKey)
	me, err := m.Me(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Println(me.Name, me.Status, me.SettlementAsset)
	accounts, err := m.Accounts(ctx)
	if err != nil {
		panic(err)
	}
	for _, a := range accounts {
		fmt.Println("account", a.Kind, a.Asset, a.Balance)
	}
	created, err := m.CreateAPIKey(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Println("new key secret shown once:", strings.HasPrefix(created.Secret, "sk_"))
	keys, err := m.APIKeys(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Println("keys:", len(keys))
	// Output:
	// Corner Shop active USD
	// account merchant USD 0
	// new key secret shown once: true
	// keys: 2
}
