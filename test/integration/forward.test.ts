import assert from 'node:assert/strict';
import { Server, ServerCredentials, status } from '@grpc/grpc-js';
import { TRACE_EXPORT_PATH } from '../../src/receiver/wire.js';
import { after, before, describe, it } from 'node:test';
import { decodeResponse, encodeRequest, grpcExport, httpPost, otlpRequest } from '../helpers/raw.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { exportOk, makeExporter, makeSpans, minimalExecution } from '../helpers/spans.js';

describe('in-line mode: orb-learn chained in front of another OTLP receiver', () => {
  let downstream: TestServer;
  let inline: TestServer;
  before(async () => {
    downstream = await startTestServer();
    inline = await startTestServer({ forward: `127.0.0.1:${downstream.server.grpcPort}` });
  });
  after(async () => {
    await inline.close();
    await downstream.close();
  });

  it('passes every span on unchanged and learns from the execution spans itself', async () => {
    const spans = makeSpans([
      { attributes: minimalExecution({ 'execution.repo': 'chain' }) },
      { attributes: { 'http.route': '/users' } },
      { attributes: { 'db.system': 'duckdb' } },
    ]);
    const before = await downstream.metric('orb_spans_received_total');
    for (const kind of ['grpc', 'http-proto', 'http-json'] as const) {
      const exporter = makeExporter(kind, inline);
      await exportOk(exporter, spans);
      await exporter.shutdown();
    }
    assert.equal((await downstream.metric('orb_spans_received_total')) - before, 9, 'all spans of all three requests reached the downstream');
    assert.equal((await downstream.metric('orb_spans_non_execution_total')), 6);
    for (const t of [inline, downstream]) assert.equal((await t.rows(`SELECT count(*)::INT n FROM executions WHERE repo = 'chain'`))[0]!.n, 1, 'stored once, redeliveries ignored');
  });

  it("passes the downstream's own rejections back up", async () => {
    // The downstream is an orb-learn too, so it rejects the same span and says so.
    const out = await grpcExport(`127.0.0.1:${inline.server.grpcPort}`, encodeRequest(otlpRequest([{ attrs: minimalExecution({ 'execution.quality_score': 500 }) as Record<string, unknown>, spanId: 'f000000000000001' }])));
    assert.equal(out.error, undefined);
    const r = decodeResponse(out.response!);
    assert.equal(r.partialSuccess?.rejectedSpans, 1);
    assert.match(r.partialSuccess!.errorMessage, /quality_score: must be ≤ 100/);
  });
});

describe('in-line mode in front of a plain OTLP sink', () => {
  let sink: Server;
  let received: Buffer[];
  let inline: TestServer;
  before(async () => {
    received = [];
    sink = new Server();
    sink.addService(
      { Export: { path: TRACE_EXPORT_PATH, requestStream: false, responseStream: false, requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b } },
      { Export: (call: { request: Buffer }, cb: (e: null, r: Buffer) => void) => { received.push(call.request); cb(null, Buffer.alloc(0)); } },
    );
    const port = await new Promise<number>((r, j) => sink.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? j(e) : r(p))));
    inline = await startTestServer({ forward: `127.0.0.1:${port}` });
  });
  after(async () => {
    await inline.close();
    sink.forceShutdown();
  });

  it('forwards the exact bytes, and keeps its own validation failures as a warning, not rejected spans', async () => {
    const body = encodeRequest(otlpRequest([{ attrs: minimalExecution({ 'execution.quality_score': 500 }) as Record<string, unknown>, spanId: 'f000000000000002' }]));
    const out = await grpcExport(`127.0.0.1:${inline.server.grpcPort}`, body);
    assert.equal(out.error, undefined);
    assert.deepEqual(received, [body], 'unchanged, byte for byte');
    const r = decodeResponse(out.response!);
    assert.equal(r.partialSuccess?.rejectedSpans ?? 0, 0, 'the sink stored it: not a rejection');
    assert.match(r.partialSuccess!.errorMessage, /quality_score: must be ≤ 100/);
    assert.equal((await inline.rows(`SELECT count(*)::INT n FROM rejected_spans WHERE span_id = 'f000000000000002'`))[0]!.n, 1);
  });
});

describe('in-line mode with the downstream down', () => {
  let inline: TestServer;
  before(async () => {
    inline = await startTestServer({ forward: '127.0.0.1:9' });
  });
  after(() => inline.close());

  it('answers UNAVAILABLE / 503 so the upstream retries', async () => {
    const body = encodeRequest(otlpRequest([{ attrs: minimalExecution() as Record<string, unknown> }]));
    const g = await grpcExport(`127.0.0.1:${inline.server.grpcPort}`, body);
    assert.equal(g.error?.code, status.UNAVAILABLE);
    assert.match(g.error!.details, /downstream 127\.0\.0\.1:9/);
    const h = await httpPost(`${inline.httpUrl}/v1/traces`, body, { 'content-type': 'application/x-protobuf' });
    assert.equal(h.status, 503);
  });
});
