-- crisp-gateway's store on SQLite, version 4: the MCP front's unspent confirmation tokens, so
-- that a token a replica issued is redeemed on another, once (store/confirmations.rs).
-- Applied at start by sqlx's migrator; never edit an applied migration, add the next one.

-- One row per unspent token, by the hex SHA-256 of the token (never the token), within its
-- scope (the agent whose MCP server issued it). A redeem deletes the row with RETURNING, one
-- statement: of any number of redeems of one token, one gets the row.
CREATE TABLE mcp_confirmations (
    key        TEXT    PRIMARY KEY,
    scope      TEXT    NOT NULL,
    caller     TEXT    NOT NULL,
    tool       TEXT    NOT NULL,
    request    TEXT    NOT NULL,
    expires_ms INTEGER NOT NULL
);

CREATE INDEX mcp_confirmations_caller ON mcp_confirmations (scope, caller, expires_ms);
CREATE INDEX mcp_confirmations_expires ON mcp_confirmations (expires_ms);
