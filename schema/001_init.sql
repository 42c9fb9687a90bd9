-- orb-learn schema v1. Column names are the review's field names (snake_case).
-- Timestamps are UTC, stored as TIMESTAMP (microseconds).
-- No foreign keys: feedback may arrive before its execution, and archiving deletes executions.
-- No secondary indexes: DuckDB's ART indexes serve point look-ups, not the range scans the
-- review planned for; rows land in time order so zone maps prune time-bounded scans.

CREATE TABLE executions (
    task_id UUID PRIMARY KEY,
    timestamp TIMESTAMP NOT NULL,
    task_type VARCHAR NOT NULL,
    task_description VARCHAR NOT NULL,
    repo VARCHAR NOT NULL,
    file_count INTEGER NOT NULL,
    estimated_tokens BIGINT NOT NULL,
    model_tier VARCHAR NOT NULL,
    pool_type VARCHAR NOT NULL,
    swarm_topology VARCHAR,
    routing_confidence DOUBLE NOT NULL,
    predicted_success_probability DOUBLE,
    complexity_score INTEGER NOT NULL,
    success BOOLEAN NOT NULL,
    duration_seconds DOUBLE NOT NULL,
    quality_score INTEGER,
    cost_estimate DOUBLE NOT NULL,
    actual_cost DOUBLE NOT NULL,
    error_type VARCHAR,
    error_message VARCHAR,
    user_accepted BOOLEAN,
    user_rating INTEGER,
    peak_memory_mb DOUBLE,
    cpu_time_seconds DOUBLE,
    solution_summary VARCHAR,
    metadata JSON NOT NULL,
    trace_id VARCHAR,
    span_id VARCHAR,
    service_name VARCHAR,
    received_at TIMESTAMP NOT NULL
);

-- Spans that carried execution.* attributes but failed validation: kept to be fixed and replayed.
CREATE TABLE rejected_spans (
    rejected_id UUID PRIMARY KEY,
    received_at TIMESTAMP NOT NULL,
    trace_id VARCHAR,
    span_id VARCHAR,
    span_name VARCHAR,
    service_name VARCHAR,
    reason VARCHAR NOT NULL,
    attributes JSON NOT NULL,
    resource JSON NOT NULL
);

-- The review's remaining tables (§1.1); later stages fill them.
CREATE TABLE feedback (
    feedback_id UUID PRIMARY KEY,
    task_id UUID NOT NULL,
    timestamp TIMESTAMP NOT NULL,
    feedback_type VARCHAR,
    rating INTEGER,
    comment VARCHAR,
    user_id VARCHAR
);

CREATE TABLE solutions (
    pattern_id UUID PRIMARY KEY,
    extracted_at TIMESTAMP NOT NULL,
    task_context VARCHAR,
    solution_summary VARCHAR NOT NULL,
    success_rate DOUBLE,
    usage_count INTEGER NOT NULL DEFAULT 0,
    repos_used_in VARCHAR[],
    embedding FLOAT[]
);

CREATE TABLE quality_policies (
    policy_id UUID PRIMARY KEY,
    repo VARCHAR NOT NULL,
    project_maturity VARCHAR,
    coverage_threshold DOUBLE,
    strictness_level VARCHAR,
    last_adjusted TIMESTAMP,
    adjustment_reason VARCHAR
);
