-- The redrives of executions (RedriveExecution): how many, and the last one's date. A table of
-- its own, because few executions are ever redriven.
CREATE TABLE execution_redrives (
	execution_id  INTEGER PRIMARY KEY REFERENCES executions (id) ON DELETE CASCADE,
	redrive_count INTEGER NOT NULL,
	redrive_date  INTEGER NOT NULL
);
