package httpapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentpay/agentpay/httpapi"
	"github.com/agentpay/agentpay/store"
)

type merchantOut struct {
	Object          string `json:"object"`
	ID              string `json:"id"`
	Name            string `json:"name"`
	Kind            string `json:"kind"`
	MCC             string `json:"mcc"`
	Country         string `json:"country"`
	SettlementAsset string `json:"settlement_asset"`
	WebhookURL      string `json:"webhook_url"`
	Status          string `json:"status"`
	CreatedAt       string `json:"created_at"`
}

type onboardingOut struct {
	Object        string      `json:"object"`
	Merchant      merchantOut `json:"merchant"`
	AccountID     string      `json:"account_id"`
	APIKey        string      `json:"api_key"`
	APIKeyID      string      `json:"api_key_id"`
	WebhookSecret string      `json:"webhook_secret"`
}

type apiKeyOut struct {
	Object     string  `json:"object"`
	ID         string  `json:"id"`
	Prefix     string  `json:"prefix"`
	CreatedAt  string  `json:"created_at"`
	RevokedAt  *string `json:"revoked_at"`
	LastUsedAt *string `json:"last_used_at"`
	Secret     string  `json:"secret"`
}

const merchantBody = `{"name":"Acme Books","mcc":"5942","country":"DE","settlement_asset":"EUR","webhook_url":"https://acme.example/hooks"}`

func (a *api) onboard(body string) onboardingOut {
	a.t.Helper()
	r := a.post("/v1/merchants", body)
	mustStatus(a.t, r, http.StatusCreated)
	var out onboardingOut
	r.decode(a.t, &out)
	return out
}

// as sends a request with a merchant's API key; key is the Idempotency-Key
// ("" for none).
func (a *api) as(secret, method, path, key, body string) response {
	a.t.Helper()
	return a.send(request{Method: method, Path: path, Key: key, Body: body, Token: &secret})
}

func (a *api) keys(secret string) []apiKeyOut {
	a.t.Helper()
	r := a.as(secret, "GET", "/v1/merchant/api-keys", "", "")
	mustStatus(a.t, r, http.StatusOK)
	var out struct {
		Data []apiKeyOut `json:"data"`
	}
	r.decode(a.t, &out)
	return out.Data
}

func (a *api) newKey(secret string) apiKeyOut {
	a.t.Helper()
	r := a.as(secret, "POST", "/v1/merchant/api-keys", "k-"+randomHex(8), "")
	mustStatus(a.t, r, http.StatusCreated)
	var k apiKeyOut
	r.decode(a.t, &k)
	return k
}

func mustNotContain(t *testing.T, where string, body []byte, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && bytes.Contains(body, []byte(s)) {
			t.Fatalf("%s shows a secret: %s", where, body)
		}
	}
}

