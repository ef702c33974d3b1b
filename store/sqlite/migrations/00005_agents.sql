-- +goose Up
-- Agent linking requests (RFC 8628 device authorization) and the grants
-- users give agents, written only through units of work. The user code is
-- the key, so two links never share one; the device code is a secret kept
-- only as its hex SHA-256. Scopes and categories are comma-separated.
CREATE TABLE agent_links (
    user_code          TEXT PRIMARY KEY,
    id                 TEXT NOT NULL UNIQUE,
    device_code_hash   TEXT NOT NULL UNIQUE,
    public_key_jwk     TEXT NOT NULL,
    key_id             TEXT NOT NULL,
    agent_name         TEXT NOT NULL,
    software_id        TEXT NOT NULL,
    scopes             TEXT NOT NULL,
    limit_asset        TEXT NOT NULL,
    limit_per_payment  INTEGER NOT NULL,
    limit_per_day      INTEGER NOT NULL,
    limit_per_month    INTEGER NOT NULL,
    request_ip         TEXT NOT NULL,
    request_user_agent TEXT NOT NULL,
    status             TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    expires_at         INTEGER NOT NULL,
    poll_interval_ms   INTEGER NOT NULL,
    last_polled_at     INTEGER NOT NULL,
    user_id            TEXT NOT NULL,
    grant_id           TEXT NOT NULL,
    version            INTEGER NOT NULL
);

CREATE TABLE grants (
    id                   TEXT PRIMARY KEY,
    user_id              TEXT NOT NULL,
    agent_key_id         TEXT NOT NULL,
    scopes               TEXT NOT NULL,
    limit_asset          TEXT NOT NULL,
    limit_per_payment    INTEGER NOT NULL,
    limit_per_day        INTEGER NOT NULL,
    limit_per_month      INTEGER NOT NULL,
    categories           TEXT NOT NULL,
    status               TEXT NOT NULL,
    expires_at           INTEGER NOT NULL,
    tip_auto_approve_max INTEGER NOT NULL,
    created_at           INTEGER NOT NULL,
    version              INTEGER NOT NULL
);
CREATE INDEX grants_user ON grants (user_id);
CREATE INDEX grants_agent_key ON grants (agent_key_id);

-- +goose Down
DROP TABLE grants;
DROP TABLE agent_links;
