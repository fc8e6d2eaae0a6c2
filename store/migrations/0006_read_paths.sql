-- Indexes for the read paths, so that a list costs the same after 500 deliveries as after 500,000: every
-- read query is answered by an index that gives its rows in the order asked, and a list stops after its
-- LIMIT instead of sorting all of history first. store/queryplan_test.go explains each read query, with
-- each filter its callers set, and fails on a full scan or a sort of history.
--
-- Every index costs bytes on each write that touches its columns, and an UPDATE rewrites its row's entry
-- in every index that holds a column the UPDATE sets, even to the value it had. So these indexes keep to
-- columns the updates leave alone where they can: created_at, project, service, delivery_id and ids are
-- written once. An index a query needs longer replaces the shorter one it extends, which is dropped.
--
-- Lists are ordered by a time and then by id. id is the rowid, and every index ends with the rowid, so an
-- index on (..., created_at) gives (..., created_at, id) order, both ways.

-- deliveries: ListDeliveries, newest first.
--   The API's list of every project, and with only a service or stage filter (read in this order until
--   LIMIT rows match).
CREATE INDEX deliveries_by_time ON deliveries (created_at);
--   /deliver status, the API's ?project=, and a project token's list (one query per project).
CREATE INDEX deliveries_by_project ON deliveries (project, created_at);
--   deliveries_by_service (project, service, created_at), from 0001, serves /deliver history, rollback
--   and the approval card's "previous version".
--   The API's ?state= with or without a project, and the bot's catch-up of live deliveries at start.
--   UpdateDelivery sets state, so this one is written on each update of a delivery (a few per
--   delivery, not per task).
CREATE INDEX deliveries_by_state ON deliveries (state, created_at);

-- sequence_runs: the runs of a stage in a time window (DORA) have sequence_runs_by_stage_end, from 0005.
-- The queue's indexes are unchanged.

-- task_runs: ListTaskRuns of a delivery (the API's delivery view) in run order, without sorting them.
DROP INDEX task_runs_by_delivery;
CREATE INDEX task_runs_by_delivery ON task_runs (delivery_id, sequence_run_id, position);

-- approvals: ListApprovals is oldest first.
--   Of a delivery (its card, the API's view, the audit of a delivery).
DROP INDEX approvals_by_delivery;
CREATE INDEX approvals_by_delivery ON approvals (delivery_id, created_at);
--   Of a task run (recovery, abort).
DROP INDEX approvals_by_task_run;
CREATE INDEX approvals_by_task_run ON approvals (task_run_id, created_at);
--   Pending ones (/deliver approvals). expires_at, which it held, is read by no query: expiry is the
--   engine's timer.
DROP INDEX approvals_by_state;
CREATE INDEX approvals_by_state ON approvals (state, created_at);

-- chat_messages: ListChatMessages of a delivery, oldest first, and RootMessage, the first root card in a
-- channel, which is among the first few. The index it replaces held kind, which every re-save of a
-- message sets.
DROP INDEX chat_messages_by_delivery;
CREATE INDEX chat_messages_by_delivery ON chat_messages (delivery_id, created_at);

-- evaluations:
--   PreviousEvaluations, newest first. The DESC column of the index it replaces ordered ties by id
--   ascending, so every list was sorted again on id.
DROP INDEX evaluations_by_scope;
CREATE INDEX evaluations_by_scope ON evaluations (project, stage, service, created_at);
--   ListEvaluations of a delivery, oldest first.
DROP INDEX evaluations_by_delivery;
CREATE INDEX evaluations_by_delivery ON evaluations (delivery_id, created_at);

-- Unchanged, and already right: events_by_delivery (ListEvents), audit_log_by_time and
-- audit_log_by_actor (/deliver audit and the audit export), the unique indexes behind GetDeliveryByContext,
-- GetEvent, GetChatMessage and ListTaskRuns of a sequence run.