func hashHex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func TestMerchantOnboarding(t *testing.T) {
	forEachDB(t, func(t *testing.T, a *api) {
		o := a.onboard(merchantBody)
		m := o.Merchant
		if o.Object != "merchant_onboarding" || !strings.HasPrefix(m.ID, "mer_") || m.Name != "Acme Books" || m.Kind != "business" || m.MCC != "5942" ||
			m.Country != "DE" || m.SettlementAsset != "EUR" || m.WebhookURL != "https://acme.example/hooks" || m.Status != "active" {
			t.Fatalf("onboarding: %+v", o)
		}
		if !strings.HasPrefix(o.APIKey, "sk_") || len(o.APIKey) != 46 || !strings.HasPrefix(o.WebhookSecret, "whsec_") ||
			!strings.HasPrefix(o.APIKeyID, "key_") {
			t.Fatalf("secrets: %+v", o)
		}
		acc := a.account(o.AccountID)
		if acc.Kind != "merchant" || acc.Asset != "EUR" || len(acc.Flags) != 1 || acc.Flags[0] != "debits_must_not_exceed_credits" {
			t.Fatalf("merchant account: %+v", acc)
		}
		// Only the hash of the key is stored, and the prefix for display.
		var hash, prefix string
		if err := a.db.Reader().QueryRow(`SELECT hash, prefix FROM merchant_api_keys WHERE id = $1`, o.APIKeyID).Scan(&hash, &prefix); err != nil {
			t.Fatal(err)
		}
		if hash != hashHex(o.APIKey) || prefix != o.APIKey[:12] {
			t.Fatalf("stored hash %q prefix %q", hash, prefix)
		}
		if n := a.count(`SELECT COUNT(*) FROM merchant_api_keys WHERE hash = '` + o.APIKey + `' OR prefix = '` + o.APIKey + `'`); n != 0 {
			t.Fatal("the secret is stored")
		}
		// The merchant sees itself, and nothing of its secrets, anywhere.
		r := a.as(o.APIKey, "GET", "/v1/merchant", "", "")
		mustStatus(t, r, http.StatusOK)
		var self merchantOut
		r.decode(t, &self)
		if self != m {
			t.Fatalf("self %+v, want %+v", self, m)
		}
		for _, path := range []string{"/v1/merchant", "/v1/merchant/api-keys", "/v1/merchant/accounts"} {
			r := a.as(o.APIKey, "GET", path, "", "")
			mustStatus(t, r, http.StatusOK)
			mustNotContain(t, path, r.Body, o.APIKey, o.APIKey[12:], o.WebhookSecret, hash)
		}
		r = a.get("/v1/merchants/" + m.ID)
		mustStatus(t, r, http.StatusOK)
		mustNotContain(t, "operator view", r.Body, o.APIKey, o.WebhookSecret, hash)
		keys := a.keys(o.APIKey)
		if len(keys) != 1 || keys[0].ID != o.APIKeyID || keys[0].Prefix != o.APIKey[:12] || keys[0].RevokedAt != nil || keys[0].Secret != "" {
			t.Fatalf("keys %+v", keys)
		}
		checkErrorShape(t, a.get("/v1/merchants/mer_nope"), 404, "merchant_not_found", "")
		// A replay of onboarding answers the same merchant and the same
		// secrets, to the same operator with the same key, and creates nothing.
		rq := request{Method: "POST", Path: "/v1/merchants", Key: "onboard-1", Body: `{"name":"B","mcc":"5411","country":"US","settlement_asset":"USD"}`}
		first, again := a.send(rq), a.send(rq)
		mustStatus(t, first, 201)
		if !again.replayed() || !bytes.Equal(first.Body, again.Body) {
			t.Fatalf("replay: %v", again)
		}
		if n := a.count(`SELECT COUNT(*) FROM merchants`); n != 2 {
			t.Fatalf("%d merchants", n)
		}
		a.checkLedger()
	})
}

func TestMerchantOnboardingValidation(t *testing.T) {
	forEachDB(t, func(t *testing.T, a *api) {
		with := func(field string, value any) string {
			m := map[string]any{"name": "Acme", "mcc": "5942", "country": "DE", "settlement_asset": "EUR"}
			m[field] = value
			return jsonString(m)
		}
		for _, tc := range []struct {
			body, code, param string
		}{
			{with("name", ""), "invalid_name", "name"},
			{with("name", strings.Repeat("x", 201)), "invalid_name", "name"},
			{with("name", "a\u0000b"), "invalid_name", "name"},
			{with("name", 5), "invalid_type", "name"},
			{with("mcc", "594"), "invalid_mcc", "mcc"},
			{with("mcc", "59a2"), "invalid_mcc", "mcc"},
			{with("country", "de"), "invalid_country", "country"},
			{with("country", "DEU"), "invalid_country", "country"},
			{with("kind", "person"), "invalid_kind", "kind"},
			{with("kind", "Creator"), "invalid_kind", "kind"},
			{with("kind", 1), "invalid_type", "kind"},
			{with("settlement_asset", "XXQ"), "unknown_asset", "settlement_asset"},
			{with("settlement_asset", ""), "unknown_asset", "settlement_asset"},
			{with("webhook_url", "http://acme.example/h"), "invalid_webhook_url", "webhook_url"},
			{with("webhook_url", "javascript:alert(1)"), "invalid_webhook_url", "webhook_url"},
			{with("status", "active"), "unknown_field", "status"},
			{`{"name":`, "invalid_json", ""},
			{`[]`, "invalid_json", ""},
		} {
			checkErrorShape(t, a.post("/v1/merchants", tc.body), 400, tc.code, tc.param)
		}
		checkErrorShape(t, a.send(request{Method: "POST", Path: "/v1/merchants", Body: merchantBody}), 400, "idempotency_key_required", "Idempotency-Key")
		empty := ""
		checkErrorShape(t, a.send(request{Method: "POST", Path: "/v1/merchants", Key: "x", Body: merchantBody, Token: &empty}), 401, "missing_token", "")
		for table, n := range map[string]int{"merchants": 0, "merchant_api_keys": 0, "accounts": 0} {
			if got := a.count(`SELECT COUNT(*) FROM ` + table); got != n {
				t.Fatalf("%s has %d rows after refused requests", table, got)
			}
		}
	})
}

