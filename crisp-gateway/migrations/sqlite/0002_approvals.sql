-- crisp-gateway's store, version 2: approvals (calls an agent may only propose, sent once a
-- person approves them). See src/store/approvals.rs for the state machine: every transition is
-- one conditional UPDATE from the state it leaves, committed with its audit row.
-- Applied at start by `sqlx::migrate!`; never edit an applied migration, add the next one.

-- One row per proposal: the exact request (unlike an audit row, its query and body: they are
-- what a person approves and what is sent), who proposed it, and what became of it.
CREATE TABLE approvals (
    id            TEXT    PRIMARY KEY,
    agent         TEXT    NOT NULL,
    key_id        TEXT,
    front         TEXT    NOT NULL,
    client        TEXT,
    operation     TEXT    NOT NULL,
    method        TEXT    NOT NULL,
    -- JSON arrays of [name, value] pairs, in order.
    path_ids      TEXT    NOT NULL,
    query         TEXT    NOT NULL,
    -- JSON, or NULL for no body.
    body          TEXT,
    created_ms    INTEGER NOT NULL,
    expires_ms    INTEGER NOT NULL,
    state         TEXT    NOT NULL CHECK (state IN
                      ('pending', 'sending', 'sent', 'denied', 'expired', 'unknown_outcome')),
    decided_by    TEXT,
    decided_ms    INTEGER,
    note          TEXT,
    sending_ms    INTEGER,
    finished_ms   INTEGER,
    answer_status INTEGER,
    -- Crisp's envelope, JSON.
    answer        TEXT,
    error         TEXT
) WITHOUT ROWID;

-- `approvals list` (a state, newest first), the sweeps (pending past expiry, stale sends), and
-- an agent's approvals.
CREATE INDEX approvals_state_created ON approvals (state, created_ms);
CREATE INDEX approvals_state_expires ON approvals (state, expires_ms);
CREATE INDEX approvals_agent_created ON approvals (agent, created_ms);
