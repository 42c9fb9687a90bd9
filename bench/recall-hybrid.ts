// npm run bench:recall-hybrid [-- --model use-lite|glove|all --eval FILE --rows 1000000 --time-rows 100000,1000000]
// Vector-only vs BM25-only vs hybrid recall@2 on the shared similar-task set (every line is
// {"group": ..., "texts": [...]}), through the shipped VectorIndex (int8 cosine, exact hybrid
// search) and LexicalIndex. Each text in turn is the query against an index of the other texts,
// so its own words never enter BM25's statistics. Blends measured, w = lexical weight:
//   linear (shipped): score = (1 − w)·cosine + w·BM25/max BM25 (max over the index for the query)
//   rrf (comparison):  score = (1 − w)/(60 + cosine rank) + w/(60 + BM25 rank)
// Then bytes per row and query time of the lexical index on synthetic descriptions, and search
// time of vector-only vs hybrid.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readEvalSet } from './eval-set.js';
import { embeddingContent } from '../src/embed/content.js';
import { OnnxEmbedder } from '../src/embed/embedder.js';
import { readModelDir } from '../src/embed/model.js';
import { buildOfflineModel, type OfflineModelKind } from '../src/embed/offline/index.js';
import { quantize } from '../src/embed/quantize.js';
import { DEFAULT_LEXICAL_WEIGHT } from '../src/query/library.js';
import { LexicalIndex, tokenize } from '../src/query/lexical-index.js';
import { VectorIndex } from '../src/query/vector-index.js';
import { generateExecutions, mulberry32 } from '../src/synth/generate.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'use-lite' },
    eval: { type: 'string', default: '/work/shared/eval/similar-tasks.jsonl' },
    rows: { type: 'string', default: '1000000' },
    'time-rows': { type: 'string', default: '100000,1000000' },
  },
});
const K = 2;
// Finer where the blend peaks (small weights), then every tenth.
const WEIGHTS = [0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1];
const { groups, items } = readEvalSet(values.eval);
const kinds: OfflineModelKind[] = values.model === 'all' ? ['use-lite', 'glove'] : [values.model as OfflineModelKind];
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
const f3 = (x: number) => x.toFixed(3);

// The review's content string ("Task: … | Description: … | Repository: …", embedContent=review), so one setup
// wraps each description in fields drawn at random, independent of its group.
const rand = mulberry32(11);
const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
const contents = items.map((it) =>
  embeddingContent({
    task_type: pick(['feature', 'bugfix', 'refactor', 'docs', 'test', 'chore']),
    task_description: it.text,
    repo: pick(['api', 'web', 'infra', 'mobile']),
    model_tier: pick(['small', 'medium', 'large']),
    pool_type: pick(['default', 'gpu', 'batch']),
    swarm_topology: null,
    success: rand() < 0.8,
    solution_summary: null,
  }, 'review'),
);

interface Setup {
  name: string;
  docVectors: Float32Array[];
  queryVectors: Float32Array[];
  lexicalText: string[];
}

/** An index of every item but `skip`, with task ids t<i>. */
function indexWithout(s: Setup, skip: number): VectorIndex {
  const index = new VectorIndex('bench', s.docVectors[0]!.length, { lexical: true });
  items.forEach((_, i) => {
    if (i === skip) return;
    const q = quantize(s.docVectors[i]!);
    index.add({ task_id: `t${i}`, repo: 'r', timestampMs: 0, model_tier: 'm', task_type: 't', success: true, quality_score: null, actual_cost: 0, scale: q.scale, values: q.values, task_description: s.lexicalText[i] });
  });
  return index;
}

