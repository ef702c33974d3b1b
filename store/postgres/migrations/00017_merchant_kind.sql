-- +goose Up
-- A merchant is a business (the default, and every merchant before this)
-- or a creator who receives tips: a writer, streamer, open-source
-- maintainer. The directory filters by it, hence the index.
ALTER TABLE merchants ADD COLUMN kind TEXT COLLATE "C" NOT NULL DEFAULT 'business'
    CONSTRAINT merchants_kind_check CHECK (kind IN ('business', 'creator'));
CREATE INDEX merchants_kind ON merchants (kind, id);

-- +goose Down
DROP INDEX merchants_kind;
ALTER TABLE merchants DROP COLUMN kind;
