-- +goose Up
-- Agent linking requests (RFC 8628 device authorization) and the grants
-- users give agents, written only through units of work. The user code is
-- the key, so two links never share one; the device code is a secret kept
-- only as its hex SHA-256. Scopes and categories are comma-separated.
CREATE TABLE agent_links (
    user_code          TEXT COLLATE "C" PRIMARY KEY,
    id                 TEXT COLLATE "C" NOT NULL UNIQUE,
    device_code_hash   TEXT COLLATE "C" NOT NULL UNIQUE,
    public_key_jwk     TEXT COLLATE "C" NOT NULL,
    key_id             TEXT COLLATE "C" NOT NULL,
    agent_name         TEXT NOT NULL,
    software_id        TEXT NOT NULL,
    scopes             TEXT COLLATE "C" NOT NULL,
    limit_asset        TEXT COLLATE "C" NOT NULL,
    limit_per_payment  BIGINT NOT NULL,
    limit_per_day      BIGINT NOT NULL,
    limit_per_month    BIGINT NOT NULL,
    request_ip         TEXT COLLATE "C" NOT NULL,
    request_user_agent TEXT NOT NULL,
    status             TEXT COLLATE "C" NOT NULL,
    created_at         BIGINT NOT NULL,
    expires_at         BIGINT NOT NULL,
    poll_interval_ms   BIGINT NOT NULL,
    last_polled_at     BIGINT NOT NULL,
    user_id            TEXT COLLATE "C" NOT NULL,
    grant_id           TEXT COLLATE "C" NOT NULL,
    version            BIGINT NOT NULL
);

CREATE TABLE grants (
    id                   TEXT COLLATE "C" PRIMARY KEY,
    user_id              TEXT COLLATE "C" NOT NULL,
    agent_key_id         TEXT COLLATE "C" NOT NULL,
    scopes               TEXT COLLATE "C" NOT NULL,
    limit_asset          TEXT COLLATE "C" NOT NULL,
    limit_per_payment    BIGINT NOT NULL,
    limit_per_day        BIGINT NOT NULL,
    limit_per_month      BIGINT NOT NULL,
    categories           TEXT COLLATE "C" NOT NULL,
    status               TEXT COLLATE "C" NOT NULL,
    expires_at           BIGINT NOT NULL,
    tip_auto_approve_max BIGINT NOT NULL,
    created_at           BIGINT NOT NULL,
    version              BIGINT NOT NULL
);
CREATE INDEX grants_user ON grants (user_id);
CREATE INDEX grants_agent_key ON grants (agent_key_id);

-- +goose Down
DROP TABLE grants;
DROP TABLE agent_links;