func TestMerchantAuthentication(t *testing.T) {
	forEachDB(t, func(t *testing.T, a *api) {
		o := a.onboard(merchantBody)
		empty, wrong, admin := "", "sk_"+strings.Repeat("A", 43), adminToken
		checkErrorShape(t, a.send(request{Method: "GET", Path: "/v1/merchant", Token: &empty}), 401, "missing_api_key", "")
		checkErrorShape(t, a.send(request{Method: "GET", Path: "/v1/merchant", Token: &wrong}), 401, "invalid_api_key", "")
		checkErrorShape(t, a.send(request{Method: "GET", Path: "/v1/merchant", Token: &admin}), 401, "invalid_api_key", "")
		// The operator token is no merchant key, and a merchant key no operator token.
		checkErrorShape(t, a.send(request{Method: "GET", Path: "/v1/merchants/" + o.Merchant.ID, Token: &o.APIKey}), 401, "invalid_token", "")
		checkErrorShape(t, a.as(o.APIKey, "POST", "/v1/merchant/api-keys", "", ""), 400, "idempotency_key_required", "Idempotency-Key")
	})
}

func TestMerchantKeyRotation(t *testing.T) {
	forEachDB(t, func(t *testing.T, a *api) {
		o := a.onboard(merchantBody)
		old := o.APIKey
		// The last active key cannot be revoked, not even by itself.
		checkErrorShape(t, a.as(old, "POST", "/v1/merchant/api-keys/"+o.APIKeyID+"/revoke", "r0", ""), 409, "last_active_key", "")
		// Rotation: a new key, shown once, then the old one revoked with it.
		nk := a.newKey(old)
		if !strings.HasPrefix(nk.Secret, "sk_") || nk.Prefix != nk.Secret[:12] || nk.RevokedAt != nil || nk.Secret == old {
			t.Fatalf("new key %+v", nk)
		}
		for _, k := range a.keys(nk.Secret) {
			if k.Secret != "" {
				t.Fatalf("list shows a secret: %+v", k)
			}
		}
		r := a.as(nk.Secret, "POST", "/v1/merchant/api-keys/"+o.APIKeyID+"/revoke", "r1", "")
		mustStatus(t, r, http.StatusOK)
		mustNotContain(t, "revoke", r.Body, old, nk.Secret)
		var revoked apiKeyOut
		r.decode(t, &revoked)
		if revoked.ID != o.APIKeyID || revoked.RevokedAt == nil {
			t.Fatalf("revoked %+v", revoked)
		}
		// A replay answers the same; a new request finds it revoked.
		again := a.as(nk.Secret, "POST", "/v1/merchant/api-keys/"+o.APIKeyID+"/revoke", "r1", "")
		if !again.replayed() || !bytes.Equal(again.Body, r.Body) {
			t.Fatalf("replay %v", again)
		}
		checkErrorShape(t, a.as(nk.Secret, "POST", "/v1/merchant/api-keys/"+o.APIKeyID+"/revoke", "r2", ""), 409, "already_revoked", "")
		checkErrorShape(t, a.as(old, "GET", "/v1/merchant", "", ""), 401, "api_key_revoked", "")
		checkErrorShape(t, a.as(nk.Secret, "POST", "/v1/merchant/api-keys/key_nope/revoke", "r3", ""), 404, "api_key_not_found", "")
		checkErrorShape(t, a.as(nk.Secret, "POST", "/v1/merchant/api-keys/"+nk.ID+"/revoke", "r4", ""), 409, "last_active_key", "")
		// A key may revoke itself while another is active.
		third := a.newKey(nk.Secret)
		mustStatus(t, a.as(nk.Secret, "POST", "/v1/merchant/api-keys/"+nk.ID+"/revoke", "r5", `{}`), http.StatusOK)
		checkErrorShape(t, a.as(nk.Secret, "GET", "/v1/merchant", "", ""), 401, "api_key_revoked", "")
		keys := a.keys(third.Secret)
		active := 0
		for _, k := range keys {
			if k.RevokedAt == nil {
				active++
			}
		}
		if len(keys) != 3 || active != 1 {
			t.Fatalf("keys %+v", keys)
		}
		// Creating a key is idempotent: a replay creates nothing more and
		// shows the same secret to the same merchant.
		k1 := a.as(third.Secret, "POST", "/v1/merchant/api-keys", "same", "")
		k2 := a.as(third.Secret, "POST", "/v1/merchant/api-keys", "same", "{}")
		mustStatus(t, k1, 201)
		if !k2.replayed() || !bytes.Equal(k1.Body, k2.Body) {
			t.Fatalf("replay %v", k2)
		}
		checkErrorShape(t, a.as(third.Secret, "POST", "/v1/merchant/api-keys", "same", `{"x":1}`), 422, "idempotency_conflict", "Idempotency-Key")
		checkErrorShape(t, a.as(third.Secret, "POST", "/v1/merchant/api-keys", "other", `{"x":1}`), 400, "unknown_field", "x")
		if n := a.count(`SELECT COUNT(*) FROM merchant_api_keys`); n != 4 {
			t.Fatalf("%d keys", n)
		}
		// At most APIKeysActiveMax active keys.
		for range httpapi.APIKeysActiveMax - 2 {
			a.newKey(third.Secret)
		}
		checkErrorShape(t, a.as(third.Secret, "POST", "/v1/merchant/api-keys", "k-max", ""), 409, "too_many_api_keys", "")
	})
}

