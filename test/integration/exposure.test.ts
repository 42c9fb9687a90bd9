// What the HTTP listener shows and to whom, and how it treats slow clients (issue 10 §7).
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { encodeRequest, httpPost, otlpRequest } from '../helpers/raw.js';
import { makeCerts } from '../helpers/certs.js';
import { startTestServer, tempDir, type TestServer } from '../helpers/server.js';
import { exportOk, exportSpans, makeExporter, makeSpans, minimalExecution } from '../helpers/spans.js';

const TOKEN = 'exposure-test-token-0123456789';
const get = (url: string, headers: Record<string, string> = {}) => httpPost(url, Buffer.alloc(0), headers, 'GET');

describe('/metrics behind the bearer token', () => {
  it('needs the token when one is set, unless metricsAuth is false; the probes stay open', async () => {
    const guarded = await startTestServer({ authToken: TOKEN });
    const open = await startTestServer({ authToken: TOKEN, metricsAuth: false });
    try {
      const denied = await get(`${guarded.httpUrl}/metrics`);
      assert.equal(denied.status, 401);
      assert.match(String(denied.headers['www-authenticate']), /^Bearer/);
      const allowed = await get(`${guarded.httpUrl}/metrics`, { authorization: `Bearer ${TOKEN}` });
      assert.equal(allowed.status, 200);
      assert.match(allowed.body.toString(), /orb_/);
      for (const probe of ['/healthz', '/readyz']) assert.equal((await get(`${guarded.httpUrl}${probe}`)).status, 200, probe);
      assert.equal((await get(`${open.httpUrl}/metrics`)).status, 200, 'metricsAuth: false leaves /metrics open');
      assert.equal((await get(`${open.httpUrl}/v1/query/tiers`)).status, 401, 'but not the API');
    } finally {
      await Promise.all([guarded.close(), open.close()]);
    }
  });
});

/**
 * A client that sends `first` once connected and then, every `dripMs`, one more byte (never a whole
 * request); how long its connection lived resolves `closed`.
 */
function slowClient(port: number, first: string, dripMs?: number): { socket: Socket; closed: Promise<number> } {
  const socket = connect(port, '127.0.0.1');
  const opened = Date.now();
  socket.on('connect', () => first && socket.write(first));
  const drip = dripMs ? setInterval(() => socket.writable && socket.write('a'), dripMs) : undefined;
  socket.on('error', () => undefined);
  socket.resume();
  const closed = new Promise<number>((resolve) =>
    socket.on('close', () => {
      clearInterval(drip);
      resolve(Date.now() - opened);
    }),
  );
  return { socket, closed };
}

describe('slow clients', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ httpHeadersTimeoutMs: 1000, httpMaxConnections: 80 });
  });
  after(() => t.close());

  it('cuts off clients that never finish their headers, while probes and exports keep answering', async () => {
    const slow = Array.from({ length: 50 }, () => slowClient(t.server.httpPort, 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ', 200));
    await new Promise((r) => setTimeout(r, 300));
    const body = encodeRequest(otlpRequest([{ attrs: minimalExecution({ 'execution.repo': 'beside-slow-clients' }) as Record<string, unknown>, spanId: 'f200000000000001' }]));
    assert.equal((await httpPost(`${t.httpUrl}/v1/traces`, body, { 'content-type': 'application/x-protobuf' })).status, 200);
    assert.equal((await get(`${t.httpUrl}/healthz`)).status, 200);
    const lifetimes = await Promise.all(slow.map((s) => s.closed));
    // Cut at the header timeout, checked every second: well before Node's defaults (60 s, checked every 30 s).
    assert.ok(Math.max(...lifetimes) < 10_000, `slow clients lived ${Math.max(...lifetimes)} ms`);
    assert.equal((await t.rows(`SELECT count(*)::INT n FROM executions WHERE repo = 'beside-slow-clients'`))[0]!.n, 1);
  });

  it('refuses connections past the cap', async () => {
    const capped = await startTestServer({ httpMaxConnections: 5 });
    const idle: Socket[] = [];
    try {
      for (let i = 0; i < 5; i++) {
        const s = connect(capped.server.httpPort, '127.0.0.1');
        s.on('error', () => undefined);
        await new Promise((r) => s.once('connect', r));
        idle.push(s);
      }
      await new Promise((r) => setTimeout(r, 100));
      const extra = await get(`${capped.httpUrl}/healthz`).then(
        (r) => `answered ${r.status}`,
        (err: NodeJS.ErrnoException) => `refused: ${err.code}`,
      );
      assert.match(extra, /^refused: (ECONNRESET|EPIPE)/);
      for (const s of idle) s.destroy();
      await new Promise((r) => setTimeout(r, 100));
      assert.equal((await get(`${capped.httpUrl}/healthz`)).status, 200, 'below the cap again');
    } finally {
      for (const s of idle) s.destroy();
      await capped.close();
    }
  });
});

/** orb_grpc_connections_total for one event, from the server's metrics registry (HTTPS or not). */
async function grpcConnections(t: TestServer, event: 'accepted' | 'silent'): Promise<number> {
  return (await t.server.metrics.grpcConnections.get()).values.find((v) => v.labels.event === event)?.value ?? 0;
}

