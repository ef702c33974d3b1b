-- +goose Up
-- Nonces of signed mutating agent requests (DESIGN §5), written in the
-- request's unit of work: the id is keyid ":" nonce, so a nonce seen before
-- fails the unit (already_exists) on every node. Rows may be forgotten once
-- expires_at (the signature's expiry, in microseconds) has passed.
CREATE TABLE agent_nonces (
    id         TEXT COLLATE "C" PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX agent_nonces_expires ON agent_nonces (expires_at);
-- Signed requests find the agent's public key through its grant's link.
CREATE INDEX agent_links_grant ON agent_links (grant_id);

-- +goose Down
DROP INDEX agent_links_grant;
DROP TABLE agent_nonces;
