-- 0001: the first shipgate schema.
--
-- Conventions, kept by every later migration:
--   * times are INTEGER unix milliseconds UTC, so they sort and compare as numbers;
--   * free-form maps and lists are JSON TEXT, NULL when empty;
--   * states, results and statuses are Keptn's words (spec/keptn-compat.md section 2) and are not
--     CHECKed: SQLite cannot alter a CHECK without rebuilding the table, and the vocabulary lives in Go;
--   * tables are STRICT so a wrong Go type fails loudly instead of being stored as something else.

-- One delivery per trigger. The integer id is what people type in chat (/deliver status 42).
CREATE TABLE deliveries (
    id             INTEGER PRIMARY KEY,
    keptn_context  TEXT    NOT NULL UNIQUE,
    project        TEXT    NOT NULL CHECK (project <> ''),
    service        TEXT    NOT NULL CHECK (service <> ''),
    image          TEXT    NOT NULL DEFAULT '',
    labels         TEXT    CHECK (json_type(labels) = 'object'),
    -- extra configurationChange values; "values" itself is an SQL keyword.
    extra_values   TEXT    CHECK (json_valid(extra_values)),
    stage          TEXT    NOT NULL CHECK (stage <> ''),
    sequence       TEXT    NOT NULL CHECK (sequence <> ''),
    actor          TEXT    NOT NULL DEFAULT '',
    source         TEXT    NOT NULL DEFAULT '',
    source_channel TEXT    NOT NULL DEFAULT '',
    state          TEXT    NOT NULL,
    result         TEXT    NOT NULL DEFAULT '',
    worst_result   TEXT    NOT NULL DEFAULT '',
    message        TEXT    NOT NULL DEFAULT '',
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    finished_at    INTEGER
) STRICT;

CREATE INDEX deliveries_by_service ON deliveries (project, service, created_at);

-- One row per stage+sequence execution of a delivery. project and service are copied from the
-- delivery so that the queue query (one active sequence per project, stage and service) needs no join.
CREATE TABLE sequence_runs (
    id                 INTEGER PRIMARY KEY,
    delivery_id        INTEGER NOT NULL REFERENCES deliveries (id),
    project            TEXT    NOT NULL,
    stage              TEXT    NOT NULL CHECK (stage <> ''),
    service            TEXT    NOT NULL,
    sequence           TEXT    NOT NULL CHECK (sequence <> ''),
    state              TEXT    NOT NULL,
    state_before_pause TEXT    NOT NULL DEFAULT '',
    result             TEXT    NOT NULL DEFAULT '',
    status             TEXT    NOT NULL DEFAULT '',
    triggered_event_id TEXT    NOT NULL DEFAULT '',
    message            TEXT    NOT NULL DEFAULT '',
    triggered_at       INTEGER NOT NULL,
    started_at         INTEGER,
    finished_at        INTEGER
) STRICT;

CREATE INDEX sequence_runs_queue ON sequence_runs (project, stage, service, state, triggered_at);
CREATE INDEX sequence_runs_by_delivery ON sequence_runs (delivery_id);

-- One row per task of a sequence run. A retry reuses the row (attempt + 1) so the id executors
-- receive stays stable; UNIQUE (sequence_run_id, position) stops a task being triggered twice.
CREATE TABLE task_runs (
    id                 INTEGER PRIMARY KEY,
    sequence_run_id    INTEGER NOT NULL REFERENCES sequence_runs (id),
    delivery_id        INTEGER NOT NULL REFERENCES deliveries (id),
    position           INTEGER NOT NULL CHECK (position >= 0),
    name               TEXT    NOT NULL CHECK (name <> ''),
    executor           TEXT    NOT NULL DEFAULT '',
    state              TEXT    NOT NULL,
    result             TEXT    NOT NULL DEFAULT '',
    status             TEXT    NOT NULL DEFAULT '',
    message            TEXT    NOT NULL DEFAULT '',
    data               TEXT    CHECK (json_valid(data)),
    triggered_event_id TEXT    NOT NULL DEFAULT '',
    attempt            INTEGER NOT NULL CHECK (attempt >= 1),
    scheduled_for      INTEGER,
    triggered_at       INTEGER NOT NULL,
    started_at         INTEGER,
    finished_at        INTEGER,
    UNIQUE (sequence_run_id, position)
) STRICT;

CREATE INDEX task_runs_by_delivery ON task_runs (delivery_id);
CREATE INDEX task_runs_by_state ON task_runs (state, triggered_at);

-- Append-only log of Keptn CloudEvents; seq gives the order they were recorded in.
CREATE TABLE events (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT    NOT NULL UNIQUE CHECK (id <> ''),
    delivery_id   INTEGER REFERENCES deliveries (id),
    keptn_context TEXT    NOT NULL DEFAULT '',
    triggered_id  TEXT    NOT NULL DEFAULT '',
    type          TEXT    NOT NULL CHECK (type <> ''),
    source        TEXT    NOT NULL DEFAULT '',
    time          INTEGER NOT NULL,
    data          TEXT    CHECK (json_valid(data))
) STRICT;

