-- What a delivery would change in a stage, computed when its approval was requested and shown to the
-- approvers: the summary (image, chart, changed objects) as JSON and the manifests' unified diff, with
-- secrets' values already masked. One row per approval, written once, never changed or deleted: it is
-- the record of what the approvers saw.
CREATE TABLE approval_changes (
    approval_id INTEGER PRIMARY KEY REFERENCES approvals (id),
    summary     TEXT    NOT NULL CHECK (json_valid(summary) AND json_type(summary) = 'object'),
    diff        TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL
) STRICT;

CREATE TRIGGER approval_changes_no_update BEFORE UPDATE ON approval_changes
BEGIN
    SELECT RAISE(ABORT, 'approval_changes are append-only: written once, the record of what the approvers saw');
END;

CREATE TRIGGER approval_changes_no_delete BEFORE DELETE ON approval_changes
BEGIN
    SELECT RAISE(ABORT, 'approval_changes are append-only: written once, the record of what the approvers saw');
END;
