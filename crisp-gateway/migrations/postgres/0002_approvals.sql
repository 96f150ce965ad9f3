-- crisp-gateway's store on PostgreSQL, version 2: approvals, as in migrations/sqlite/0002 (the
-- same columns and meanings). Every transition is one conditional UPDATE from the state it
-- leaves (under READ COMMITTED a second UPDATE of the same row waits for the first, then
-- re-checks its WHERE on the row the first committed: so one reviewer or replica wins),
-- committed with its audit row.
-- Applied at start by sqlx's migrator; never edit an applied migration, add the next one.

CREATE TABLE approvals (
    id            text    PRIMARY KEY,
    agent         text    NOT NULL,
    key_id        text,
    front         text    NOT NULL,
    client        text,
    operation     text    NOT NULL,
    method        text    NOT NULL,
    path_ids      text    NOT NULL,
    query         text    NOT NULL,
    body          text,
    created_ms    bigint  NOT NULL,
    expires_ms    bigint  NOT NULL,
    state         text    NOT NULL CHECK (state IN
                      ('pending', 'sending', 'sent', 'denied', 'expired', 'unknown_outcome')),
    decided_by    text,
    decided_ms    bigint,
    note          text,
    sending_ms    bigint,
    finished_ms   bigint,
    answer_status bigint,
    answer        text,
    error         text
);

CREATE INDEX approvals_state_created ON approvals (state, created_ms, id);
CREATE INDEX approvals_state_expires ON approvals (state, expires_ms);
CREATE INDEX approvals_agent_created ON approvals (agent, created_ms, id);
