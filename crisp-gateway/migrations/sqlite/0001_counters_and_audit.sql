-- crisp-gateway's store, version 1: the daily counters and the audit log.
-- Applied at start by `sqlx::migrate!`; never edit an applied migration, add the next one.

-- Each agent's requests per UTC day (days since the Unix epoch), against its daily_budget.
CREATE TABLE agent_usage (
    day   INTEGER NOT NULL,
    agent TEXT    NOT NULL,
    used  INTEGER NOT NULL,
    PRIMARY KEY (day, agent)
) WITHOUT ROWID;

-- The upstream token's requests per UTC day, every agent's together, against daily_quota.
CREATE TABLE token_usage (
    day  INTEGER NOT NULL PRIMARY KEY,
    used INTEGER NOT NULL
);

-- One row per request the gateway answered, refused ones included. Never a key, a query or a
-- body: a key id, and the path ids as a JSON array of [name, value] pairs.
CREATE TABLE audit (
    id                INTEGER PRIMARY KEY,
    at_ms             INTEGER NOT NULL,
    agent             TEXT,
    key_id            TEXT,
    front             TEXT    NOT NULL,
    client            TEXT,
    operation         TEXT,
    method            TEXT,
    path_ids          TEXT    NOT NULL,
    decision          TEXT    NOT NULL,
    why               TEXT,
    outcome           TEXT,
    status            INTEGER,
    reason            TEXT,
    error             TEXT,
    attempts          INTEGER NOT NULL,
    upstream_requests INTEGER NOT NULL,
    latency_us        INTEGER NOT NULL
);

-- `crisp-gateway audit` filters on these and reads newest first.
CREATE INDEX audit_at ON audit (at_ms);
CREATE INDEX audit_agent_at ON audit (agent, at_ms);
CREATE INDEX audit_operation_at ON audit (operation, at_ms);
CREATE INDEX audit_decision_at ON audit (decision, at_ms);
