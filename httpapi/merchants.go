package httpapi

import (
	"net/http"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/payments"
	"github.com/agentpay/agentpay/store"
	"github.com/agentpay/agentpay/webhook"
)

// APIKeysActiveMax bounds a merchant's active API keys.
const APIKeysActiveMax = 10

// merchantJSON is a merchant as the API shows it: never its secrets.
type merchantJSON struct {
	Object          string `json:"object"`
	ID              string `json:"id"`
	Name            string `json:"name"`
	Kind            string `json:"kind"` // business or creator
	MCC             string `json:"mcc"`
	Country         string `json:"country"`
	SettlementAsset string `json:"settlement_asset"`
	WebhookURL      string `json:"webhook_url,omitempty"`
	Status          string `json:"status"`
	CreatedAt       string `json:"created_at"`
}

func toMerchantJSON(m agentpay.Merchant) merchantJSON {
	return merchantJSON{Object: "merchant", ID: m.ID, Name: m.Name, Kind: string(m.Kind), MCC: m.MCC, Country: m.Country,
		SettlementAsset: m.SettlementAsset, WebhookURL: m.WebhookURL, Status: string(m.Status), CreatedAt: timeString(m.CreatedAt)}
}

// apiKeyJSON is an API key as the API shows it. Secret is set only in the
// response that created the key; lists never have it, and the hash is never
// shown.
type apiKeyJSON struct {
	Object     string  `json:"object"`
	ID         string  `json:"id"`
	Prefix     string  `json:"prefix"`
	CreatedAt  string  `json:"created_at"`
	RevokedAt  *string `json:"revoked_at"`
	LastUsedAt *string `json:"last_used_at"`
	Secret     string  `json:"secret,omitempty"`
}

func toAPIKeyJSON(k agentpay.APIKey) apiKeyJSON {
	opt := func(us int64) *string {
		if us == 0 {
			return nil
		}
		s := timeString(us)
		return &s
	}
	return apiKeyJSON{Object: "api_key", ID: k.ID, Prefix: k.Prefix, CreatedAt: timeString(k.CreatedAt),
		RevokedAt: opt(k.RevokedAt), LastUsedAt: opt(k.LastUsedAt)}
}

// onboardingJSON answers POST /v1/merchants. It is the only place the first
// API key and the webhook secret are shown (and its idempotent replays, to
// the same operator with the same Idempotency-Key, for 48 hours).
type onboardingJSON struct {
	Object        string       `json:"object"`
	Merchant      merchantJSON `json:"merchant"`
	AccountID     string       `json:"account_id"`
	APIKey        string       `json:"api_key"`
	APIKeyID      string       `json:"api_key_id"`
	WebhookSecret string       `json:"webhook_secret"`
}

type createMerchantRequest struct {
	Name            string `json:"name"`
	Kind            string `json:"kind"` // business (the default) or creator
	MCC             string `json:"mcc"`
	Country         string `json:"country"`
	SettlementAsset string `json:"settlement_asset"`
	WebhookURL      string `json:"webhook_url"`
}

// newAPIKey makes a key for a merchant and returns it with its secret.
func newAPIKey(merchantID string, now int64) (agentpay.APIKey, string) {
	secret := agentpay.NewAPIKeySecret()
	return agentpay.APIKey{ID: agentpay.NewID("key"), MerchantID: merchantID, Prefix: agentpay.APIKeyDisplayPrefix(secret), CreatedAt: now}, secret
}

// createMerchant onboards a merchant in one unit: the merchant, its ledger
// account in the settlement asset and its first API key.
func (s *Server) createMerchant(r *http.Request, body []byte) (*store.Unit, func(store.Result) (int, any), error) {
	var req createMerchantRequest
	if err := decode(body, &req); err != nil {
		return nil, nil, err
	}
	kind, err := agentpay.ParseMerchantKind("kind", req.Kind)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now().UnixMicro()
	m := agentpay.Merchant{ID: agentpay.NewID("mer"), Name: req.Name, Kind: kind, MCC: req.MCC, Country: req.Country,
		SettlementAsset: req.SettlementAsset, WebhookURL: req.WebhookURL, Status: agentpay.MerchantActive, CreatedAt: now}
	if err := m.Validate(); err != nil {
		return nil, nil, err
	}
	if err := webhook.CheckURL("webhook_url", m.WebhookURL, s.WebhookAllowLoopback); err != nil {
		return nil, nil, err
	}
	webhookSecret := agentpay.NewWebhookSecret()
	key, secret := newAPIKey(m.ID, now)
	unit := &store.Unit{
		Accounts: []agentpay.Account{payments.MerchantAccount(m.ID, m.SettlementAsset)},
		Rows:     []store.Row{store.MerchantRow(m, webhookSecret), store.APIKeyRow(key, agentpay.HashAPIKey(secret))},
	}
	return unit, func(res store.Result) (int, any) {
		return http.StatusCreated, onboardingJSON{Object: "merchant_onboarding", Merchant: toMerchantJSON(m),
			AccountID: res.Accounts[0].ID, APIKey: secret, APIKeyID: key.ID, WebhookSecret: webhookSecret}
	}, nil
}

