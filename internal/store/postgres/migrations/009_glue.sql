-- Glue: the Data Catalog, crawlers, jobs and job runs, one row per entity. The document is JSON
-- owned by package glue; the store reads only the key, the version (compare-and-swap), and
-- whether the entity is active (a running crawl or job run) and which node runs it.
CREATE TABLE glue_entities (
	kind       TEXT COLLATE "C" NOT NULL,
	parent     TEXT COLLATE "C" NOT NULL,
	name       TEXT COLLATE "C" NOT NULL,
	doc        BYTEA NOT NULL,
	active     BOOLEAN NOT NULL,
	owner      TEXT NOT NULL,
	version    BIGINT NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (kind, parent, name)
);
-- A node's running work, found again when it restarts.
CREATE INDEX glue_entities_active ON glue_entities (owner, kind) WHERE active;
