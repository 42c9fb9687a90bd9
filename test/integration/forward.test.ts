import assert from 'node:assert/strict';
import { Metadata, Server, ServerCredentials, status, type ServerUnaryCall, type ServiceError } from '@grpc/grpc-js';
import { RetryableError } from '../../src/errors.js';
import { encodeStatus } from '../../src/receiver/codec.js';
import { inlineDecoder } from '../../src/receiver/decode.js';
import { Forwarder, parseHeaders } from '../../src/receiver/forward.js';
import { handleExportBytes } from '../../src/receiver/handler.js';
import { IngestMetrics } from '../../src/telemetry/metrics.js';
import { makeCerts } from '../helpers/certs.js';
import { TRACE_EXPORT_PATH } from '../../src/receiver/proto-root.js';
import { after, before, describe, it } from 'node:test';
import { decodeResponse, decodeStatus, encodeRequest, grpcExport, httpPost, otlpRequest, retryDelaySeconds } from '../helpers/raw.js';
import { startTestServer, tempDir, type TestServer } from '../helpers/server.js';
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

/** A plain OTLP/gRPC sink written here: answers each export as `answer` says, records what it got. */
interface Sink {
  port: number;
  calls: { body: Buffer; metadata: Metadata; at: number; cancelledAt?: number }[];
  answer: (call: ServerUnaryCall<Buffer, Buffer>) => Promise<Partial<ServiceError> | null>;
  close(): void;
}

async function startSink(creds = ServerCredentials.createInsecure()): Promise<Sink> {
  const server = new Server();
  const sink: Sink = { port: 0, calls: [], answer: async () => null, close: () => server.forceShutdown() };
  server.addService(
    { Export: { path: TRACE_EXPORT_PATH, requestStream: false, responseStream: false, requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b } },
    {
      Export: (call: ServerUnaryCall<Buffer, Buffer>, cb: (e: Partial<ServiceError> | null, r?: Buffer) => void) => {
        const record: Sink['calls'][number] = { body: call.request, metadata: call.metadata, at: Date.now() };
        sink.calls.push(record);
        call.on('cancelled', () => (record.cancelledAt = Date.now()));
        void sink.answer(call).then((err) => (err ? cb(err) : cb(null, Buffer.alloc(0))));
      },
    },
  );
  sink.port = await new Promise<number>((r, j) => server.bindAsync('127.0.0.1:0', creds, (e, p) => (e ? j(e) : r(p))));
  return sink;
}

const oneExecution = (spanId: string) => encodeRequest(otlpRequest([{ attrs: minimalExecution() as Record<string, unknown>, spanId }]));

