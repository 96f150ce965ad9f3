-- crisp-gateway's store, version 1: the daily counters and the audit log.
-- Applied at start by `sqlx::migrate!`; never edit an applied migration, add the next one.

-- The daily counters, per UTC day (days since the Unix epoch): each agent's requests
-- (kind 'agent', its name) against its daily_budget, and the upstream token's, every agent's
-- together (kind 'token', name ''), against daily_quota. One table, so that one UPDATE raises
-- both counters of a call, or neither.
CREATE TABLE counters (
    day  INTEGER NOT NULL,
    kind TEXT    NOT NULL CHECK (kind IN ('agent', 'token')),
    name TEXT    NOT NULL,
    used INTEGER NOT NULL,
    PRIMARY KEY (day, kind, name)
) WITHOUT ROWID;

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
