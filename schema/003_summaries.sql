-- Pre-aggregations without materialized views: summary tables that the writer keeps current in
-- the same transaction as the executions they summarize (only rows actually inserted count, so a
-- redelivery changes nothing). Named as the review's views; averages are derived columns.

CREATE TABLE tier_performance_mv (
    repo VARCHAR NOT NULL,
    model_tier VARCHAR NOT NULL,
    task_type VARCHAR NOT NULL,
    date DATE NOT NULL,
    total_executions BIGINT NOT NULL,
    successful_count BIGINT NOT NULL,
    sum_duration DOUBLE NOT NULL,
    sum_cost DOUBLE NOT NULL,
    sum_cost_estimate DOUBLE NOT NULL,
    sum_abs_cost_error DOUBLE NOT NULL,
    sum_quality DOUBLE NOT NULL,
    quality_count BIGINT NOT NULL,
    avg_duration DOUBLE GENERATED ALWAYS AS (sum_duration / total_executions) VIRTUAL,
    avg_cost DOUBLE GENERATED ALWAYS AS (sum_cost / total_executions) VIRTUAL,
    avg_quality DOUBLE GENERATED ALWAYS AS (CASE WHEN quality_count > 0 THEN sum_quality / quality_count END) VIRTUAL,
    PRIMARY KEY (repo, model_tier, task_type, date)
);

-- A mergeable sketch of duration per tier_performance_mv group: log buckets with ratio 1.02, so a
-- quantile read from it is within ±1% (relative) of a true duration of that rank.
-- bucket = ceil(ln(d) / ln(1.02)); durations ≤ 1e-6 s go to bucket -32768.
CREATE TABLE tier_duration_sketch (
    repo VARCHAR NOT NULL,
    model_tier VARCHAR NOT NULL,
    task_type VARCHAR NOT NULL,
    date DATE NOT NULL,
    bucket SMALLINT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (repo, model_tier, task_type, date, bucket)
);

CREATE TABLE pool_performance_mv (
    pool_type VARCHAR NOT NULL,
    repo VARCHAR NOT NULL,
    hour TIMESTAMP NOT NULL,
    total_tasks BIGINT NOT NULL,
    successful_tasks BIGINT NOT NULL,
    sum_duration DOUBLE NOT NULL,
    sum_cost DOUBLE NOT NULL,
    avg_duration DOUBLE GENERATED ALWAYS AS (sum_duration / total_tasks) VIRTUAL,
    avg_cost DOUBLE GENERATED ALWAYS AS (sum_cost / total_tasks) VIRTUAL,
    success_rate DOUBLE GENERATED ALWAYS AS (successful_tasks / total_tasks) VIRTUAL,
    PRIMARY KEY (pool_type, repo, hour)
);

CREATE TABLE solution_patterns_mv (
    solution_summary VARCHAR NOT NULL,
    repo VARCHAR NOT NULL,
    task_types VARCHAR[] NOT NULL,
    usage_count BIGINT NOT NULL,
    success_count BIGINT NOT NULL,
    sum_quality DOUBLE NOT NULL,
    quality_count BIGINT NOT NULL,
    first_seen TIMESTAMP NOT NULL,
    last_seen TIMESTAMP NOT NULL,
    avg_quality DOUBLE GENERATED ALWAYS AS (CASE WHEN quality_count > 0 THEN sum_quality / quality_count END) VIRTUAL,
    success_rate DOUBLE GENERATED ALWAYS AS (success_count / usage_count) VIRTUAL,
    PRIMARY KEY (solution_summary, repo)
);
