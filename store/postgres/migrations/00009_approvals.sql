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

-- Fixed-window counters of refused attempts (user-code guesses), shared by
-- every node: a versioned update per attempt keeps the count exact.
CREATE TABLE rate_counters (
    id           TEXT COLLATE "C" PRIMARY KEY,
    window_start BIGINT NOT NULL,
    count        BIGINT NOT NULL,
    version      BIGINT NOT NULL
);
CREATE INDEX rate_counters_window ON rate_counters (window_start);

-- Expired sessions are deleted in the background.
CREATE INDEX sessions_expires ON sessions (expires_at);

-- +goose Down
DROP INDEX sessions_expires;
DROP TABLE rate_counters;
DROP TABLE approvals;
