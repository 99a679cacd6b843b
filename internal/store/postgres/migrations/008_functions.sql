-- Lambda functions. The configuration is JSON owned by package lambda; the code zip lives here
-- so that every node has it. reserved_concurrency is NULL when none is set.
CREATE TABLE functions (
	name                 TEXT PRIMARY KEY,
	config               BYTEA NOT NULL,
	code_sha256          TEXT NOT NULL,
	code_size            BIGINT NOT NULL,
	revision_id          TEXT NOT NULL,
	reserved_concurrency INTEGER,
	created_at           TIMESTAMPTZ NOT NULL,
	updated_at           TIMESTAMPTZ NOT NULL,
	-- Last, as in SQLite's layout, where the order matters (see its migration).
	code                 BYTEA NOT NULL
);
