-- EventBridge Scheduler: schedule groups (grp '') and schedules, one row per entity. The
-- document is JSON owned by package scheduler; the store reads the key, the state and the
-- firing columns: due_at is when the next firing is to be carried out (NULL: none), nominal_at
-- its scheduled time, attempt its failed tries, claimed_until the claim of the node firing it.
CREATE TABLE schedules (
	kind          TEXT NOT NULL,
	grp           TEXT NOT NULL,
	name          TEXT NOT NULL,
	state         TEXT NOT NULL,
	doc           BLOB NOT NULL,
	version       INTEGER NOT NULL,
	due_at        INTEGER,
	nominal_at    INTEGER,
	attempt       INTEGER NOT NULL DEFAULT 0,
	claimed_until INTEGER,
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL,
	PRIMARY KEY (kind, grp, name)
);
CREATE INDEX schedules_due ON schedules (due_at) WHERE due_at IS NOT NULL;
