import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { decodeResponse, decodeStatus, encodeRequest, httpPost, otlpRequest } from '../helpers/raw.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { exportOk, makeExporter, makeSpans, minimalExecution, fullExecution, type ExporterKind } from '../helpers/spans.js';

const PROTO = { 'content-type': 'application/x-protobuf' };
const JSON_CT = { 'content-type': 'application/json' };

describe('OTLP/HTTP receiver with the OpenTelemetry SDK exporters', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ maxMessageBytes: 1024 * 1024 });
  });
  after(() => t.close());

  for (const kind of ['http-proto', 'http-json'] as ExporterKind[]) {
    for (const gzip of [false, true]) {
      it(`stores spans from the ${kind} exporter${gzip ? ' with gzip' : ''}, with the same values as gRPC`, async () => {
        const repo = `${kind}-${gzip ? 'gz' : 'plain'}`;
        const start = Date.UTC(2026, 3, 1, 12);
        const spans = makeSpans([
          { attributes: fullExecution({ 'execution.repo': repo, 'execution.estimated_tokens': 9_007_199_254 }), startMs: start, endMs: start + 1000 },
          ...Array.from({ length: 9 }, () => ({ attributes: minimalExecution({ 'execution.repo': repo }) })),
        ]);
        const exporter = makeExporter(kind, t, gzip);
        await exportOk(exporter, spans);
        await exportOk(exporter, spans); // a retry: no duplicates
        await exporter.shutdown();
        const rows = await t.rows(`SELECT * FROM executions WHERE repo = '${repo}' ORDER BY timestamp`);
        assert.equal(rows.length, 10);
        const full = rows.find((r) => r.quality_score === 92)!;
        assert.equal(full.estimated_tokens, 9_007_199_254n);
        assert.equal(full.routing_confidence, 0.82);
        assert.equal(full.user_rating, 5);
        assert.equal(full.success, true);
        assert.equal(full.trace_id, spans[0]!.spanContext().traceId, 'hex ids decoded');
        assert.deepEqual(full.timestamp, new Date(start));
        assert.equal(JSON.parse(String(full.metadata)).ticket, 'ORB-42');
      });
    }
  }

  it('answers partial_success in the request encoding, protobuf and JSON', async () => {
    const req = otlpRequest([
      { attrs: minimalExecution() as Record<string, unknown>, spanId: 'd000000000000001' },
      { attrs: minimalExecution({ 'execution.user_rating': 9 }) as Record<string, unknown>, spanId: 'd000000000000002' },
    ]);
    const pb = await httpPost(`${t.httpUrl}/v1/traces`, encodeRequest(req), PROTO);
    assert.equal(pb.status, 200);
    assert.equal(pb.headers['content-type'], 'application/x-protobuf');
    const resp = decodeResponse(pb.body);
    assert.equal(resp.partialSuccess?.rejectedSpans, 1);
    assert.match(resp.partialSuccess!.errorMessage, /span d000000000000002 \(execution\): execution\.user_rating: must be ≤ 5/);

    const jsonBody = {
      resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: '5b8efff798038103d269b633813fc60c', spanId: 'd000000000000003', startTimeUnixNano: '1767225600000000000', endTimeUnixNano: '1767225601000000000', attributes: [{ key: 'execution.repo', value: { stringValue: 'x' } }] }] }] }],
    };
    const js = await httpPost(`${t.httpUrl}/v1/traces`, Buffer.from(JSON.stringify(jsonBody)), JSON_CT);
    assert.equal(js.status, 200);
    const parsed = JSON.parse(js.body.toString());
    assert.equal(parsed.partialSuccess.rejectedSpans, '1', 'int64 is a string in OTLP/JSON');
    assert.match(parsed.partialSuccess.errorMessage, /execution\.task_type: required attribute is missing/);
    const [rej] = await t.rows(`SELECT reason FROM rejected_spans WHERE span_id = 'd000000000000003'`);
    assert.match(String(rej!.reason), /execution\.model_tier: required attribute is missing/);
  });

  it('answers 400 with a precise google.rpc.Status to malformed protobuf, JSON and gzip', async () => {
    const pb = await httpPost(`${t.httpUrl}/v1/traces`, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]), PROTO);
    assert.equal(pb.status, 400);
    const st = decodeStatus(pb.body);
    assert.equal(st.code, 3);
    assert.match(st.message, /malformed protobuf/);

    const js = await httpPost(`${t.httpUrl}/v1/traces`, Buffer.from('{"resourceSpans": ['), JSON_CT);
    assert.equal(js.status, 400);
    assert.match(JSON.parse(js.body.toString()).message, /malformed JSON body/);

    const badId = await httpPost(`${t.httpUrl}/v1/traces`, Buffer.from(JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: 'xyz' }] }] }] })), JSON_CT);
    assert.equal(badId.status, 400);
    assert.match(JSON.parse(badId.body.toString()).message, /resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.traceId: expected 32 hex characters/);

    const badInt = await httpPost(`${t.httpUrl}/v1/traces`, Buffer.from(JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ startTimeUnixNano: 'soon' }] }] }] })), JSON_CT);
    assert.equal(badInt.status, 400);
    assert.match(JSON.parse(badInt.body.toString()).message, /startTimeUnixNano: expected an integer/);

    const gz = await httpPost(`${t.httpUrl}/v1/traces`, Buffer.from('not gzip at all'), { ...PROTO, 'content-encoding': 'gzip' });
    assert.equal(gz.status, 400);
    assert.match(decodeStatus(gz.body).message, /malformed gzip body/);

    const health = await fetch(`${t.httpUrl}/healthz`);
    assert.equal(health.status, 200, 'still serving');
  });

  it('answers 413 to a body past the limit, and to a gzip bomb', async () => {
    const big = encodeRequest(otlpRequest([{ attrs: minimalExecution({ 'execution.task_description': 'y'.repeat(2 * 1024 * 1024) }) as Record<string, unknown> }]));
    const plain = await httpPost(`${t.httpUrl}/v1/traces`, big, PROTO);
    assert.equal(plain.status, 413);
    assert.match(decodeStatus(plain.body).message, /exceeds the 1048576-byte limit/);
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024));
    assert.ok(bomb.length < 1024 * 1024);
    const zipped = await httpPost(`${t.httpUrl}/v1/traces`, bomb, { ...PROTO, 'content-encoding': 'gzip' });
    assert.equal(zipped.status, 413);
    assert.match(decodeStatus(zipped.body).message, /decompressed body exceeds/);
  });

  it('answers 415 to an unknown media type or encoding, 405 to a wrong method, 404 elsewhere', async () => {
    const ct = await httpPost(`${t.httpUrl}/v1/traces`, Buffer.from('x'), { 'content-type': 'text/plain' });
    assert.equal(ct.status, 415);
    assert.match(JSON.parse(ct.body.toString()).message, /unsupported Content-Type "text\/plain"/);
    const ce = await httpPost(`${t.httpUrl}/v1/traces`, Buffer.from('x'), { ...PROTO, 'content-encoding': 'br' });
    assert.equal(ce.status, 415);
    const get = await fetch(`${t.httpUrl}/v1/traces`);
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
    assert.equal((await fetch(`${t.httpUrl}/v1/metrics`, { method: 'POST' })).status, 404);
  });

  it('serves /healthz, /readyz and Prometheus /metrics', async () => {
    assert.equal((await fetch(`${t.httpUrl}/healthz`)).status, 200);
    assert.equal((await fetch(`${t.httpUrl}/readyz`)).status, 200);
    const m = await fetch(`${t.httpUrl}/metrics`);
    assert.match(m.headers.get('content-type') ?? '', /text\/plain/);
    const text = await m.text();
    for (const name of ['orb_spans_received_total', 'orb_spans_accepted_total', 'orb_spans_rejected_total', 'orb_spans_non_execution_total', 'orb_spans_duplicate_total', 'orb_commit_batches_total', 'orb_commit_duration_seconds_bucket', 'orb_queue_depth_rows'])
      assert.match(text, new RegExp(`^${name}`, 'm'), name);
    assert.match(text, /^orb_spans_accepted_total [1-9]/m);
  });
});

describe('OTLP/HTTP backpressure', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ queueMaxRows: 10, batchMaxRows: 1000, batchMaxWaitMs: 1500, retryAfterSeconds: 4 });
  });
  after(() => t.close());

  it('answers 503 with Retry-After when the write queue is full', async () => {
    const mk = (p: string) => encodeRequest(otlpRequest(Array.from({ length: 8 }, (_, k) => ({ attrs: minimalExecution() as Record<string, unknown>, spanId: `${p}${String(k).padStart(15, '0')}` }))));
    const first = httpPost(`${t.httpUrl}/v1/traces`, mk('e'), PROTO);
    await new Promise((r) => setTimeout(r, 200));
    const second = await httpPost(`${t.httpUrl}/v1/traces`, mk('f'), PROTO);
    assert.equal(second.status, 503);
    assert.equal(second.headers['retry-after'], '4');
    assert.equal(decodeStatus(second.body).code, 14);
    assert.equal((await first).status, 200);
  });
});
