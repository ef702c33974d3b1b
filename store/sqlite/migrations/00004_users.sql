-- +goose Up
-- Users and their identity verification, written only through units of work.
-- Email addresses and phone numbers are personal data: they live here and in
-- user_contacts, never in events. One-time codes are kept only as salted
-- HMAC-SHA256; document references only as salted SHA-256.
CREATE TABLE users (
    id                TEXT PRIMARY KEY,
    email             TEXT NOT NULL,
    phone             TEXT NOT NULL,
    display_name      TEXT NOT NULL,
    country           TEXT NOT NULL,
    tier              INTEGER NOT NULL,
    verify_started_at INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    version           INTEGER NOT NULL
);

-- One row per email address ("email:…") or phone number ("phone:…"): its key
-- makes each belong to one user, on every node.
CREATE TABLE user_contacts (
    contact    TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX user_contacts_user ON user_contacts (user_id);

CREATE TABLE verification_challenges (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL,
    kind        TEXT NOT NULL,
    channel     TEXT NOT NULL,
    code_hash   TEXT NOT NULL,
    salt        TEXT NOT NULL,
    expires_at  INTEGER NOT NULL,
    attempts    INTEGER NOT NULL,
    status      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    version     INTEGER NOT NULL
);
CREATE INDEX verification_challenges_user ON verification_challenges (user_id, kind, created_at);

CREATE TABLE verification_evidence (
    id             TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL,
    challenge_id   TEXT NOT NULL,
    kind           TEXT NOT NULL,
    evidence_type  TEXT NOT NULL,
    reference_hash TEXT NOT NULL,
    salt           TEXT NOT NULL,
    tier           INTEGER NOT NULL,
    created_at     INTEGER NOT NULL
);
CREATE INDEX verification_evidence_user ON verification_evidence (user_id);

-- +goose Down
DROP TABLE verification_evidence;
DROP TABLE verification_challenges;
DROP TABLE user_contacts;
DROP TABLE users;
