-- Times are INTEGER microseconds since the Unix epoch, UTC: they compare and index as numbers.
-- Child tables key on executions.id rather than the ARN, which keeps their rows and indexes small.

CREATE TABLE state_machines (
	arn                TEXT PRIMARY KEY,
	name               TEXT NOT NULL,
	type               TEXT NOT NULL,
	created_at         INTEGER NOT NULL,
	tags               BLOB,
	latest_revision_id TEXT NOT NULL
);

-- Revisions outlive their machine (executions stay pinned to them), so they carry the machine's
-- name and type themselves. A published version will be a row of a versions table naming one.
CREATE TABLE state_machine_revisions (
	state_machine_arn     TEXT NOT NULL,
	revision_id           TEXT NOT NULL,
	name                  TEXT NOT NULL,
	type                  TEXT NOT NULL,
	created_at            INTEGER NOT NULL,
	definition            TEXT NOT NULL,
	role_arn              TEXT NOT NULL,
	description           TEXT NOT NULL,
	logging_configuration BLOB,
	tracing_configuration BLOB,
	PRIMARY KEY (state_machine_arn, revision_id)
);

CREATE TABLE executions (
	id                INTEGER PRIMARY KEY,
	arn               TEXT NOT NULL UNIQUE,
	state_machine_arn TEXT NOT NULL,
	revision_id       TEXT NOT NULL,
	name              TEXT NOT NULL,
	type              TEXT NOT NULL,
	status            TEXT NOT NULL,
	input             TEXT NOT NULL,
	output            TEXT,
	error             TEXT,
	cause             TEXT,
	start_date        INTEGER NOT NULL,
	stop_date         INTEGER,
	state             BLOB NOT NULL,
	version           INTEGER NOT NULL,
	lease_owner       TEXT,
	lease_expires_at  INTEGER,
	UNIQUE (state_machine_arn, name),
	FOREIGN KEY (state_machine_arn, revision_id) REFERENCES state_machine_revisions (state_machine_arn, revision_id)
);
CREATE INDEX executions_by_machine ON executions (state_machine_arn, start_date, arn);
CREATE INDEX executions_by_machine_status ON executions (state_machine_arn, status, start_date, arn);
CREATE INDEX executions_lease_expiry ON executions (lease_expires_at)
	WHERE lease_owner IS NOT NULL AND status = 'RUNNING';

-- No foreign key: history is written only by commits whose compare-and-swap on the execution
-- row succeeded in the same transaction, and the per-row check cost more than half the time
-- of inserting a commit's events.
CREATE TABLE history_events (
	execution_id INTEGER NOT NULL,
	event_id     INTEGER NOT NULL,
	type         TEXT NOT NULL,
	timestamp    INTEGER NOT NULL,
	payload      BLOB NOT NULL,
	PRIMARY KEY (execution_id, event_id)
);

-- Work rows (timers, effects, inbox) are claimed by moving available_at forward, so one index
-- on it serves both "what is due" and "what is not claimed".
CREATE TABLE timers (
	execution_id INTEGER NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
	timer_id     TEXT NOT NULL,
	due_at       INTEGER NOT NULL,
	available_at INTEGER NOT NULL,
	PRIMARY KEY (execution_id, timer_id)
);
CREATE INDEX timers_available ON timers (available_at);

CREATE TABLE effects (
	id              INTEGER PRIMARY KEY,
	execution_id    INTEGER NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
	effect_id       TEXT NOT NULL,
	kind            TEXT NOT NULL,
	idempotency_key TEXT NOT NULL,
	payload         BLOB,
	created_at      INTEGER NOT NULL,
	available_at    INTEGER NOT NULL,
	UNIQUE (execution_id, effect_id)
);
CREATE INDEX effects_available ON effects (available_at, id);

CREATE TABLE inbox (
	id           INTEGER PRIMARY KEY,
	execution_id INTEGER NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
	payload      BLOB NOT NULL,
	created_at   INTEGER NOT NULL,
	available_at INTEGER NOT NULL
);
CREATE INDEX inbox_available ON inbox (available_at, id);
CREATE INDEX inbox_execution ON inbox (execution_id);

CREATE TABLE task_tokens (
	token        TEXT PRIMARY KEY,
	execution_id INTEGER NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
	task_id      TEXT NOT NULL,
	created_at   INTEGER NOT NULL,
	closed       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX task_tokens_execution ON task_tokens (execution_id);

CREATE TABLE activities (
	arn        TEXT PRIMARY KEY,
	name       TEXT NOT NULL UNIQUE,
	created_at INTEGER NOT NULL,
	tags       BLOB
);

-- No foreign key to activities: DeleteActivity does not wait for its queue to drain.
CREATE TABLE activity_tasks (
	id           INTEGER PRIMARY KEY,
	token        TEXT NOT NULL UNIQUE,
	activity_arn TEXT NOT NULL,
	execution_id INTEGER NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
	input        TEXT NOT NULL,
	enqueued_at  INTEGER NOT NULL,
	worker_name  TEXT,
	claimed_at   INTEGER
);
CREATE INDEX activity_tasks_unclaimed ON activity_tasks (activity_arn, id) WHERE claimed_at IS NULL;
CREATE INDEX activity_tasks_execution ON activity_tasks (execution_id);