func TestMerchantLastUsed(t *testing.T) {
	forEachDB(t, func(t *testing.T, a *api) {
		o := a.onboard(merchantBody)
		read := func() (lastUsed, version int64) {
			if err := a.db.Reader().QueryRow(`SELECT last_used_at, version FROM merchant_api_keys WHERE id = $1`, o.APIKeyID).Scan(&lastUsed, &version); err != nil {
				t.Fatal(err)
			}
			return
		}
		if lu, v := read(); lu != 0 || v != 1 {
			t.Fatalf("unused key: last_used_at %d version %d", lu, v)
		}
		before := time.Now().UnixMicro()
		keys := a.keys(o.APIKey)
		lu, v := read()
		if lu < before || v != 2 || keys[0].LastUsedAt == nil {
			t.Fatalf("after use: last_used_at %d version %d, list %+v", lu, v, keys[0])
		}
		// Not written on every request.
		for range 5 {
			mustStatus(t, a.as(o.APIKey, "GET", "/v1/merchant", "", ""), 200)
		}
		if lu2, v2 := read(); lu2 != lu || v2 != 2 {
			t.Fatalf("written again within a minute: %d %d", lu2, v2)
		}
		// Once it is older than a minute, the next use records it again.
		stale := time.Now().Add(-2 * time.Minute).UnixMicro()
		if res := a.db.Committer.Submit(context.Background(), &store.Unit{Updates: []store.Update{{Table: store.APIKeysTable,
			Key: o.APIKeyID, Version: 2, Set: []string{"last_used_at"}, Values: []any{stale}}}}); res.Err != nil {
			t.Fatal(res.Err)
		}
		mustStatus(t, a.as(o.APIKey, "GET", "/v1/merchant", "", ""), 200)
		if lu3, v3 := read(); lu3 <= stale || v3 != 4 {
			t.Fatalf("stale key not recorded: %d %d", lu3, v3)
		}
	})
}

