-- What a restart must clean up, and a row readiness writes to prove the database still takes writes.

-- The process group of the command a started task is running (the exec executor's), recorded when the
-- command starts and cleared when the task ends. After a crash, recovery kills what is left of the group
-- before the task is run again or failed.
ALTER TABLE task_runs ADD COLUMN process_group INTEGER CHECK (process_group > 0);

-- One row, rewritten by /readyz when nothing else has written for a while: a cheap write that fails as
-- soon as the disk is full, the file is read-only or another process holds the write lock.
CREATE TABLE write_probe (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    at INTEGER NOT NULL
) STRICT;
