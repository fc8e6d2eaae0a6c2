-- The queued sequence runs, and nothing else: /metrics reports the depth of every queue on each scrape,
-- which must cost what the queues hold, not what the history holds (a full index scan of sequence_runs
-- grew with every delivery). Partial, so finished runs, almost all of them, are not in it and cost no
-- write once they have left the queue.
CREATE INDEX sequence_runs_queued ON sequence_runs (project, stage, service) WHERE state = 'triggered';
