-- crisp-gateway's store on PostgreSQL, version 4: the MCP front's unspent confirmation tokens, so
-- that a token a replica issued is redeemed on another, once (store/confirmations.rs), as in
-- migrations/sqlite/0004 (the same columns and meanings).
-- Applied at start by sqlx's migrator; never edit an applied migration, add the next one.

-- One row per unspent token, by the hex SHA-256 of the token (never the token), within its
-- scope (the agent whose MCP server issued it). A redeem deletes the row with RETURNING, one
-- statement: of any number of redeems of one token, one gets the row.
CREATE TABLE mcp_confirmations (
    key        text    PRIMARY KEY,
    scope      text    NOT NULL,
    caller     text    NOT NULL,
    tool       text    NOT NULL,
    request    text    NOT NULL,
    expires_ms bigint  NOT NULL
);

CREATE INDEX mcp_confirmations_caller ON mcp_confirmations (scope, caller, expires_ms);
CREATE INDEX mcp_confirmations_expires ON mcp_confirmations (expires_ms);
