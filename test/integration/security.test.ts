import assert from 'node:assert/strict';
import { credentials, status } from '@grpc/grpc-js';
import { after, before, describe, it } from 'node:test';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { ExportResultCode } from '@opentelemetry/core';
import { Metadata } from '@grpc/grpc-js';
import { makeCerts, type TestCerts } from '../helpers/certs.js';
import { decodeStatus, encodeRequest, grpcExport, httpPost, otlpRequest } from '../helpers/raw.js';
import { startTestServer, tempDir, type TestServer } from '../helpers/server.js';
import { exportSpans, makeSpans, minimalExecution } from '../helpers/spans.js';

const TOKEN = 'correct-horse-battery-staple-42';
const body = () => encodeRequest(otlpRequest([{ attrs: minimalExecution() as Record<string, unknown> }]));

describe('TLS and bearer-token auth', () => {
  let certs: TestCerts;
  let t: TestServer;
  before(async () => {
    certs = makeCerts(tempDir('orb-certs-'));
    t = await startTestServer({ tlsCert: certs.serverCert, tlsKey: certs.serverKey, authToken: TOKEN });
  });
  after(() => t.close());

  const tlsCreds = () => credentials.createSsl(certs.read(certs.ca));
  const https = () => ({ ca: certs.read(certs.ca) });

  it('accepts the real OTel gRPC exporter over TLS with the token, and stores the span', async () => {
    const metadata = new Metadata();
    metadata.set('authorization', `Bearer ${TOKEN}`);
    const exporter = new GrpcExporter({ url: `https://127.0.0.1:${t.server.grpcPort}`, credentials: tlsCreds(), metadata });
    const spans = makeSpans([{ attributes: minimalExecution({ 'execution.repo': 'tls-repo' }) }]);
    const r = await exportSpans(exporter, spans);
    await exporter.shutdown();
    assert.equal(r.code, ExportResultCode.SUCCESS, String(r.error));
    assert.equal((await t.rows(`SELECT count(*)::INT n FROM executions WHERE repo = 'tls-repo'`))[0]!.n, 1);
  });

  it('answers UNAUTHENTICATED over gRPC without a token or with a wrong one', async () => {
    const addr = `127.0.0.1:${t.server.grpcPort}`;
    const none = await grpcExport(addr, body(), { credentials: tlsCreds() });
    assert.equal(none.error?.code, status.UNAUTHENTICATED);
    const wrong = await grpcExport(addr, body(), { credentials: tlsCreds(), token: 'nope' });
    assert.equal(wrong.error?.code, status.UNAUTHENTICATED);
    assert.match(wrong.error!.details, /invalid bearer token/);
    const ok = await grpcExport(addr, body(), { credentials: tlsCreds(), token: TOKEN });
    assert.equal(ok.error, undefined);
  });

  it('refuses plaintext gRPC on the TLS port', async () => {
    const plain = await grpcExport(`127.0.0.1:${t.server.grpcPort}`, body(), { token: TOKEN });
    assert.equal(plain.error?.code, status.UNAVAILABLE);
  });

  it('answers 401 over HTTPS without the token, on exports and queries; health stays open', async () => {
    const base = `https://127.0.0.1:${t.server.httpPort}`;
    const denied = await httpPost(`${base}/v1/traces`, body(), { 'content-type': 'application/x-protobuf' }, 'POST', https());
    assert.equal(denied.status, 401);
    assert.match(decodeStatus(denied.body).message, /missing bearer token/);
    const allowed = await httpPost(`${base}/v1/traces`, body(), { 'content-type': 'application/x-protobuf', authorization: `Bearer ${TOKEN}` }, 'POST', https());
    assert.equal(allowed.status, 200);
    const query = await httpPost(`${base}/v1/query/tiers`, Buffer.alloc(0), {}, 'GET', https());
    assert.equal(query.status, 401);
    const queryOk = await httpPost(`${base}/v1/query/tiers`, Buffer.alloc(0), { authorization: `Bearer ${TOKEN}` }, 'GET', https());
    assert.equal(queryOk.status, 200);
    assert.equal((await httpPost(`${base}/healthz`, Buffer.alloc(0), {}, 'GET', https())).status, 200);
  });
});