// pathMerchant returns the merchant the path names, for operators.
func (s *Server) pathMerchant(r *http.Request) (store.StoredMerchant, error) {
	id := r.PathValue("id")
	if !agentpay.ValidID(id) {
		return store.StoredMerchant{}, agentpay.Errorf(agentpay.ENOTFOUND, "merchant_not_found",
			"merchant not found: ids are 1 to 64 letters, digits, '_' or '-'")
	}
	return s.DB.Merchant(r.Context(), id)
}

func (s *Server) getMerchant(w http.ResponseWriter, r *http.Request) {
	m, err := s.pathMerchant(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toMerchantJSON(m.Merchant))
}

// setMerchantStatus suspends or resumes a merchant. A merchant already in
// the status is answered as it is, without a write.
func (s *Server) setMerchantStatus(status agentpay.MerchantStatus) mutation {
	return func(r *http.Request, body []byte) (*store.Unit, func(store.Result) (int, any), error) {
		if err := decode(body, &struct{}{}); err != nil {
			return nil, nil, err
		}
		m, err := s.pathMerchant(r)
		if err != nil {
			return nil, nil, err
		}
		unit := &store.Unit{}
		if m.Status != status {
			unit.Updates = []store.Update{{Table: store.MerchantsTable, Key: m.ID, Version: m.Version,
				Set: []string{"status"}, Values: []any{string(status)}}}
			m.Status = status
		}
		return unit, func(store.Result) (int, any) { return http.StatusOK, toMerchantJSON(m.Merchant) }, nil
	}
}

func (s *Server) getSelf(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, toMerchantJSON(merchantOf(r).Merchant.Merchant))
}

type apiKeyListJSON struct {
	Object string       `json:"object"`
	Data   []apiKeyJSON `json:"data"`
}

