-- crisp-gateway's store on PostgreSQL, version 5: the policy's revisions, shared by replicas.
-- (PostgreSQL only: a SQLite store has one gateway, which reads its own file.)
-- Applied at start by sqlx's migrator; never edit an applied migration, add the next one.

-- One row per policy put in force by a replica (at its start, or on reload): the whole text
-- of the file, validated before it was written. The newest revision is the policy of every
-- replica: the one that writes it sends NOTIFY crisp_gateway_policy (its revision number) in
-- the same transaction, and the others, which LISTEN, load it.
CREATE TABLE policy_revisions (
    revision     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    text         text   NOT NULL,
    -- Where it came from, for the operator: the replica's policy file path.
    source       text   NOT NULL,
    published_ms bigint NOT NULL
);
