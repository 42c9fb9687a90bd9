// npm run bench:query [-- --sizes 100000,1000000 --runs 40 --db PATH --distinct 0.9 --ann-threads 1 --only vector]
// p50/p95 of every query of the library at each size, on a database filled by `orb-learn synth`
// (with vectors from the active model), against the review's naive SQL as ratios; then 1 vs 4
// concurrent clients.
// --db keeps the generated database at PATH (suffixed by the size) and reuses it on the next run.
// --distinct S: synth repeats a few thousand descriptions (~300 runs each at 1M); real ones rarely
// repeat. With S, a share S of the executions gets its own vector, its task's vector plus noise
// (cosine ~0.9 to it, like a paraphrase), so the index holds mostly distinct vectors and repos past
// the ANN threshold get an HNSW graph (cached beside the database: the second run reuses it).
// --only vector: only similar/recommend (skips the summary queries, naive SQL and throughput).
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { evalTexts, DEFAULT_EVAL_SET } from './eval-set.js';
import { OnnxEmbedder } from '../src/embed/embedder.js';
import { defaultCacheDir, resolveModel, buildOffline } from '../src/embed/model.js';
import { QueryLibrary } from '../src/query/library.js';
import type { QueryName } from '../src/query/params.js';
import { ReadPool } from '../src/query/pool.js';
import { VectorIndex } from '../src/query/vector-index.js';
import { ROUTER_TASKS } from '../src/query/router/recommend.js';
import { AnnIndexer } from '../src/query/ann.js';
import { mulberry32 } from '../src/synth/generate.js';
import { Store } from '../src/store/db.js';
import { addDescriptionVectors } from './description-vectors.js';
import { queryContent, vectorModelId } from '../src/embed/content.js';
import { CLI } from '../test/helpers/process.js';
import { tempDir } from '../test/helpers/server.js';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '100000,1000000' },
    runs: { type: 'string', default: '40' },
    eval: { type: 'string', default: DEFAULT_EVAL_SET },
    db: { type: 'string' },
    distinct: { type: 'string' },
    'ann-threads': { type: 'string', default: '1' },
    only: { type: 'string' },
  },
});
const RUNS = Number(values.runs);
const texts = evalTexts(values.eval);

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;

async function time(fn: (i: number) => Promise<unknown>, runs = RUNS): Promise<{ p50: number; p95: number }> {
  await fn(0);
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn(i + 1);
    t.push(performance.now() - t0);
  }
  return { p50: pct(t, 0.5), p95: pct(t, 0.95) };
}

/** The same executions, a share of them with a vector of their own: the task's plus noise of norm 0.48·|v| (cosine ≈ 0.9). */
function distinctCopy(from: VectorIndex, share: number, descriptions: Map<string, string>): VectorIndex {
  const to = new VectorIndex(from.modelId, from.dim, { content: from.content });
  const rand = mulberry32(17);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const v = new Float32Array(from.dim);
  for (const p of from.parts) {
    for (let e = 0; e < p.m; e++) {
      const base = p.codes(e);
      let norm = 0;
      for (let d = 0; d < from.dim; d++) norm += base[d]! * base[d]!;
      const sd = (0.48 * Math.sqrt(norm)) / Math.sqrt(from.dim);
      for (let i = p.head[e]!; i >= 0; i = p.next[i]!) {
        const h = p.hit(i, 0);
        let values = base;
        if (rand() < share) {
          let max = 0;
          for (let d = 0; d < from.dim; d++) max = Math.max(max, Math.abs((v[d] = base[d]! + sd * gauss())));
          values = new Int8Array(from.dim);
          for (let d = 0; d < from.dim; d++) values[d] = Math.round((v[d]! / max) * 127);
        }
        to.add({ ...h, scale: 1, values, task_description: descriptions.get(h.task_id) ?? '' });
      }
    }
  }
  return to;
}

