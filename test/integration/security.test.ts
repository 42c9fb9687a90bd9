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
    await assert.rejects(httpPost(`${base}/healthz`, Buffer.alloc(0), {}, 'GET', { ca }));
    const ok = await httpPost(`${base}/v1/traces`, body(), { 'content-type': 'application/x-protobuf' }, 'POST', { ca, cert: certs.read(certs.clientCert), key: certs.read(certs.clientKey) });
    assert.equal(ok.status, 200);
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
});
