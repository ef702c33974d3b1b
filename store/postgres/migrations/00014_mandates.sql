-- +goose Up
-- Mandates: terms a user approved once with a passkey, under which charges
-- move money without a tap each (subscriptions, tips, open mandates).
-- Versioned rows; their budgets are spend_counters keyed by period.
CREATE TABLE mandates (
    id              TEXT COLLATE "C" PRIMARY KEY,
    kind            TEXT COLLATE "C" NOT NULL,
    user_id         TEXT COLLATE "C" NOT NULL,
    grant_id        TEXT COLLATE "C" NOT NULL,
    merchant_id     TEXT COLLATE "C" NOT NULL,
    categories      TEXT COLLATE "C" NOT NULL,
    asset           TEXT COLLATE "C" NOT NULL,
    per_payment_max BIGINT NOT NULL,
    budget          BIGINT NOT NULL,
    period_unit     TEXT COLLATE "C" NOT NULL,
    period_count    BIGINT NOT NULL,
    time_zone       TEXT COLLATE "C" NOT NULL,
    starts_at       BIGINT NOT NULL,
    ends_at         BIGINT NOT NULL,
    description     TEXT COLLATE "C" NOT NULL,
    status          TEXT COLLATE "C" NOT NULL,
    approved_at     BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    version         BIGINT NOT NULL
);
CREATE INDEX mandates_user ON mandates (user_id, created_at);
CREATE INDEX mandates_merchant ON mandates (merchant_id, created_at);
CREATE INDEX mandates_grant ON mandates (grant_id, created_at);

-- Charges made once per key (a subscription's period, a scheduler's
-- attempt): the row is written in the charge's unit, so a second charge
-- under the same key fails on every node.
CREATE TABLE mandate_charges (
    id         TEXT COLLATE "C" PRIMARY KEY,
    mandate_id TEXT COLLATE "C" NOT NULL,
    payment_id TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL
);

-- The mandate a payment was charged under ('' for one approved itself).
ALTER TABLE payments ADD COLUMN mandate_id TEXT COLLATE "C" NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE payments DROP COLUMN mandate_id;
DROP TABLE mandate_charges;
DROP TABLE mandates;
