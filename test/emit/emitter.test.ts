// orb-learn/emitter: validation with the ingester's own schemas, attribute names, the import graph,
// and a round trip through the real OTel SDK, the real OTLP/gRPC exporter and a real orb-learn.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Attributes, Span } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { FeedbackRecord } from '../../src/convert/feedback.js';
import { ExecutionRecord } from '../../src/convert/record.js';
import { EXECUTION_PREFIX as INGEST_EXECUTION_PREFIX, METADATA_PREFIX as INGEST_METADATA_PREFIX } from '../../src/convert/span-to-record.js';
import { deriveTaskId } from '../../src/convert/task-id.js';
import * as emitter from '../../src/emit/index.js';
import {
  EXECUTION_PREFIX,
  executionAttributes,
  feedbackAttributes,
  InvalidRecordError,
  METADATA_PREFIX,
  recordExecution,
  recordFeedback,
  type ExecutionInput,
  type ExecutionRecordInput,
} from '../../src/emit/index.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { exportOk, makeExporter } from '../helpers/spans.js';

/** A span that only records what is set on it. */
function fakeSpan(): Span & { calls: Attributes[] } {
  const calls: Attributes[] = [];
  const span = {
    calls,
    setAttributes(a: Attributes) {
      calls.push({ ...a });
      return span;
    },
    setAttribute(k: string, v: unknown) {
      calls.push({ [k]: v } as Attributes);
      return span;
    },
  };
  return span as unknown as Span & { calls: Attributes[] };
}

const TASK_ID = '3f2c9a4e-8b1d-4c6e-9f0a-1b2c3d4e5f60';

/** Every field an ExecutionRecord has, as a producer would give it. */
function fullRecord(over: Partial<ExecutionInput> = {}): ExecutionInput {
  return {
    task_id: TASK_ID,
    task_type: 'refactor',
    task_description: 'Refactor the authentication middleware to use JWT validation — «ünïcode» ✓',
    repo: 'mahavishnu',
    file_count: 7,
    estimated_tokens: 12000,
    model_tier: 'medium',
    pool_type: 'session-buddy',
    swarm_topology: 'mesh',
    routing_confidence: 0.82,
    predicted_success_probability: 0.9,
    complexity_score: 65,
    success: false,
    duration_seconds: 45.5,
    quality_score: 92,
    cost_estimate: 0.003,
    actual_cost: 2, // an integral double travels as an OTLP int and must still land as 2
    error_type: 'quality_gate',
    error_message: 'coverage fell below 80%',
    user_accepted: true,
    user_rating: 4,
    peak_memory_mb: 512.25,
    cpu_time_seconds: 30.5,
    solution_summary: 'Extracted JWT validation into shared middleware',
    metadata: { ticket: 'ORB-42', attempt: 3, ratio: 0.25, flaky: false, labels: ['auth', 'jwt'], owner: { team: 'platform', oncall: true } },
    ...over,
  };
}

const MINIMAL: ExecutionInput = {
  task_type: 'test',
  task_description: 'Stabilize the flaky integration tests',
  repo: 'orb',
  model_tier: 'small',
  pool_type: 'local',
  routing_confidence: 0.5,
  cost_estimate: 0.001,
  actual_cost: 0.002,
};

