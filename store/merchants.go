package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/agentpay/agentpay"
)

// MerchantsTable holds merchants. Values of a Row, in column order: id,
// name, kind, mcc, country, settlement_asset, webhook_url, webhook_secret,
// status (all string), created_at, version (int64; a new row starts at 1).
var MerchantsTable = &Table{
	Name: "merchants",
	Key:  "id",
	Columns: []string{"id", "name", "kind", "mcc", "country", "settlement_asset", "webhook_url", "webhook_secret",
		"status", "created_at", "version"},
	Types:   []ColumnType{Text, Text, Text, Text, Text, Text, Text, Text, Text, Int, Int},
	Version: "version",
}

// APIKeysTable holds merchants' API keys: the SHA-256 of each secret, never
// the secret. Values of a Row: id, merchant_id, hash, prefix (string),
// created_at, revoked_at (0: active), last_used_at, version (int64).
var APIKeysTable = &Table{
	Name:    "merchant_api_keys",
	Key:     "id",
	Columns: []string{"id", "merchant_id", "hash", "prefix", "created_at", "revoked_at", "last_used_at", "version"},
	Types:   []ColumnType{Text, Text, Text, Text, Int, Int, Int, Int},
	Version: "version",
}

// MerchantRow returns the row that inserts a new merchant (version 1). A
// merchant without a kind is a business, as every merchant was before
// kinds.
func MerchantRow(m agentpay.Merchant, webhookSecret string) Row {
	kind := m.Kind
	if kind == "" {
		kind = agentpay.MerchantBusiness
	}
	return Row{Table: MerchantsTable, Values: []any{m.ID, m.Name, string(kind), m.MCC, m.Country, m.SettlementAsset,
		m.WebhookURL, webhookSecret, string(m.Status), m.CreatedAt, int64(1)}}
}

// APIKeyRow returns the row that inserts a new API key (version 1) whose
// secret has the given hash.
func APIKeyRow(k agentpay.APIKey, hash string) Row {
	return Row{Table: APIKeysTable, Values: []any{k.ID, k.MerchantID, hash, k.Prefix, k.CreatedAt, k.RevokedAt, k.LastUsedAt, int64(1)}}
}

// StoredMerchant is a merchant row: the merchant, its webhook signing
// secret and the version to update it at, with the state of its webhook
// endpoint (read with it, so whoever holds a merchant can tell whether its
// endpoint is disabled without another read).
type StoredMerchant struct {
	agentpay.Merchant
	WebhookSecret string
	Version       int64
	Webhook       WebhookEndpoint
}

// StoredAPIKey is an API key row with the version to update it at.
type StoredAPIKey struct {
	agentpay.APIKey
	Version int64
}

const merchantSelect = `SELECT m.id, m.name, m.kind, m.mcc, m.country, m.settlement_asset, m.webhook_url, m.webhook_secret,
	m.status, m.created_at, m.version, COALESCE(w.previous_secret, ''), COALESCE(w.previous_secret_expires_at, 0),
	COALESCE(w.failing_since, 0), COALESCE(w.disabled_at, 0), COALESCE(w.disabled_reason, ''),
	COALESCE(w.updated_at, 0), COALESCE(w.version, 0)
	FROM merchants m LEFT JOIN webhook_endpoints w ON w.merchant_id = m.id WHERE m.id = $1`

// Merchant returns a merchant; an unknown id is not_found (merchant_not_found).
func (db *DB) Merchant(ctx context.Context, id string) (StoredMerchant, error) {
	var m StoredMerchant
	var status, kind string
	w := &m.Webhook
	err := db.reader.QueryRowContext(ctx, merchantSelect, id).Scan(&m.ID, &m.Name, &kind, &m.MCC, &m.Country,
		&m.SettlementAsset, &m.WebhookURL, &m.WebhookSecret, &status, &m.CreatedAt, &m.Version,
		&w.PreviousSecret, &w.PreviousSecretExpiresAt, &w.FailingSince, &w.DisabledAt, &w.DisabledReason, &w.UpdatedAt,
		&w.Version)
	m.Status, m.Kind = agentpay.MerchantStatus(status), agentpay.MerchantKind(kind)
	w.MerchantID = m.ID
	if errors.Is(err, sql.ErrNoRows) {
		return m, agentpay.Errorf(agentpay.ENOTFOUND, "merchant_not_found", "merchant %s not found", id)
	}
	if err != nil {
		return m, fmt.Errorf("store: merchant: %w", err)
	}
	return m, nil
}

const apiKeyColumns = `id, merchant_id, prefix, created_at, revoked_at, last_used_at, version`

func scanAPIKey(row interface{ Scan(...any) error }) (StoredAPIKey, error) {
	var k StoredAPIKey
	err := row.Scan(&k.ID, &k.MerchantID, &k.Prefix, &k.CreatedAt, &k.RevokedAt, &k.LastUsedAt, &k.Version)
	return k, err
}

// APIKeyByHash returns the API key whose secret has this hex SHA-256; an
// unknown hash is not_found (api_key_not_found).
func (db *DB) APIKeyByHash(ctx context.Context, hash string) (StoredAPIKey, error) {
	k, err := scanAPIKey(db.reader.QueryRowContext(ctx, `SELECT `+apiKeyColumns+` FROM merchant_api_keys WHERE hash = $1`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return k, agentpay.Errorf(agentpay.ENOTFOUND, "api_key_not_found", "no such API key")
	}
	if err != nil {
		return k, fmt.Errorf("store: api key: %w", err)
	}
	return k, nil
}

// APIKeys returns a merchant's API keys, revoked ones included, oldest first.
func (db *DB) APIKeys(ctx context.Context, merchantID string) ([]StoredAPIKey, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT `+apiKeyColumns+` FROM merchant_api_keys WHERE merchant_id = $1 ORDER BY id`, merchantID)
	if err != nil {
		return nil, fmt.Errorf("store: api keys: %w", err)
	}
	defer rows.Close()
	var out []StoredAPIKey
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, fmt.Errorf("store: api keys: %w", err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// AccountsByOwner returns the accounts a user or merchant owns, with their
// current balances, ordered by id. It reads through the accounts_owner index.
func (db *DB) AccountsByOwner(ctx context.Context, ownerID string) ([]agentpay.Account, error) {
	if ownerID == "" {
		return nil, nil // system accounts have no owner; they are not anybody's
	}
	rows, err := db.reader.QueryContext(ctx, AccountQuery(
		"WHERE account_id IN (SELECT id FROM accounts WHERE owner_id = $1 AND owner_id <> '')",
		"WHERE a.owner_id = $2 AND a.owner_id <> '' ORDER BY a.id"), ownerID, ownerID)
	if err != nil {
		return nil, fmt.Errorf("store: accounts by owner: %w", err)
	}
	defer rows.Close()
	var out []agentpay.Account
	for rows.Next() {
		a, err := ScanAccount(rows)
		if err != nil {
			return nil, fmt.Errorf("store: accounts by owner: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}