describe('mTLS', () => {
  let certs: TestCerts;
  let t: TestServer;
  before(async () => {
    certs = makeCerts(tempDir('orb-certs-'));
    t = await startTestServer({ tlsCert: certs.serverCert, tlsKey: certs.serverKey, tlsClientCa: certs.ca });
  });
  after(() => t.close());

  it('requires a client certificate signed by the CA, on gRPC and HTTPS', async () => {
    const addr = `127.0.0.1:${t.server.grpcPort}`;
    const ca = certs.read(certs.ca);
    const without = await grpcExport(addr, body(), { credentials: credentials.createSsl(ca) });
    assert.equal(without.error?.code, status.UNAVAILABLE, 'no client certificate: the handshake fails');
    const withCert = await grpcExport(addr, body(), { credentials: credentials.createSsl(ca, certs.read(certs.clientKey), certs.read(certs.clientCert)) });
    assert.equal(withCert.error, undefined);
    const base = `https://127.0.0.1:${t.server.httpPort}`;
    const refused = await httpPost(`${base}/v1/traces`, body(), { 'content-type': 'application/x-protobuf' }, 'POST', { ca });
    assert.equal(refused.status, 401);
    assert.match(decodeStatus(refused.body).message, /client certificate required/);
    for (const path of ['/v1/query/tiers', '/metrics']) assert.equal((await httpPost(`${base}${path}`, Buffer.alloc(0), {}, 'GET', { ca })).status, 401, path);
    const stranger = makeCerts(tempDir('orb-certs-'));
    const foreign = await httpPost(`${base}/v1/query/tiers`, Buffer.alloc(0), {}, 'GET', { ca, cert: stranger.read(stranger.clientCert), key: stranger.read(stranger.clientKey) });
    assert.equal(foreign.status, 401, 'a certificate from another CA is refused');
    const ok = await httpPost(`${base}/v1/traces`, body(), { 'content-type': 'application/x-protobuf' }, 'POST', { ca, cert: certs.read(certs.clientCert), key: certs.read(certs.clientKey) });
    assert.equal(ok.status, 200);
  });

  it('lets liveness and readiness probes in without a client certificate (they cannot present one)', async () => {
    const base = `https://127.0.0.1:${t.server.httpPort}`;
    const ca = certs.read(certs.ca);
    assert.equal((await httpPost(`${base}/healthz`, Buffer.alloc(0), {}, 'GET', { ca })).status, 200);
    assert.equal((await httpPost(`${base}/readyz`, Buffer.alloc(0), {}, 'GET', { ca })).status, 200);
  });
});

