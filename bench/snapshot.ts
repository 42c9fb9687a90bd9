// npm run bench:snapshot [-- --rows 1000000]
// The cost of publishing the analysts' snapshot at scale: a database filled by `orb-learn synth`'s
// generator through the store's writer, with a 384-d int8 vector per execution (stand-in
// embedder, see bench/stand-in.ts), then SnapshotPublisher.publish() timed, and 100-row commits timed meanwhile, to
// show whether publishing stalls acknowledgements (commits are what an ack waits for).
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Store } from '../src/store/db.js';
import { SnapshotPublisher } from '../src/store/snapshot.js';
import { synthesize } from '../src/synth/write.js';
import { StandInEmbedder } from './stand-in.js';
import { row } from '../test/helpers/rows.js';
import { tempDir } from '../test/helpers/server.js';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '1000000' }, runs: { type: 'string', default: '3' } } });
const ROWS = Number(values.rows);
const dir = tempDir('orb-bench-snapshot-');
const db = join(dir, 'learning.duckdb');

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;

async function commitLatencies(store: Store, until: () => boolean, base: number): Promise<number[]> {
  const out: number[] = [];
  let n = base;
  while (!until()) {
    const rows = Array.from({ length: 100 }, () => row(n++, { timestamp: new Date() }));
    const t0 = performance.now();
    await store.writer.commit({ executions: rows, rejected: [] });
    out.push(performance.now() - t0);
  }
  return out;
}

const t0 = performance.now();
const filling = await Store.open({ path: db });
await synthesize(filling, { rows: ROWS, days: 90, seed: 1, vectors: { embedder: new StandInEmbedder(384), source: 'bench stand-in', batchSize: 4096 } });
await filling.close();
console.log(`orb-learn snapshot benchmark: ${ROWS} executions with 384-d int8 vectors (filled in ${((performance.now() - t0) / 1000).toFixed(0)} s, file ${(statSync(db).size / 1e6).toFixed(0)} MB)`);

const store = await Store.open({ path: db });
const snap = new SnapshotPublisher(await store.connect(), join(dir, 'learning.snapshot.duckdb'), 0);
let stop = false;
setTimeout(() => (stop = true), 3000);
const idle = await commitLatencies(store, () => stop, 10_000_000);
console.log(`100-row commits, no snapshot running: p50 ${pct(idle, 0.5).toFixed(1)} ms, p99 ${pct(idle, 0.99).toFixed(1)} ms (${idle.length})`);
for (let i = 0; i < Number(values.runs); i++) {
  let done = false;
  const publishing = snap.publish().finally(() => (done = true));
  const during = await commitLatencies(store, () => done, 20_000_000 + i * 1_000_000);
  const info = (await publishing)!;
  console.log(
    `snapshot ${i + 1}: ${info.seconds.toFixed(2)} s, ${(info.bytes / 1e6).toFixed(0)} MB; meanwhile ${during.length} commits of 100 rows, p50 ${pct(during, 0.5).toFixed(1)} ms, p99 ${pct(during, 0.99).toFixed(1)} ms, max ${Math.max(...during).toFixed(1)} ms`,
  );
}
await snap.stop();
await store.close();
rmSync(dir, { recursive: true, force: true });
