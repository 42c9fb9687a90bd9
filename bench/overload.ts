// Memory under overload (issue 10 §4): a real `orb-learn serve` with its default settings (embedding
// included; --memory-limit 512MB), driven three ways in turn:
//   (a) many concurrent exporters sending batches back to back for a while, retrying as RetryInfo asks;
//   (b) concurrent fat requests, one span of ~450K metadata attributes each (~15.6 MB);
//   (c) one request of 100K spans that all fail validation.
// The server's RSS is polled from /proc/<pid>/status (VmRSS, every 50 ms; VmHWM at the end), /healthz
// is polled one request at a time. Reported per phase: peak RSS, codes returned, rows stored, longest
// /healthz. Target: peak RSS ≤ 512 MB apart from the vector index (orb_vector_index_bytes on /metrics).
//   npm run bench:overload [-- --seconds 20 --exporters 64 --spans 512 --fat 12 --fat-attrs 450000 --invalid 100000 --embed true --phases abc]
// BENCH_SERVE_ENV=K=V,K2=V2 adds environment to the server (e.g. ORB_MEMORY_LIMIT=256MB, MALLOC_ARENA_MAX=2).
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { status } from '@grpc/grpc-js';
import { DuckDBInstance } from '@duckdb/node-api';
import { decodeResponse, encodeRequest, grpcClient, otlpRequest, retryDelaySeconds, type GrpcExportClient } from '../test/helpers/raw.js';
import { spawnServe } from '../test/helpers/process.js';
import { minimalExecution } from '../test/helpers/spans.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    exporters: { type: 'string', default: '64' },
    spans: { type: 'string', default: '512' },
    fat: { type: 'string', default: '12' },
    'fat-attrs': { type: 'string', default: '450000' },
    invalid: { type: 'string', default: '100000' },
    embed: { type: 'string', default: 'true' },
    phases: { type: 'string', default: 'abc' },
  },
});
const MB = 1024 * 1024;

function procStatus(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

interface Phase {
  name: string;
  seconds: number;
  peakRss: number;
  codes: Map<string, number>;
  healthMaxMs: number;
  load: number;
  note: string;
}

/** Runs `drive` while sampling RSS and /healthz; codes counts every answer, retries included. */
async function phase(name: string, pid: number, httpUrl: string, drive: (codes: Map<string, number>) => Promise<string>): Promise<Phase> {
  let peakRss = procStatus(pid, 'VmRSS');
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, procStatus(pid, 'VmRSS'))), 50);
  let done = false;
  let healthMaxMs = 0;
  const health = (async () => {
    while (!done) {
      const t0 = performance.now();
      await fetch(`${httpUrl}/healthz`).then((r) => r.arrayBuffer()).catch(() => undefined);
      healthMaxMs = Math.max(healthMaxMs, performance.now() - t0);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const codes = new Map<string, number>();
  const t0 = performance.now();
  const note = await drive(codes);
  const seconds = (performance.now() - t0) / 1000;
  done = true;
  await health;
  clearInterval(sampler);
  return { name, seconds, peakRss: Math.max(peakRss, procStatus(pid, 'VmRSS')), codes, healthMaxMs, load: loadavg()[0]!, note };
}

const count = (codes: Map<string, number>, code: string) => codes.set(code, (codes.get(code) ?? 0) + 1);

/** Sends until acknowledged, waiting as RetryInfo asks (as a collector's exporter does); gives up after `attempts`. */
async function sendRetrying(client: GrpcExportClient, body: Buffer, codes: Map<string, number>, attempts = 60): Promise<{ ok: boolean; rejected: number; message: string }> {
  for (let i = 0; i < attempts; i++) {
    const r = await client.export(body);
    if (!r.error) {
      const p = decodeResponse(r.response!).partialSuccess;
      count(codes, p?.rejectedSpans || p?.errorMessage ? 'OK (partial)' : 'OK');
      return { ok: true, rejected: Number(p?.rejectedSpans ?? 0), message: p?.errorMessage ?? '' };
    }
    count(codes, status[r.error.code] ?? String(r.error.code));
    const delay = retryDelaySeconds(r.error);
    const retryable = r.error.code === status.UNAVAILABLE || (r.error.code === status.RESOURCE_EXHAUSTED && delay !== undefined);
    if (!retryable) return { ok: false, rejected: 0, message: r.error.details };
    await new Promise((res) => setTimeout(res, (delay ?? 1) * 1000 * (0.5 + Math.random())));
  }
  return { ok: false, rejected: 0, message: 'gave up' };
}

let seq = 0;
function batch(n: number): Buffer {
  const trace = (++seq).toString(16).padStart(32, '0');
  return encodeRequest(
    otlpRequest(
      Array.from({ length: n }, (_, k) => ({
        attrs: minimalExecution({ 'execution.task_description': `overload bench task ${seq}.${k}: stabilize the flaky integration tests` }) as Record<string, unknown>,
        spanId: (k + 1).toString(16).padStart(16, '0'),
        traceId: trace,
      })),
    ),
  );
}

async function exporters(address: string, codes: Map<string, number>): Promise<string> {
  const n = Number(args.exporters);
  const spans = Number(args.spans);
  const until = performance.now() + Number(args.seconds) * 1000;
  let acked = 0;
  let lost = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      const client = grpcClient(address);
      while (performance.now() < until) {
        const r = await sendRetrying(client, batch(spans), codes);
        if (r.ok) acked += spans;
        else lost += spans;
      }
      client.close();
    }),
  );
  return `${acked} spans acknowledged${lost ? `, ${lost} given up by the client` : ''}`;
}

