-- +goose Up
-- Users and their identity verification, written only through units of work.
-- Email addresses and phone numbers are personal data: they live here and in
-- user_contacts, never in events. One-time codes are kept only as salted
-- HMAC-SHA256; document references only as salted SHA-256.
CREATE TABLE users (
    id                TEXT COLLATE "C" PRIMARY KEY,
    email             TEXT COLLATE "C" NOT NULL,
    phone             TEXT COLLATE "C" NOT NULL,
    display_name      TEXT NOT NULL,
    country           TEXT COLLATE "C" NOT NULL,
    tier              BIGINT NOT NULL,
    verify_started_at BIGINT NOT NULL,
    created_at        BIGINT NOT NULL,
    version           BIGINT NOT NULL
);

-- One row per email address ("email:…") or phone number ("phone:…"): its key
-- makes each belong to one user, on every node.
CREATE TABLE user_contacts (
    contact    TEXT COLLATE "C" PRIMARY KEY,
    user_id    TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX user_contacts_user ON user_contacts (user_id);

CREATE TABLE verification_challenges (
    id          TEXT COLLATE "C" PRIMARY KEY,
    user_id     TEXT COLLATE "C" NOT NULL,
    kind        TEXT COLLATE "C" NOT NULL,
    channel     TEXT COLLATE "C" NOT NULL,
    code_hash   TEXT COLLATE "C" NOT NULL,
    salt        TEXT COLLATE "C" NOT NULL,
    expires_at  BIGINT NOT NULL,
    attempts    BIGINT NOT NULL,
    status      TEXT COLLATE "C" NOT NULL,
    created_at  BIGINT NOT NULL,
    version     BIGINT NOT NULL
);
CREATE INDEX verification_challenges_user ON verification_challenges (user_id, kind, created_at);

CREATE TABLE verification_evidence (
    id             TEXT COLLATE "C" PRIMARY KEY,
    user_id        TEXT COLLATE "C" NOT NULL,
    challenge_id   TEXT COLLATE "C" NOT NULL,
    kind           TEXT COLLATE "C" NOT NULL,
    evidence_type  TEXT COLLATE "C" NOT NULL,
    reference_hash TEXT COLLATE "C" NOT NULL,
    salt           TEXT COLLATE "C" NOT NULL,
    tier           BIGINT NOT NULL,
    created_at     BIGINT NOT NULL
);
CREATE INDEX verification_evidence_user ON verification_evidence (user_id);

-- +goose Down
DROP TABLE verification_evidence;
DROP TABLE verification_challenges;
DROP TABLE user_contacts;
DROP TABLE users;
