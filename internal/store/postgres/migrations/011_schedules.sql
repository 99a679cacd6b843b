-- EventBridge Scheduler: schedule groups (grp '') and schedules, one row per entity. The
-- document is JSON owned by package scheduler; the store reads the key, the state and the
-- firing columns: due_at is when the next firing is to be carried out (NULL: none), nominal_at
-- its scheduled time, attempt its failed tries, claimed_until the claim of the node firing it.
CREATE TABLE schedules (
	kind          TEXT COLLATE "C" NOT NULL,
	grp           TEXT COLLATE "C" NOT NULL,
	name          TEXT COLLATE "C" NOT NULL,
	state         TEXT NOT NULL,
	doc           BYTEA NOT NULL,
	version       BIGINT NOT NULL,
	due_at        TIMESTAMPTZ,
	nominal_at    TIMESTAMPTZ,
	attempt       INTEGER NOT NULL DEFAULT 0,
	claimed_until TIMESTAMPTZ,
	created_at    TIMESTAMPTZ NOT NULL,
	updated_at    TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (kind, grp, name)
);
CREATE INDEX schedules_due ON schedules (due_at) WHERE due_at IS NOT NULL;
