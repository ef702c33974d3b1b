-- +goose Up
-- Payments: one row per payment, changed by versioned updates. The order
-- (items, description, purpose) is JSON; amounts are minor units of asset.
CREATE TABLE payments (
    id                  TEXT PRIMARY KEY,
    order_version       INTEGER NOT NULL,
    status              TEXT NOT NULL,
    user_id             TEXT NOT NULL,
    grant_id            TEXT NOT NULL,
    agent_key_id        TEXT NOT NULL,
    merchant_id         TEXT NOT NULL,
    asset               TEXT NOT NULL,
    order_json          TEXT NOT NULL,
    subtotal            INTEGER NOT NULL,
    tax                 INTEGER NOT NULL,
    shipping            INTEGER NOT NULL,
    fees                INTEGER NOT NULL,
    tip                 INTEGER NOT NULL,
    total               INTEGER NOT NULL,
    authorized          INTEGER NOT NULL,
    captured            INTEGER NOT NULL,
    refunded            INTEGER NOT NULL,
    hold_id             TEXT NOT NULL,
    shared              TEXT NOT NULL,
    cancel_reason       TEXT NOT NULL,
    canceled_by         TEXT NOT NULL,
    decline_code        TEXT NOT NULL,
    approval_expires_at INTEGER NOT NULL,
    capture_expires_at  INTEGER NOT NULL,
    approved_at         INTEGER NOT NULL,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    version             INTEGER NOT NULL
);
CREATE INDEX payments_grant ON payments (grant_id, created_at);
CREATE INDEX payments_user ON payments (user_id, created_at);
CREATE INDEX payments_merchant ON payments (merchant_id, created_at);
CREATE INDEX payments_approval_due ON payments (status, approval_expires_at);
CREATE INDEX payments_capture_due ON payments (status, capture_expires_at);

-- Refunds of captured payments: each a ledger transfer back to the wallet.
CREATE TABLE refunds (
    id          TEXT PRIMARY KEY,
    payment_id  TEXT NOT NULL,
    merchant_id TEXT NOT NULL,
    amount      INTEGER NOT NULL,
    asset       TEXT NOT NULL,
    transfer_id TEXT NOT NULL,
    reason      TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX refunds_payment ON refunds (payment_id, created_at);

-- What a user chose to share with the merchant of one payment. Personal
-- data lives here, not in events, so it can be erased.
CREATE TABLE payment_shares (
    payment_id TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    email      TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- Spending per grant and per user, per day and per month, consumed in the
-- approving unit of work with a versioned update, so two concurrent
-- approvals can never both fit a budget that holds one.
CREATE TABLE spend_counters (
    id      TEXT PRIMARY KEY,
    amount  INTEGER NOT NULL,
    version INTEGER NOT NULL
);

-- The outbox: every change to a payment writes an event in its unit of
-- work, numbered per object (seq, the payment's row version). Events hold
-- ids and amounts, never personal data. Webhook delivery reads from here.
CREATE TABLE events (
    id          TEXT PRIMARY KEY,
    object_id   TEXT NOT NULL,
    merchant_id TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    type        TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    data        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX events_object_seq ON events (object_id, seq);
CREATE INDEX events_merchant ON events (merchant_id, created_at);
CREATE INDEX events_user ON events (user_id, created_at);

-- +goose Down
DROP TABLE events;
DROP TABLE spend_counters;
DROP TABLE payment_shares;
DROP TABLE refunds;
DROP TABLE payments;
