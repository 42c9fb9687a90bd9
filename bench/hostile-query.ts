// Ingest acknowledgement latency while hostile SQL runs (issue 10 §2): a real `orb-learn serve`
// process, a gRPC client exporting small requests at a steady rate, first alone (idle), then
// beside a loop of hostile queries: concurrent cross joins cut off at the time limit, and results
// too large (100 MB values). Target: ack p99 under hostile queries ≤ 2× idle.
// --sources: where the SQL runs, `snapshot` (its own process over the snapshot, the default) and/or
// `live` (the server's instance), one server each.
//   npm run bench:hostile-query [-- --seconds 15 --rate 50 --spans 50 --hostile 6 --sources snapshot,live]
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { encodeRequest, grpcClient, otlpRequest } from '../test/helpers/raw.js';
import { spawnServe } from '../test/helpers/process.js';
import { minimalExecution } from '../test/helpers/spans.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '15' },
    rate: { type: 'string', default: '50' },
    spans: { type: 'string', default: '50' },
    hostile: { type: 'string', default: '6' },
    sources: { type: 'string', default: 'snapshot,live' },
  },
});
const seconds = Number(args.seconds);
const rate = Number(args.rate);
const spansPer = Number(args.spans);
const hostileCount = Number(args.hostile);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
};

let seq = 0;
function request(): Buffer {
  return encodeRequest(
    otlpRequest(
      Array.from({ length: spansPer }, () => {
        seq++;
        return { attrs: minimalExecution({ 'execution.task_description': `hostile bench task ${seq}` }) as Record<string, unknown>, spanId: seq.toString(16).padStart(16, '0'), traceId: 'abcdef0123456789abcdef0123456789' };
      }),
    ),
  );
}

async function ingest(address: string, forMs: number): Promise<{ acks: number[]; errors: number }> {
  const client = grpcClient(address);
  const acks: number[] = [];
  let errors = 0;
  const end = performance.now() + forMs;
  const inflight: Promise<void>[] = [];
  for (let next = performance.now(); next < end; next += 1000 / rate) {
    const wait = next - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const body = request();
    const t0 = performance.now();
    inflight.push(
      client.export(body).then((r) => {
        if (r.error) errors++;
        else acks.push(performance.now() - t0);
      }),
    );
  }
  await Promise.all(inflight);
  client.close();
  return { acks, errors };
}

const HOSTILE = [
  'SELECT count(*) AS n FROM range(3000000) a, range(3000000) b',
  "SELECT repeat('x', 100000000) AS x FROM range(5)",
  'SELECT sum(a.range * b.range) AS s FROM range(2000000) a, range(2000000) b',
];

async function hostileLoop(httpUrl: string, until: () => boolean, codes: Map<number, number>): Promise<void> {
  let i = 0;
  while (!until()) {
    const q = HOSTILE[i++ % HOSTILE.length]!;
    const r = await fetch(`${httpUrl}/v1/query/sql?query=${encodeURIComponent(q)}`).catch(() => null);
    codes.set(r?.status ?? 0, (codes.get(r?.status ?? 0) ?? 0) + 1);
    await r?.arrayBuffer().catch(() => undefined);
  }
}

async function main(source: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'orb-bench-hostile-'));
  const db = join(dir, 'bench.duckdb');
  const srv = await spawnServe(['--db', db, '--snapshot-interval', '5', '--query-sql-source', source]);
  try {
    await ingest(srv.grpcAddress, 2000); // warm-up
    // The SQL process reads the snapshot: one must exist before the hostile phase.
    while (!existsSync(db.replace(/\.duckdb$/, '.snapshot.duckdb'))) await new Promise((r) => setTimeout(r, 200));
    const idle = await ingest(srv.grpcAddress, seconds * 1000);
    const loadIdle = loadavg()[0]!;
    let done = false;
    const codes = new Map<number, number>();
    const loops = Array.from({ length: hostileCount }, () => hostileLoop(srv.httpUrl, () => done, codes));
    await new Promise((r) => setTimeout(r, 500));
    const busy = await ingest(srv.grpcAddress, seconds * 1000);
    const loadBusy = loadavg()[0]!;
    done = true;
    await Promise.all(loops);
    const line = (name: string, r: { acks: number[]; errors: number }, load: number) =>
      `${name.padEnd(16)} acks ${String(r.acks.length).padStart(5)}  errors ${r.errors}  p50 ${pct(r.acks, 50).toFixed(1)} ms  p99 ${pct(r.acks, 99).toFixed(1)} ms  max ${Math.max(...r.acks).toFixed(1)} ms  (load ${load.toFixed(2)})`;
    console.log(`\n== querySqlSource ${source}: ingest ${rate} requests/s × ${spansPer} spans over gRPC, ${seconds} s each; hostile: ${hostileCount} concurrent /v1/query/sql loops`);
    console.log(line('idle', idle, loadIdle));
    console.log(line('hostile queries', busy, loadBusy));
    console.log(`hostile query answers: ${[...codes.entries()].map(([c, n]) => `${c}×${n}`).join(', ')}`);
    // The server's own peak RSS (the SQL process, when used, is another process with its own).
    const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${srv.child.pid}/status`, 'utf8'))?.[1];
    console.log(`server peak RSS (VmHWM): ${hwm ? `${(Number(hwm) / 1024).toFixed(0)} MB` : 'unknown'}`);
    console.log(`ack p99 under hostile queries / idle: ${(pct(busy.acks, 99) / pct(idle.acks, 99)).toFixed(2)}× (target ≤ 2×)`);
  } finally {
    srv.child.kill('SIGTERM');
    await srv.exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const source of args.sources.split(',')) await main(source);
