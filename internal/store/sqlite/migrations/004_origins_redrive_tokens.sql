-- The version, and the alias that chose it, an execution was started through: ListExecutions
-- of a version or alias ARN lists these. A table of its own, because most executions are
-- started through the machine's ARN and need no row.
CREATE TABLE execution_origins (
	execution_id INTEGER PRIMARY KEY REFERENCES executions (id) ON DELETE CASCADE,
	version_arn  TEXT NOT NULL,
	alias_arn    TEXT
);
CREATE INDEX execution_origins_version ON execution_origins (version_arn);
CREATE INDEX execution_origins_alias ON execution_origins (alias_arn) WHERE alias_arn IS NOT NULL;

-- Executions started before this table existed recorded their origin only in their
-- ExecutionStarted event.
INSERT INTO execution_origins (execution_id, version_arn, alias_arn)
SELECT execution_id,
	json_extract(CAST(payload AS TEXT), '$.executionStartedEventDetails.stateMachineVersionArn'),
	json_extract(CAST(payload AS TEXT), '$.executionStartedEventDetails.stateMachineAliasArn')
FROM history_events
WHERE event_id = 1 AND type = 'ExecutionStarted'
	AND json_extract(CAST(payload AS TEXT), '$.executionStartedEventDetails.stateMachineVersionArn') IS NOT NULL;

-- The client tokens of an execution's last redrives, with the redrive each made:
-- RedriveExecution answers a token it has seen again with that redrive instead of redriving.
CREATE TABLE execution_redrive_tokens (
	execution_id INTEGER NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
	client_token TEXT NOT NULL,
	redrive_date INTEGER NOT NULL,
	PRIMARY KEY (execution_id, client_token)
);
