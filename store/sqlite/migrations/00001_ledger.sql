-- +goose Up
-- history_head is the timestamp of the account's newest transfer: each
-- transfer row points to the previous transfer of its debit and of its
-- credit account (debit_prev, credit_prev), so an account's history is a
-- chain through the append-only transfers table and no transfer is inserted
-- into a per-account index. Random inserts into such indexes were four
-- fifths of the cost of a transfer here.
CREATE TABLE accounts (
    num             INTEGER PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL,
    asset           TEXT NOT NULL,
    flags           INTEGER NOT NULL,
    owner_id        TEXT NOT NULL DEFAULT '',
    debits_pending  INTEGER NOT NULL DEFAULT 0,
    debits_posted   INTEGER NOT NULL DEFAULT 0,
    credits_pending INTEGER NOT NULL DEFAULT 0,
    credits_posted  INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    history_head    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX accounts_owner ON accounts (owner_id) WHERE owner_id <> '';

-- Credits to accounts nobody locked, summed on read and folded in later.
-- SQLite has one writer, so it never writes here; the table exists so that
-- the queries are the same on both engines.
CREATE TABLE account_deltas (
    id              INTEGER PRIMARY KEY,
    account_id      TEXT NOT NULL,
    debits_pending  INTEGER NOT NULL,
    debits_posted   INTEGER NOT NULL,
    credits_pending INTEGER NOT NULL,
    credits_posted  INTEGER NOT NULL
);
CREATE INDEX account_deltas_account ON account_deltas (account_id);

-- Transfers and stored rejections (result <> ''), one id space for both.
-- The timestamp is the row id: the one writer hands out strictly increasing
-- timestamps, so rows are appended in commit order.
CREATE TABLE transfers (
    timestamp         INTEGER PRIMARY KEY,
    id                TEXT NOT NULL UNIQUE,
    debit_account_id  TEXT NOT NULL,
    credit_account_id TEXT NOT NULL,
    debit_num         INTEGER NOT NULL,
    credit_num        INTEGER NOT NULL,
    debit_prev        INTEGER NOT NULL,
    credit_prev       INTEGER NOT NULL,
    amount            INTEGER NOT NULL,
    asset             TEXT NOT NULL,
    flags             INTEGER NOT NULL,
    pending_id        TEXT NOT NULL,
    timeout_seconds   INTEGER NOT NULL,
    reference         TEXT NOT NULL,
    code              TEXT NOT NULL,
    expires_at        INTEGER NOT NULL,
    pending_status    TEXT NOT NULL,
    result            TEXT NOT NULL
);
CREATE INDEX transfers_due ON transfers (expires_at) WHERE pending_status = 'open' AND expires_at > 0;

-- Rows are appended in commit order (seq); only the small unique index on
-- the key is written at random places, not the rows with their bodies.
CREATE TABLE idempotency_keys (
    seq          INTEGER PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    request_hash TEXT NOT NULL,
    status       INTEGER NOT NULL,
    body         BLOB NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);

CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;

-- +goose Down
DROP TABLE leases;
DROP TABLE idempotency_keys;
DROP TABLE transfers;
DROP TABLE account_deltas;
DROP TABLE accounts;
