-- Two indexes of events that no query reads: events are read by delivery (events_by_delivery) and by id
-- (the UNIQUE constraint's index), never by Keptn context or by the .triggered event they answer. Each
-- cost every task transaction two or three more 4 KB pages in the WAL, since every event's insert landed
-- on a different page of each.
DROP INDEX IF EXISTS events_by_context;
DROP INDEX IF EXISTS events_by_triggered_id;