describe('certificate rotation', () => {
  it('serves a rotated certificate to new gRPC and HTTPS connections, and skips a half-written rotation', async () => {
    const { copyFileSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const oldCerts = makeCerts(tempDir('orb-certs-'));
    const newCerts = makeCerts(tempDir('orb-certs-'));
    const live = tempDir('orb-live-certs-');
    const cert = join(live, 'tls.crt');
    const key = join(live, 'tls.key');
    copyFileSync(oldCerts.serverCert, cert);
    copyFileSync(oldCerts.serverKey, key);
    const t = await startTestServer({ tlsCert: cert, tlsKey: key, tlsReloadIntervalMs: 100 });
    const trusts = async (c: TestCerts) => {
      const ca = c.read(c.ca);
      const g = await grpcExport(`127.0.0.1:${t.server.grpcPort}`, body(), { credentials: credentials.createSsl(ca) });
      const h = await httpPost(`https://127.0.0.1:${t.server.httpPort}/healthz`, Buffer.alloc(0), {}, 'GET', { ca, agent: false }).then((r) => r.status, () => 0);
      return { grpc: g.error === undefined, https: h === 200 };
    };
    const settle = () => new Promise((r) => setTimeout(r, 400));
    try {
      assert.deepEqual(await trusts(oldCerts), { grpc: true, https: true });
      assert.deepEqual(await trusts(newCerts), { grpc: false, https: false });
      // Half a rotation: the new certificate beside the old key. Refused, the old pair stays in use.
      copyFileSync(newCerts.serverCert, cert);
      await settle();
      assert.deepEqual(await trusts(oldCerts), { grpc: true, https: true }, 'a mismatched pair is not taken');
      copyFileSync(newCerts.serverKey, key);
      await settle();
      assert.deepEqual(await trusts(newCerts), { grpc: true, https: true }, 'the new pair is served');
      assert.deepEqual(await trusts(oldCerts), { grpc: false, https: false });
      writeFileSync(key, 'not a key');
      await settle();
      assert.deepEqual(await trusts(newCerts), { grpc: true, https: true }, 'garbage is not taken either');
    } finally {
      await t.close();
    }
  });
});

describe('TLS files that cannot be used', () => {
  it('keeps the old material when a rotated client CA is truncated or the pair does not match', async () => {
    const { copyFileSync, readFileSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { TlsSource } = await import('../../src/receiver/tls-source.js');
    const c = makeCerts(tempDir('orb-certs-'));
    const live = tempDir('orb-live-certs-');
    const ca = join(live, 'ca.pem');
    copyFileSync(c.ca, ca);
    const errors: string[] = [];
    const src = new TlsSource({ cert: c.serverCert, key: c.serverKey, clientCa: ca }, (err) => errors.push((err as Error).message));
    const before = src.current.ca;
    writeFileSync(ca, readFileSync(c.ca).subarray(0, 300));
    assert.equal(src.reload(), false);
    assert.match(errors.at(-1)!, /incomplete PEM block|no PEM certificate|client CA/);
    assert.deepEqual(src.current.ca, before, 'the old CA stays in use');
    copyFileSync(c.ca, ca);
    writeFileSync(ca, Buffer.concat([readFileSync(c.ca), Buffer.from('\n')]));
    assert.equal(src.reload(), true, 'a good file is taken again');
    assert.throws(() => new TlsSource({ cert: c.serverCert, key: c.clientKey }), /key values mismatch|TLS/);
  });
});

describe('the query API cannot reach beyond the data', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ authToken: TOKEN });
  });
  after(() => t.close());
  const sql = (q: string) => httpPost(`${t.httpUrl}/v1/query/sql?query=${encodeURIComponent(q)}`, Buffer.alloc(0), { authorization: `Bearer ${TOKEN}` }, 'GET');

  it('refuses SQL that reads host files, lists directories or writes, with 400', async () => {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(`${t.dir}/.env`, 'API_KEY=hunter2\n'); // beside the database: the working folder with --db NAME
    for (const q of [`SELECT content FROM read_text('${t.dir}/.env')`, `SELECT * FROM glob('${t.dir}/*')`, `SELECT content FROM read_text('/etc/hostname')`, `SELECT * FROM glob('/proc/self/*')`, `SELECT * FROM read_csv('/etc/passwd')`, `SELECT * FROM read_blob('${t.dir}/../../etc/hostname')`]) {
      const r = await sql(q);
      assert.equal(r.status, 400, `${q}: ${r.body.toString()}`);
      assert.match((JSON.parse(r.body.toString()) as { message: string }).message, /Permission Error|file system operations are disabled|is not allowed/, q);
    }
    for (const q of [`COPY executions TO '/tmp/x.csv'`, `ATTACH '/tmp/other.duckdb'`, `SET enable_external_access = true`, `SET allowed_directories = ['/']`, `INSTALL httpfs`, `SELECT 1; DROP TABLE executions`]) {
      const r = await sql(q);
      assert.equal(r.status, 400, q);
    }
    const ok = await sql('SELECT count(*) AS n FROM executions');
    assert.equal(ok.status, 200, 'the data itself stays readable');
    const failing = await sql(`SELECT CAST('x' AS INTEGER)`);
    assert.equal(failing.status, 400, 'an error in the caller\'s SQL is theirs, not a 500');
  });

  it('keeps the confinement for the life of the process: not even a direct connection can widen it', async () => {
    const conn = await t.server.store.connect();
    try {
      await assert.rejects(conn.run('SET enable_external_access = true'), /Cannot enable external access while database is running/);
      await assert.rejects(conn.run(`SET allowed_directories = ['/']`), /Cannot change allowed_directories/);
      await assert.rejects(conn.run(`SELECT * FROM read_text('/etc/hostname')`), /Permission Error/);
    } finally {
      conn.closeSync();
    }
  });

  it('answers 401 with WWW-Authenticate: Bearer', async () => {
    const r = await httpPost(`${t.httpUrl}/v1/query/tiers`, Buffer.alloc(0), {}, 'GET');
    assert.equal(r.status, 401);
    assert.match(String(r.headers['www-authenticate']), /^Bearer realm="orb-learn"$/);
  });
});