describe('in-line mode: acknowledgement and downstream statuses', () => {
  let sink: Sink;
  let inline: TestServer;
  before(async () => {
    sink = await startSink();
    inline = await startTestServer({ forward: `127.0.0.1:${sink.port}` });
  });
  after(async () => {
    await inline.close();
    sink.close();
  });

  it('commits the executions first, forwards second, and acknowledges only after the downstream has', async () => {
    const count = async () => (await inline.rows(`SELECT count(*)::INT n FROM executions`))[0]!.n as number;
    const stored = await count();
    let storedWhenForwarded = -1;
    sink.answer = async () => {
      storedWhenForwarded = await count();
      await new Promise((r) => setTimeout(r, 400));
      return null;
    };
    const out = await grpcExport(`127.0.0.1:${inline.server.grpcPort}`, oneExecution('a000000000000001'));
    const acked = Date.now();
    assert.equal(out.error, undefined);
    assert.equal(storedWhenForwarded, stored + 1, 'the row was committed before the downstream saw the request');
    const got = sink.calls.at(-1)!;
    assert.ok(acked - got.at >= 390, `acknowledged ${acked - got.at} ms after the downstream got it; it answers after 400 ms`);
  });

  const cases: { name: string; err: () => Partial<ServiceError>; grpc: status; http: number; retry?: number }[] = [
    { name: 'UNAUTHENTICATED (our credentials for it)', err: () => ({ code: status.UNAUTHENTICATED, details: 'bad key' }), grpc: status.UNAVAILABLE, http: 503, retry: 1 },
    { name: 'PERMISSION_DENIED', err: () => ({ code: status.PERMISSION_DENIED, details: 'no' }), grpc: status.UNAVAILABLE, http: 503, retry: 1 },
    { name: 'UNIMPLEMENTED (a wrong endpoint)', err: () => ({ code: status.UNIMPLEMENTED, details: 'no such service' }), grpc: status.UNAVAILABLE, http: 503, retry: 1 },
    { name: 'INTERNAL', err: () => ({ code: status.INTERNAL, details: 'boom' }), grpc: status.UNAVAILABLE, http: 503, retry: 1 },
    {
      name: 'RESOURCE_EXHAUSTED with RetryInfo 7 s',
      err: () => {
        const metadata = new Metadata();
        metadata.set('grpc-status-details-bin', encodeStatus({ code: status.RESOURCE_EXHAUSTED, message: 'slow down', retryAfterSeconds: 7 }, 'protobuf'));
        return { code: status.RESOURCE_EXHAUSTED, details: 'slow down', metadata };
      },
      grpc: status.UNAVAILABLE,
      http: 503,
      retry: 7,
    },
    { name: 'RESOURCE_EXHAUSTED without RetryInfo (too large for it)', err: () => ({ code: status.RESOURCE_EXHAUSTED, details: 'too big' }), grpc: status.RESOURCE_EXHAUSTED, http: 413 },
    { name: 'INVALID_ARGUMENT (the data itself)', err: () => ({ code: status.INVALID_ARGUMENT, details: 'bad span' }), grpc: status.INVALID_ARGUMENT, http: 400 },
  ];
  for (const c of cases) {
    it(`maps a downstream ${c.name} to ${status[c.grpc]} / ${c.http}`, async () => {
      sink.answer = async () => c.err();
      const g = await grpcExport(`127.0.0.1:${inline.server.grpcPort}`, oneExecution('b000000000000001'));
      assert.equal(g.error?.code, c.grpc, g.error?.details);
      assert.match(g.error!.details, new RegExp(`downstream 127\\.0\\.0\\.1:${sink.port}`));
      assert.equal(retryDelaySeconds(g.error!), c.retry);
      const h = await httpPost(`${inline.httpUrl}/v1/traces`, oneExecution('b000000000000002'), { 'content-type': 'application/x-protobuf' });
      assert.equal(h.status, c.http);
      assert.equal(h.headers['retry-after'], c.retry === undefined ? undefined : String(c.retry));
    });
  }

  it("gives up on the downstream when the upstream's deadline passes, instead of forwarding into the void", async () => {
    sink.answer = () => new Promise((r) => setTimeout(() => r(null), 3000));
    const started = Date.now();
    const out = await grpcExport(`127.0.0.1:${inline.server.grpcPort}`, oneExecution('a100000000000001'), { deadlineMs: 1000 });
    assert.equal(out.error?.code, status.DEADLINE_EXCEEDED);
    const call = sink.calls.at(-1)!;
    for (let i = 0; i < 30 && call.cancelledAt === undefined; i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(call.cancelledAt !== undefined, 'the forwarded call was cancelled');
    assert.ok(call.cancelledAt - started < 2000, `cancelled ${call.cancelledAt - started} ms after the upstream's call began (deadline 1 s; the downstream answers after 3 s)`);
  });

  it('answers 400 to a malformed OTLP/JSON body, forwards nothing, and keeps serving', async () => {
    sink.answer = async () => null;
    const before = sink.calls.length;
    const bad = Buffer.from(JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: 'zz', spanId: '00', name: 'x' }] }] }] }));
    const h = await httpPost(`${inline.httpUrl}/v1/traces`, bad, { 'content-type': 'application/json' });
    assert.equal(h.status, 400);
    assert.match((JSON.parse(h.body.toString()) as { message: string }).message, /traceId: expected 32 hex characters/);
    await new Promise((r) => setTimeout(r, 100)); // an unhandled rejection would have ended the process by now
    const ok = await grpcExport(`127.0.0.1:${inline.server.grpcPort}`, oneExecution('c000000000000001'));
    assert.equal(ok.error, undefined);
    assert.equal(sink.calls.length, before + 1, 'only the good request went on');
  });
});

describe('in-line mode: a request we cannot take now is not forwarded', () => {
  it('answers the full queue with UNAVAILABLE and sends nothing downstream, so a retry cannot duplicate it there', async () => {
    const sink = await startSink();
    const forward = new Forwarder({ target: `127.0.0.1:${sink.port}` });
    try {
      // The consumer stands for a full write queue (pure ordering logic; the queue itself is tested in test/pipeline).
      const deps = { consumer: { consume: () => Promise.reject(new RetryableError('write queue full', 3)) }, metrics: new IngestMetrics(), decode: inlineDecoder, forward };
      await assert.rejects(handleExportBytes(oneExecution('d000000000000001'), 'protobuf', 'grpc', deps as never), /write queue full/);
      assert.equal(sink.calls.length, 0);
    } finally {
      forward.close();
      sink.close();
    }
  });
});

