-- events and audit_log lose AUTOINCREMENT. It keeps SQLite from reusing the id of a deleted last row,
-- which these append-only tables never have (their triggers refuse deletes), and it cost every
-- transaction that appends to them a write of sqlite_sequence: one more page in the WAL for each task's
-- transaction. Without it, a new row's id is still one more than the largest, as before.
--
-- SQLite cannot drop AUTOINCREMENT from a table, so both are rebuilt: this migration copies every event
-- and audit entry once, which on a large database takes a while at the first start of this version.

CREATE TABLE events_rebuilt (
    seq           INTEGER PRIMARY KEY,
    id            TEXT    NOT NULL UNIQUE CHECK (id <> ''),
    delivery_id   INTEGER REFERENCES deliveries (id),
    keptn_context TEXT    NOT NULL DEFAULT '',
    triggered_id  TEXT    NOT NULL DEFAULT '',
    type          TEXT    NOT NULL CHECK (type <> ''),
    source        TEXT    NOT NULL DEFAULT '',
    time          INTEGER NOT NULL,
    data          TEXT    CHECK (json_valid(data))
) STRICT;

INSERT INTO events_rebuilt (seq, id, delivery_id, keptn_context, triggered_id, type, source, time, data)
    SELECT seq, id, delivery_id, keptn_context, triggered_id, type, source, time, data FROM events ORDER BY seq;

-- Dropping a table drops its indexes and triggers, and fires none of them.
DROP TABLE events;
ALTER TABLE events_rebuilt RENAME TO events;

CREATE INDEX events_by_delivery ON events (delivery_id, seq);

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;

CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;

CREATE TABLE audit_log_rebuilt (
    id       INTEGER PRIMARY KEY,
    at       INTEGER NOT NULL,
    actor    TEXT    NOT NULL,
    platform TEXT    NOT NULL DEFAULT '',
    channel  TEXT    NOT NULL DEFAULT '',
    action   TEXT    NOT NULL CHECK (action <> ''),
    target   TEXT    NOT NULL DEFAULT '',
    allowed  INTEGER NOT NULL CHECK (allowed IN (0, 1)),
    reason   TEXT    NOT NULL DEFAULT '',
    details  TEXT    CHECK (json_valid(details))
) STRICT;

INSERT INTO audit_log_rebuilt (id, at, actor, platform, channel, action, target, allowed, reason, details)
    SELECT id, at, actor, platform, channel, action, target, allowed, reason, details FROM audit_log ORDER BY id;

DROP TABLE audit_log;
ALTER TABLE audit_log_rebuilt RENAME TO audit_log;

CREATE INDEX audit_log_by_target ON audit_log (target, at);
CREATE INDEX audit_log_by_actor ON audit_log (actor, at);
CREATE INDEX audit_log_by_time ON audit_log (at);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
