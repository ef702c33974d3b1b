-- +goose Up
-- Users' passkeys (WebAuthn credentials), the server-side state of WebAuthn
-- ceremonies (single use, short-lived) and page sessions. Written only
-- through units of work. A session's id is the SHA-256 of its cookie's
-- token: the token itself is never stored.
CREATE TABLE passkeys (
    id           TEXT COLLATE "C" PRIMARY KEY,
    user_id      TEXT COLLATE "C" NOT NULL,
    public_key   TEXT COLLATE "C" NOT NULL,
    sign_count   BIGINT NOT NULL,
    aaguid       TEXT COLLATE "C" NOT NULL,
    transports   TEXT COLLATE "C" NOT NULL,
    flags        BIGINT NOT NULL,
    cloned       BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    version      BIGINT NOT NULL
);
CREATE INDEX passkeys_user ON passkeys (user_id);

CREATE TABLE webauthn_ceremonies (
    id         TEXT COLLATE "C" PRIMARY KEY,
    kind       TEXT COLLATE "C" NOT NULL,
    user_id    TEXT COLLATE "C" NOT NULL,
    data       TEXT NOT NULL,
    status     TEXT COLLATE "C" NOT NULL,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    version    BIGINT NOT NULL
);
CREATE INDEX webauthn_ceremonies_expires ON webauthn_ceremonies (expires_at);

CREATE TABLE sessions (
    id         TEXT COLLATE "C" PRIMARY KEY,
    user_id    TEXT COLLATE "C" NOT NULL,
    csrf_token TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    version    BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

-- +goose Down
DROP TABLE sessions;
DROP TABLE webauthn_ceremonies;
DROP TABLE passkeys;
