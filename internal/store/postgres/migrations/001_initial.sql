-- Kept to SQL that CockroachDB and YugabyteDB accept too: no advisory locks, no LISTEN/NOTIFY,
-- no triggers; FOR UPDATE SKIP LOCKED and partial indexes only.
-- Child tables key on executions.id rather than the ARN, which keeps their rows and indexes small.

CREATE TABLE state_machines (
	arn                TEXT PRIMARY KEY,
	name               TEXT NOT NULL,
	type               TEXT NOT NULL,
	created_at         TIMESTAMPTZ NOT NULL,
	tags               BYTEA,
	latest_revision_id TEXT NOT NULL
);

-- Revisions outlive their machine (executions stay pinned to them), so they carry the machine's
-- name and type themselves. A published version will be a row of a versions table naming one.
CREATE TABLE state_machine_revisions (
	state_machine_arn     TEXT NOT NULL,
	revision_id           TEXT NOT NULL,
	name                  TEXT NOT NULL,
	type                  TEXT NOT NULL,
	created_at            TIMESTAMPTZ NOT NULL,
	definition            TEXT NOT NULL,
	role_arn              TEXT NOT NULL,
	description           TEXT NOT NULL,
	logging_configuration BYTEA,
	tracing_configuration BYTEA,
	PRIMARY KEY (state_machine_arn, revision_id)
);

CREATE TABLE executions (
	id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
	start_date        TIMESTAMPTZ NOT NULL,
	stop_date         TIMESTAMPTZ,
	state             BYTEA NOT NULL,
	version           BIGINT NOT NULL,
	lease_owner       TEXT,
	lease_expires_at  TIMESTAMPTZ,
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
	execution_id BIGINT NOT NULL,
	event_id     BIGINT NOT NULL,
	type         TEXT NOT NULL,
	timestamp    TIMESTAMPTZ NOT NULL,
	payload      BYTEA NOT NULL,
	PRIMARY KEY (execution_id, event_id)
);

-- Work rows (timers, effects, inbox) are claimed by moving available_at forward, so one index
-- on it serves both "what is due" and "what is not claimed".
CREATE TABLE timers (
	execution_id BIGINT NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
	timer_id     TEXT NOT NULL,
	due_at       TIMESTAMPTZ NOT NULL,
	available_at TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (execution_id, timer_id)
);
CREATE INDEX timers_available ON timers (available_at);

CREATE TABLE effects (
	id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	execution_id    BIGINT NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
	effect_id       TEXT NOT NULL,
	kind            TEXT NOT NULL,
	idempotency_key TEXT NOT NULL,
	payload         BYTEA,
	created_at      TIMESTAMPTZ NOT NULL,
	available_at    TIMESTAMPTZ NOT NULL,
	UNIQUE (execution_id, effect_id)
);
CREATE INDEX effects_available ON effects (available_at, id);

CREATE TABLE inbox (
	id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	execution_id BIGINT NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
	payload      BYTEA NOT NULL,
	created_at   TIMESTAMPTZ NOT NULL,
	available_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX inbox_available ON inbox (available_at, id);
CREATE INDEX inbox_execution ON inbox (execution_id);

CREATE TABLE task_tokens (
	token        TEXT PRIMARY KEY,
	execution_id BIGINT NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
	task_id      TEXT NOT NULL,
	created_at   TIMESTAMPTZ NOT NULL,
	closed       BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX task_tokens_execution ON task_tokens (execution_id);

CREATE TABLE activities (
	arn        TEXT PRIMARY KEY,
	name       TEXT NOT NULL UNIQUE,
	created_at TIMESTAMPTZ NOT NULL,
	tags       BYTEA
);

-- No foreign key to activities: DeleteActivity does not wait for its queue to drain.
CREATE TABLE activity_tasks (
	id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	token        TEXT NOT NULL UNIQUE,
	activity_arn TEXT NOT NULL,
	execution_id BIGINT NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
	input        TEXT NOT NULL,
	enqueued_at  TIMESTAMPTZ NOT NULL,
	worker_name  TEXT,
	claimed_at   TIMESTAMPTZ
);
CREATE INDEX activity_tasks_unclaimed ON activity_tasks (activity_arn, id) WHERE claimed_at IS NULL;
CREATE INDEX activity_tasks_execution ON activity_tasks (execution_id);
