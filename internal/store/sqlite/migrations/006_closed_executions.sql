-- Executions are deleted some time after they ended (ExecutionDeleteClosed); this finds the
-- oldest closed ones without reading the running ones.
CREATE INDEX executions_closed ON executions (stop_date) WHERE status <> 'RUNNING';
