-- +goose Up
-- Counters that only ever add up (risk velocity windows, amount histograms,
-- claim and decision counts): a unit adds to them with an upsert, so
-- concurrent units never conflict on them and every node sees exact sums.
-- expires_at lets the cleanup job forget windows nobody reads any more.
-- WITHOUT ROWID: a counter is read by its key, and so found in one B-tree
-- instead of the key's index and then the table.
CREATE TABLE counters (
    id         TEXT PRIMARY KEY,
    n          BIGINT NOT NULL,
    amount     BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
) WITHOUT ROWID;
CREATE INDEX counters_expiry ON counters (expires_at);

-- Every risk decision with the signals it used, so it can be explained.
CREATE TABLE risk_decisions (
    id            TEXT PRIMARY KEY,
    payment_id    TEXT NOT NULL,
    payment_version BIGINT NOT NULL,
    stage         TEXT NOT NULL,
    outcome       TEXT NOT NULL,
    reasons_json  TEXT NOT NULL,
    signals_json  TEXT NOT NULL,
    rules_version BIGINT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX risk_decisions_payment ON risk_decisions (payment_id, created_at);

-- Rule sets, one row per version; the newest is in force.
CREATE TABLE risk_rules (
    id         TEXT PRIMARY KEY,
    version    BIGINT NOT NULL UNIQUE,
    text       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE risk_rules;
DROP TABLE risk_decisions;
DROP TABLE counters;
