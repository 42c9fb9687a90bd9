import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { decodeResponse, encodeRequest, grpcExport, otlpRequest, retryDelaySeconds } from '../helpers/raw.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { exportOk, fullExecution, makeExporter, makeSpans, minimalExecution } from '../helpers/spans.js';

describe('OTLP/gRPC receiver with the OpenTelemetry SDK exporter', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ maxMessageBytes: 1024 * 1024 });
  });
  after(() => t.close());

  it('stores every mapped field of an SDK span, then reads it back from the DuckDB file', async () => {
    const start = Date.UTC(2026, 1, 9, 10, 30, 0);
    const spans = makeSpans([{ name: 'agent.refactor', attributes: fullExecution({ 'execution.task_id': '11111111-2222-4333-8444-555555555555', 'execution.error_type': 'quality_gate', 'execution.error_message': 'coverage' }), startMs: start, endMs: start + 45_000 }], {
      'service.name': 'orchestrator',
      'deployment.environment': 'test',
    });
    const exporter = makeExporter('grpc', t);
    await exportOk(exporter, spans);
    await exporter.shutdown();
    const [r] = await t.rows(`SELECT * FROM executions WHERE task_id = '11111111-2222-4333-8444-555555555555'`);
    assert.ok(r, 'row stored');
    const expected: Record<string, unknown> = {
      task_type: 'refactor', repo: 'mahavishnu', model_tier: 'medium', pool_type: 'session-buddy', swarm_topology: 'mesh',
      solution_summary: 'Extracted JWT validation into shared middleware', file_count: 7, estimated_tokens: 12000n, complexity_score: 65,
      routing_confidence: 0.82, predicted_success_probability: 0.9, success: true, user_accepted: true, duration_seconds: 45.5,
      cost_estimate: 0.003, actual_cost: 0.0034, peak_memory_mb: 512.25, cpu_time_seconds: 30.5, quality_score: 92, user_rating: 5,
      error_type: 'quality_gate', error_message: 'coverage', service_name: 'orchestrator',
    };
    for (const [k, v] of Object.entries(expected)) assert.equal(r[k], v, k);
    assert.match(String(r.task_description), /^Refactor the authentication middleware #\d+$/);
    assert.deepEqual(r.timestamp, new Date(start));
    assert.equal(r.trace_id, spans[0]!.spanContext().traceId);
    assert.equal(r.span_id, spans[0]!.spanContext().spanId);
    const meta = JSON.parse(String(r.metadata));
    assert.equal(meta.ticket, 'ORB-42');
    assert.equal(meta.resource['deployment.environment'], 'test');
    assert.equal(meta.resource['service.name'], 'orchestrator');
  });

  it('fills defaults from the span: timestamp, duration, success and error_message', async () => {
    const start = Date.UTC(2026, 2, 1);
    const spans = makeSpans([{ attributes: minimalExecution({ 'execution.task_id': 'aaaaaaaa-0000-4000-8000-000000000001' }), status: { code: 'error', message: 'agent crashed' }, startMs: start, endMs: start + 2_500 }]);
    const exporter = makeExporter('grpc', t);
    await exportOk(exporter, spans);
    await exporter.shutdown();
    const [r] = await t.rows(`SELECT * FROM executions WHERE task_id = 'aaaaaaaa-0000-4000-8000-000000000001'`);
    assert.deepEqual(r!.timestamp, new Date(start));
    assert.equal(r!.duration_seconds, 2.5);
    assert.equal(r!.success, false);
    assert.equal(r!.error_message, 'agent crashed');
    assert.equal(r!.complexity_score, 50);
    assert.equal(r!.quality_score, null);
  });

  it('accepts gzip from the SDK exporter', async () => {
    const spans = makeSpans(Array.from({ length: 50 }, () => ({ attributes: minimalExecution({ 'execution.repo': 'gzip-grpc' }) })));
    const exporter = makeExporter('grpc', t, true);
    await exportOk(exporter, spans);
    await exporter.shutdown();
    const [r] = await t.rows(`SELECT count(*)::INTEGER AS n FROM executions WHERE repo = 'gzip-grpc'`);
    assert.equal(r!.n, 50);
  });

  it('re-sent spans produce no duplicates: the derived task_id is stable', async () => {
    const spans = makeSpans(Array.from({ length: 20 }, () => ({ attributes: minimalExecution({ 'execution.repo': 'resend-grpc' }) })));
    const exporter = makeExporter('grpc', t);
    const dupBefore = await t.metric('orb_spans_duplicate_total');
    await exportOk(exporter, spans);
    await exportOk(exporter, spans);
    await exportOk(exporter, spans.slice(0, 5));
    await exporter.shutdown();
    const [r] = await t.rows(`SELECT count(*)::INTEGER AS n FROM executions WHERE repo = 'resend-grpc'`);
    assert.equal(r!.n, 20);
    assert.equal((await t.metric('orb_spans_duplicate_total')) - dupBefore, 25);
  });

  it('answers partial_success for invalid spans and keeps them in rejected_spans', async () => {
    const body = encodeRequest(
      otlpRequest([
        { attrs: minimalExecution({ 'execution.repo': 'partial-grpc' }) as Record<string, unknown>, spanId: 'a000000000000001' },
        { attrs: minimalExecution({ 'execution.quality_score': 300 }) as Record<string, unknown>, spanId: 'a000000000000002' },
        { attrs: minimalExecution({ 'execution.file_count': 'many' }) as Record<string, unknown>, spanId: 'a000000000000003' },
      ]),
    );
    const out = await grpcExport(`127.0.0.1:${t.server.grpcPort}`, body);
    assert.equal(out.error, undefined);
    const resp = decodeResponse(out.response!);
    assert.equal(resp.partialSuccess?.rejectedSpans, 2);
    assert.match(resp.partialSuccess!.errorMessage, /execution\.quality_score: must be ≤ 100/);
    assert.match(resp.partialSuccess!.errorMessage, /execution\.file_count: expected int, got string/);
    const rej = await t.rows(`SELECT span_id, reason, attributes, received_at FROM rejected_spans WHERE span_id IN ('a000000000000002', 'a000000000000003') ORDER BY span_id`);
    assert.equal(rej.length, 2);
    assert.match(String(rej[0]!.reason), /quality_score/);
    assert.equal(JSON.parse(String(rej[1]!.attributes))['execution.file_count'], 'many');
    assert.ok(rej[0]!.received_at instanceof Date);
    const [ok] = await t.rows(`SELECT count(*)::INTEGER AS n FROM executions WHERE repo = 'partial-grpc'`);
    assert.equal(ok!.n, 1, 'the valid span of the same request is stored');
  });

  it('counts non-execution spans and does not store them', async () => {
    const before = await t.metric('orb_spans_non_execution_total');
    const spans = makeSpans([{ attributes: { 'http.route': '/users', 'db.system': 'duckdb' } }, { attributes: {} }]);
    const exporter = makeExporter('grpc', t);
    await exportOk(exporter, spans);
    await exporter.shutdown();
    assert.equal((await t.metric('orb_spans_non_execution_total')) - before, 2);
    const ids = spans.map((s) => `'${s.spanContext().spanId}'`).join(',');
    assert.equal((await t.rows(`SELECT * FROM executions WHERE span_id IN (${ids})`)).length, 0);
    assert.equal((await t.rows(`SELECT * FROM rejected_spans WHERE span_id IN (${ids})`)).length, 0);
  });

  it('answers INVALID_ARGUMENT to malformed protobuf, and keeps serving', async () => {
    const out = await grpcExport(`127.0.0.1:${t.server.grpcPort}`, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]));
    assert.equal(out.error?.code, status.INVALID_ARGUMENT);
    assert.match(out.error!.details, /malformed protobuf ExportTraceServiceRequest/);
    const garbage = await grpcExport(`127.0.0.1:${t.server.grpcPort}`, Buffer.from('definitely not protobuf \u00ff\u00fe'));
    assert.equal(garbage.error?.code, status.INVALID_ARGUMENT);
    const fine = await grpcExport(`127.0.0.1:${t.server.grpcPort}`, encodeRequest({}));
    assert.equal(fine.error, undefined);
  });

  it('answers RESOURCE_EXHAUSTED past the message limit, compressed or inflated', async () => {
    const big = encodeRequest(otlpRequest([{ attrs: minimalExecution({ 'execution.task_description': 'x'.repeat(2 * 1024 * 1024) }) as Record<string, unknown> }]));
    const plain = await grpcExport(`127.0.0.1:${t.server.grpcPort}`, big);
    assert.equal(plain.error?.code, status.RESOURCE_EXHAUSTED);
    assert.ok(gzipSync(big).length < 1024 * 1024, 'the compressed form fits the limit');
    const zipped = await grpcExport(`127.0.0.1:${t.server.grpcPort}`, big, { gzip: true });
    assert.equal(zipped.error?.code, status.RESOURCE_EXHAUSTED, 'the inflated size is capped too');
  });
});