func TestMerchantCrossAccess(t *testing.T) {
	forEachDB(t, func(t *testing.T, a *api) {
		ma := a.onboard(merchantBody)
		mb := a.onboard(`{"name":"Bob's Bikes","mcc":"5940","country":"NL","settlement_asset":"EUR"}`)
		a.newKey(mb.APIKey) // so that B's first key is not its last
		checkErrorShape(t, a.as(ma.APIKey, "POST", "/v1/merchant/api-keys/"+mb.APIKeyID+"/revoke", "x1", ""), 404, "api_key_not_found", "")
		mustStatus(t, a.as(mb.APIKey, "GET", "/v1/merchant", "", ""), 200)
		for _, k := range a.keys(ma.APIKey) {
			if k.ID == mb.APIKeyID {
				t.Fatal("A lists B's key")
			}
		}
		r := a.as(ma.APIKey, "GET", "/v1/merchant/accounts", "", "")
		mustStatus(t, r, 200)
		if bytes.Contains(r.Body, []byte(mb.AccountID)) || !bytes.Contains(r.Body, []byte(ma.AccountID)) {
			t.Fatalf("A's accounts: %s", r.Body)
		}
		// Idempotency keys are scoped to the merchant: the same key is two requests.
		ka := a.as(ma.APIKey, "POST", "/v1/merchant/api-keys", "shared", "")
		kb := a.as(mb.APIKey, "POST", "/v1/merchant/api-keys", "shared", "")
		mustStatus(t, ka, 201)
		mustStatus(t, kb, 201)
		if kb.replayed() || bytes.Equal(ka.Body, kb.Body) {
			t.Fatalf("B got A's response: %v", kb)
		}
	})
}

func TestMerchantSuspension(t *testing.T) {
	forEachDB(t, func(t *testing.T, a *api) {
		o := a.onboard(merchantBody)
		suspend := request{Method: "POST", Path: "/v1/merchants/" + o.Merchant.ID + "/suspend", Key: "s1"}
		r := a.send(suspend)
		mustStatus(t, r, 200)
		var m merchantOut
		r.decode(t, &m)
		if m.Status != "suspended" {
			t.Fatalf("suspended: %+v", m)
		}
		if again := a.send(suspend); !again.replayed() || !bytes.Equal(again.Body, r.Body) {
			t.Fatalf("replay %v", again)
		}
		r = a.as(o.APIKey, "GET", "/v1/merchant", "", "")
		if r.Status != 403 || !bytes.Contains(r.Body, []byte(`"code":"merchant_suspended"`)) || !bytes.Contains(r.Body, []byte(`"type":"permission_error"`)) {
			t.Fatalf("suspended merchant: %v", r)
		}
		if r := a.as(o.APIKey, "POST", "/v1/merchant/api-keys", "n1", ""); r.Status != 403 {
			t.Fatalf("suspended merchant made a key: %v", r)
		}
		// Suspending again is no change; resuming lets the merchant in again.
		mustStatus(t, a.post("/v1/merchants/"+o.Merchant.ID+"/suspend", ""), 200)
		mustStatus(t, a.post("/v1/merchants/"+o.Merchant.ID+"/resume", `{}`), 200)
		mustStatus(t, a.as(o.APIKey, "GET", "/v1/merchant", "", ""), 200)
		checkErrorShape(t, a.post("/v1/merchants/mer_nope/suspend", ""), 404, "merchant_not_found", "")
		checkErrorShape(t, a.post("/v1/merchants/"+o.Merchant.ID+"/resume", `{"why":"x"}`), 400, "unknown_field", "why")
		if n := a.count(`SELECT COUNT(*) FROM merchant_api_keys`); n != 1 {
			t.Fatalf("%d keys", n)
		}
	})
}

