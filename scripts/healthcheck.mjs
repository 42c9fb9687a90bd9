#!/usr/bin/env node
// Container health probe (Dockerfile HEALTHCHECK, docker-compose.yml): GET a path on orb-learn's
// HTTP listener and exit 0 on a 2xx, 1 otherwise. The address comes from the same settings
// `orb-learn serve` reads (ORB_HTTP, ORB_CONFIG); a wildcard host is probed on loopback.
//   node scripts/healthcheck.mjs [/readyz]
import { loadConfig, splitHostPort } from '../dist/src/config/config.js';

const path = process.argv[2] ?? '/readyz';
let host;
let port;
try {
  ({ host, port } = splitHostPort(loadConfig({ env: process.env }).http));
} catch (err) {
  process.stderr.write(`healthcheck: ${err.message}\n`);
  process.exit(1);
}
if (host === '0.0.0.0' || host === '') host = '127.0.0.1';
if (host === '::') host = '::1';
const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}${path}`;
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(4000) });
  if (!res.ok) process.stderr.write(`healthcheck: ${url} answered ${res.status}\n`);
  process.exit(res.ok ? 0 : 1);
} catch (err) {
  process.stderr.write(`healthcheck: ${url}: ${err.cause?.code ?? err.message}\n`);
  process.exit(1);
}
