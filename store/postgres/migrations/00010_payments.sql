-- +goose Up
-- Payments: one row per payment, changed by versioned updates. The order
-- (items, description, purpose) is JSON; amounts are minor units of asset.
CREATE TABLE payments (
    id                  TEXT COLLATE "C" PRIMARY KEY,
    order_version       BIGINT NOT NULL,
    status              TEXT COLLATE "C" NOT NULL,
    user_id             TEXT COLLATE "C" NOT NULL,
    grant_id            TEXT COLLATE "C" NOT NULL,
    agent_key_id        TEXT COLLATE "C" NOT NULL,
    merchant_id         TEXT COLLATE "C" NOT NULL,
    asset               TEXT COLLATE "C" NOT NULL,
    order_json          TEXT COLLATE "C" NOT NULL,
    subtotal            BIGINT NOT NULL,
    tax                 BIGINT NOT NULL,
    shipping            BIGINT NOT NULL,
    fees                BIGINT NOT NULL,
    tip                 BIGINT NOT NULL,
    total               BIGINT NOT NULL,
    authorized          BIGINT NOT NULL,
    captured            BIGINT NOT NULL,
    refunded            BIGINT NOT NULL,
    hold_id             TEXT COLLATE "C" NOT NULL,
    shared              TEXT COLLATE "C" NOT NULL,
    cancel_reason       TEXT COLLATE "C" NOT NULL,
    canceled_by         TEXT COLLATE "C" NOT NULL,
    decline_code        TEXT COLLATE "C" NOT NULL,
    approval_expires_at BIGINT NOT NULL,
    capture_expires_at  BIGINT NOT NULL,
    approved_at         BIGINT NOT NULL,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    version             BIGINT NOT NULL
);
CREATE INDEX payments_grant ON payments (grant_id, created_at);
CREATE INDEX payments_user ON payments (user_id, created_at);
CREATE INDEX payments_merchant ON payments (merchant_id, created_at);
CREATE INDEX payments_approval_due ON payments (status, approval_expires_at);
CREATE INDEX payments_capture_due ON payments (status, capture_expires_at);

-- Refunds of captured payments: each a ledger transfer back to the wallet.
CREATE TABLE refunds (
    id          TEXT COLLATE "C" PRIMARY KEY,
    payment_id  TEXT COLLATE "C" NOT NULL,
    merchant_id TEXT COLLATE "C" NOT NULL,
    amount      BIGINT NOT NULL,
    asset       TEXT COLLATE "C" NOT NULL,
    transfer_id TEXT COLLATE "C" NOT NULL,
    reason      TEXT COLLATE "C" NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX refunds_payment ON refunds (payment_id, created_at);

-- What a user chose to share with the merchant of one payment. Personal
-- data lives here, not in events, so it can be erased.
CREATE TABLE payment_shares (
    payment_id TEXT COLLATE "C" PRIMARY KEY,
    name       TEXT COLLATE "C" NOT NULL,
    email      TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL
);

-- Spending per grant and per user, per day and per month, consumed in the
-- approving unit of work with a versioned update, so two concurrent
-- approvals can never both fit a budget that holds one.
CREATE TABLE spend_counters (
    id      TEXT COLLATE "C" PRIMARY KEY,
    amount  BIGINT NOT NULL,
    version BIGINT NOT NULL
);

-- The outbox: every change to a payment writes an event in its unit of
-- work, numbered per object (seq, the payment's row version). Events hold
-- ids and amounts, never personal data. Webhook delivery reads from here.
CREATE TABLE events (
    id          TEXT COLLATE "C" PRIMARY KEY,
    object_id   TEXT COLLATE "C" NOT NULL,
    merchant_id TEXT COLLATE "C" NOT NULL,
    user_id     TEXT COLLATE "C" NOT NULL,
    type        TEXT COLLATE "C" NOT NULL,
    seq         BIGINT NOT NULL,
    data        TEXT COLLATE "C" NOT NULL,
    created_at  BIGINT NOT NULL
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
