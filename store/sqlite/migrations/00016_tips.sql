-- +goose Up
-- Tips: which payments are tips an agent gave, with the note shown to the
-- user and the merchant. The payment itself is an ordinary payments row
-- (id = its id), so disputes, refunds and webhooks treat a tip like any
-- payment; this row only marks it. auto_approved is 1 when the tip was
-- charged under the user's tips mandate (mandate_id) without a tap.
-- Lists page by id, which sorts by creation time (agentpay.NewID).
CREATE TABLE tips (
    id            TEXT PRIMARY KEY,
    grant_id      TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    merchant_id   TEXT NOT NULL,
    amount        INTEGER NOT NULL,
    asset         TEXT NOT NULL,
    note          TEXT NOT NULL,
    auto_approved INTEGER NOT NULL,
    mandate_id    TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX tips_grant ON tips (grant_id, id);
CREATE INDEX tips_user ON tips (user_id, id);
CREATE INDEX tips_merchant ON tips (merchant_id, id);

-- +goose Down
DROP TABLE tips;