function invalid(fn: () => unknown): InvalidRecordError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof InvalidRecordError, `expected InvalidRecordError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected InvalidRecordError');
}

describe('emitter: execution attributes', () => {
  it('sets every given field as execution.<field>, in one call', () => {
    const span = fakeSpan();
    const attrs = recordExecution(span, fullRecord());
    assert.equal(span.calls.length, 1, 'one setAttributes call');
    assert.deepEqual(span.calls[0], attrs);
    const { metadata: _m, ...fields } = fullRecord();
    for (const [field, value] of Object.entries(fields)) assert.equal(attrs[`execution.${field}`], value, field);
    assert.deepEqual(
      Object.keys(attrs).filter((k) => !k.startsWith(METADATA_PREFIX)).sort(),
      Object.keys(fields).map((f) => `execution.${f}`).sort(),
    );
  });

  it('sets only what was given: defaults are orb-learn’s to apply, and task_id only when given', () => {
    const attrs = executionAttributes(MINIMAL);
    assert.deepEqual(attrs, Object.fromEntries(Object.entries(MINIMAL).map(([k, v]) => [`execution.${k}`, v])));
    assert.equal(attrs['execution.task_id'], undefined);
    assert.equal(attrs['execution.success'], undefined, 'success comes from the span status');
    assert.equal(attrs['execution.duration_seconds'], undefined, 'duration comes from the span');
    const nulls = executionAttributes({ ...MINIMAL, swarm_topology: null, quality_score: null, error_type: null });
    assert.deepEqual(nulls, attrs, 'null fields are left out');
  });

  it('never emits timestamp: the span start is the timestamp (a given one is still validated)', () => {
    const attrs = executionAttributes({ ...MINIMAL, timestamp: new Date('2026-02-01T00:00:00Z') });
    assert.ok(!Object.keys(attrs).some((k) => k.includes('timestamp')));
    const err = invalid(() => executionAttributes({ ...MINIMAL, timestamp: '2026-02-01' as unknown as Date }));
    assert.equal(err.field, 'timestamp');
  });

  it('takes the ingester’s own ExecutionRecordInput as it is', () => {
    const full: ExecutionRecordInput = { ...MINIMAL, task_id: TASK_ID, timestamp: new Date(), success: true, duration_seconds: 1 };
    const attrs = recordExecution(fakeSpan(), full);
    assert.equal(attrs['execution.success'], true);
    assert.equal(attrs['execution.duration_seconds'], 1);
  });

  it('emits the task_id as the schema normalizes it (lower case)', () => {
    assert.equal(executionAttributes({ ...MINIMAL, task_id: TASK_ID.toUpperCase() })['execution.task_id'], TASK_ID);
  });

  it('writes metadata as execution.metadata.<key>: scalars as they are, nested values as JSON', () => {
    const when = new Date('2026-03-04T05:06:07.008Z');
    const attrs = executionAttributes({
      ...MINIMAL,
      metadata: { s: 'x', n: 1.5, i: 2, b: true, list: [1, 'a'], obj: { a: { b: [null] } }, when, gone: undefined, nothing: null, 'dotted.key': 'y' },
    });
    const meta = Object.fromEntries(Object.entries(attrs).filter(([k]) => k.startsWith(METADATA_PREFIX)).map(([k, v]) => [k.slice(METADATA_PREFIX.length), v]));
    assert.deepEqual(meta, { s: 'x', n: 1.5, i: 2, b: true, list: '[1,"a"]', obj: '{"a":{"b":[null]}}', when: when.toISOString(), 'dotted.key': 'y' });
  });

  it('uses the ingester’s own schema and attribute prefixes', () => {
    assert.equal(emitter.ExecutionRecord, ExecutionRecord, 'the same zod schema object, not a copy');
    assert.equal(emitter.FeedbackRecord, FeedbackRecord);
    assert.deepEqual(Object.keys(emitter.EmittedExecution.shape), Object.keys(ExecutionRecord.shape));
    assert.equal(EXECUTION_PREFIX, INGEST_EXECUTION_PREFIX);
    assert.equal(METADATA_PREFIX, INGEST_METADATA_PREFIX);
  });
});

describe('emitter: invalid executions throw, naming the field, and leave the span untouched', () => {
  const cases: [string, Record<string, unknown>, string, RegExp][] = [
    ['a probability above 1', { routing_confidence: 1.5 }, 'routing_confidence', /routing_confidence \(execution\.routing_confidence\): must be ≤ 1/],
    ['a negative cost', { actual_cost: -1 }, 'actual_cost', /must be ≥ 0/],
    ['a fractional count', { file_count: 2.5 }, 'file_count', /expected int, got number 2\.5/],
    ['a number as a string', { cost_estimate: '0.1' }, 'cost_estimate', /expected number, got string "0\.1"/],
    ['an empty required string', { repo: '' }, 'repo', /repo \(execution\.repo\): must not be empty/],
    ['a missing required field', { task_type: undefined }, 'task_type', /task_type \(execution\.task_type\): required/],
    ['an unknown error_type', { error_type: 'oops' }, 'error_type', /must be one of timeout, quality_gate, crash, validation, unknown/],
    ['a task_id that is not a UUID', { task_id: 'task-42' }, 'task_id', /task_id \(execution\.task_id\): must be a UUID/],
    ['a rating out of range', { user_rating: 6 }, 'user_rating', /must be ≤ 5/],
    ['a typo in a field name', { task_typ: 'x' }, 'task_typ', /task_typ: unknown field/],
    ['a reserved metadata key', { metadata: { resource: 'x' } }, 'metadata.resource', /execution\.metadata\.resource\): reserved/],
    ['a bigint in metadata', { metadata: { big: 10n } }, 'metadata.big', /execution\.metadata\.big\): a bigint/],
    ['NaN in metadata', { metadata: { bad: Number.NaN } }, 'metadata.bad', /finite number/],
    ['a cycle in metadata', { metadata: { loop: (() => { const o: Record<string, unknown> = {}; o.self = o; return o; })() } }, 'metadata.loop', /cannot be written as JSON/],
  ];
  for (const [what, over, field, message] of cases)
    it(what, () => {
      const span = fakeSpan();
      const err = invalid(() => recordExecution(span, { ...fullRecord(), ...over } as ExecutionInput));
      assert.equal(err.field, field);
      assert.equal(err.record, 'ExecutionRecord');
      assert.match(err.message, message);
      assert.match(err.message, /^invalid ExecutionRecord: /);
      assert.equal(span.calls.length, 0, 'no attribute was set');
    });

  it('reports every problem, first field first', () => {
    const err = invalid(() => executionAttributes({ ...MINIMAL, routing_confidence: 2, repo: '', metadata: { span_name: 'x' } }));
    assert.equal(err.problems.length, 2, 'schema problems first; metadata is checked once the schema passes');
    assert.equal(err.field, 'repo');
    assert.equal(err.attribute, 'execution.repo');
  });

  it('rejects what is not an object', () => {
    assert.match(invalid(() => executionAttributes(null as unknown as ExecutionInput)).message, /expected an object, got null/);
  });
});

describe('emitter: feedback', () => {
  it('sets feedback.task_id, type, rating, comment and user_id', () => {
    const span = fakeSpan();
    const attrs = recordFeedback(span, {
      task_id: TASK_ID.toUpperCase(),
      feedback_type: 'rating',
      rating: 5,
      comment: 'spot on',
      user_id: 'u-17',
      timestamp: new Date(),
    });
    assert.deepEqual(attrs, {
      'feedback.task_id': TASK_ID,
      'feedback.type': 'rating',
      'feedback.rating': 5,
      'feedback.comment': 'spot on',
      'feedback.user_id': 'u-17',
    });
    assert.deepEqual(span.calls, [attrs]);
  });

  it('needs only the task_id', () => {
    assert.deepEqual(feedbackAttributes({ task_id: TASK_ID }), { 'feedback.task_id': TASK_ID });
  });

  it('throws naming the field, and points a `type` to feedback_type', () => {
    const span = fakeSpan();
    let err = invalid(() => recordFeedback(span, { task_id: TASK_ID, rating: 0 }));
    assert.equal(err.field, 'rating');
    assert.match(err.message, /rating \(feedback\.rating\): must be ≥ 1/);
    err = invalid(() => recordFeedback(span, { task_id: TASK_ID, rating: 4.5 }));
    assert.match(err.message, /expected int/);
    err = invalid(() => recordFeedback(span, { rating: 3 } as never));
    assert.match(err.message, /task_id \(feedback\.task_id\): required/);
    err = invalid(() => recordFeedback(span, { task_id: TASK_ID, type: 'thumbs' } as never));
    assert.match(err.message, /type: unknown field .*did you mean feedback_type\?/);
    assert.equal(span.calls.length, 0);
  });
});

describe('emitter: a producer pulls zod and @opentelemetry/api only', () => {
  const DIST_SRC = join(PACKAGE_ROOT, 'dist', 'src');
  const entry = join(DIST_SRC, 'emit', 'index.js');

  /** Static and dynamic imports of the compiled emitter, followed through relative files. */
  function importGraph(): { files: string[]; packages: Set<string> } {
    const files: string[] = [];
    const packages = new Set<string>();
    const visit = (file: string) => {
      if (files.includes(file)) return;
      files.push(file);
      const js = readFileSync(file, 'utf8');
      for (const m of js.matchAll(/(?:^|[\s;])(?:import|export)\s*(?:[^'"]*?\sfrom\s*)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm)) {
        const spec = (m[1] ?? m[2])!;
        if (spec.startsWith('.')) visit(resolve(dirname(file), spec));
        else packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
      }
    };
    visit(entry);
    return { files: files.map((f) => relative(DIST_SRC, f)), packages };
  }

  it('reaches only the schema modules', () => {
    const { files } = importGraph();
    assert.deepEqual(files.sort(), ['convert/feedback.js', 'convert/issues.js', 'convert/record.js', 'emit/index.js']);
  });

  it('imports no package but zod at run time (@opentelemetry/api is for types only), and no Node built-in', () => {
    const { packages } = importGraph();
    assert.deepEqual([...packages].sort(), ['zod']);
  });

  it('is the package subpath orb-learn/emitter', async () => {
    const spec = 'orb-learn/emitter';
    const viaExports = (await import(spec)) as typeof emitter;
    assert.equal(viaExports.recordExecution, recordExecution);
    assert.equal(fileURLToPath(import.meta.resolve(spec)), entry);
  });
});

describe('emitter end to end: OTel SDK span → OTLP/gRPC exporter → orb-learn → DuckDB', () => {
  let t: TestServer;
  let memory: InMemorySpanExporter;
  let provider: BasicTracerProvider;

  before(async () => {
    t = await startTestServer();
    memory = new InMemorySpanExporter();
    provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'emitter-e2e' }),
      spanProcessors: [new SimpleSpanProcessor(memory)],
    });
  });
  after(async () => {
    await provider.shutdown();
    await t.close();
  });

  async function ship(spans: ReadableSpan[]): Promise<void> {
    const exporter = makeExporter('grpc', t);
    await exportOk(exporter, spans);
    await exporter.shutdown();
  }

  it('stores every field exactly as given, metadata included', async () => {
    const tracer = provider.getTracer('emitter-e2e');
    const start = Date.UTC(2026, 4, 17, 8, 30, 15, 250);
    const record = fullRecord();
    const span = tracer.startSpan('agent.refactor', { startTime: start });
    recordExecution(span, record);
    span.end(start + 60_000);
    await ship(memory.getFinishedSpans());
    memory.reset();

    const rows = await t.rows(`SELECT * FROM executions WHERE task_id = '${TASK_ID}'`);
    assert.equal(rows.length, 1, 'stored once');
    const row = rows[0]!;
    const { metadata, ...fields } = record;
    for (const [field, value] of Object.entries(fields)) {
      const stored = row[field];
      assert.deepEqual(typeof stored === 'bigint' ? Number(stored) : stored, value, field);
    }
    assert.deepEqual(row.timestamp, new Date(start), 'timestamp = span start');
    assert.equal(row.duration_seconds, 45.5, 'a given duration wins over the span’s 60 s');
    assert.equal(row.success, false, 'a given success wins over the span status');
    assert.equal(row.service_name, 'emitter-e2e');
    const stored = JSON.parse(String(row.metadata)) as Record<string, unknown>;
    for (const [k, v] of Object.entries(metadata!)) {
      if (v !== null && typeof v === 'object') assert.deepEqual(JSON.parse(String(stored[k])), v, `metadata.${k} (JSON text)`);
      else assert.deepEqual(stored[k], v, `metadata.${k}`);
    }
    assert.equal((stored.resource as Record<string, unknown>)['service.name'], 'emitter-e2e');
    assert.equal(stored.span_name, 'agent.refactor');
    const rejected = await t.rows('SELECT count(*)::INTEGER AS n FROM rejected_spans');
    assert.equal(rejected[0]!.n, 0);
  });

  it('leaves task_id, success and duration to the span when they are not given', async () => {
    const tracer = provider.getTracer('emitter-e2e');
    const start = Date.UTC(2026, 4, 18);
    const span = tracer.startSpan('agent.test', { startTime: start });
    recordExecution(span, { ...MINIMAL, metadata: { run: 1 } });
    span.setStatus({ code: 2, message: 'agent crashed' });
    span.end(start + 2_500);
    const [finished] = memory.getFinishedSpans();
    await ship([finished!]);
    memory.reset();

    const taskId = deriveTaskId(finished!.spanContext().traceId, finished!.spanContext().spanId);
    const [row] = await t.rows(`SELECT * FROM executions WHERE task_id = '${taskId}'`);
    assert.ok(row, 'stored under the task_id derived from the span ids');
    for (const [field, value] of Object.entries(MINIMAL)) assert.equal(row[field], value, field);
    assert.equal(row.success, false);
    assert.equal(row.duration_seconds, 2.5);
    assert.equal(row.error_message, 'agent crashed');
    assert.equal(row.complexity_score, 50, 'the schema default, applied by orb-learn');
    assert.equal(JSON.parse(String(row.metadata)).run, 1);
  });
});