describe('slow gRPC clients', () => {
  it('closes connections that make no call, while probes and exports keep answering; an exporter reconnects', async () => {
    const t = await startTestServer({ grpcIdleTimeoutMs: 1000, grpcMaxConnections: 80 });
    const exporter = makeExporter('grpc', t);
    try {
      const silent = [...Array.from({ length: 40 }, () => slowClient(t.server.grpcPort, '')), ...Array.from({ length: 10 }, () => slowClient(t.server.grpcPort, 'PRI * HTTP/2.0\r\n'))];
      await new Promise((r) => setTimeout(r, 300));
      const spans = (repo: string) => makeSpans([{ attributes: minimalExecution({ 'execution.repo': repo }) }]);
      await exportOk(exporter, spans('beside-silent-grpc'));
      assert.equal((await get(`${t.httpUrl}/healthz`)).status, 200);
      const open = new Promise<number[]>((resolve) => setTimeout(() => resolve([Infinity]), 10_000).unref());
      const lifetimes = await Promise.race([Promise.all(silent.map((s) => s.closed)), open]);
      // Closed at the idle timeout (1 s) or, without a session, at the silence backstop (idle + 5 s); grpc-js's default is never.
      assert.ok(Math.max(...lifetimes) < 8_000, `silent gRPC clients lived ${Math.max(...lifetimes)} ms`);
      // The exporter's next export gets through, on its connection or, once that was idle-closed, a new one.
      await exportOk(exporter, spans('beside-silent-grpc'));
      assert.equal((await t.rows(`SELECT count(*)::INT n FROM executions WHERE repo = 'beside-silent-grpc'`))[0]!.n, 2);
      // In plaintext grpc-js has a session from the first byte on (or none sent), and idle-closes it;
      // the silence backstop is for sockets without one (a TLS handshake never finished).
      // The 50 silent clients and the exporter (twice if its first connection was idle-closed before its second export).
      assert.ok((await grpcConnections(t, 'accepted')) >= 51);
      assert.equal(await grpcConnections(t, 'silent'), 0);
    } finally {
      await exporter.shutdown();
      await t.close();
    }
  });

  it('keeps a busy connection open past the silence backstop: one connection for 8.5 s of exports', async () => {
    // Backstop at idle + 5 s = 7 s. It used to be socket.setTimeout, which HTTP/2 traffic never
    // refreshes: every connection was cut 7 s after it opened, calls in flight with it. Exports
    // every 200 ms stay far inside the 2 s idle timeout.
    const t = await startTestServer({ grpcIdleTimeoutMs: 2000 });
    const exporter = makeExporter('grpc', t);
    try {
      let sent = 0;
      for (const until = Date.now() + 8_500; Date.now() < until; sent++) {
        await exportOk(exporter, makeSpans([{ attributes: minimalExecution({ 'execution.repo': 'busy-grpc' }) }]));
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.equal((await t.rows(`SELECT count(*)::INT n FROM executions WHERE repo = 'busy-grpc'`))[0]!.n, sent);
      assert.equal(await grpcConnections(t, 'accepted'), 1, 'the exporter kept its one connection');
      assert.equal(await grpcConnections(t, 'silent'), 0);
    } finally {
      await exporter.shutdown();
      await t.close();
    }
  });

  it('drops sockets that never finish a TLS handshake, at the silence backstop, and counts them', async () => {
    const certs = makeCerts(tempDir('orb-certs-'));
    const t = await startTestServer({ tlsCert: certs.serverCert, tlsKey: certs.serverKey, grpcIdleTimeoutMs: 1000 });
    try {
      const mute = Array.from({ length: 3 }, () => slowClient(t.server.grpcPort, ''));
      const open = new Promise<number[]>((resolve) => setTimeout(() => resolve([Infinity]), 12_000).unref());
      const lifetimes = await Promise.race([Promise.all(mute.map((m) => m.closed)), open]);
      // No TLS session, so no HTTP/2 session to idle-close: cut at idle + 5 s, polled every 200 ms.
      assert.ok(Math.min(...lifetimes) >= 5_500 && Math.max(...lifetimes) < 8_000, `lifetimes ${lifetimes.join(', ')} ms`);
      assert.equal(await grpcConnections(t, 'silent'), 3);
    } finally {
      await t.close();
    }
  });

  it('refuses gRPC connections past the cap, and exports again below it', async () => {
    const t = await startTestServer({ grpcMaxConnections: 5 });
    const held = Array.from({ length: 5 }, () => slowClient(t.server.grpcPort, ''));
    const exporter = makeExporter('grpc', t);
    try {
      await Promise.all(held.map((h) => new Promise((r) => (h.socket.connecting ? h.socket.once('connect', r) : r(null)))));
      await new Promise((r) => setTimeout(r, 100));
      const extra = slowClient(t.server.grpcPort, '');
      assert.ok((await extra.closed) < 2_000, 'a connection past the cap is closed at once');
      const refused = await exportSpans(exporter, makeSpans([{ attributes: minimalExecution({ 'execution.repo': 'past-the-grpc-cap' }) }]));
      assert.notEqual(refused.code, 0, 'an export past the cap is not acknowledged');
      for (const h of held) h.socket.destroy();
      await new Promise((r) => setTimeout(r, 100));
      // The same exporter, as a collector would, retries until its channel's reconnect backoff lets it through.
      const again = makeSpans([{ attributes: minimalExecution({ 'execution.repo': 'below-the-grpc-cap' }) }]);
      let ok = false;
      for (const deadline = Date.now() + 15_000; !ok && Date.now() < deadline; ) {
        ok = (await exportSpans(exporter, again)).code === 0;
        if (!ok) await new Promise((r) => setTimeout(r, 250));
      }
      assert.ok(ok, 'an export below the cap again is acknowledged');
      assert.equal((await t.rows(`SELECT count(*)::INT n FROM executions WHERE repo = 'below-the-grpc-cap'`))[0]!.n, 1);
      assert.equal((await t.rows(`SELECT count(*)::INT n FROM executions WHERE repo = 'past-the-grpc-cap'`))[0]!.n, 0);
    } finally {
      for (const h of held) h.socket.destroy();
      await exporter.shutdown();
      await t.close();
    }
  });
});
