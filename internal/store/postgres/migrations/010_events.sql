-- EventBridge: connections (and, with the triggers work, buses and rules), one row per entity.
-- The document is JSON owned by package events, secrets included; the store reads only the
-- key and the version (compare-and-swap).
CREATE TABLE events_entities (
	kind       TEXT COLLATE "C" NOT NULL,
	parent     TEXT COLLATE "C" NOT NULL,
	name       TEXT COLLATE "C" NOT NULL,
	doc        BYTEA NOT NULL,
	version    BIGINT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (kind, parent, name)
);
