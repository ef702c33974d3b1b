-- +goose Up
-- Approvals are the evidence of a user's passkey consent: the canonical
-- JSON of what they agreed to, the WebAuthn challenge derived from it and
-- the authenticator's signed response, which re-verifies offline against
-- the passkey's public key. Written in the same unit of work as what they
-- approved, never changed.
CREATE TABLE approvals (
    id         TEXT COLLATE "C" PRIMARY KEY,
    user_id    TEXT COLLATE "C" NOT NULL,
    passkey_id TEXT COLLATE "C" NOT NULL,
    subject    TEXT COLLATE "C" NOT NULL,
    object     TEXT COLLATE "C" NOT NULL,
    challenge  TEXT COLLATE "C" NOT NULL,
    assertion  TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX approvals_subject ON approvals (subject);
CREATE INDEX approvals_user ON approvals (user_id, created_at);

-- Refused attempts (user-code guesses), one row each, shared by every
-- node: counting rows in a sliding window needs no read-modify-write, so
-- concurrent attempts never conflict and each is counted.
CREATE TABLE rate_attempts (
    id  TEXT COLLATE "C" PRIMARY KEY,
    key TEXT COLLATE "C" NOT NULL,
    at  BIGINT NOT NULL
);
CREATE INDEX rate_attempts_key ON rate_attempts (key, at);
CREATE INDEX rate_attempts_at ON rate_attempts (at);

-- Expired sessions are deleted in the background.
CREATE INDEX sessions_expires ON sessions (expires_at);

-- +goose Down
DROP INDEX sessions_expires;
DROP TABLE rate_attempts;
DROP TABLE approvals;