function fatBody(attrs: number): Buffer {
  const a: Record<string, unknown> = minimalExecution() as Record<string, unknown>;
  for (let i = 0; i < attrs; i++) a[`execution.metadata.${i.toString(36)}`] = `v${i.toString(36)}`;
  return encodeRequest(otlpRequest([{ attrs: a, spanId: 'fa70000000000001', traceId: 'fa700000000000000000000000000001', name: 'fat' }]));
}

async function fat(address: string, codes: Map<string, number>): Promise<string> {
  const body = fatBody(Number(args['fat-attrs']));
  const results = await Promise.all(
    Array.from({ length: Number(args.fat) }, async () => {
      const client = grpcClient(address);
      try {
        return await sendRetrying(client, body, codes);
      } finally {
        client.close();
      }
    }),
  );
  return `${(body.length / MB).toFixed(1)} MiB each; ${results.filter((r) => r.ok).length} answered, reason: ${results.find((r) => r.message)?.message.slice(0, 160) ?? '-'}`;
}

async function invalid(address: string, codes: Map<string, number>): Promise<string> {
  const n = Number(args.invalid);
  const body = encodeRequest(otlpRequest(Array.from({ length: n }, (_, k) => ({ attrs: { 'execution.routing_confidence': 1.5 }, spanId: (k + 1).toString(16).padStart(16, '0'), traceId: 'bad00000000000000000000000000001', name: 'invalid' }))));
  const client = grpcClient(address);
  try {
    const r = await sendRetrying(client, body, codes);
    return `${(body.length / MB).toFixed(1)} MiB; rejected_spans counted ${r.rejected}: ${r.message.slice(0, 150)}`;
  } finally {
    client.close();
  }
}

/** Where the memory is, as the server itself reports it: the main V8 heap, buffers outside it, the rest. */
async function breakdown(httpUrl: string): Promise<string> {
  const metrics = await (await fetch(`${httpUrl}/metrics`)).text();
  const m = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(metrics)?.[1] ?? NaN) / MB;
  // (duckdb_memory() is refused by the SQL API, as a settings read: DuckDB's part is in "native".)
  return `  after (a): RSS ${m('orb_process_resident_memory_bytes').toFixed(0)} MiB = main V8 heap ${m('orb_nodejs_heap_size_total_bytes').toFixed(0)} MiB (used ${m('orb_nodejs_heap_size_used_bytes').toFixed(0)}) + external ${m('orb_nodejs_external_memory_bytes').toFixed(0)} MiB + native (DuckDB, worker heaps, the model)`;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'orb-bench-overload-'));
  const db = join(dir, 'bench.duckdb');
  // Defaults throughout (embedding on, --memory-limit 512MB); only the ports and the file are ours.
  const srv = await spawnServe(['--db', db], { ORB_EMBED: args.embed, ORB_ARCHIVE_OLDER_THAN: '90d', ...(process.env.BENCH_SERVE_ENV ? Object.fromEntries(process.env.BENCH_SERVE_ENV.split(',').map((kv) => kv.split('='))) : {}) });
  const pid = srv.child.pid!;
  const phases: Phase[] = [];
  let indexBytes = NaN;
  try {
    const idleRss = procStatus(pid, 'VmRSS');
    if (args.phases.includes('a')) phases.push(await phase(`(a) ${args.exporters} exporters × ${args.spans} spans, ${args.seconds} s`, pid, srv.httpUrl, (c) => exporters(srv.grpcAddress, c)));
    if (args.phases.includes('a')) console.log(await breakdown(srv.httpUrl));
    if (args.phases.includes('b')) phases.push(await phase(`(b) ${args.fat} concurrent fat requests, ${args['fat-attrs']} attributes`, pid, srv.httpUrl, (c) => fat(srv.grpcAddress, c)));
    if (args.phases.includes('c')) phases.push(await phase(`(c) one request of ${args.invalid} invalid spans`, pid, srv.httpUrl, (c) => invalid(srv.grpcAddress, c)));
    const metrics = await (await fetch(`${srv.httpUrl}/metrics`)).text();
    indexBytes = Number(/^orb_vector_index_bytes (\S+)$/m.exec(metrics)?.[1] ?? NaN);
    const hwm = procStatus(pid, 'VmHWM');
    console.log(`machine: ${cpus().length} cores, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB, Node ${process.versions.node}; ${new Date().toISOString()}`);
    console.log(`server idle RSS ${(idleRss / MB).toFixed(0)} MiB; VmHWM over the run ${(hwm / MB).toFixed(0)} MiB; vector index ${(indexBytes / MB).toFixed(1)} MiB (orb_vector_index_bytes)`);
    for (const p of phases)
      console.log(
        `${p.name.padEnd(52)} ${p.seconds.toFixed(1)} s  peak RSS ${(p.peakRss / MB).toFixed(0)} MiB  longest /healthz ${p.healthMaxMs.toFixed(0)} ms  load ${p.load.toFixed(2)}\n    codes: ${[...p.codes.entries()].map(([c, n]) => `${c}×${n}`).join(', ')}\n    ${p.note}`,
      );
  } finally {
    srv.child.kill('SIGTERM');
    await srv.exited;
  }
  const instance = await DuckDBInstance.create(db);
  const conn = await instance.connect();
  const n = async (sql: string) => Number((await conn.runAndReadAll(sql)).getRowObjectsJS()[0]!.n);
  console.log(`rows stored: executions ${await n('SELECT count(*) AS n FROM executions')}, rejected_spans ${await n('SELECT count(*) AS n FROM rejected_spans')}`);
  conn.closeSync();
  instance.closeSync();
  rmSync(dir, { recursive: true, force: true });
}

await main();