describe('in-line mode to a downstream behind TLS, mTLS and an API key', () => {
  it('verifies the downstream against --forward-ca, presents the client certificate, sends the headers', async () => {
    const certs = makeCerts(tempDir('orb-fwd-certs-'));
    const sink = await startSink(ServerCredentials.createSsl(certs.read(certs.ca), [{ cert_chain: certs.read(certs.serverCert), private_key: certs.read(certs.serverKey) }], true));
    const inline = await startTestServer({
      forward: `localhost:${sink.port}`,
      forwardCa: certs.ca,
      forwardClientCert: certs.clientCert,
      forwardClientKey: certs.clientKey,
      forwardHeaders: 'authorization=Bearer%20k3y,x-tenant=team-a',
    });
    try {
      const body = oneExecution('e000000000000001');
      const out = await grpcExport(`127.0.0.1:${inline.server.grpcPort}`, body);
      assert.equal(out.error, undefined, out.error?.details);
      const call = sink.calls.at(-1)!;
      assert.deepEqual(call.body, body, 'unchanged');
      assert.deepEqual(call.metadata.get('authorization'), ['Bearer k3y']);
      assert.deepEqual(call.metadata.get('x-tenant'), ['team-a']);
    } finally {
      await inline.close();
      sink.close();
    }
  });

  it('fails closed (retryable) when the downstream certificate is not trusted', async () => {
    const certs = makeCerts(tempDir('orb-fwd-certs-'));
    const sink = await startSink(ServerCredentials.createSsl(null, [{ cert_chain: certs.read(certs.serverCert), private_key: certs.read(certs.serverKey) }], false));
    const inline = await startTestServer({ forward: `localhost:${sink.port}`, forwardTls: true, forwardTimeoutMs: 3000 });
    try {
      const out = await grpcExport(`127.0.0.1:${inline.server.grpcPort}`, oneExecution('e000000000000002'));
      assert.equal(out.error?.code, status.UNAVAILABLE);
      assert.equal(sink.calls.length, 0);
    } finally {
      await inline.close();
      sink.close();
    }
  });

  it('parses headers as OTEL_EXPORTER_OTLP_HEADERS does, and refuses forward settings without --forward', async () => {
    assert.deepEqual(parseHeaders('Authorization=Bearer%20abc, x-a=1,'), { authorization: 'Bearer abc', 'x-a': '1' });
    assert.throws(() => parseHeaders('novalue'), /expected key=value/);
    assert.throws(() => parseHeaders('grpc-timeout=1'), /not a usable metadata key/);
    const { loadConfig } = await import('../../src/config/config.js');
    assert.throws(() => loadConfig({ flags: { forwardCa: '/ca.pem' } }), /forwardCa.*needs forward/);
    assert.throws(() => loadConfig({ flags: { forward: 'h:1', forwardClientCert: '/c.pem' } }), /forwardClientKey/);
    assert.throws(() => loadConfig({ flags: { forward: 'h:1', forwardHeaders: 'a' } }), /forwardHeaders.*key=value/);
    assert.equal(loadConfig({ flags: { forward: 'h:1' } }).forwardCompression, 'gzip');
  });
});

describe('in-line mode compression', () => {
  // A raw HTTP/2 gRPC endpoint: grpc-js servers hide the grpc-encoding header and inflate for us.
  async function rawSink(): Promise<{ port: number; seen: { encoding?: string; compressedFlag: number }[]; close(): void }> {
    const { createServer } = await import('node:http2');
    const seen: { encoding?: string; compressedFlag: number }[] = [];
    const server = createServer();
    server.on('stream', (stream, headers) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        seen.push({ encoding: headers['grpc-encoding'] as string | undefined, compressedFlag: Buffer.concat(chunks)[0]! });
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(Buffer.from([0, 0, 0, 0, 0]));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return { port: (server.address() as { port: number }).port, seen, close: () => server.close() };
  }

  for (const [compression, encoding, flag] of [['gzip', 'gzip', 1], ['none', undefined, 0]] as const) {
    it(`--forward-compression ${compression}: the forwarded message is ${compression === 'gzip' ? 'gzip-compressed' : 'sent as is'}`, async () => {
      const sink = await rawSink();
      const inline = await startTestServer({ forward: `127.0.0.1:${sink.port}`, forwardCompression: compression });
      try {
        const out = await grpcExport(`127.0.0.1:${inline.server.grpcPort}`, oneExecution('f100000000000001'));
        assert.equal(out.error, undefined, out.error?.details);
        assert.equal(sink.seen.length, 1);
        assert.equal(sink.seen[0]!.encoding, encoding);
        assert.equal(sink.seen[0]!.compressedFlag, flag, 'the gRPC frame says whether the message is compressed');
      } finally {
        await inline.close();
        sink.close();
      }
    });
  }
});
