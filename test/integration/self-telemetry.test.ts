import assert from 'node:assert/strict';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { exportOk, makeExporter, makeSpans, minimalExecution } from '../helpers/spans.js';
import { ExportTraceServiceRequest } from '../../src/receiver/proto-root.js';

const raw = (path: string) => ({ path, requestStream: false, responseStream: false, requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b });

describe("orb-learn's own telemetry", () => {
  let sink: Server;
  const traces: Buffer[] = [];
  const metricsBodies: Buffer[] = [];
  let t: TestServer;
  before(async () => {
    sink = new Server();
    sink.addService(
      { Export: raw('/opentelemetry.proto.collector.trace.v1.TraceService/Export') },
      { Export: (call: { request: Buffer }, cb: (e: null, r: Buffer) => void) => { traces.push(call.request); cb(null, Buffer.alloc(0)); } },
    );
    sink.addService(
      { Export: raw('/opentelemetry.proto.collector.metrics.v1.MetricsService/Export') },
      { Export: (call: { request: Buffer }, cb: (e: null, r: Buffer) => void) => { metricsBodies.push(call.request); cb(null, Buffer.alloc(0)); } },
    );
    const port = await new Promise<number>((r, j) => sink.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? j(e) : r(p))));
    t = await startTestServer({ telemetryEndpoint: `http://127.0.0.1:${port}`, telemetryIntervalMs: 1000 });
  });
  after(() => sink.forceShutdown());

  it('exports its spans and metrics over OTLP, with no execution.* attribute, and flushes on stop', async () => {
    const e = makeExporter('grpc', t);
    await exportOk(e, makeSpans([{ attributes: minimalExecution() }]));
    await e.shutdown();
    await new Promise((r) => setTimeout(r, 1500));
    await t.close();
    assert.ok(traces.length > 0, 'spans reached the sink');
    const spans = traces.flatMap((b) => {
      const req = ExportTraceServiceRequest.toObject(ExportTraceServiceRequest.decode(b)) as { resourceSpans: { scopeSpans: { scope: { name: string }; spans: { name: string; attributes?: { key: string }[] }[] }[] }[] };
      return req.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => ({ scope: ss.scope.name, ...s }))));
    });
    const own = spans.filter((s) => s.name === 'orb-learn export');
    assert.ok(own.length >= 1);
    assert.equal(own[0]!.scope, 'orb-learn');
    for (const s of spans) for (const a of s.attributes ?? []) assert.ok(!a.key.startsWith('execution.') && !a.key.startsWith('feedback.'), a.key);
    assert.ok(metricsBodies.length > 0, 'metrics reached the sink');
    assert.ok(metricsBodies.some((b) => b.includes(Buffer.from('orb_spans_accepted_total'))), 'the prom-client metrics are bridged');
    for (const series of ['orb_commit_duration_seconds_bucket', 'orb_commit_duration_seconds_count', 'orb_commit_duration_seconds_sum'])
      assert.ok(metricsBodies.some((b) => b.includes(Buffer.from(series))), `histogram series ${series} is bridged`);
  });

  it('refuses to send its telemetry to its own receiver', async () => {
    const { startSelfTelemetry } = await import('../../src/telemetry/self.js');
    const { Registry } = await import('prom-client');
    assert.throws(() => startSelfTelemetry('http://127.0.0.1:4317', new Registry(), { host: '127.0.0.1', port: 4317 }), /would learn from itself/);
    const { isOwnReceiver } = await import('../../src/telemetry/self.js');
    assert.ok(isOwnReceiver('localhost:4317', { host: '127.0.0.1', port: 4317 }));
    assert.ok(isOwnReceiver('http://10.0.0.5:4317', { host: '0.0.0.0', port: 4317 }), 'a wildcard listener answers on every address');
    assert.ok(isOwnReceiver('http://10.0.0.5:4317', { host: '10.0.0.5', port: 4317 }));
    assert.ok(!isOwnReceiver('http://collector:4317', { host: '127.0.0.1', port: 4317 }), 'another host on the same port is fine');
    assert.ok(!isOwnReceiver('http://127.0.0.1:4319', { host: '127.0.0.1', port: 4317 }));
  });
});
