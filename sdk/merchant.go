package sdk

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Merchant is a client authenticated with a merchant's secret API key.
type Merchant struct {
	// HTTPClient sends the requests; nil means http.DefaultClient.
	HTTPClient *http.Client
	// MaxRetries bounds the retries of one call (NewMerchant sets
	// DefaultMaxRetries; 0 disables retries).
	MaxRetries int
	// Sleep waits before retries; nil waits on a timer.
	Sleep func(ctx context.Context, d time.Duration) error

	baseURL string
	apiKey  string
}

// NewMerchant returns a client for the server at baseURL using apiKey
// (sk_…).
func NewMerchant(baseURL, apiKey string) *Merchant {
	return &Merchant{MaxRetries: DefaultMaxRetries, baseURL: strings.TrimRight(baseURL, "/"), apiKey: apiKey}
}

// MerchantProfile is a merchant as the API shows it.
type MerchantProfile struct {
	Object          string    `json:"object"`
	ID              string    `json:"id"`
	Name            string    `json:"name"`
	Kind            string    `json:"kind"` // MerchantBusiness or MerchantCreator
	MCC             string    `json:"mcc"`
	Country         string    `json:"country"`
	SettlementAsset string    `json:"settlement_asset"`
	WebhookURL      string    `json:"webhook_url"`
	Status          string    `json:"status"`
	CreatedAt       time.Time `json:"created_at"`
}

// APIKey is a merchant's API key. Secret is set only when it was created.
type APIKey struct {
	Object     string     `json:"object"`
	ID         string     `json:"id"`
	Prefix     string     `json:"prefix"`
	CreatedAt  time.Time  `json:"created_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	Secret     string     `json:"secret,omitempty"`
}

// Account is a ledger account; amounts are in minor units of Asset.
type Account struct {
	Object           string    `json:"object"`
	ID               string    `json:"id"`
	Kind             string    `json:"kind"`
	Asset            string    `json:"asset"`
	Flags            []string  `json:"flags"`
	OwnerID          string    `json:"owner_id"`
	DebitsPending    int64     `json:"debits_pending"`
	DebitsPosted     int64     `json:"debits_posted"`
	CreditsPending   int64     `json:"credits_pending"`
	CreditsPosted    int64     `json:"credits_posted"`
	Balance          int64     `json:"balance"`
	Available        int64     `json:"available"`
	BalanceFormatted string    `json:"balance_formatted"`
	CreatedAt        time.Time `json:"created_at"`
}

// Do sends a request with the merchant's bearer key to path under the base
// URL, with the same JSON, idempotency and retry rules as Agent.Do.
func (m *Merchant) Do(ctx context.Context, method, path string, body, out any) error {
	b, err := marshalBody(body)
	if err != nil {
		return err
	}
	bearer := func(req *http.Request, _ []byte) error {
		req.Header.Set("Authorization", "Bearer "+m.apiKey)
		return nil
	}
	t := &transport{httpClient: m.HTTPClient, maxRetries: m.MaxRetries, sleep: m.Sleep}
	return t.do(ctx, call{method: method, url: m.baseURL + path, body: b, idempotent: mutatingMethod(method), prepare: bearer}, out)
}

// Me returns the merchant the API key belongs to.
func (m *Merchant) Me(ctx context.Context) (*MerchantProfile, error) {
	var out MerchantProfile
	if err := m.Do(ctx, http.MethodGet, "/v1/merchant", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// APIKeys lists the merchant's API keys, revoked ones included.
func (m *Merchant) APIKeys(ctx context.Context) ([]APIKey, error) {
	var out struct {
		Data []APIKey `json:"data"`
	}
	if err := m.Do(ctx, http.MethodGet, "/v1/merchant/api-keys", nil, &out); err != nil {
		return nil, err
	}
	return out.Data, nil
}

// CreateAPIKey creates an API key; its Secret is shown only here.
func (m *Merchant) CreateAPIKey(ctx context.Context) (*APIKey, error) {
	var out APIKey
	if err := m.Do(ctx, http.MethodPost, "/v1/merchant/api-keys", struct{}{}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RevokeAPIKey revokes the API key id; the last active key cannot be
// revoked (*Error last_active_key).
func (m *Merchant) RevokeAPIKey(ctx context.Context, id string) (*APIKey, error) {
	var out APIKey
	if err := m.Do(ctx, http.MethodPost, "/v1/merchant/api-keys/"+url.PathEscape(id)+"/revoke", struct{}{}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Accounts lists the merchant's accounts.
func (m *Merchant) Accounts(ctx context.Context) ([]Account, error) {
	var out struct {
		Data []Account `json:"data"`
	}
	if err := m.Do(ctx, http.MethodGet, "/v1/merchant/accounts", nil, &out); err != nil {
		return nil, err
	}
	return out.Data, nil
}