const mb = (b: number) => `${(b / 1e6).toFixed(0)} MB`;
const files = await resolveModel({ cacheDir: defaultCacheDir(), name: '__offline__', buildOffline });
for (const size of values.sizes.split(',').map(Number)) {
  const dir = values.db ? null : tempDir('orb-bench-query-');
  const db = values.db ? `${values.db}.${size}` : join(dir!, 'bench.duckdb');
  const reuse = values.db !== undefined && existsSync(db);
  const t0 = performance.now();
  if (!reuse) {
    const synth = spawnSync(process.execPath, [CLI, 'synth', '--rows', String(size), '--db', db, '--seed', '7', '--no-vectors'], { encoding: 'utf8' });
    if (synth.status !== 0) throw new Error(`synth failed: ${synth.stderr}`);
  }
  const synthSeconds = (performance.now() - t0) / 1000;
  const store = await Store.open({ path: db });
  const pool = await ReadPool.open(() => store.connect(), 4, 120_000);
  const embedder = await OnnxEmbedder.load(files, { threads: 2 });
  const te = performance.now();
  const distinct = reuse ? 'reused:' : await addDescriptionVectors(store, embedder, files.manifest.source ?? files.dir);
  console.log(`\n== ${size.toLocaleString('en')} executions${reuse ? ` (database reused: ${db})` : `: synth ${synthSeconds.toFixed(0)} s; ${distinct} distinct tasks (task type + description) embedded in ${((performance.now() - te) / 1000).toFixed(0)} s`}; file ${(statSync(db).size / 1e6).toFixed(0)} MB (model ${files.manifest.id})`);
  const mem0 = process.memoryUsage();
  let index = new VectorIndex(vectorModelId(embedder.modelId), embedder.dimension);
  const tl = performance.now();
  const loader = await store.connect();
  await index.load(loader);
  loader.closeSync();
  console.log(`vector index: ${index.size.toLocaleString('en')} executions, ${index.entries.toLocaleString('en')} distinct vectors, loaded in ${((performance.now() - tl) / 1000).toFixed(1)} s; ${mb(index.codeBytes)} of int8 codes (one copy per execution would be ${mb(index.size * index.dim)})`);
  if (values.distinct) {
    const td = performance.now();
    const conn = await store.connect();
    const descriptions = new Map((await conn.runAndReadAll('SELECT task_id::VARCHAR, task_description FROM executions')).getRows().map((r) => [String(r[0]), String(r[1])]));
    conn.closeSync();
    index = distinctCopy(index, Number(values.distinct), descriptions);
    console.log(`--distinct ${values.distinct}: ${index.entries.toLocaleString('en')} distinct vectors in ${((performance.now() - td) / 1000).toFixed(1)} s; ${mb(index.codeBytes)} of int8 codes`);
  }
  const tb = performance.now();
  const ann = new AnnIndexer(index, { cacheDir: values.db ? `${db}.ann` : null, threads: Number(values['ann-threads']) }, (err, repo) => console.error(`ANN build for ${repo} failed: ${err.message}`));
  await ann.idle();
  for (const r of ann.reports) console.log(`HNSW graph ${r.repo}: ${r.covered.toLocaleString('en')} entries, ${r.cached ? 'cached, checked' : 'built'} in ${r.seconds.toFixed(1)} s, ${mb(r.bytes)}`);
  if (ann.reports.length) console.log(`graphs ready in ${((performance.now() - tb) / 1000).toFixed(0)} s; ${mb(ann.reports.reduce((n, r) => n + r.bytes, 0))} of graph files`);
  const mem1 = process.memoryUsage();
  console.log(`memory after load: rss ${mb(mem1.rss)} (+${mb(mem1.rss - mem0.rss)}), heap ${mb(mem1.heapUsed)}, array buffers ${mb(mem1.arrayBuffers)}; ${index.describe()}`);
  const lib = new QueryLibrary(pool, () => ({ index, embedder }));
  const repos = (await pool.use((c) => c.runAndReadAll('SELECT repo FROM executions GROUP BY repo ORDER BY count(*) DESC LIMIT 5'))).getRows().map((r) => String(r[0]));
  const types = (await pool.use((c) => c.runAndReadAll('SELECT task_type FROM executions GROUP BY task_type ORDER BY count(*) DESC LIMIT 5'))).getRows().map((r) => String(r[0]));
  const pick = <T,>(xs: T[], i: number) => xs[i % xs.length]!;
  const all: [QueryName, (i: number) => Record<string, unknown>][] = [
    ['similar', (i) => ({ text: pick(texts, i), threshold: 0.3 })],
    ['similar', (i) => ({ text: pick(texts, i), repo: pick(repos, i), threshold: 0.3 })],
    ['tiers', (i) => ({ task_type: pick(types, i) })],
    ['tiers', () => ({})],
    ['patterns', () => ({})],
    ['pools', (i) => ({ repo: pick(repos, i) })],
    ['cost-error', () => ({ by: 'tier' })],
    ['recommend', (i) => ({ text: pick(texts, i) })],
    ['recommend', (i) => ({ text: pick(texts, i), mode: 'explore' })],
    ['recommend', (i) => ({ text: pick(texts, i), strategy: 'legacy' })],
  ];
  const vectorOnly = values.only === 'vector';
  const cases = vectorOnly ? all.filter(([name]) => name === 'similar' || name === 'recommend') : all;
  console.log('query                         p50 ms   p95 ms');
  const p95: Record<string, number> = {};
  for (const [name, params] of cases) {
    const label = `${name} ${JSON.stringify(params(0)).length > 2 ? Object.keys(params(0)).filter((k) => k !== 'text' && k !== 'threshold').join('+') : ''}`.trim();
    const r = await time((i) => lib.run(name, params(i)));
    p95[label] = r.p95;
    console.log(`${label.padEnd(28)} ${r.p50.toFixed(1).padStart(7)}  ${r.p95.toFixed(1).padStart(7)}`);
  }
  // Where recommend's time goes: the vector search alone (query vectors embedded beforehand), as
  // recommend calls it (k 500, 64 distinct tasks, min_similarity 0.5, BM25 weight 0.5), cosine-only,
  // and without the cap on distinct tasks (as recommend called it before 2026-12-04).
  const qvs = (await embedder.embed(texts.map((t) => queryContent(t, undefined, index.content)))).vectors;
  const searches = [
    ['index.search k500 tasks64 hybrid', true, ROUTER_TASKS, undefined],
    ['index.search k500 tasks64 hybrid exact', true, ROUTER_TASKS, Infinity],
    ['index.search k500 tasks64 cosine', false, ROUTER_TASKS, undefined],
    ['index.search k500 hybrid', true, undefined, undefined],
    ['index.search k500 cosine', false, undefined, undefined],
  ] as const;
  for (const [label, lexical, entries, candidates] of searches) {
    const r = await time(async (i) => index.search(pick(qvs, i), { limit: 500, entries, threshold: 0.5, lexical: lexical ? { text: pick(texts, i), weight: 0.5, candidates } : undefined }));
    console.log(`${label.padEnd(28)} ${r.p50.toFixed(1).padStart(7)}  ${r.p95.toFixed(1).padStart(7)}`);
  }
  if (index.lexical) {
    const lexical = index.lexical;
    const r = await time(async (i) => lexical.query(pick(texts, i)));
    console.log(`${'BM25 of every match'.padEnd(28)} ${r.p50.toFixed(1).padStart(7)}  ${r.p95.toFixed(1).padStart(7)}`);
  }
  if (vectorOnly) {
    await ann.close();
    await embedder.close();
    pool.close();
    await store.close();
    continue;
  }
  // The review's naive SQL, in the same run.
  const qv = Array.from((await embedder.embed([texts[0]!])).vectors[0]!);
  const naive: [string, string, string][] = [
    [
      'similar (full-scan cosine)',
      'similar',
      `SELECT e.task_id, e.timestamp, e.task_type, e.repo, e.model_tier, e.pool_type, e.success, e.duration_seconds, e.quality_score,
         list_cosine_similarity(list_transform(v.embedding, x -> x * v.scale)::FLOAT[], [${qv.join(',')}]::FLOAT[]) AS similarity
       FROM executions e JOIN execution_embeddings v USING (task_id) WHERE v.model_id = '${index.modelId}' AND e.timestamp >= now() - INTERVAL 90 DAY
       ORDER BY similarity DESC LIMIT 10`,
    ],
    [
      'tiers (GROUP BY executions)',
      'tiers',
      `SELECT model_tier, count(*) total, count(*) FILTER (success) successful, avg(duration_seconds), avg(actual_cost), avg(quality_score),
         quantile_cont(duration_seconds, 0.95) p95 FROM executions WHERE timestamp >= now() - INTERVAL 30 DAY GROUP BY model_tier ORDER BY 6 DESC, 4`,
    ],
    [
      'patterns (GROUP BY executions)',
      'patterns',
      `SELECT solution_summary, count(*) usage_count, count(*) FILTER (success) success_count, avg(quality_score) avg_quality,
         count(*) FILTER (success) / count(*) success_rate FROM executions WHERE solution_summary IS NOT NULL
       GROUP BY solution_summary HAVING count(*) >= 10 ORDER BY success_rate DESC, avg_quality DESC LIMIT 10`,
    ],
  ];
  for (const [label, ours, sql] of naive) {
    const r = await time(() => pool.use((c) => c.runAndReadAll(sql)), Math.max(5, Math.floor(RUNS / 4)));
    const mine = Object.entries(p95).find(([k]) => k.startsWith(ours))![1];
    console.log(`naive ${label.padEnd(32)} p50 ${r.p50.toFixed(1)} ms, p95 ${r.p95.toFixed(1)} ms  → library is ${(r.p95 / mine).toFixed(1)}× faster at p95`);
  }
  // Throughput with 1 and 4 concurrent clients (tiers and patterns, through the read pool).
  for (const clients of [1, 4]) {
    let done = 0;
    const until = performance.now() + 3000;
    await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        for (let i = c; performance.now() < until; i++) {
          await lib.run(i % 2 ? 'tiers' : 'pools', i % 2 ? { task_type: pick(types, i) } : { repo: pick(repos, i) });
          done++;
        }
      }),
    );
    console.log(`${clients} concurrent client${clients > 1 ? 's' : ''}: ${(done / 3).toFixed(0)} queries/s (tiers + pools)`);
  }
  await ann.close();
  await embedder.close();
  pool.close();
  await store.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
}
