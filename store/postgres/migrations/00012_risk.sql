-- +goose Up
-- Counters that only ever add up (risk velocity windows, amount histograms,
-- claim and decision counts): a unit adds to them with an upsert, so
-- concurrent units never conflict on them and every node sees exact sums.
-- expires_at lets the cleanup job forget windows nobody reads any more.
CREATE TABLE counters (
    id         TEXT COLLATE "C" PRIMARY KEY,
    n          BIGINT NOT NULL,
    amount     BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX counters_expiry ON counters (expires_at);

-- Every risk decision with the signals it used, so it can be explained.
CREATE TABLE risk_decisions (
    id            TEXT COLLATE "C" PRIMARY KEY,
    payment_id    TEXT COLLATE "C" NOT NULL,
    payment_version BIGINT NOT NULL,
    stage         TEXT COLLATE "C" NOT NULL,
    outcome       TEXT COLLATE "C" NOT NULL,
    reasons_json  TEXT COLLATE "C" NOT NULL,
    signals_json  TEXT COLLATE "C" NOT NULL,
    rules_version BIGINT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX risk_decisions_payment ON risk_decisions (payment_id, created_at);

-- Rule sets, one row per version; the newest is in force.
CREATE TABLE risk_rules (
    id         TEXT COLLATE "C" PRIMARY KEY,
    version    BIGINT NOT NULL UNIQUE,
    text       TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE risk_rules;
DROP TABLE risk_decisions;
DROP TABLE counters;
