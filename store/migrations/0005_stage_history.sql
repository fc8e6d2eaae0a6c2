-- The runs of a stage that overlap a time window, for the DORA figures (ListStageFacts): those still
-- live (finished_at NULL) and those that finished since the window began, found without reading the
-- stage's whole history.
CREATE INDEX sequence_runs_by_stage_end ON sequence_runs (project, stage, finished_at, service);