describe('OTLP/gRPC backpressure', () => {
  let t: TestServer;
  before(async () => {
    // A long group wait keeps the first request queued while the second arrives.
    t = await startTestServer({ queueMaxRows: 10, batchMaxRows: 1000, batchMaxWaitMs: 1500, retryAfterSeconds: 2 });
  });
  after(() => t.close());

  it('answers UNAVAILABLE with RetryInfo when the write queue is full', async () => {
    const addr = `127.0.0.1:${t.server.grpcPort}`;
    const mk = (prefix: string, n: number) =>
      encodeRequest(otlpRequest(Array.from({ length: n }, (_, k) => ({ attrs: minimalExecution() as Record<string, unknown>, spanId: `${prefix}${String(k).padStart(15, '0')}` }))));
    const first = grpcExport(addr, mk('b', 8));
    await new Promise((r) => setTimeout(r, 200));
    const second = await grpcExport(addr, mk('c', 8));
    assert.equal(second.error?.code, status.UNAVAILABLE);
    assert.match(second.error!.details, /write queue full/);
    assert.equal(retryDelaySeconds(second.error!), 2);
    assert.equal((await first).error, undefined, 'the queued request still commits');
    const retry = await grpcExport(addr, mk('c', 8));
    assert.equal(retry.error, undefined, 'the retry succeeds once the queue drained');
  });
});