func TestMerchantWebhook(t *testing.T) {
	forEachDB(t, func(t *testing.T, a *api) {
		o := a.onboard(`{"name":"NoHook","mcc":"5942","country":"DE","settlement_asset":"EUR"}`)
		stored := func() (url, secret string) {
			if err := a.db.Reader().QueryRow(`SELECT webhook_url, webhook_secret FROM merchants WHERE id = $1`, o.Merchant.ID).Scan(&url, &secret); err != nil {
				t.Fatal(err)
			}
			return
		}
		if u, s := stored(); u != "" || s != o.WebhookSecret {
			t.Fatalf("stored %q %q", u, s)
		}
		checkErrorShape(t, a.as(o.APIKey, "POST", "/v1/merchant/webhook", "w0", `{"rotate_secret":true}`), 409, "no_webhook_endpoint", "")
		checkErrorShape(t, a.as(o.APIKey, "POST", "/v1/merchant/webhook", "w1", `{}`), 400, "parameter_missing", "url")
		checkErrorShape(t, a.as(o.APIKey, "POST", "/v1/merchant/webhook", "w2", `{"url":"http://10.0.0.1/h"}`), 400, "invalid_webhook_url", "url")
		checkErrorShape(t, a.as(o.APIKey, "POST", "/v1/merchant/webhook", "w3", `{"url":""}`), 400, "invalid_webhook_url", "url")
		type hookOut struct {
			URL    string `json:"url"`
			Secret string `json:"secret"`
		}
		set := request{Method: "POST", Path: "/v1/merchant/webhook", Key: "w4", Body: `{"url":"http://localhost:9000/hooks"}`, Token: &o.APIKey}
		r := a.send(set)
		mustStatus(t, r, 200)
		var h1 hookOut
		r.decode(t, &h1)
		if h1.URL != "http://localhost:9000/hooks" || !strings.HasPrefix(h1.Secret, "whsec_") || h1.Secret == o.WebhookSecret {
			t.Fatalf("set %+v", h1)
		}
		if u, s := stored(); u != h1.URL || s != h1.Secret {
			t.Fatalf("stored %q %q", u, s)
		}
		if again := a.send(set); !again.replayed() || !bytes.Equal(again.Body, r.Body) {
			t.Fatalf("replay %v", again)
		}
		r = a.as(o.APIKey, "POST", "/v1/merchant/webhook", "w5", `{"rotate_secret":true}`)
		mustStatus(t, r, 200)
		var h2 hookOut
		r.decode(t, &h2)
		if h2.URL != h1.URL || h2.Secret == h1.Secret || !strings.HasPrefix(h2.Secret, "whsec_") {
			t.Fatalf("rotate %+v", h2)
		}
		if _, s := stored(); s != h2.Secret {
			t.Fatal("rotated secret not stored")
		}
		r = a.as(o.APIKey, "GET", "/v1/merchant", "", "")
		mustNotContain(t, "self", r.Body, h1.Secret, h2.Secret)
		if !bytes.Contains(r.Body, []byte(`"webhook_url":"http://localhost:9000/hooks"`)) {
			t.Fatalf("self %s", r.Body)
		}
	})
}

