-- +goose Up
-- Tips: which payments are tips an agent gave, with the note shown to the
-- user and the merchant. The payment itself is an ordinary payments row
-- (id = its id), so disputes, refunds and webhooks treat a tip like any
-- payment; this row only marks it. auto_approved is 1 when the tip was
-- charged under the user's tips mandate (mandate_id) without a tap.
-- Lists page by id, which sorts by creation time (agentpay.NewID).
CREATE TABLE tips (
    id            TEXT COLLATE "C" PRIMARY KEY,
    grant_id      TEXT COLLATE "C" NOT NULL,
    user_id       TEXT COLLATE "C" NOT NULL,
    merchant_id   TEXT COLLATE "C" NOT NULL,
    amount        BIGINT NOT NULL,
    asset         TEXT COLLATE "C" NOT NULL,
    note          TEXT COLLATE "C" NOT NULL,
    auto_approved BIGINT NOT NULL,
    mandate_id    TEXT COLLATE "C" NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX tips_grant ON tips (grant_id, id);
CREATE INDEX tips_user ON tips (user_id, id);
CREATE INDEX tips_merchant ON tips (merchant_id, id);

-- +goose Down
DROP TABLE tips;
