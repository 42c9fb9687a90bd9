// Memory bounded in bytes (issue 10 §4): a span carrying too much metadata is rejected with a reason,
// a request's rejects are kept as a sample past a cap and all counted, and the write queue, bounded
// in bytes by --memory-limit, pushes back with RESOURCE_EXHAUSTED + RetryInfo (HTTP 429 + Retry-After)
// while what it took still commits. Real server, real grpc-js and node:http clients.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { MAX_REJECTS_KEPT, MAX_SPAN_ATTRIBUTE_BYTES, MAX_SPAN_ATTRIBUTES } from '../../src/convert/span-load.js';
import { decodeResponse, decodeStatus, encodeRequest, grpcExport, httpPost, otlpRequest, retryDelaySeconds } from '../helpers/raw.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { minimalExecution } from '../helpers/spans.js';

const spanId = (prefix: string, k: number) => `${prefix}${String(k).padStart(15, '0')}`;

describe('metadata a span may carry, and the rejects a request keeps', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.close());

  it('rejects a span past the attribute count with a reason, keeping only a sample of its attributes', async () => {
    const attrs: Record<string, unknown> = minimalExecution() as Record<string, unknown>;
    for (let i = 0; i < 5000; i++) attrs[`execution.metadata.k${i}`] = `value ${i}`;
    const r = await grpcExport(`127.0.0.1:${t.server.grpcPort}`, encodeRequest(otlpRequest([{ attrs, spanId: spanId('f', 1), name: 'fat' }, { attrs: minimalExecution() as Record<string, unknown>, spanId: spanId('f', 2) }])));
    assert.equal(r.error, undefined);
    const p = decodeResponse(r.response!).partialSuccess!;
    assert.equal(p.rejectedSpans, 1);
    assert.match(p.errorMessage, new RegExp(`carries 5008 attributes .*more than the ${MAX_SPAN_ATTRIBUTES} a span may carry`));
    const [row] = await t.rows(`SELECT reason, attributes::VARCHAR AS attributes FROM rejected_spans WHERE span_name = 'fat'`);
    assert.match(String(row!.reason), /more than the 1024/);
    const kept = JSON.parse(String(row!.attributes)) as Record<string, unknown>;
    assert.ok(Object.keys(kept).length <= 40, `a sample, not 5008 attributes (${Object.keys(kept).length})`);
    assert.equal(kept['orb.attributes_not_kept'], 5008 - Object.keys(kept).length + 1);
    assert.equal((await t.rows('SELECT count(*)::INT AS n FROM executions'))[0]!.n, 1, 'the other span is stored');
  });

  it('rejects a span past the attribute bytes with a reason', async () => {
    const attrs = minimalExecution({ 'execution.metadata.blob': 'x'.repeat(MAX_SPAN_ATTRIBUTE_BYTES + 1) }) as Record<string, unknown>;
    const r = await httpPost(`${t.httpUrl}/v1/traces`, encodeRequest(otlpRequest([{ attrs, spanId: spanId('e', 1), name: 'wide' }])), { 'content-type': 'application/x-protobuf' });
    assert.equal(r.status, 200);
    const p = decodeResponse(r.body).partialSuccess!;
    assert.equal(p.rejectedSpans, 1);
    assert.match(p.errorMessage, new RegExp(`^1 of 1 spans rejected .*: execution\\.metadata\\.blob: \\d+ bytes; the span's attributes take \\d+ bytes .*more than the ${MAX_SPAN_ATTRIBUTE_BYTES} a span may carry`));
    const [row] = await t.rows(`SELECT length(attributes::VARCHAR)::INT AS n FROM rejected_spans WHERE span_name = 'wide'`);
    assert.ok(Number(row!.n) < 4096, 'the blob is not kept');
  });

  it('keeps a sample of the rejects past the cap per request, and counts them all', async () => {
    const n = MAX_REJECTS_KEPT + 500;
    const bad = Array.from({ length: n }, (_, k) => ({ attrs: minimalExecution({ 'execution.routing_confidence': 1.5 }) as Record<string, unknown>, spanId: spanId('d', k), name: 'invalid' }));
    const r = await grpcExport(`127.0.0.1:${t.server.grpcPort}`, encodeRequest(otlpRequest(bad)));
    assert.equal(r.error, undefined);
    const p = decodeResponse(r.response!).partialSuccess!;
    assert.equal(p.rejectedSpans, n, 'every reject is counted');
    assert.match(p.errorMessage, new RegExp(`^${n} of ${n} spans rejected \\(${MAX_REJECTS_KEPT} kept in rejected_spans as a sample, the other 500 counted only`));
    assert.equal((await t.rows(`SELECT count(*)::INT AS n FROM rejected_spans WHERE span_name = 'invalid'`))[0]!.n, MAX_REJECTS_KEPT);
    assert.equal(await t.metric('orb_spans_rejected_total') >= n, true);
  });
});

describe('the write queue bounded in bytes', () => {
  let t: TestServer;
  before(async () => {
    // 128MiB gives the queue 12.8 MiB; a long group wait keeps the first request queued while the second arrives.
    t = await startTestServer({ memoryLimit: '128MiB', batchMaxRows: 5000, batchMaxWaitMs: 1500, retryAfterSeconds: 3 });
  });
  after(() => t.close());

  // 200 KB of metadata a span, under the per-span cap: n spans weigh about n × 200 KB in the queue.
  const heavy = (prefix: string, n: number) =>
    encodeRequest(otlpRequest(Array.from({ length: n }, (_, k) => ({ attrs: minimalExecution({ 'execution.metadata.notes': `${prefix}${k} `.padEnd(200_000, 'n') }) as Record<string, unknown>, spanId: spanId(prefix, k) }))));

  it('answers RESOURCE_EXHAUSTED with RetryInfo over gRPC and 429 with Retry-After over HTTP, and commits what it took', async () => {
    const first = grpcExport(`127.0.0.1:${t.server.grpcPort}`, heavy('a', 60));
    await new Promise((r) => setTimeout(r, 500));
    const second = await grpcExport(`127.0.0.1:${t.server.grpcPort}`, heavy('b', 20));
    assert.equal(second.error?.code, status.RESOURCE_EXHAUSTED);
    assert.match(second.error!.details, /write queue full \(\d+ bytes waiting, limit \d+, from --memory-limit\)/);
    assert.equal(retryDelaySeconds(second.error!), 3);
    assert.ok((await t.metric('orb_queue_depth_bytes')) > 12_000_000, 'the waiting bytes are on /metrics');
    const viaHttp = await httpPost(`${t.httpUrl}/v1/traces`, heavy('c', 20), { 'content-type': 'application/x-protobuf' });
    assert.equal(viaHttp.status, 429);
    assert.equal(viaHttp.headers['retry-after'], '3');
    assert.match(decodeStatus(viaHttp.body).message, /write queue full/);
    assert.equal((await first).error, undefined, 'the queued request still commits');
    assert.equal((await t.rows('SELECT count(*)::INT AS n FROM executions'))[0]!.n, 60);
    const retry = await grpcExport(`127.0.0.1:${t.server.grpcPort}`, heavy('b', 20));
    assert.equal(retry.error, undefined, 'the retry succeeds once the queue drained');
    assert.equal((await t.rows('SELECT count(*)::INT AS n FROM executions'))[0]!.n, 80);
  });

  it("sets DuckDB's memory_limit to its share of the limit", async () => {
    const [row] = await t.rows(`SELECT current_setting('memory_limit') AS v`);
    assert.match(String(row!.v), /^32\.0 MiB$/, String(row!.v));
  });
});
