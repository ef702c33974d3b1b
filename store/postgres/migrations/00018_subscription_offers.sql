-- +goose Up
-- Metered plans and merchants' offers (issue 7). max_amount > 0 makes a
-- plan metered: amount is its base fee, usage the merchant reports is
-- added, and each period is charged at its end for at most max_amount.
-- trial_days and cycles are kept so that an offer a merchant made (status
-- offered, no user yet) is scheduled from the moment a user accepts it;
-- merchants list their subscriptions by the last index.
ALTER TABLE subscriptions ADD COLUMN max_amount BIGINT NOT NULL DEFAULT 0;
ALTER TABLE subscriptions ADD COLUMN trial_days BIGINT NOT NULL DEFAULT 0;
ALTER TABLE subscriptions ADD COLUMN cycles BIGINT NOT NULL DEFAULT 0;
CREATE INDEX subscriptions_merchant ON subscriptions (merchant_id, created_at);

-- +goose Down
DROP INDEX subscriptions_merchant;
ALTER TABLE subscriptions DROP COLUMN cycles;
ALTER TABLE subscriptions DROP COLUMN trial_days;
ALTER TABLE subscriptions DROP COLUMN max_amount;
