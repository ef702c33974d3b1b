package sdk

import (
	"context"
	"crypto/ed25519"
	"net/http"
	"strings"
	"time"

	"github.com/agentpay/agentpay/agentauth"
)

// slowDownStep is what RFC 8628 slow_down adds to the poll interval.
const slowDownStep = 5 * time.Second

// Agent is a client that signs its requests with an agent key.
type Agent struct {
	// HTTPClient sends the requests; nil means http.DefaultClient.
	HTTPClient *http.Client
	// MaxRetries bounds the retries of one call (NewAgent sets
	// DefaultMaxRetries; 0 disables retries).
	MaxRetries int
	// Sleep waits between link polls and before retries; nil waits on a
	// timer. It must return ctx.Err() if ctx is done first. Tests replace
	// it to run without real delays.
	Sleep func(ctx context.Context, d time.Duration) error

	baseURL string
	key     ed25519.PrivateKey
	keyID   string
}

// NewAgent returns an agent for the server at baseURL, which must be the
// server's public base URL (signatures cover it), signing with key.
func NewAgent(baseURL string, key ed25519.PrivateKey) *Agent {
	a := &Agent{MaxRetries: DefaultMaxRetries, baseURL: strings.TrimRight(baseURL, "/"), key: key}
	if len(key) == ed25519.PrivateKeySize {
		a.keyID = agentauth.Thumbprint(key.Public().(ed25519.PublicKey))
	}
	return a
}

// KeyID returns the keyid of the agent's key: its RFC 7638 thumbprint, also
// the fingerprint shown to users.
func (a *Agent) KeyID() string { return a.keyID }

func (a *Agent) transport() *transport {
	return &transport{httpClient: a.HTTPClient, maxRetries: a.MaxRetries, sleep: a.Sleep}
}

func (a *Agent) sleep(ctx context.Context, d time.Duration) error {
	if a.Sleep != nil {
		return a.Sleep(ctx, d)
	}
	return sleepCtx(ctx, d)
}

// Limits are spending limits in minor units of Asset.
type Limits struct {
	Asset      string `json:"asset"`
	PerPayment int64  `json:"per_payment"`
	PerDay     int64  `json:"per_day"`
	PerMonth   int64  `json:"per_month"`
}

// LinkRequest is what an agent asks the user for. With the "tips" scope
// it may ask to give tips without a tap: each up to TipAutoApproveMax and
// up to TipBudgetPerDay a day in all (minor units of Limits.Asset; the
// budget at most Limits.PerDay, and at least TipAutoApproveMax). The user
// may lower both when approving.
type LinkRequest struct {
	AgentName         string
	SoftwareID        string
	Scopes            []string
	Limits            Limits
	TipAutoApproveMax int64
	TipBudgetPerDay   int64
}

// Pending is a started link: what the app shows the user.
type Pending struct {
	ID                      string
	UserCode                string
	VerificationURI         string
	VerificationURIComplete string
	ExpiresIn               time.Duration
	Interval                time.Duration
}

// Grant is what a user granted an agent key.
type Grant struct {
	Object            string    `json:"object"`
	ID                string    `json:"id"`
	AgentKeyID        string    `json:"agent_key_id"`
	Scopes            []string  `json:"scopes"`
	Limits            Limits    `json:"limits"`
	Categories        []string  `json:"categories"`
	TipAutoApproveMax int64     `json:"tip_auto_approve_max"`
	Status            string    `json:"status"`
	ExpiresAt         time.Time `json:"expires_at"`
	CreatedAt         time.Time `json:"created_at"`
	// TipBudgetPerDay and TipsMandate are set by Agent.Link only: the daily
	// budget of tips given without a tap that the user kept when linking
	// (0: every tip asks the user), and the tips mandate that holds it.
	TipBudgetPerDay int64  `json:"tip_budget_per_day,omitempty"`
	TipsMandate     string `json:"tips_mandate,omitempty"`
	// Spent, Remaining and BudgetPeriod are set by Agent.Grant only: what
	// the grant's approved payments used today and this month (UTC days
	// and months, named in BudgetPeriod), and the most a payment may still
	// take without being declined — the lower of what the grant's limits
	// and the user's tier leave. Amounts are minor units of Limits.Asset.
	Spent        *Spending     `json:"spent,omitempty"`
	Remaining    *Spending     `json:"remaining,omitempty"`
	BudgetPeriod *BudgetPeriod `json:"budget_period,omitempty"`
}

// Spending is an amount per budget period, in minor units.
type Spending struct {
	Today     int64 `json:"today"`
	ThisMonth int64 `json:"this_month"`
}

// BudgetPeriod names the UTC day (2006-01-02) and month (2006-01) that
// budgets count.
type BudgetPeriod struct {
	Day   string `json:"day"`
	Month string `json:"month"`
}

