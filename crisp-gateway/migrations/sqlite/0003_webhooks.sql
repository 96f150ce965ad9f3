-- crisp-gateway's store, version 3: Crisp's webhook events seen (to fan each out once) and the
-- outbox of deliveries to agents. (Version 2 is the approvals'.)
-- Applied at start by `sqlx::migrate!`; never edit an applied migration, add the next one.

-- One row per event Crisp delivered, by its dedupe key (the hex SHA-256 of the event's name and
-- ids: Crisp sends no event id). Inserted if absent, with the event's outbox rows, in one
-- transaction: whoever inserts it fans the event out. Removed once expired.
CREATE TABLE webhook_seen (
    key           TEXT    PRIMARY KEY,
    event         TEXT    NOT NULL,
    seen_at_ms    INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX webhook_seen_expires ON webhook_seen (expires_at_ms);

-- One row per (event, agent): pending until an attempt is answered 2xx (delivered) or the
-- attempts are spent (failed). A claim leases a pending row: `attempts` goes up, `next_at_ms`
-- becomes the lease's end and `lease` its token; the outcome is recorded by the lease's holder
-- only. The body is Crisp's delivery as received and verified; never a secret.
CREATE TABLE webhook_outbox (
    id             INTEGER PRIMARY KEY,
    webhook_id     TEXT    NOT NULL UNIQUE,
    event_key      TEXT    NOT NULL,
    agent          TEXT    NOT NULL,
    event          TEXT    NOT NULL,
    website_id     TEXT,
    session_id     TEXT,
    body           TEXT    NOT NULL,
    state          TEXT    NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts       INTEGER NOT NULL CHECK (attempts >= 0),
    next_at_ms     INTEGER NOT NULL,
    lease          TEXT,
    created_at_ms  INTEGER NOT NULL,
    finished_at_ms INTEGER,
    last_status    INTEGER,
    last_error     TEXT
);

-- The claim reads the pending rows by due time; the cleanup, the finished ones by age.
CREATE INDEX webhook_outbox_due ON webhook_outbox (next_at_ms) WHERE state = 'pending';
CREATE INDEX webhook_outbox_finished ON webhook_outbox (finished_at_ms) WHERE state <> 'pending';
