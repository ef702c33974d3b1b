-- +goose Up
CREATE TABLE accounts (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,
    asset           TEXT NOT NULL,
    flags           BIGINT NOT NULL,
    owner_id        TEXT NOT NULL DEFAULT '',
    debits_pending  BIGINT NOT NULL DEFAULT 0,
    debits_posted   BIGINT NOT NULL DEFAULT 0,
    credits_pending BIGINT NOT NULL DEFAULT 0,
    credits_posted  BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL
);
CREATE INDEX accounts_owner ON accounts (owner_id) WHERE owner_id <> '';

-- Credits to accounts nobody locked, summed on read and folded in later.
-- Written for accounts a batch did not lock, so hot accounts never serialize.
CREATE TABLE account_deltas (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id      TEXT NOT NULL,
    debits_pending  BIGINT NOT NULL,
    debits_posted   BIGINT NOT NULL,
    credits_pending BIGINT NOT NULL,
    credits_posted  BIGINT NOT NULL
);
CREATE INDEX account_deltas_account ON account_deltas (account_id);

-- Transfers and stored rejections (result <> ''), one id space for both.
CREATE TABLE transfers (
    id                TEXT PRIMARY KEY,
    debit_account_id  TEXT NOT NULL,
    credit_account_id TEXT NOT NULL,
    amount            BIGINT NOT NULL,
    asset             TEXT NOT NULL,
    flags             BIGINT NOT NULL,
    pending_id        TEXT NOT NULL,
    timeout_seconds   BIGINT NOT NULL,
    reference         TEXT NOT NULL,
    code              TEXT NOT NULL,
    timestamp         BIGINT NOT NULL,
    expires_at        BIGINT NOT NULL,
    pending_status    TEXT NOT NULL,
    result            TEXT NOT NULL
);
CREATE INDEX transfers_debit ON transfers (debit_account_id, timestamp) WHERE result = '';
CREATE INDEX transfers_credit ON transfers (credit_account_id, timestamp) WHERE result = '';
CREATE INDEX transfers_due ON transfers (expires_at) WHERE pending_status = 'open' AND expires_at > 0;

CREATE TABLE idempotency_keys (
    id           TEXT PRIMARY KEY,
    request_hash TEXT NOT NULL,
    status       BIGINT NOT NULL,
    body         BYTEA NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);

CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE leases;
DROP TABLE idempotency_keys;
DROP TABLE transfers;
DROP TABLE account_deltas;
DROP TABLE accounts;