/** same[w][i]: how many of text i's 2 nearest are from its group, per weight; plus BM25 alone. */
function measure(s: Setup) {
  const linear = WEIGHTS.map(() => new Array<number>(items.length).fill(0));
  const rrf = WEIGHTS.map(() => new Array<number>(items.length).fill(0));
  const bm25 = new Array<number>(items.length).fill(0);
  const sameGroup = (i: number, ids: string[]) => ids.filter((id) => items[Number(id.slice(1))]!.group === items[i]!.group).length;
  items.forEach((item, i) => {
    const index = indexWithout(s, i);
    WEIGHTS.forEach((w, wi) => {
      const hits = index.search(s.queryVectors[i]!, { limit: K, lexical: { text: item.text, weight: w } });
      linear[wi]![i] = sameGroup(i, hits.map((h) => h.task_id));
    });
    const lq = index.lexical!.query(item.text);
    // BM25 alone: a text with no shared word is no neighbour (no arbitrary tie-break).
    bm25[i] = sameGroup(i, lq.top(K).map((h) => `t${h.doc < i ? h.doc : h.doc + 1}`));
    const byCosine = index.search(s.queryVectors[i]!, { limit: items.length });
    const textRank = new Map(lq.top(items.length).map((h, r) => [`t${h.doc < i ? h.doc : h.doc + 1}`, r + 1]));
    WEIGHTS.forEach((w, wi) => {
      const fused = byCosine
        .map((h, r) => ({ id: h.task_id, score: (1 - w) / (60 + r + 1) + (textRank.has(h.task_id) ? w / (60 + textRank.get(h.task_id)!) : 0) }))
        .sort((a, b) => b.score - a.score);
      rrf[wi]![i] = sameGroup(i, fused.slice(0, K).map((f) => f.id));
    });
  });
  return { linear, rrf, bm25 };
}

const sum = (xs: number[], only?: (i: number) => boolean) => xs.reduce((a, x, i) => a + (only && !only(i) ? 0 : x), 0);
const recall = (xs: number[]) => sum(xs) / (xs.length * K);

/** Leave one group out: pick w on the other groups' texts, score the held-out group with it. */
function crossValidated(same: number[][]): { recall: number; picks: number[] } {
  let hits = 0;
  const picks: number[] = [];
  for (const g of groups) {
    const train = (i: number) => items[i]!.group !== g.group;
    let best = 0;
    same.forEach((xs, wi) => {
      if (sum(xs, train) > sum(same[best]!, train)) best = wi;
    });
    picks.push(WEIGHTS[best]!);
    hits += sum(same[best]!, (i) => !train(i));
  }
  return { recall: hits / (items.length * K), picks };
}

/** 95% bootstrap interval (groups resampled) of recall(a) − recall(b). */
function bootstrap(a: number[], b: number[], rounds = 5000): [number, number] {
  const r = mulberry32(5);
  const byGroup = groups.map((g) => items.flatMap((it, i) => (it.group === g.group ? [i] : [])));
  const diffs: number[] = [];
  for (let k = 0; k < rounds; k++) {
    let d = 0;
    let n = 0;
    for (let j = 0; j < groups.length; j++) {
      for (const i of byGroup[Math.floor(r() * groups.length)]!) {
        d += a[i]! - b[i]!;
        n += K;
      }
    }
    diffs.push(d / n);
  }
  return [pct(diffs, 0.025), pct(diffs, 0.975)];
}

function report(s: Setup): void {
  const { linear, rrf, bm25 } = measure(s);
  console.log(`\n## ${s.name}`);
  console.log(`vector only ${f3(recall(linear[0]!))} (${sum(linear[0]!)}/${items.length * K}); BM25 only ${f3(recall(bm25))} (${sum(bm25)}/${items.length * K})`);
  console.log('| w | linear | rrf |\n|---|---|---|');
  WEIGHTS.forEach((w, wi) => console.log(`| ${w.toFixed(2)} | ${f3(recall(linear[wi]!))} (${sum(linear[wi]!)}) | ${f3(recall(rrf[wi]!))} (${sum(rrf[wi]!)}) |`));
  const shipped = WEIGHTS.indexOf(DEFAULT_LEXICAL_WEIGHT);
  const [slo, shi] = bootstrap(linear[shipped]!, linear[0]!);
  console.log(
    `shipped default, linear w ${DEFAULT_LEXICAL_WEIGHT}: ${f3(recall(linear[shipped]!))} vs vector ${f3(recall(linear[0]!))}: ` +
      `${linear[shipped]!.filter((x, i) => x > linear[0]![i]!).length} texts better, ${linear[shipped]!.filter((x, i) => x < linear[0]![i]!).length} worse; ` +
      `difference 95% interval [${f3(slo)}, ${f3(shi)}]`,
  );
  for (const [name, same] of [['linear', linear], ['rrf', rrf]] as const) {
    let best = 0;
    same.forEach((xs, wi) => {
      if (sum(xs) > sum(same[best]!)) best = wi;
    });
    const up = same[best]!.filter((x, i) => x > linear[0]![i]!).length;
    const down = same[best]!.filter((x, i) => x < linear[0]![i]!).length;
    const [lo, hi] = bootstrap(same[best]!, linear[0]!);
    const cv = crossValidated(same);
    console.log(
      `${name}: best w ${WEIGHTS[best]!.toFixed(2)} (chosen on the same texts it is scored on) ${f3(recall(same[best]!))} vs vector ${f3(recall(linear[0]!))}: ` +
        `${up} texts better, ${down} worse; difference 95% interval [${f3(lo)}, ${f3(hi)}]; ` +
        `leave-one-group-out (w picked without the group) ${f3(cv.recall)}, picks ${cv.picks.join(' ')}`,
    );
  }
}

