-- Feedback from every path (spans, GenAI evaluation events, the API and CLI), and the solution
-- library's running counts. Feedback keeps no foreign key: it may arrive before its execution.

ALTER TABLE feedback ADD COLUMN accepted BOOLEAN;
-- The raw score of a gen_ai.evaluation.result event, before any mapping onto rating.
ALTER TABLE feedback ADD COLUMN score DOUBLE;
ALTER TABLE feedback ADD COLUMN source VARCHAR;
ALTER TABLE feedback ADD COLUMN trace_id VARCHAR;
ALTER TABLE feedback ADD COLUMN span_id VARCHAR;
ALTER TABLE feedback ADD COLUMN received_at TIMESTAMP;

-- One row per solution pattern: summaries equal after normalization (case, spacing,
-- punctuation) share a pattern_id and merge.
ALTER TABLE solutions ADD COLUMN success_count BIGINT DEFAULT 0;
ALTER TABLE solutions ADD COLUMN sum_quality DOUBLE DEFAULT 0;
ALTER TABLE solutions ADD COLUMN quality_count BIGINT DEFAULT 0;
ALTER TABLE solutions ADD COLUMN task_types VARCHAR[];
ALTER TABLE solutions ADD COLUMN last_used TIMESTAMP;
ALTER TABLE solutions ALTER COLUMN usage_count TYPE BIGINT;
