-- What an approver was shown when an approval was requested: the evaluation that gated it and the
-- version running in the stage, as JSON. It is the record of what people decided on, so it is written
-- with the approval and never changes: a later evaluation of the delivery (production's own) must not
-- rewrite a decided card. NULL for approvals requested before shipgate recorded evidence.
ALTER TABLE approvals ADD COLUMN evidence TEXT CHECK (evidence IS NULL OR json_type(evidence) = 'object');

CREATE TRIGGER approvals_evidence_frozen BEFORE UPDATE OF evidence ON approvals
WHEN OLD.evidence IS NOT NEW.evidence
BEGIN
    SELECT RAISE(ABORT, 'approval evidence never changes once requested');
END;
