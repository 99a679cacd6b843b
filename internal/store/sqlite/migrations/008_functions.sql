-- Lambda functions. The configuration is JSON owned by package lambda; the code zip lives here
-- so that every node has it. reserved_concurrency is NULL when none is set.
CREATE TABLE functions (
	name                 TEXT PRIMARY KEY,
	config               BLOB NOT NULL,
	code_sha256          TEXT NOT NULL,
	code_size            INTEGER NOT NULL,
	revision_id          TEXT NOT NULL,
	reserved_concurrency INTEGER,
	created_at           INTEGER NOT NULL,
	updated_at           INTEGER NOT NULL,
	-- Last: SQLite stores a row's columns in order, so reading any column after a large blob
	-- walks the blob's overflow pages; the invoke path reads every column but this one.
	code                 BLOB NOT NULL
);
