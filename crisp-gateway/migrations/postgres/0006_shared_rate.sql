-- crisp-gateway's store on PostgreSQL, version 6: each agent's rate, shared by replicas.
-- (PostgreSQL only: a SQLite store has one gateway, which limits rates in memory.)
-- Applied at start by sqlx's migrator; never edit an applied migration, add the next one.

-- One row per agent with a rate: its GCRA state, the "theoretical arrival time" in
-- microseconds of the database server's clock. A call is let through, and the time moved on by
-- one emission interval (the rate's window over its count), in one statement that locks the
-- row: no two replicas can both take the last call of a window.
CREATE TABLE rate_limits (
    agent  text   PRIMARY KEY,
    tat_us bigint NOT NULL
);
