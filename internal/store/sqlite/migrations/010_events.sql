-- EventBridge: connections (and, with the triggers work, buses and rules), one row per entity.
-- The document is JSON owned by package events, secrets included; the store reads only the
-- key and the version (compare-and-swap).
CREATE TABLE events_entities (
	kind       TEXT NOT NULL,
	parent     TEXT NOT NULL,
	name       TEXT NOT NULL,
	doc        BLOB NOT NULL,
	version    INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (kind, parent, name)
);
