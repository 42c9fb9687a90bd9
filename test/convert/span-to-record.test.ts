import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { convertRequest, convertSpan } from '../../src/convert/span-to-record.js';
import { deriveTaskId } from '../../src/convert/task-id.js';
import type { AnyValue, KeyValue, WireSpan } from '../../src/convert/wire-types.js';

const kv = (key: string, value: AnyValue): KeyValue => ({ key, value });
const s = (v: string): AnyValue => ({ value: 'stringValue', stringValue: v });
const i = (v: number): AnyValue => ({ value: 'intValue', intValue: String(v) });
const d = (v: number): AnyValue => ({ value: 'doubleValue', doubleValue: v });
const b = (v: boolean): AnyValue => ({ value: 'boolValue', boolValue: v });

const TRACE = Buffer.from('0af7651916cd43dd8448eb211c80319c', 'hex');
const SPAN = Buffer.from('b7ad6b7169203331', 'hex');
const START = 1_767_225_600_000_000_000n; // 2026-01-01T00:00:00Z

function span(attrs: KeyValue[], over: Partial<WireSpan> = {}): WireSpan {
  return {
    traceId: TRACE,
    spanId: SPAN,
    name: 'agent.run',
    startTimeUnixNano: String(START),
    endTimeUnixNano: String(START + 12_500_000_000n),
    attributes: attrs,
    ...over,
  };
}

const required = (): KeyValue[] => [
  kv('execution.task_type', s('refactor')),
  kv('execution.task_description', s('Refactor auth')),
  kv('execution.repo', s('mahavishnu')),
  kv('execution.model_tier', s('medium')),
  kv('execution.pool_type', s('session-buddy')),
  kv('execution.routing_confidence', d(0.8)),
  kv('execution.cost_estimate', d(0.003)),
  kv('execution.actual_cost', d(0.004)),
];

const ctx = { resource: { 'service.name': 'orchestrator', 'host.name': 'h1' }, serviceName: 'orchestrator', receivedAt: new Date('2026-01-01T00:01:00Z') };

function ok(sp: WireSpan) {
  const r = convertSpan(sp, ctx);
  if (!('row' in r)) assert.fail(`expected a row, got rejection: ${r.rejected.reason}`);
  return r.row;
}

function reason(sp: WireSpan): string {
  const r = convertSpan(sp, ctx);
  if (!('rejected' in r)) assert.fail('expected a rejection');
  return r.rejected.reason;
}

