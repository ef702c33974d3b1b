-- +goose Up
-- Users' passkeys (WebAuthn credentials), the server-side state of WebAuthn
-- ceremonies (single use, short-lived) and page sessions. Written only
-- through units of work. A session's id is the SHA-256 of its cookie's
-- token: the token itself is never stored.
CREATE TABLE passkeys (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL,
    public_key   TEXT NOT NULL,
    sign_count   INTEGER NOT NULL,
    aaguid       TEXT NOT NULL,
    transports   TEXT NOT NULL,
    flags        INTEGER NOT NULL,
    cloned       INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    version      INTEGER NOT NULL
);
CREATE INDEX passkeys_user ON passkeys (user_id);

CREATE TABLE webauthn_ceremonies (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    data       TEXT NOT NULL,
    status     TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    version    INTEGER NOT NULL
);
CREATE INDEX webauthn_ceremonies_expires ON webauthn_ceremonies (expires_at);

CREATE TABLE sessions (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    csrf_token TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    version    INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

-- +goose Down
DROP TABLE sessions;
DROP TABLE webauthn_ceremonies;
DROP TABLE passkeys;
