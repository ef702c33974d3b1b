-- +goose Up
-- Text columns hold ASCII ids and codes: the C collation compares them byte by
-- byte, which the B-tree indexes on ids need to be fast, whatever the
-- database's default collation is.
CREATE TABLE accounts (
    id              TEXT COLLATE "C" PRIMARY KEY,
    kind            TEXT COLLATE "C" NOT NULL,
    asset           TEXT COLLATE "C" NOT NULL,
    flags           BIGINT NOT NULL,
    owner_id        TEXT COLLATE "C" NOT NULL DEFAULT '',
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
    account_id      TEXT COLLATE "C" NOT NULL,
    debits_pending  BIGINT NOT NULL,
    debits_posted   BIGINT NOT NULL,
    credits_pending BIGINT NOT NULL,
    credits_posted  BIGINT NOT NULL
);
CREATE INDEX account_deltas_account ON account_deltas (account_id);

-- Transfers and stored rejections (result <> ''), one id space for both.
CREATE TABLE transfers (
    id                TEXT COLLATE "C" PRIMARY KEY,
    debit_account_id  TEXT COLLATE "C" NOT NULL,
    credit_account_id TEXT COLLATE "C" NOT NULL,
    amount            BIGINT NOT NULL,
    asset             TEXT COLLATE "C" NOT NULL,
    flags             BIGINT NOT NULL,
    pending_id        TEXT COLLATE "C" NOT NULL,
    timeout_seconds   BIGINT NOT NULL,
    reference         TEXT COLLATE "C" NOT NULL,
    code              TEXT COLLATE "C" NOT NULL,
    timestamp         BIGINT NOT NULL,
    expires_at        BIGINT NOT NULL,
    pending_status    TEXT COLLATE "C" NOT NULL,
    result            TEXT COLLATE "C" NOT NULL
);
CREATE INDEX transfers_debit ON transfers (debit_account_id, timestamp) WHERE result = '';
CREATE INDEX transfers_credit ON transfers (credit_account_id, timestamp) WHERE result = '';
CREATE INDEX transfers_due ON transfers (expires_at) WHERE pending_status = 'open' AND expires_at > 0;

CREATE TABLE idempotency_keys (
    id           TEXT COLLATE "C" PRIMARY KEY,
    request_hash TEXT COLLATE "C" NOT NULL,
    status       BIGINT NOT NULL,
    body         BYTEA NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);

CREATE TABLE leases (
    name       TEXT COLLATE "C" PRIMARY KEY,
    holder     TEXT COLLATE "C" NOT NULL,
    expires_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE leases;
DROP TABLE idempotency_keys;
DROP TABLE transfers;
DROP TABLE account_deltas;
DROP TABLE accounts;