func TestMerchantAccounts(t *testing.T) {
	forEachDB(t, func(t *testing.T, a *api) {
		o := a.onboard(merchantBody)
		list := func() []accountOut {
			r := a.as(o.APIKey, "GET", "/v1/merchant/accounts", "", "")
			mustStatus(t, r, 200)
			var out struct {
				Data []accountOut `json:"data"`
			}
			r.decode(t, &out)
			return out.Data
		}
		if l := list(); len(l) != 1 || l[0].ID != o.AccountID || l[0].Asset != "EUR" || l[0].Kind != "merchant" {
			t.Fatalf("accounts %+v", l)
		}
		// Balances are shown.
		wallet := a.createAccount("user_wallet", "EUR")
		a.topUp(wallet, 1000)
		a.transfer(map[string]any{"id": newID("trf"), "debit_account_id": wallet, "credit_account_id": o.AccountID, "amount": 250, "asset": "EUR"})
		if l := list(); l[0].Balance != 250 {
			t.Fatalf("balance %+v", l[0])
		}
		create := request{Method: "POST", Path: "/v1/merchant/accounts", Key: "a1", Body: `{"asset":"USDC"}`, Token: &o.APIKey}
		r := a.send(create)
		mustStatus(t, r, 201)
		var acc accountOut
		r.decode(t, &acc)
		if acc.Kind != "merchant" || acc.Asset != "USDC" || acc.Balance != 0 {
			t.Fatalf("account %+v", acc)
		}
		if again := a.send(create); !again.replayed() || !bytes.Equal(again.Body, r.Body) {
			t.Fatalf("replay %v", again)
		}
		checkErrorShape(t, a.as(o.APIKey, "POST", "/v1/merchant/accounts", "a2", `{"asset":"USDC"}`), 409, "account_exists", "asset")
		checkErrorShape(t, a.as(o.APIKey, "POST", "/v1/merchant/accounts", "a3", `{"asset":"EUR"}`), 409, "account_exists", "asset")
		checkErrorShape(t, a.as(o.APIKey, "POST", "/v1/merchant/accounts", "a4", `{"asset":"usd"}`), 400, "unknown_asset", "asset")
		if l := list(); len(l) != 2 {
			t.Fatalf("accounts %+v", l)
		}
		// Two racing requests for one asset open one account.
		var wg sync.WaitGroup
		statuses := make([]int, 8)
		for i := range statuses {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses[i] = a.as(o.APIKey, "POST", "/v1/merchant/accounts", "race-"+randomHex(4), `{"asset":"JPY"}`).Status
			}()
		}
		wg.Wait()
		created := 0
		for _, s := range statuses {
			if s == 201 {
				created++
			} else if s != 409 {
				t.Fatalf("statuses %v", statuses)
			}
		}
		if created != 1 || len(list()) != 3 {
			t.Fatalf("statuses %v", statuses)
		}
		a.checkLedger()
	})
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

func TestMerchantSecretsNotLogged(t *testing.T) {
	forEachDB(t, func(t *testing.T, a *api) {
		var logs syncBuffer
		log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		hs := httptest.NewServer(httpapi.NewServer(a.db, sha256.Sum256([]byte(adminToken)), log, nil))
		t.Cleanup(hs.Close)
		la := &api{t: t, db: a.db, url: hs.URL}
		o := la.onboard(merchantBody)
		k := la.newKey(o.APIKey)
		r := la.as(k.Secret, "POST", "/v1/merchant/webhook", "w", `{"rotate_secret":true}`)
		mustStatus(t, r, 200)
		var hook struct {
			Secret string `json:"secret"`
		}
		r.decode(t, &hook)
		mustStatus(t, la.as(k.Secret, "POST", "/v1/merchant/api-keys/"+o.APIKeyID+"/revoke", "r", ""), 200)
		checkErrorShape(t, la.as(o.APIKey, "GET", "/v1/merchant", "", ""), 401, "api_key_revoked", "")
		out := logs.Bytes()
		if !bytes.Contains(out, []byte(`"route":"POST /v1/merchants"`)) {
			t.Fatalf("no request log: %s", out)
		}
		for _, s := range []string{o.APIKey, o.WebhookSecret, k.Secret, hook.Secret, adminToken, hashHex(o.APIKey)} {
			mustNotContain(t, "the log", out, s, s[len(s)-20:])
		}
	})
}
