-- The history of Map Run child executions (Mutations.Children). A child is no execution row:
-- it runs inside its parent, so its events are keyed by the parent's execution id and the
-- child's key within it, which grow in the order children are written, so that a Map Run's
-- inserts append to the b-tree: keyed by the child's ARN (a random UUID in a long string),
-- each would land on a random page, and the writer would spend its time splitting pages. The
-- ARN, to find a child's history by, is kept once per child in child_executions: one random
-- insert per child rather than per event.
-- No foreign keys, as history_events has none: these rows are written only by commits whose
-- compare-and-swap on the parent's row succeeded in the same transaction, and the per-row
-- check would cost more than half the time of inserting them. The parent's deletion takes
-- them along by hand (ExecutionDeleteClosed).
-- WITHOUT ROWID: each table is then the b-tree of its key alone, with no separate key index
-- repeating it; a child's events are read in order from it.
CREATE TABLE child_executions (
	arn          TEXT NOT NULL PRIMARY KEY,
	execution_id INTEGER NOT NULL,
	child_key    INTEGER NOT NULL
) WITHOUT ROWID;
-- For deleting the children of deleted executions, which would otherwise scan the table.
CREATE INDEX child_executions_execution ON child_executions (execution_id);

-- The key's prefix is the parent's id, so deletes need no other index.
CREATE TABLE child_history_events (
	execution_id INTEGER NOT NULL,
	child_key    INTEGER NOT NULL,
	event_id     INTEGER NOT NULL,
	type         TEXT NOT NULL,
	timestamp    INTEGER NOT NULL,
	payload      BLOB NOT NULL,
	PRIMARY KEY (execution_id, child_key, event_id)
) WITHOUT ROWID;