describe('span → ExecutionRecord', () => {
  it('maps every execution.* attribute to its field', () => {
    const id = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';
    const row = ok(
      span([
        ...required(),
        kv('execution.task_id', s(id.toUpperCase())),
        kv('execution.swarm_topology', s('mesh')),
        kv('execution.solution_summary', s('shared middleware')),
        kv('execution.file_count', i(7)),
        kv('execution.estimated_tokens', i(12000)),
        kv('execution.complexity_score', i(65)),
        kv('execution.predicted_success_probability', d(0.9)),
        kv('execution.success', b(false)),
        kv('execution.user_accepted', b(true)),
        kv('execution.duration_seconds', d(45.5)),
        kv('execution.peak_memory_mb', d(512)),
        kv('execution.cpu_time_seconds', i(30)),
        kv('execution.quality_score', i(92)),
        kv('execution.user_rating', i(4)),
        kv('execution.error_type', s('quality_gate')),
        kv('execution.error_message', s('coverage below 80%')),
        kv('execution.metadata.ticket', s('ORB-42')),
        kv('execution.metadata.attempt', i(2)),
        kv('http.method', s('POST')),
      ]),
    );
    assert.equal(row.task_id, id);
    assert.equal(row.task_type, 'refactor');
    assert.equal(row.task_description, 'Refactor auth');
    assert.equal(row.repo, 'mahavishnu');
    assert.equal(row.model_tier, 'medium');
    assert.equal(row.pool_type, 'session-buddy');
    assert.equal(row.swarm_topology, 'mesh');
    assert.equal(row.solution_summary, 'shared middleware');
    assert.equal(row.file_count, 7);
    assert.equal(row.estimated_tokens, 12000);
    assert.equal(row.complexity_score, 65);
    assert.equal(row.routing_confidence, 0.8);
    assert.equal(row.predicted_success_probability, 0.9);
    assert.equal(row.success, false);
    assert.equal(row.user_accepted, true);
    assert.equal(row.duration_seconds, 45.5);
    assert.equal(row.cost_estimate, 0.003);
    assert.equal(row.actual_cost, 0.004);
    assert.equal(row.peak_memory_mb, 512);
    assert.equal(row.cpu_time_seconds, 30);
    assert.equal(row.quality_score, 92);
    assert.equal(row.user_rating, 4);
    assert.equal(row.error_type, 'quality_gate');
    assert.equal(row.error_message, 'coverage below 80%');
    assert.equal(row.metadata.ticket, 'ORB-42');
    assert.equal(row.metadata.attempt, 2);
    assert.deepEqual(row.metadata.resource, { 'service.name': 'orchestrator', 'host.name': 'h1' });
    assert.equal('http.method' in row.metadata, false, 'non-execution attributes stay out of the record');
    assert.equal(row.trace_id, TRACE.toString('hex'));
    assert.equal(row.span_id, SPAN.toString('hex'));
    assert.equal(row.service_name, 'orchestrator');
    assert.deepEqual(row.received_at, ctx.receivedAt);
  });

  it('fills the defaults from the span and the review', () => {
    const row = ok(span(required(), { status: { code: 2, message: 'agent crashed' } }));
    assert.deepEqual(row.timestamp, new Date('2026-01-01T00:00:00Z'), 'timestamp = span start');
    assert.equal(row.duration_seconds, 12.5, 'duration = end − start');
    assert.equal(row.success, false, 'success = status ≠ ERROR');
    assert.equal(row.error_message, 'agent crashed', 'error_message = status message');
    assert.equal(row.file_count, 0);
    assert.equal(row.estimated_tokens, 0);
    assert.equal(row.complexity_score, 50);
    for (const f of ['swarm_topology', 'quality_score', 'user_rating', 'user_accepted', 'error_type', 'solution_summary', 'peak_memory_mb', 'cpu_time_seconds', 'predicted_success_probability'] as const)
      assert.equal(row[f], null, f);
    const okRow = ok(span(required(), { status: { code: 1 } }));
    assert.equal(okRow.success, true);
    assert.equal(okRow.error_message, null);
    assert.equal(ok(span(required())).success, true, 'UNSET status is success');
  });

  it('explicit attributes win over span-derived defaults', () => {
    const row = ok(span([...required(), kv('execution.success', b(true)), kv('execution.error_message', s('mine'))], { status: { code: 2, message: 'theirs' } }));
    assert.equal(row.success, true);
    assert.equal(row.error_message, 'mine');
  });

  it('derives a deterministic task_id from trace_id+span_id when absent or not a UUID', () => {
    const a = ok(span(required()));
    const again = ok(span(required()));
    assert.equal(a.task_id, again.task_id, 'a retried span maps to the same id');
    assert.equal(a.task_id, deriveTaskId(TRACE.toString('hex'), SPAN.toString('hex')));
    assert.match(a.task_id, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const other = ok(span(required(), { spanId: Buffer.from('00000000000000aa', 'hex') }));
    assert.notEqual(other.task_id, a.task_id);
    const named = ok(span([...required(), kv('execution.task_id', s('task-123'))]));
    assert.equal(named.task_id, a.task_id);
    assert.equal(named.metadata.original_task_id, 'task-123', 'the producer id is kept');
  });

  it('accepts int for double and rejects every other wrong type, naming the attribute', () => {
    assert.equal(ok(span([...required().filter((k) => k.key !== 'execution.routing_confidence'), kv('execution.routing_confidence', i(1))])).routing_confidence, 1);
    assert.match(reason(span([...required(), kv('execution.file_count', d(2.5))])), /execution\.file_count: expected int, got double/);
    assert.match(reason(span([...required(), kv('execution.file_count', s('3'))])), /execution\.file_count: expected int, got string/);
    assert.match(reason(span([...required(), kv('execution.success', s('true'))])), /execution\.success: expected bool, got string/);
    assert.match(reason(span([...required(), kv('execution.repo', i(5))])), /execution\.repo: expected string, got int/);
    assert.match(reason(span([...required(), kv('execution.actual_cost', s('0.1'))])), /execution\.actual_cost: expected double \(or int\), got string/);
  });

  it('enforces the ranges of section 2.3', () => {
    const cases: [string, AnyValue, RegExp][] = [
      ['execution.routing_confidence', d(1.5), /routing_confidence: must be ≤ 1/],
      ['execution.predicted_success_probability', d(-0.1), /predicted_success_probability: must be ≥ 0/],
      ['execution.complexity_score', i(101), /complexity_score: must be ≤ 100/],
      ['execution.file_count', i(-1), /file_count: must be ≥ 0/],
      ['execution.quality_score', i(101), /quality_score: must be ≤ 100/],
      ['execution.user_rating', i(0), /user_rating: must be ≥ 1/],
      ['execution.user_rating', i(6), /user_rating: must be ≤ 5/],
      ['execution.duration_seconds', d(-1), /duration_seconds: must be ≥ 0/],
      ['execution.cost_estimate', d(-0.01), /cost_estimate: must be ≥ 0/],
      ['execution.peak_memory_mb', d(-5), /peak_memory_mb: must be ≥ 0/],
      ['execution.error_type', s('oom'), /error_type: must be one of timeout, quality_gate, crash, validation, unknown/],
      ['execution.task_type', s(''), /task_type: must not be empty/],
    ];
    for (const [key, value, re] of cases) {
      const attrs = required().filter((k) => k.key !== key);
      assert.match(reason(span([...attrs, kv(key, value)])), re, key);
    }
  });

  it('names every missing required attribute', () => {
    const r = reason(span([kv('execution.repo', s('x'))]));
    for (const f of ['task_type', 'task_description', 'model_tier', 'pool_type', 'actual_cost'])
      assert.match(r, new RegExp(`execution\\.${f}: required attribute is missing`), f);
    // No standard source on GenAI spans, so optional everywhere (queries that need them skip rows without them).
    for (const f of ['routing_confidence', 'cost_estimate']) assert.doesNotMatch(r, new RegExp(`execution\\.${f}:`), f);
  });

  it('keeps a rejected span whole, with its reason', () => {
    const r = convertSpan(span([...required(), kv('execution.quality_score', i(300)), kv('other', s('x'))]), ctx);
    assert.ok('rejected' in r);
    assert.equal(r.rejected.attributes['execution.quality_score'], 300);
    assert.equal(r.rejected.attributes.other, 'x');
    assert.equal(r.rejected.trace_id, TRACE.toString('hex'));
    assert.equal(r.rejected.span_name, 'agent.run');
    assert.deepEqual(r.rejected.resource, ctx.resource);
    const again = convertSpan(span([...required(), kv('execution.quality_score', i(300))]), ctx);
    assert.ok('rejected' in again);
    assert.equal(again.rejected.rejected_id, r.rejected.rejected_id, 'a redelivered reject has the same id');
  });

  it('keeps unknown execution.* keys in metadata under their full name', () => {
    const row = ok(span([...required(), kv('execution.qualityscore', i(90))]));
    assert.equal(row.metadata['execution.qualityscore'], 90);
  });

  it('sorts a request into executions, rejects and non-execution spans', () => {
    const c = convertRequest(
      {
        resourceSpans: [
          {
            resource: { attributes: [kv('service.name', s('svc-a'))] },
            scopeSpans: [{ spans: [span(required()), span([kv('http.route', s('/x'))]), span([kv('execution.repo', s('r'))], { spanId: Buffer.from('0000000000000bbb', 'hex') })] }],
          },
        ],
      },
      new Date(),
    );
    assert.equal(c.total, 3);
    assert.equal(c.executions.length, 1);
    assert.equal(c.executions[0]!.service_name, 'svc-a');
    assert.equal(c.rejected.length, 1);
    assert.equal(c.nonExecution, 1);
  });
});