describe('listeners and settings', () => {
  it('bind to loopback by default, and refuse half a TLS configuration', async () => {
    const { loadConfig } = await import('../../src/config/config.js');
    const c = loadConfig();
    assert.match(c.grpc, /^127\.0\.0\.1:/);
    assert.match(c.http, /^127\.0\.0\.1:/);
    assert.throws(() => loadConfig({ flags: { tlsCert: '/x.pem' } }), /tlsKey.*tlsCert and tlsKey go together/);
    assert.throws(() => loadConfig({ flags: { authToken: 'short' } }), /authToken.*at least 16 characters/);
  });

  it('a start that fails (HTTP port taken) leaves nothing listening or open', async () => {
    const { createServer } = await import('node:net');
    const free = async () => {
      const srv = createServer();
      await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
      const port = (srv.address() as { port: number }).port;
      return { port, srv };
    };
    const taken = await free();
    const g = await free();
    await new Promise((r) => g.srv.close(r));
    await assert.rejects(startTestServer({ grpc: `127.0.0.1:${g.port}`, http: `127.0.0.1:${taken.port}` }), /EADDRINUSE/);
    const again = createServer();
    await new Promise<void>((resolve, reject) => again.once('error', reject).listen(g.port, '127.0.0.1', resolve));
    await new Promise((r) => again.close(r));
    await new Promise((r) => taken.srv.close(r));
  });

  it('refuses forward headers grpc-js could not send, at start', async () => {
    await assert.rejects(startTestServer({ forward: '127.0.0.1:9', forwardHeaders: 'x-key=caf%C3%A9' }), /forward header "x-key"/);
    await assert.rejects(startTestServer({ forward: '127.0.0.1:9', forwardHeaders: 'x-key=%zz' }), /malformed percent-encoding/);
  });

  it('refuse to start on an empty or short token file instead of turning auth off', async () => {
    const { writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const dir = tempDir('orb-token-');
    for (const [content, why] of [['\n', /token is empty/], ['short\n', /at least 16 characters/]] as const) {
      writeFileSync(join(dir, 'token'), content);
      await assert.rejects(startTestServer({ authTokenFile: join(dir, 'token') }), why);
    }
    writeFileSync(join(dir, 'token'), `${TOKEN}\n`);
    const t = await startTestServer({ authTokenFile: join(dir, 'token') });
    try {
      assert.equal((await httpPost(`${t.httpUrl}/v1/query/tiers`, Buffer.alloc(0), {}, 'GET')).status, 401);
      assert.equal((await httpPost(`${t.httpUrl}/v1/query/tiers`, Buffer.alloc(0), { authorization: `Bearer ${TOKEN}` }, 'GET')).status, 200);
    } finally {
      await t.close();
    }
  });
});
