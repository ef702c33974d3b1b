-- +goose Up
-- Subscriptions (package subscriptions): recurring charges by one merchant
-- under a mandate the user approved with a passkey. Versioned rows; the
-- scheduler finds due ones by (status, next_attempt_at) and those waiting
-- for a mandate's approval by a partial index.
CREATE TABLE subscriptions (
    id                 TEXT PRIMARY KEY,
    user_id            TEXT NOT NULL,
    grant_id           TEXT NOT NULL,
    merchant_id        TEXT NOT NULL,
    mandate_id         TEXT NOT NULL,
    waiting_mandate_id TEXT NOT NULL,
    waiting_amount     BIGINT NOT NULL,
    plan               TEXT NOT NULL,
    asset              TEXT NOT NULL,
    amount             BIGINT NOT NULL,
    interval_unit      TEXT NOT NULL,
    interval_count     BIGINT NOT NULL,
    time_zone          TEXT NOT NULL,
    anchor             BIGINT NOT NULL,
    ends_at            BIGINT NOT NULL,
    status             TEXT NOT NULL,
    next_period        BIGINT NOT NULL,
    next_attempt_at    BIGINT NOT NULL,
    attempts           BIGINT NOT NULL,
    dunning_since      BIGINT NOT NULL,
    decline_code       TEXT NOT NULL,
    event_seq          BIGINT NOT NULL,
    canceled_by        TEXT NOT NULL,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    version            BIGINT NOT NULL
);
CREATE INDEX subscriptions_due ON subscriptions (status, next_attempt_at);
CREATE INDEX subscriptions_waiting ON subscriptions (created_at) WHERE waiting_mandate_id <> '';
CREATE INDEX subscriptions_user ON subscriptions (user_id, created_at);
CREATE INDEX subscriptions_grant ON subscriptions (grant_id, created_at);

-- +goose Down
DROP TABLE subscriptions;