CREATE INDEX events_by_delivery ON events (delivery_id, seq);
CREATE INDEX events_by_context ON events (keptn_context, seq);
CREATE INDEX events_by_triggered_id ON events (triggered_id);

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;

CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;

-- An approval gate of an approval task. delivery_id and stage are copied from the task run.
CREATE TABLE approvals (
    id              INTEGER PRIMARY KEY,
    delivery_id     INTEGER NOT NULL REFERENCES deliveries (id),
    task_run_id     INTEGER NOT NULL REFERENCES task_runs (id),
    stage           TEXT    NOT NULL,
    required        INTEGER NOT NULL CHECK (required >= 1),
    roles           TEXT    CHECK (json_type(roles) = 'array'),
    allow_requester INTEGER NOT NULL CHECK (allow_requester IN (0, 1)),
    state           TEXT    NOT NULL,
    reason          TEXT    NOT NULL DEFAULT '',
    decided_by      TEXT    NOT NULL DEFAULT '',
    decided_at      INTEGER,
    expires_at      INTEGER,
    created_at      INTEGER NOT NULL
) STRICT;

CREATE INDEX approvals_by_delivery ON approvals (delivery_id);
CREATE INDEX approvals_by_task_run ON approvals (task_run_id);
CREATE INDEX approvals_by_state ON approvals (state, expires_at);

-- One vote per person per approval: the primary key is the rule. A rowid table, so votes cast in the
-- same millisecond still list in the order they were cast.
CREATE TABLE approval_votes (
    approval_id INTEGER NOT NULL REFERENCES approvals (id),
    voter       TEXT    NOT NULL CHECK (voter <> ''),
    platform    TEXT    NOT NULL DEFAULT '',
    decision    TEXT    NOT NULL CHECK (decision IN ('approve', 'reject')),
    reason      TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (approval_id, voter)
) STRICT;

-- SLO evaluations. Lighthouse's comparison reads the latest ones of the same project, stage and
-- service, newest first, so that is the index.
CREATE TABLE evaluations (
    id           INTEGER PRIMARY KEY,
    delivery_id  INTEGER REFERENCES deliveries (id),
    task_run_id  INTEGER REFERENCES task_runs (id),
    project      TEXT    NOT NULL CHECK (project <> ''),
    stage        TEXT    NOT NULL CHECK (stage <> ''),
    service      TEXT    NOT NULL CHECK (service <> ''),
    result       TEXT    NOT NULL,
    status       TEXT    NOT NULL DEFAULT '',
    score        REAL    NOT NULL,
    message      TEXT    NOT NULL DEFAULT '',
    time_start   INTEGER NOT NULL,
    time_end     INTEGER NOT NULL,
    objectives   TEXT    CHECK (json_valid(objectives)),
    compared_ids TEXT    CHECK (json_type(compared_ids) = 'array'),
    invalidated  INTEGER NOT NULL DEFAULT 0 CHECK (invalidated IN (0, 1)),
    created_at   INTEGER NOT NULL
) STRICT;

CREATE INDEX evaluations_by_scope ON evaluations (project, stage, service, created_at DESC);
CREATE INDEX evaluations_by_delivery ON evaluations (delivery_id);

-- The SLI values an evaluation measured; they are the baseline of later evaluations.
CREATE TABLE evaluation_slis (
    evaluation_id INTEGER NOT NULL REFERENCES evaluations (id),
    sli           TEXT    NOT NULL CHECK (sli <> ''),
    value         REAL,
    success       INTEGER NOT NULL CHECK (success IN (0, 1)),
    message       TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (evaluation_id, sli)
) STRICT, WITHOUT ROWID;

-- Messages shipgate posted for a delivery, so it can edit the root card and reply in its thread.
CREATE TABLE chat_messages (
    id          INTEGER PRIMARY KEY,
    delivery_id INTEGER NOT NULL REFERENCES deliveries (id),
    platform    TEXT    NOT NULL CHECK (platform <> ''),
    channel     TEXT    NOT NULL CHECK (channel <> ''),
    message_id  TEXT    NOT NULL CHECK (message_id <> ''),
    thread_id   TEXT    NOT NULL DEFAULT '',
    kind        TEXT    NOT NULL,
    approval_id INTEGER REFERENCES approvals (id),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (platform, channel, message_id)
) STRICT;

CREATE INDEX chat_messages_by_delivery ON chat_messages (delivery_id, platform, channel, kind);

-- Requests already acted on (CI Idempotency-Key, Slack retries, Discord interaction ids, clicks).
CREATE TABLE idempotency_keys (
    scope       TEXT    NOT NULL,
    key         TEXT    NOT NULL CHECK (key <> ''),
    delivery_id INTEGER REFERENCES deliveries (id),
    response    TEXT    CHECK (json_valid(response)),
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
) STRICT, WITHOUT ROWID;

CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);

-- Who did what, when, from where, and whether it was allowed. Denials are recorded too.
CREATE TABLE audit_log (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
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
