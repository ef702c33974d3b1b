-- +goose Up
-- Node-independent settings written once, such as the operator token's hash.
CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- +goose Down
DROP TABLE settings;
