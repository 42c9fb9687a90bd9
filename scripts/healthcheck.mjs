#!/usr/bin/env node
// Container health probe (Dockerfile HEALTHCHECK, docker-compose.yml): GET a path on orb-learn's
// HTTP listener and exit 0 on a 2xx, 1 otherwise. The address comes from the same settings
// `orb-learn serve` reads (ORB_HTTP, ORB_CONFIG); a wildcard host is probed on loopback.
// When TLS is configured (tlsCert, from ORB_TLS_CERT or ORB_CONFIG) the probe speaks https and does
// not verify the certificate: it is a liveness probe of this container's own listener, whose
// certificate names the service, not the loopback address, and identity is not what it checks.
// /healthz and /readyz answer without a bearer token, and without a client certificate under mTLS.
//   node scripts/healthcheck.mjs [/readyz]
import http from 'node:http';
import https from 'node:https';
import { loadConfig } from '../dist/src/config/config.js';
import { splitHostPort } from '../dist/src/host.js';

const TIMEOUT_MS = 4000;
const path = process.argv[2] ?? '/readyz';
let host;
let port;
let tls;
try {
  const config = loadConfig({ env: process.env });
  ({ host, port } = splitHostPort(config.http));
  tls = Boolean(config.tlsCert);
} catch (err) {
  process.stderr.write(`healthcheck: ${err.message}\n`);
  process.exit(1);
}
if (host === '0.0.0.0' || host === '') host = '127.0.0.1';
if (host === '::') host = '::1';
const url = `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}${path}`;

const status = await new Promise((resolve, reject) => {
  const options = { timeout: TIMEOUT_MS, ...(tls ? { rejectUnauthorized: false } : {}) };
  const req = (tls ? https : http).get(url, options, (res) => {
    res.resume(); // drain the body, so the socket closes
    res.on('end', () => resolve(res.statusCode ?? 0));
    res.on('error', reject);
  });
  req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${TIMEOUT_MS} ms`), { code: 'ETIMEDOUT' })));
  req.on('error', reject);
}).catch((err) => {
  process.stderr.write(`healthcheck: ${url}: ${err.code ?? err.message}\n`);
  process.exit(1);
});
const ok = status >= 200 && status < 300;
if (!ok) process.stderr.write(`healthcheck: ${url} answered ${status}\n`);
process.exit(ok ? 0 : 1);
