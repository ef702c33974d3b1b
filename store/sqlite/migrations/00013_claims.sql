-- +goose Up
-- Claims: a user's claim on a captured payment (package compensation), one
-- row per claim changed by versioned updates. Amounts are minor units of
-- asset; recovered is what the merchant paid back into the protection
-- fund, debt what it still owes on the claim. evidence_json holds what the
-- adjudication looked at (approval ids, verification results, the other
-- payment of a duplicate).
CREATE TABLE claims (
    id                        TEXT PRIMARY KEY,
    payment_id                TEXT NOT NULL,
    user_id                   TEXT NOT NULL,
    merchant_id               TEXT NOT NULL,
    agent_key_id              TEXT NOT NULL,
    grant_id                  TEXT NOT NULL,
    kind                      TEXT NOT NULL,
    status                    TEXT NOT NULL,
    amount                    INTEGER NOT NULL,
    asset                     TEXT NOT NULL,
    description               TEXT NOT NULL,
    decision_code             TEXT NOT NULL,
    decision_note             TEXT NOT NULL,
    decided_by                TEXT NOT NULL,
    recovered                 INTEGER NOT NULL,
    debt                      INTEGER NOT NULL,
    reimbursement_transfer_id TEXT NOT NULL,
    recovery_transfer_id      TEXT NOT NULL,
    evidence_json             TEXT NOT NULL,
    created_at                INTEGER NOT NULL,
    decided_at                INTEGER NOT NULL,
    updated_at                INTEGER NOT NULL,
    version                   INTEGER NOT NULL
);
CREATE INDEX claims_user ON claims (user_id, created_at);
CREATE INDEX claims_merchant ON claims (merchant_id, created_at);
CREATE INDEX claims_payment ON claims (payment_id, created_at);
CREATE INDEX claims_status ON claims (status, created_at);
CREATE INDEX claims_debt ON claims (created_at) WHERE debt > 0;
-- The committer enforces this through claim_slots; the index is the
-- database's own backstop.
CREATE UNIQUE INDEX claims_active_payment ON claims (payment_id) WHERE status <> 'denied';

-- The n-th claim of a payment takes the slot "payment_id:n" (insert only),
-- so two claims racing for one payment cannot both be filed.
CREATE TABLE claim_slots (
    id         TEXT PRIMARY KEY,
    claim_id   TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- +goose Down
DROP TABLE claim_slots;
DROP TABLE claims;