for (const kind of kinds) {
  const built = await buildOfflineModel(join(tmpdir(), 'orb-learn-recall-offline', kind), { model: kind });
  const files = await readModelDir(built.dir, 'offline');
  if (!files) throw new Error(`incomplete build in ${built.dir}`);
  const embedder = await OnnxEmbedder.load(files, { threads: 1 });
  const described = (await embedder.embed(items.map((i) => i.text))).vectors;
  const wrapped = (await embedder.embed(contents)).vectors;
  await embedder.close();
  console.log(`\n# ${built.id} (${built.dimension}-d): ${items.length} texts in ${groups.length} groups, recall@${K}; "(n)" = same-group neighbours of ${items.length * K}`);
  const texts = items.map((i) => i.text);
  report({ name: 'descriptions (as bench:recall): vectors and BM25 over the description', docVectors: described, queryVectors: described, lexicalText: texts });
  report({ name: 'contents (as the server): vectors over the content, BM25 over the description', docVectors: wrapped, queryVectors: described, lexicalText: texts });
  report({ name: 'contents (as the server): vectors and BM25 over the content', docVectors: wrapped, queryVectors: described, lexicalText: contents });
}

// ---------------------------------------------------------------------------------------------
// Memory and time on synthetic descriptions ("synth": orb-learn synth's templates, few distinct;
// "unique": each with a ticket number and a made-up identifier, so the vocabulary keeps growing).

const gc = (globalThis as { gc?: () => void }).gc;
function heap(): number {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
}

function descriptions(n: number, unique: boolean): string[] {
  const r = mulberry32(3);
  const out: string[] = [];
  for (const chunk of generateExecutions({ rows: n, seed: 7, now: Date.UTC(2026, 10, 24), validate: 'none', chunkSize: 50_000 }))
    for (const e of chunk) out.push(unique ? `${e.task_description} (ticket ${Math.floor(r() * 1e6)}, ${Math.floor(r() * 36 ** 5).toString(36)}Handler)` : e.task_description);
  return out;
}

const rows = Number(values.rows);
if (!gc) console.log('\n(run with --expose-gc for the memory figures)');
const queries = items.map((i) => i.text);
descriptions(1, false); // the generator's catalogue, outside the measurement
for (const unique of rows > 0 ? [false, true] : []) {
  const before = heap();
  const t0 = performance.now();
  // The texts go out of scope once added: what stays is the index.
  const { lex, postings } = (() => {
    const texts = descriptions(rows, unique);
    const lex = new LexicalIndex();
    texts.forEach((t, i) => lex.add(i, t));
    return { lex, postings: texts.reduce((s, t) => s + new Set(tokenize(t)).size, 0) };
  })();
  const buildS = (performance.now() - t0) / 1000;
  const bytes = heap() - before;
  const ms: number[] = [];
  let matched = 0;
  for (let k = 0; k < 3; k++)
    for (const q of queries) {
      const t1 = performance.now();
      const lq = lex.query(q);
      lq.top(64);
      ms.push(performance.now() - t1);
      matched += lq.matched.length;
    }
  console.log(
    `\nlexical index, ${unique ? 'unique' : 'synth'} descriptions, ${rows.toLocaleString('en')} rows: ${gc ? `${(bytes / 2 ** 20).toFixed(1)} MiB, ${Math.round(bytes / rows)} B/row` : 'memory not measured'}; ` +
      `${(postings / rows).toFixed(1)} distinct terms/row, vocabulary ${lex.vocabulary.toLocaleString('en')}; generate + build ${buildS.toFixed(1)} s; ` +
      `BM25 query + top 64 p50 ${pct(ms, 0.5).toFixed(1)} ms, p95 ${pct(ms, 0.95).toFixed(1)} ms (${Math.round(matched / ms.length).toLocaleString('en')} rows matched a query on average)`,
  );
}

