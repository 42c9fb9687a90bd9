// Valid ExecutionRows for store and pipeline tests.
import { ExecutionRow } from '../../src/convert/record.js';
import { uuidV5 } from '../../src/convert/task-id.js';

export function row(n: number, over: Partial<ExecutionRow> = {}): ExecutionRow {
  return ExecutionRow.parse({
    task_id: uuidV5(`row-${n}`),
    timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, n)),
    task_type: 'refactor',
    task_description: `task ${n}`,
    repo: 'r',
    model_tier: 'small',
    pool_type: 'p',
    routing_confidence: 0.5,
    success: true,
    duration_seconds: 1,
    cost_estimate: 0.1,
    actual_cost: 0.1,
    metadata: { n },
    trace_id: null,
    span_id: null,
    service_name: 'svc',
    received_at: new Date(),
    ...over,
  });
}
