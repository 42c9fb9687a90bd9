// npm run bench:ann-tune [-- --n 100000 --queries 200 --connectivity 8,16,32 --ef 64,128,256,512 --threads 2]
// Recall of the HNSW side of the vector index against the exact scan, per graph setting. Vectors are
// realistic: the offline model's embeddings of a synth database's task descriptions (a few thousand
// tasks), each execution its task's vector plus noise (cosine ≈ 0.9, like a paraphrase), so nearly
// all are distinct. Queries are the dev set's texts and held-out noisy task vectors. Recall@k is of
// the served search (graph candidates, re-scored exactly, widened as the index does): the share of
// the exact top k whose similarity the ANN answer reaches. Graph build time and size are reported.
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { evalTexts, DEV_EVAL_SET } from './eval-set.js';
import { OnnxEmbedder } from '../src/embed/embedder.js';
import { defaultCacheDir, resolveModel, buildOffline } from '../src/embed/model.js';
import { taskContent } from '../src/embed/content.js';
import { quantize } from '../src/embed/quantize.js';
import { AnnIndexer } from '../src/query/ann.js';
import { VectorIndex } from '../src/query/vector-index.js';
import { Store } from '../src/store/db.js';
import { mulberry32 } from '../src/synth/generate.js';
import { CLI } from '../test/helpers/process.js';
import { tempDir } from '../test/helpers/server.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '100000' },
    queries: { type: 'string', default: '200' },
    connectivity: { type: 'string', default: '8,16,32' },
    ef: { type: 'string', default: '64,128,256,512' },
    threads: { type: 'string', default: '2' },
  },
});
const N = Number(values.n);
const rand = mulberry32(23);
const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());

const files = await resolveModel({ cacheDir: defaultCacheDir(), name: '__offline__', buildOffline });
const embedder = await OnnxEmbedder.load(files, { threads: 2 });
const dir = tempDir('orb-ann-tune-');
const db = join(dir, 'tasks.duckdb');
const synth = spawnSync(process.execPath, [CLI, 'synth', '--rows', '20000', '--db', db, '--seed', '7', '--no-vectors'], { encoding: 'utf8' });
if (synth.status !== 0) throw new Error(`synth failed: ${synth.stderr}`);
const store = await Store.open({ path: db });
const conn = await store.connect();
const tasks = (await conn.runAndReadAll('SELECT DISTINCT task_type, task_description FROM executions ORDER BY 1, 2')).getRows().map((r) => taskContent({ task_type: String(r[0]), task_description: String(r[1]) }));
conn.closeSync();
await store.close();
const base: Float32Array[] = [];
for (let i = 0; i < tasks.length; i += 64) base.push(...(await embedder.embed(tasks.slice(i, i + 64))).vectors);
const noisy = (v: Float32Array) => {
  const norm = Math.hypot(...v);
  return Float32Array.from(v, (x) => x + (0.48 * norm * gauss()) / Math.sqrt(v.length));
};
const dim = embedder.dimension;
console.log(`${tasks.length} task vectors (offline model, ${dim}-d); ${N.toLocaleString('en')} noisy copies; load ${(await import('node:os')).loadavg()[0]!.toFixed(1)}`);

const exact = new VectorIndex('m', dim, { lexical: false });
for (let n = 0; n < N; n++) {
  const q = quantize(noisy(base[Math.floor(rand() * base.length)]!));
  exact.add({ task_id: `e${n}`, repo: 'r', timestampMs: n, model_tier: 's', task_type: 't', success: true, quality_score: null, actual_cost: 0, scale: q.scale, values: q.values });
}
const queries = [
  ...(await embedder.embed(evalTexts(DEV_EVAL_SET))).vectors,
  ...Array.from({ length: Number(values.queries) }, () => noisy(base[Math.floor(rand() * base.length)]!)),
];
await embedder.close();
const truth = new Map<number, number[][]>();
const ks = [10, 50, 500];
for (const k of ks) truth.set(k, queries.map((q) => exact.search(q, { limit: k }).map((h) => h.similarity)));

console.log('M    ef    build s (cached: check)  graph MB   recall@10  recall@50  recall@500   p50 ms @10  p95 ms @500');
for (const connectivity of values.connectivity.split(',').map(Number)) {
  for (const ef of values.ef.split(',').map(Number)) {
    // The same entries in a fresh index; the graph file is built once per M (ef is a search setting).
    const index = new VectorIndex('m', dim, { lexical: false });
    const src = exact.parts[0]!;
    for (let e = 0; e < src.m; e++) index.add({ ...src.hit(src.head[e]!, 0), scale: 1, values: src.codes(e) });
    const ann = new AnnIndexer(index, { minEntries: 1000, connectivity, expansionAdd: 128, expansionSearch: ef, threads: Number(values.threads), cacheDir: join(dir, `ann-${connectivity}`) });
    await ann.idle();
    const r = ann.reports[0]!;
    const recall: string[] = [];
    const times = new Map<number, number[]>();
    for (const k of ks) {
      let hit = 0;
      const t: number[] = [];
      queries.forEach((q, i) => {
        const t0 = performance.now();
        const got = index.search(q, { limit: k });
        t.push(performance.now() - t0);
        const want = truth.get(k)![i]!;
        const kth = want[want.length - 1]!;
        hit += Math.min(want.length, got.filter((h) => h.similarity >= kth - 1e-6).length);
      });
      recall.push((hit / (queries.length * k)).toFixed(4));
      times.set(k, t.sort((a, b) => a - b));
    }
    const pct = (k: number, p: number) => times.get(k)![Math.floor(p * (times.get(k)!.length - 1))]!.toFixed(2);
    console.log(`${String(connectivity).padEnd(4)} ${String(ef).padEnd(5)} ${r.seconds.toFixed(1).padStart(7)}  ${(r.bytes / 1e6).toFixed(0).padStart(8)}   ${recall.map((x) => x.padStart(9)).join('  ')}   ${pct(10, 0.5).padStart(10)}  ${pct(500, 0.95).padStart(11)}`);
    await ann.close();
  }
}
const t0 = performance.now();
for (const q of queries) exact.search(q, { limit: 10 });
console.log(`exact scan of ${N.toLocaleString('en')}: ${((performance.now() - t0) / queries.length).toFixed(2)} ms a query (mean, limit 10)`);
