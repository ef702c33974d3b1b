-- +goose Up
-- Merchants and their API keys, written only through units of work. The
-- webhook secret is kept as is: webhooks are signed with it (HMAC), so it
-- cannot be hashed. API keys are kept as the hex SHA-256 of the secret.
CREATE TABLE merchants (
    id               TEXT COLLATE "C" PRIMARY KEY,
    name             TEXT NOT NULL,
    mcc              TEXT COLLATE "C" NOT NULL,
    country          TEXT COLLATE "C" NOT NULL,
    settlement_asset TEXT COLLATE "C" NOT NULL,
    webhook_url      TEXT COLLATE "C" NOT NULL,
    webhook_secret   TEXT COLLATE "C" NOT NULL,
    status           TEXT COLLATE "C" NOT NULL,
    created_at       BIGINT NOT NULL,
    version          BIGINT NOT NULL
);

CREATE TABLE merchant_api_keys (
    id           TEXT COLLATE "C" PRIMARY KEY,
    merchant_id  TEXT COLLATE "C" NOT NULL,
    hash         TEXT COLLATE "C" NOT NULL UNIQUE,
    prefix       TEXT COLLATE "C" NOT NULL,
    created_at   BIGINT NOT NULL,
    revoked_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    version      BIGINT NOT NULL
);
CREATE INDEX merchant_api_keys_merchant ON merchant_api_keys (merchant_id);

-- +goose Down
DROP TABLE merchant_api_keys;
DROP TABLE merchants;
