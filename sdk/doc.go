// Package sdk is the public Go client of agentpay, for agents and merchants.
//
// # Agents
//
// An agent holds an Ed25519 key (GenerateKey, WritePrivateKeyPEM,
// ReadPrivateKeyPEM) and links it to a user's account with the RFC 8628
// device flow:
//
//	agent := sdk.NewAgent("https://pay.example.com", key)
//	grant, err := agent.Link(ctx, sdk.LinkRequest{
//		AgentName: "Shopping Helper", SoftwareID: "com.example.helper",
//		Scopes: []string{"payments:create"},
//		Limits: sdk.Limits{Asset: "USD", PerPayment: 5000, PerDay: 10000, PerMonth: 50000},
//	}, func(p sdk.Pending) {
//		fmt.Printf("Go to %s and enter %s\n", p.VerificationURI, p.UserCode)
//	})
//
// Link starts the link, hands the user code to the callback, and polls until
// the user approves (the grant), denies (an *Error with code access_denied)
// or the code expires (expired_token), or until ctx is done. It honours the
// server's interval and adds five seconds on every slow_down.
//
// Once linked, every request the agent makes is signed per RFC 9421 with
// agentauth.Sign: Grant, Ping, or any route with Do. The server rebuilds the
// signed "@target-uri" from its configured public URL, so the base URL given
// to NewAgent must be exactly that URL.
//
// # Retrying safely
//
// Agent and Merchant retry network errors, 5xx responses and 409
// idempotency_in_flight, at most MaxRetries times with a bounded exponential
// backoff; other 4xx answers are never retried. Every mutating request (POST,
// PUT, PATCH, DELETE) carries an Idempotency-Key generated once per logical
// call and reused by its retries, so a retry after a lost response gets the
// server's first response back (Idempotent-Replayed: true) instead of acting
// twice. Agent requests are re-signed on every attempt with a fresh nonce;
// the server checks the idempotency record before the nonce.
//
// Waits (poll intervals and retry backoff) go through the Sleep field of
// Agent and Merchant, which tests may replace to run without real delays.
//
// # Merchants
//
// NewMerchant authenticates with a secret API key (sk_…) as a bearer token
// and wraps the merchant routes: Me, APIKeys, CreateAPIKey, RevokeAPIKey and
// Accounts.
//
// # Errors
//
// Every answer outside 2xx is returned as an *Error holding the HTTP status
// and the API's error type, code, message and param.
package sdk
