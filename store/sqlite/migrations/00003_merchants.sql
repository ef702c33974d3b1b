-- +goose Up
-- Merchants and their API keys, written only through units of work. The
-- webhook secret is kept as is: webhooks are signed with it (HMAC), so it
-- cannot be hashed. API keys are kept as the hex SHA-256 of the secret.
CREATE TABLE merchants (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    mcc              TEXT NOT NULL,
    country          TEXT NOT NULL,
    settlement_asset TEXT NOT NULL,
    webhook_url      TEXT NOT NULL,
    webhook_secret   TEXT NOT NULL,
    status           TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    version          INTEGER NOT NULL
);

CREATE TABLE merchant_api_keys (
    id           TEXT PRIMARY KEY,
    merchant_id  TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE,
    prefix       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    revoked_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    version      INTEGER NOT NULL
);
CREATE INDEX merchant_api_keys_merchant ON merchant_api_keys (merchant_id);

-- +goose Down
DROP TABLE merchant_api_keys;
DROP TABLE merchants;
