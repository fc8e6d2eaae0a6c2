-- The timeout ladder of an approval: reminders to the approvers who have not voted, and an escalation
-- that adds roles as approvers. The timers are derived from what is stored here and from created_at, so
-- that they survive a restart; the counts and times of what was sent make a second firing a no-op.
--
-- remind_every_ns and escalate_after_ns are the task's remind_every and escalate_after as they were when
-- the approval opened (0: none). escalate_to is the roles the escalation adds to roles, as a JSON array
-- (NULL: none). reminders counts the reminders sent, last_reminded_at is when the latest one was, and
-- escalated_at is when the escalation happened (NULL: not yet, or never). No index holds them: they are
-- read with the approval they belong to.
ALTER TABLE approvals ADD COLUMN remind_every_ns   INTEGER NOT NULL DEFAULT 0 CHECK (remind_every_ns >= 0);
ALTER TABLE approvals ADD COLUMN escalate_after_ns INTEGER NOT NULL DEFAULT 0 CHECK (escalate_after_ns >= 0);
ALTER TABLE approvals ADD COLUMN escalate_to       TEXT CHECK (json_type(escalate_to) = 'array');
ALTER TABLE approvals ADD COLUMN reminders         INTEGER NOT NULL DEFAULT 0 CHECK (reminders >= 0);
ALTER TABLE approvals ADD COLUMN last_reminded_at  INTEGER;
ALTER TABLE approvals ADD COLUMN escalated_at      INTEGER;
