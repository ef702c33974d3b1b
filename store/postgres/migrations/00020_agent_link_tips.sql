-- +goose Up
-- The tip terms an agent asks for when linking, in minor units of the
-- link's asset: tips up to tip_auto_approve_max each, and up to
-- tip_budget_per_day a day in all, given without a tap once the user
-- approved them (a tips mandate made with the grant). 0: none, as for
-- every link before this.
ALTER TABLE agent_links ADD COLUMN tip_auto_approve_max BIGINT NOT NULL DEFAULT 0;
ALTER TABLE agent_links ADD COLUMN tip_budget_per_day BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE agent_links DROP COLUMN tip_budget_per_day;
ALTER TABLE agent_links DROP COLUMN tip_auto_approve_max;
