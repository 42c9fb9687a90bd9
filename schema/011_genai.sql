-- Runs learned from GenAI / OpenInference spans (src/convert/genai/).
--
-- routing_confidence and cost_estimate have no standard source on those spans: they become
-- optional. Queries that need them skip rows without them and say how many.
ALTER TABLE executions ALTER COLUMN routing_confidence DROP NOT NULL;
ALTER TABLE executions ALTER COLUMN cost_estimate DROP NOT NULL;

-- Cost error is averaged over the executions that carry an estimate. Every row so far had one.
ALTER TABLE tier_performance_mv ADD COLUMN estimate_count BIGINT DEFAULT 0;
ALTER TABLE tier_performance_mv ADD COLUMN sum_cost_with_estimate DOUBLE DEFAULT 0;
UPDATE tier_performance_mv SET estimate_count = total_executions, sum_cost_with_estimate = sum_cost;

-- Agent spans and inference calls waiting for their run to be assembled. A span is committed
-- here before it is acknowledged; an agent span leaves when its execution is committed (after
-- the settle wait), a call when it is counted in its execution (whenever that is) or when it
-- expires without an agent (orphan TTL, or the pending bound).
CREATE TABLE genai_pending (
    pending_id VARCHAR PRIMARY KEY,   -- trace_id/span_id: a redelivered span is kept once
    kind VARCHAR NOT NULL,            -- 'agent' | 'call'
    trace_id VARCHAR NOT NULL,
    span_id VARCHAR NOT NULL,
    parent_span_id VARCHAR,
    received_at TIMESTAMP NOT NULL,
    body VARCHAR NOT NULL             -- the trimmed agent span, or the call's model and tokens (JSON)
);
