-- Versions and aliases of state machines. They go with their machine (ON DELETE CASCADE); a
-- version an alias routes to cannot be deleted (the routes' foreign key).

-- last_version numbers versions: deleting the newest version must not free its number.
ALTER TABLE state_machines ADD COLUMN last_version INTEGER NOT NULL DEFAULT 0;

CREATE TABLE state_machine_versions (
	state_machine_arn TEXT NOT NULL REFERENCES state_machines (arn) ON DELETE CASCADE,
	version           INTEGER NOT NULL,
	revision_id       TEXT NOT NULL,
	description       TEXT NOT NULL,
	created_at        INTEGER NOT NULL,
	PRIMARY KEY (state_machine_arn, version),
	UNIQUE (state_machine_arn, revision_id)
);

CREATE TABLE state_machine_aliases (
	arn               TEXT PRIMARY KEY,
	state_machine_arn TEXT NOT NULL REFERENCES state_machines (arn) ON DELETE CASCADE,
	name              TEXT NOT NULL,
	description       TEXT NOT NULL,
	created_at        INTEGER NOT NULL,
	updated_at        INTEGER NOT NULL
);
CREATE INDEX state_machine_aliases_by_machine ON state_machine_aliases (state_machine_arn, arn);

CREATE TABLE state_machine_alias_routes (
	alias_arn         TEXT NOT NULL REFERENCES state_machine_aliases (arn) ON DELETE CASCADE,
	state_machine_arn TEXT NOT NULL,
	version           INTEGER NOT NULL,
	weight            INTEGER NOT NULL,
	PRIMARY KEY (alias_arn, version),
	FOREIGN KEY (state_machine_arn, version) REFERENCES state_machine_versions (state_machine_arn, version)
);
CREATE INDEX state_machine_alias_routes_by_version ON state_machine_alias_routes (state_machine_arn, version);
