-- crisp-gateway's store on PostgreSQL, version 1: the daily counters and the audit log, as in
-- migrations/sqlite/0001 (the same columns and meanings).
-- Applied at start by sqlx's migrator (one replica at a time: it holds an advisory lock while it
-- migrates); never edit an applied migration, add the next one.

-- The daily counters, per UTC day (days since the Unix epoch): each agent's requests
-- (kind 'agent', its name) against its daily_budget, and the upstream token's, every agent's
-- together (kind 'token', name ''), against daily_quota. One table, so that one statement locks
-- and raises both counters of a call, or neither (see the take in src/store/postgres.rs).
CREATE TABLE counters (
    day  integer NOT NULL,
    kind text    NOT NULL CHECK (kind IN ('agent', 'token')),
    name text    NOT NULL,
    used bigint  NOT NULL CHECK (used >= 0),
    PRIMARY KEY (day, kind, name)
);

-- One row per request the gateway answered, refused ones included. Never a key, a query or a
-- body: a key id, and the path ids as a JSON array of [name, value] pairs.
CREATE TABLE audit (
    id                bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at_ms             bigint  NOT NULL,
    agent             text,
    key_id            text,
    front             text    NOT NULL,
    client            text,
    operation         text,
    method            text,
    path_ids          text    NOT NULL,
    decision          text    NOT NULL,
    why               text,
    outcome           text,
    status            integer,
    reason            text,
    error             text,
    attempts          bigint  NOT NULL,
    upstream_requests bigint  NOT NULL,
    latency_us        bigint  NOT NULL
);

-- `crisp-gateway audit` filters on these and reads newest first (at_ms, then id, descending).
-- Unlike SQLite's, a PostgreSQL index does not end with the row id by itself: id is its last
-- column so that the order is read from the index, never sorted.
CREATE INDEX audit_at ON audit (at_ms, id);
CREATE INDEX audit_agent_at ON audit (agent, at_ms, id);
CREATE INDEX audit_operation_at ON audit (operation, at_ms, id);
CREATE INDEX audit_decision_at ON audit (decision, at_ms, id);
