-- crisp-gateway's store on PostgreSQL, version 3: Crisp's webhook events seen and the outbox of
-- deliveries to agents, as in migrations/sqlite/0003 (the same columns and meanings). (Version 2
-- is the approvals'.)
-- Applied at start by sqlx's migrator; never edit an applied migration, add the next one.

-- One row per event Crisp delivered, by its dedupe key (the hex SHA-256 of the event's name and
-- ids: Crisp sends no event id). Inserted if absent (ON CONFLICT DO NOTHING: a second replica
-- inserting the same key waits for the first one's transaction, then inserts nothing), with
-- the event's outbox rows, in one transaction: whoever inserts it fans the event out.
CREATE TABLE webhook_seen (
    key           text   PRIMARY KEY,
    event         text   NOT NULL,
    seen_at_ms    bigint NOT NULL,
    expires_at_ms bigint NOT NULL
);

CREATE INDEX webhook_seen_expires ON webhook_seen (expires_at_ms);

-- One row per (event, agent): pending until an attempt is answered 2xx (delivered) or the
-- attempts are spent (failed). A claim leases pending rows (FOR UPDATE SKIP LOCKED: replicas
-- claiming at once never wait for each other nor take the same row): `attempts` goes up,
-- `next_at_ms` becomes the lease's end and `lease` its token; the outcome is recorded by the
-- lease's holder only.
CREATE TABLE webhook_outbox (
    id             bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id     text    NOT NULL UNIQUE,
    event_key      text    NOT NULL,
    agent          text    NOT NULL,
    event          text    NOT NULL,
    website_id     text,
    session_id     text,
    body           text    NOT NULL,
    state          text    NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts       integer NOT NULL CHECK (attempts >= 0),
    next_at_ms     bigint  NOT NULL,
    lease          text,
    created_at_ms  bigint  NOT NULL,
    finished_at_ms bigint,
    last_status    integer,
    last_error     text
);

-- The claim reads the pending rows by due time; the cleanup, the finished ones by age.
CREATE INDEX webhook_outbox_due ON webhook_outbox (next_at_ms) WHERE state = 'pending';
CREATE INDEX webhook_outbox_finished ON webhook_outbox (finished_at_ms) WHERE state <> 'pending';