// Search time, vector only vs hybrid, as bench:query sets it up: synth rows, one USE-lite vector
// per distinct description, the eval texts as queries (their embedding is not timed).
const sizes = values['time-rows'].split(',').map(Number).filter((n) => n > 0);
if (sizes.length > 0) {
  const built = await buildOfflineModel(join(tmpdir(), 'orb-learn-recall-offline', 'use-lite'), { model: 'use-lite' });
  const embedder = await OnnxEmbedder.load((await readModelDir(built.dir, 'offline'))!, { threads: 2 });
  const queryVectors = (await embedder.embed(queries)).vectors;
  const rowsOf = [...generateExecutions({ rows: Math.max(...sizes), seed: 7, now: Date.UTC(2026, 10, 24), validate: 'none', chunkSize: 50_000 })].flat();
  const distinct = [...new Set(rowsOf.map((r) => r.task_description))];
  const vectorOf = new Map<string, ReturnType<typeof quantize>>();
  for (let i = 0; i < distinct.length; i += 64) {
    const batch = distinct.slice(i, i + 64);
    (await embedder.embed(batch)).vectors.forEach((v, k) => vectorOf.set(batch[k]!, quantize(v)));
  }
  await embedder.close();
  // The five biggest repos, as bench:query picks them.
  const counts = new Map<string, number>();
  for (const r of rowsOf) counts.set(r.repo, (counts.get(r.repo) ?? 0) + 1);
  const repos = [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([repo]) => repo);
  for (const [si, n] of sizes.entries()) {
    const index = new VectorIndex('bench', built.dimension, { lexical: true });
    for (const r of rowsOf.slice(0, n)) {
      const q = vectorOf.get(r.task_description)!;
      index.add({ ...r, timestampMs: r.timestamp.getTime(), scale: q.scale, values: q.values });
    }
    const time = (opts: (i: number) => Parameters<VectorIndex['search']>[1]) => {
      const ms: number[] = [];
      queryVectors.forEach((v, i) => {
        const t0 = performance.now();
        index.search(v, opts(i));
        ms.push(performance.now() - t0);
      });
      return `${pct(ms, 0.5).toFixed(1)} / ${pct(ms, 0.95).toFixed(1)}`;
    };
    const weights = si === 0 ? [0, 0.1, 0.3] : [0, 0.1];
    console.log(`\nsearch p50 / p95 ms at ${n.toLocaleString('en')} rows (${new Set(rowsOf.slice(0, n).map((r) => r.task_description)).size} distinct descriptions, USE-lite 512-d int8; query embedding not included)`);
    console.log(`| search | ${weights.map((w) => (w ? `hybrid w ${w}` : 'vector only')).join(' | ')} |\n|---|${weights.map(() => '---').join('|')}|`);
    const cases: [string, (i: number) => { limit: number; repo?: string; threshold: number }][] = [
      ['similar (limit 10, threshold 0.3)', () => ({ limit: 10, threshold: 0.3 })],
      ['similar --repo (5 biggest)', (i) => ({ limit: 10, threshold: 0.3, repo: repos[i % repos.length]! })],
      ['recommend (k 50, min similarity 0.5)', () => ({ limit: 50, threshold: 0.5 })],
    ];
    for (const [label, opts] of cases) {
      time(opts); // warm-up
      console.log(`| ${label} | ${weights.map((w) => time((i) => ({ ...opts(i), lexical: { text: queries[i]!, weight: w } }))).join(' | ')} |`);
    }
  }
}
