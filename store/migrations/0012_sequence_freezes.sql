-- Freeze windows: a sequence run that would start in a frozen stage waits in state 'frozen', and keeps
-- which window holds it, what the window says, and when it ends, so that its card can show them and a
-- restart can set the timer that starts it again. The three are '' and NULL for a run never frozen, and
-- keep their last values once it has started (what held it, for the record).
ALTER TABLE sequence_runs ADD COLUMN freeze_name TEXT NOT NULL DEFAULT '';
ALTER TABLE sequence_runs ADD COLUMN freeze_message TEXT NOT NULL DEFAULT '';
ALTER TABLE sequence_runs ADD COLUMN frozen_until INTEGER;

-- The runs waiting to start, for the queue depths: a frozen run waits as a queued one does. With state
-- in it the index covers the count, which reads nothing else.
DROP INDEX sequence_runs_queued;
CREATE INDEX sequence_runs_queued ON sequence_runs (project, stage, service, state) WHERE state IN ('triggered', 'frozen');

-- The frozen runs, whose timers a restart sets again.
CREATE INDEX sequence_runs_frozen ON sequence_runs (frozen_until) WHERE state = 'frozen';
