-- The redrives of executions (RedriveExecution): how many, and the last one's date. A table of
-- its own, because few executions are ever redriven.
CREATE TABLE execution_redrives (
	execution_id  BIGINT PRIMARY KEY REFERENCES executions (id) ON DELETE CASCADE,
	redrive_count BIGINT NOT NULL,
	redrive_date  TIMESTAMPTZ NOT NULL
);
