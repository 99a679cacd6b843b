-- Timers are not claimed row by row any more: the lease of their execution hides them while a
-- node steps it. So available_at only ever repeated due_at, and due_at is what is indexed.
DROP INDEX timers_available;
ALTER TABLE timers DROP COLUMN available_at;
CREATE INDEX timers_due ON timers (due_at);
