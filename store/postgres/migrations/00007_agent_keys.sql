-- +goose Up
-- Key rotation moves a grant to a new agent key: the grant then carries
-- the new key's JWK ('' until its first rotation, when the key is the one
-- on the link that made it). Operators suspend agent keys ("key:" and the
-- thumbprint) and software ids ("software:" and the id); a row is never
-- deleted, resuming sets suspended to 0.
ALTER TABLE grants ADD COLUMN public_key_jwk TEXT NOT NULL DEFAULT '';

CREATE TABLE agent_suspensions (
    id         TEXT PRIMARY KEY,
    suspended  BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    version    BIGINT NOT NULL
);

-- +goose Down
DROP TABLE agent_suspensions;
ALTER TABLE grants DROP COLUMN public_key_jwk;
