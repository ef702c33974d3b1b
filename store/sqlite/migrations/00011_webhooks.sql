-- +goose Up
-- Webhook deliveries: one row per event to deliver to a merchant's endpoint
-- (a redelivery is a new row of the same event, so the same webhook-id).
-- status: pending (not tried yet), failed (retry due at next_attempt_at),
-- succeeded, dead (given up). A node delivering a row claims it first with
-- a versioned update (claimed_by, claimed_until); a claim that expires is
-- taken over by another node, so delivery is at least once. last_error is a
-- short description, never a secret or a response body.
CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,
    event_id         TEXT NOT NULL,
    merchant_id      TEXT NOT NULL,
    url              TEXT NOT NULL,
    status           TEXT NOT NULL,
    attempts         INTEGER NOT NULL,
    first_attempt_at INTEGER NOT NULL,
    next_attempt_at  INTEGER NOT NULL,
    last_attempt_at  INTEGER NOT NULL,
    last_status_code INTEGER NOT NULL,
    last_error       TEXT NOT NULL,
    claimed_by       TEXT NOT NULL,
    claimed_until    INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    version          INTEGER NOT NULL
);
-- The due scan reads only rows still to deliver.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
-- The merchant's delivery log, newest first.
CREATE INDEX webhook_deliveries_merchant ON webhook_deliveries (merchant_id, id);
-- Forgetting deliveries that ended long ago.
CREATE INDEX webhook_deliveries_updated ON webhook_deliveries (updated_at);

-- The state of a merchant's webhook endpoint beside its URL and secret
-- (which stay on merchants): the previous secret, which still signs until
-- previous_secret_expires_at after a rotation, and health: failing_since
-- (the first failed attempt since the last success, 0 when healthy) and
-- disabled_at / disabled_reason. A row exists once any of these was set.
CREATE TABLE webhook_endpoints (
    merchant_id                TEXT PRIMARY KEY,
    previous_secret            TEXT NOT NULL,
    previous_secret_expires_at INTEGER NOT NULL,
    failing_since              INTEGER NOT NULL,
    disabled_at                INTEGER NOT NULL,
    disabled_reason            TEXT NOT NULL,
    updated_at                 INTEGER NOT NULL,
    version                    INTEGER NOT NULL
);

-- +goose Down
DROP TABLE webhook_endpoints;
DROP TABLE webhook_deliveries;