func (s *Server) listAPIKeys(w http.ResponseWriter, r *http.Request) {
	keys, err := s.DB.APIKeys(r.Context(), merchantOf(r).Merchant.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := apiKeyListJSON{Object: "list", Data: []apiKeyJSON{}}
	for _, k := range keys {
		out.Data = append(out.Data, toAPIKeyJSON(k.APIKey))
	}
	writeJSON(w, http.StatusOK, out)
}

// createAPIKey makes a new key for the caller's merchant and shows its
// secret once. Rotation is this, then revoking the old key.
func (s *Server) createAPIKey(r *http.Request, body []byte) (*store.Unit, func(store.Result) (int, any), error) {
	if err := decode(body, &struct{}{}); err != nil {
		return nil, nil, err
	}
	me := merchantOf(r).Merchant
	keys, err := s.DB.APIKeys(r.Context(), me.ID)
	if err != nil {
		return nil, nil, err
	}
	active := 0
	for _, k := range keys {
		if k.Active() {
			active++
		}
	}
	if active >= APIKeysActiveMax {
		return nil, nil, agentpay.Errorf(agentpay.ECONFLICT, "too_many_api_keys",
			"a merchant has at most %d active API keys; revoke one first", APIKeysActiveMax)
	}
	key, secret := newAPIKey(me.ID, time.Now().UnixMicro())
	unit := &store.Unit{Rows: []store.Row{store.APIKeyRow(key, agentpay.HashAPIKey(secret))}}
	return unit, func(store.Result) (int, any) {
		out := toAPIKeyJSON(key)
		out.Secret = secret
		return http.StatusCreated, out
	}, nil
}

// revokeAPIKey revokes one of the caller's keys (the one in use included).
// The last active key cannot be revoked: the merchant would be locked out.
// The unit also updates the merchant row at the version read, so two
// revocations racing for the last two keys cannot both commit.
func (s *Server) revokeAPIKey(r *http.Request, body []byte) (*store.Unit, func(store.Result) (int, any), error) {
	if err := decode(body, &struct{}{}); err != nil {
		return nil, nil, err
	}
	me := merchantOf(r).Merchant
	notFound := agentpay.Errorf(agentpay.ENOTFOUND, "api_key_not_found", "API key not found")
	id := r.PathValue("id")
	if !agentpay.ValidID(id) {
		return nil, nil, notFound
	}
	keys, err := s.DB.APIKeys(r.Context(), me.ID)
	if err != nil {
		return nil, nil, err
	}
	var target *store.StoredAPIKey
	active := 0
	for i, k := range keys {
		if k.Active() {
			active++
		}
		if k.ID == id {
			target = &keys[i]
		}
	}
	if target == nil {
		return nil, nil, notFound // another merchant's key is not found either
	}
	if !target.Active() {
		return nil, nil, agentpay.Errorf(agentpay.ECONFLICT, "already_revoked", "API key %s is already revoked", id)
	}
	if active <= 1 {
		return nil, nil, agentpay.Errorf(agentpay.ECONFLICT, "last_active_key",
			"API key %s is the merchant's last active key; create another key before revoking it", id)
	}
	now := time.Now().UnixMicro()
	unit := &store.Unit{Updates: []store.Update{
		{Table: store.APIKeysTable, Key: target.ID, Version: target.Version, Set: []string{"revoked_at"}, Values: []any{now}},
		{Table: store.MerchantsTable, Key: me.ID, Version: me.Version, Set: []string{"status"}, Values: []any{string(me.Status)}},
	}}
	revoked := target.APIKey
	revoked.RevokedAt = now
	return unit, func(store.Result) (int, any) { return http.StatusOK, toAPIKeyJSON(revoked) }, nil
}

type setWebhookRequest struct {
	URL          *string `json:"url"`
	RotateSecret bool    `json:"rotate_secret"`
}

// setWebhook sets the webhook endpoint ({"url"}), which also re-enables a
// disabled one, or rotates its signing secret ({"rotate_secret":true}, as
// POST /v1/merchant/webhook/rotate-secret does); either way a new secret is
// made and shown once, and the one it replaces keeps signing beside it for
// 24 hours. The answer is the endpoint as GET /v1/merchant/webhook shows it.
func (s *Server) setWebhook(r *http.Request, body []byte) (*store.Unit, func(store.Result) (int, any), error) {
	var req setWebhookRequest
	if err := decode(body, &req); err != nil {
		return nil, nil, err
	}
	me := merchantOf(r).Merchant
	switch {
	case req.URL != nil:
		if err := agentpay.ValidateWebhookURL("url", *req.URL); err != nil {
			return nil, nil, err
		}
		if err := webhook.CheckURL("url", *req.URL, s.WebhookAllowLoopback); err != nil {
			return nil, nil, err
		}
	case !req.RotateSecret:
		return nil, nil, agentpay.ParamErrorf("url", "parameter_missing", "send url to set the endpoint, or rotate_secret: true to rotate its secret")
	case me.WebhookURL == "":
		return nil, nil, agentpay.Errorf(agentpay.ECONFLICT, "no_webhook_endpoint", "set a webhook url before rotating its secret")
	}
	unit, out := newWebhookSecret(me, req.URL, time.Now())
	return unit, func(store.Result) (int, any) { return http.StatusOK, out }, nil
}

type accountListJSON struct {
	Object string        `json:"object"`
	Data   []accountJSON `json:"data"`
}

func (s *Server) listMerchantAccounts(w http.ResponseWriter, r *http.Request) {
	accounts, err := s.DB.AccountsByOwner(r.Context(), merchantOf(r).Merchant.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := accountListJSON{Object: "list", Data: []accountJSON{}}
	for _, a := range accounts {
		out.Data = append(out.Data, toAccountJSON(a))
	}
	writeJSON(w, http.StatusOK, out)
}

type createMerchantAccountRequest struct {
	Asset string `json:"asset"`
}

// createMerchantAccount opens the caller's merchant account in another
// asset; there is at most one per asset.
func (s *Server) createMerchantAccount(r *http.Request, body []byte) (*store.Unit, func(store.Result) (int, any), error) {
	var req createMerchantAccountRequest
	if err := decode(body, &req); err != nil {
		return nil, nil, err
	}
	if err := agentpay.ValidateAssetCode(req.Asset); err != nil {
		return nil, nil, err
	}
	me := merchantOf(r).Merchant
	accounts, err := s.DB.AccountsByOwner(r.Context(), me.ID)
	if err != nil {
		return nil, nil, err
	}
	for _, a := range accounts {
		if a.Kind == agentpay.AccountMerchant && a.Asset == req.Asset {
			return nil, nil, accountExists(req.Asset)
		}
	}
	unit := &store.Unit{Accounts: []agentpay.Account{payments.MerchantAccount(me.ID, req.Asset)}}
	return unit, func(res store.Result) (int, any) { return http.StatusCreated, toAccountJSON(res.Accounts[0]) }, nil
}

func accountExists(asset string) error {
	return &agentpay.Error{Kind: agentpay.ECONFLICT, Code: "account_exists", Param: "asset",
		Message: "the merchant already has a " + asset + " account"}
}