// Link links the agent's key to a user's account (RFC 8628): it starts the
// link, calls onCode (if not nil) with the user code to show, and polls
// until the user approves (the grant), denies (*Error access_denied), the
// code expires (*Error expired_token), or ctx is done. It waits the
// server's interval between polls, five seconds more after each slow_down.
func (a *Agent) Link(ctx context.Context, req LinkRequest, onCode func(Pending)) (*Grant, error) {
	if a.keyID == "" {
		return nil, &Error{Type: "invalid_request_error", Code: "invalid_key", Message: "the agent key is not an Ed25519 private key"}
	}
	pub := a.key.Public().(ed25519.PublicKey)
	scopes := req.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	body, err := marshalBody(struct {
		PublicKey         rawJSON  `json:"public_key"`
		AgentName         string   `json:"agent_name"`
		SoftwareID        string   `json:"software_id"`
		Scopes            []string `json:"scopes"`
		Limits            Limits   `json:"limits"`
		TipAutoApproveMax int64    `json:"tip_auto_approve_max,omitempty"`
		TipBudgetPerDay   int64    `json:"tip_budget_per_day,omitempty"`
	}{rawJSON(agentauth.JWK(pub)), req.AgentName, req.SoftwareID, scopes, req.Limits, req.TipAutoApproveMax, req.TipBudgetPerDay})
	if err != nil {
		return nil, err
	}
	var started struct {
		ID                      string `json:"id"`
		DeviceCode              string `json:"device_code"`
		UserCode                string `json:"user_code"`
		VerificationURI         string `json:"verification_uri"`
		VerificationURIComplete string `json:"verification_uri_complete"`
		ExpiresIn               int64  `json:"expires_in"`
		Interval                int64  `json:"interval"`
	}
	t := a.transport()
	if err := t.do(ctx, call{method: http.MethodPost, url: a.baseURL + "/v1/agent-links", body: body, idempotent: true}, &started); err != nil {
		return nil, err
	}
	interval := time.Duration(started.Interval) * time.Second
	if interval <= 0 {
		interval = slowDownStep
	}
	if onCode != nil {
		onCode(Pending{ID: started.ID, UserCode: started.UserCode, VerificationURI: started.VerificationURI,
			VerificationURIComplete: started.VerificationURIComplete,
			ExpiresIn:               time.Duration(started.ExpiresIn) * time.Second, Interval: interval})
	}
	poll, err := marshalBody(struct {
		DeviceCode string `json:"device_code"`
	}{started.DeviceCode})
	if err != nil {
		return nil, err
	}
	for {
		var g Grant
		// The token request is safe to repeat: it needs no Idempotency-Key.
		err := t.do(ctx, call{method: http.MethodPost, url: a.baseURL + "/v1/agent-links/token", body: poll}, &g)
		switch ErrorCode(err) {
		case "":
			if err != nil {
				return nil, err
			}
			return &g, nil
		case "authorization_pending":
		case "slow_down":
			interval += slowDownStep
		default:
			return nil, err
		}
		if err := a.sleep(ctx, interval); err != nil {
			return nil, err
		}
	}
}

// rawJSON is JSON sent as is.
type rawJSON []byte

func (r rawJSON) MarshalJSON() ([]byte, error) { return r, nil }

// Do sends a request signed with the agent's key to path (with its query,
// if any) under the base URL. body (if not nil) is sent as JSON; a 2xx
// answer is decoded into out (if not nil); any other is an *Error.
// Mutating methods get an Idempotency-Key, the same for every retry; each
// attempt is signed afresh, with a new nonce.
func (a *Agent) Do(ctx context.Context, method, path string, body, out any) error {
	if a.keyID == "" {
		return &Error{Type: "invalid_request_error", Code: "invalid_key", Message: "the agent key is not an Ed25519 private key"}
	}
	b, err := marshalBody(body)
	if err != nil {
		return err
	}
	sign := func(req *http.Request, body []byte) error {
		return agentauth.Sign(req, body, a.key, a.keyID, agentauth.SignParams{})
	}
	return a.transport().do(ctx, call{method: method, url: a.baseURL + path, body: b,
		idempotent: mutatingMethod(method), prepare: sign}, out)
}

// Grant returns the grant the agent's key is linked under, with what it
// spent and may still spend today and this month.
func (a *Agent) Grant(ctx context.Context) (*Grant, error) {
	var g Grant
	if err := a.Do(ctx, http.MethodGet, "/v1/agent/grant", nil, &g); err != nil {
		return nil, err
	}
	return &g, nil
}

// Ping sends a signed, mutating request with no effect: it proves that the
// key is linked and that signing works.
func (a *Agent) Ping(ctx context.Context) error {
	var out struct {
		OK bool `json:"ok"`
	}
	if err := a.Do(ctx, http.MethodPost, "/v1/agent/ping", struct{}{}, &out); err != nil {
		return err
	}
	if !out.OK {
		return &Error{Status: http.StatusOK, Type: "api_error", Code: "ping_failed", Message: "the server did not answer ok"}
	}
	return nil
}
