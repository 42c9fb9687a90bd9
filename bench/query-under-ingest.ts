// npm run bench:query-under-ingest [-- --rows 100000 --rate 5000 --runs 60 --seconds 30]
// Issue 10 §2: the library's queries must not wait for ingest. A real `orb-learn serve` child on a
// database of --rows synthetic executions (with vectors) answers `recommend` and `tiers` over HTTP,
// first idle, then while a real gRPC client exports a steady --rate spans/s; p50/p95 of each, the
// ratio to idle, the ingest rate reached and the ack p99 are printed (and the load average: the
// machine is shared).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { encodeRequest, grpcClient, otlpRequest } from '../test/helpers/raw.js';
import { CLI, spawnServe } from '../test/helpers/process.js';
import { tempDir } from '../test/helpers/server.js';
import { fullExecution } from '../test/helpers/spans.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '100000' },
    rate: { type: 'string', default: '5000' },
    runs: { type: 'string', default: '60' },
    seconds: { type: 'string', default: '30' },
    db: { type: 'string' },
  },
});
const RATE = Number(values.rate);
const RUNS = Number(values.runs);

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
const r1 = (x: number) => Math.round(x * 10) / 10;

const db = values.db ?? join(tempDir('orb-bench-qui-'), 'bench.duckdb');
if (!existsSync(db)) {
  const synth = spawnSync(process.execPath, [CLI, 'synth', '--rows', values.rows, '--db', db, '--seed', '7'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (synth.status !== 0) throw new Error('synth failed');
}
const server = await spawnServe(['--db', db], { ORB_EMBED: 'true' });
// The index loads the stored vectors in the background: wait until recommend answers.
for (;;) {
  const res = await fetch(`${server.httpUrl}/v1/query/recommend?text=refactor+the+auth+middleware`);
  if (res.status === 200) break;
  await new Promise((r) => setTimeout(r, 500));
}

const TEXTS = ['refactor the authentication middleware', 'add tests for the billing service', 'migrate the user table to the new schema', 'document the public API', 'fix the flaky integration test'];
// Each phase asks new texts: the library remembers the vectors of texts it was asked before.
async function timeQueries(runs: number, phase: string): Promise<Record<string, { p50: number; p95: number }>> {
  const out: Record<string, number[]> = { recommend: [], tiers: [] };
  for (let i = 0; i < runs; i++) {
    for (const [name, qs] of [
      ['recommend', `text=${encodeURIComponent(`${TEXTS[i % TEXTS.length]} ${phase} ${i}`)}`],
      ['tiers', i % 2 ? 'days=30' : 'days=90&task_type=refactor'],
    ] as const) {
      const t0 = performance.now();
      const res = await fetch(`${server.httpUrl}/v1/query/${name}?${qs}`);
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`${name} answered ${res.status}`);
      out[name]!.push(performance.now() - t0);
    }
  }
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, { p50: r1(pct(v, 0.5)), p95: r1(pct(v, 0.95)) }]));
}

await timeQueries(5, 'warm-up');
const idleLoad = loadavg()[0]!;
const idle = await timeQueries(RUNS, 'idle');

// Steady ingest: a request of RATE/10 spans every 100 ms on one channel, as a collector batches,
// at most 4 in flight: past what the server can take, the offered rate is skipped, not queued.
const client = grpcClient(server.grpcAddress);
const perRequest = Math.max(1, Math.round(RATE / 10));
let stopped = false;
let sent = 0;
let failed = 0;
let skipped = 0;
const acks: number[] = [];
const inflight = new Set<Promise<void>>();
const started = performance.now();
const ticker = setInterval(() => {
  if (stopped) return;
  // A collector keeps a few requests in flight and drops (here: skips) the rest.
  if (inflight.size >= 4) {
    skipped += perRequest;
    return;
  }
  const body = encodeRequest(
    otlpRequest(Array.from({ length: perRequest }, () => ({ attrs: fullExecution(), traceId: randomBytes(16).toString('hex'), spanId: randomBytes(8).toString('hex') }))),
  );
  const t0 = performance.now();
  const p = client.export(body).then((o) => {
    acks.push(performance.now() - t0);
    if (o.error) failed += perRequest;
    else sent += perRequest;
    inflight.delete(p);
  });
  inflight.add(p);
}, 100);
// Let the ingest settle into its steady state before measuring.
await new Promise((r) => setTimeout(r, 5000));
const loadedLoad = loadavg()[0]!;
const loadedStart = performance.now();
const sentAtStart = sent;
const loaded = await timeQueries(RUNS, 'loaded');
const loadedSeconds = (performance.now() - loadedStart) / 1000;
const rateDuring = (sent - sentAtStart) / loadedSeconds;
stopped = true;
clearInterval(ticker);
await Promise.all(inflight);
client.close();
const totalSeconds = (performance.now() - started) / 1000;
server.child.kill('SIGTERM');
await server.exited;

const result = {
  rows: Number(values.rows),
  target_rate: RATE,
  rate_during_queries: Math.round(rateDuring),
  acked_spans: sent,
  failed_spans: failed,
  skipped_spans: skipped,
  ingest_seconds: r1(totalSeconds),
  ack_p99_ms: r1(pct(acks, 0.99)),
  idle,
  loaded,
  ratio_p95: { recommend: r1(loaded.recommend!.p95 / idle.recommend!.p95), tiers: r1(loaded.tiers!.p95 / idle.tiers!.p95) },
  load_average: { idle: r1(idleLoad), loaded: r1(loadedLoad) },
};
console.log(JSON.stringify(result, null, 2));
