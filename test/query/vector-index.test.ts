import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { AnnIndexer } from '../../src/query/ann.js';
import { VectorIndex, type IndexedExecution, type SearchOptions } from '../../src/query/vector-index.js';
import { mulberry32 } from '../../src/synth/generate.js';
import { tempDir } from '../helpers/server.js';

const DIM = 32;

function codesOf(v: Float32Array): Int8Array {
  const max = Math.max(...v.map(Math.abs));
  return Int8Array.from(v, (x) => Math.round((x / max) * 127));
}

function cosine(a: Int8Array, b: Int8Array): number {
  let dot = 0;
  let aa = 0;
  let bb = 0;
  for (let d = 0; d < a.length; d++) {
    dot += a[d]! * b[d]!;
    aa += a[d]! * a[d]!;
    bb += b[d]! * b[d]!;
  }
  return dot / Math.sqrt(aa * bb);
}

function execution(id: string, codes: Int8Array, o: Partial<IndexedExecution> = {}): IndexedExecution {
  return { task_id: id, repo: 'r', timestampMs: 0, model_tier: 'small', task_type: 't', success: true, quality_score: null, actual_cost: 0, scale: 1, values: codes, task_description: 'd', ...o };
}

describe('vector index: one entry per distinct vector', () => {
  // 40 tasks, each run 30 times over 2 repos and a time axis: 1,200 executions, ≤ 80 entries.
  const rand = mulberry32(3);
  const tasks = Array.from({ length: 40 }, (_, k) => ({ codes: codesOf(Float32Array.from({ length: DIM }, () => rand() * 2 - 1)), text: `task ${k} words ${k % 7}` }));
  const index = new VectorIndex('m', DIM);
  const rows: { id: string; repo: string; t: number; task: number; doc: number }[] = [];
  const docs = new Map<string, number>();
  for (let n = 0; n < 1200; n++) {
    const task = Math.floor(rand() * tasks.length);
    const repo = `r${n % 2}`;
    const key = `${repo}/${task}`;
    if (!docs.has(key)) docs.set(key, docs.size);
    rows.push({ id: `x${n}`, repo, t: n, task, doc: docs.get(key)! });
    index.add(execution(`x${n}`, tasks[task]!.codes, { repo, timestampMs: n, success: n % 3 > 0, task_description: tasks[task]!.text }));
  }

  it('keeps every execution and stores each distinct vector once', () => {
    assert.equal(index.size, 1200);
    assert.equal(index.entries, docs.size);
    assert.ok(index.entries <= 80);
    const all = index.search(tasks[0]!.codes.length ? Float32Array.from(tasks[0]!.codes) : new Float32Array(DIM), { limit: 5000 });
    assert.equal(all.length, 1200, 'a limit above the count returns every execution once');
    assert.equal(new Set(all.map((h) => h.task_id)).size, 1200);
  });

  it('ranks executions as an exact scan over every execution would, under filters and thresholds', () => {
    for (let k = 0; k < 40; k++) {
      const q = Float32Array.from(tasks[k % tasks.length]!.codes, (x) => x + 40 * (rand() - 0.5));
      const qc = codesOf(q);
      const opts: SearchOptions = { limit: [1, 10, 50, 500][k % 4]!, repo: k % 3 === 1 ? 'r1' : undefined, sinceMs: k % 5 === 2 ? 600 : undefined, threshold: k % 4 === 3 ? 0.2 : undefined };
      const want = rows
        .map((r) => ({ r, sim: cosine(qc, tasks[r.task]!.codes) }))
        .filter((x) => (!opts.repo || x.r.repo === opts.repo) && (opts.sinceMs == null || x.r.t >= opts.sinceMs) && (opts.threshold == null || x.sim >= opts.threshold))
        .sort((a, b) => b.sim - a.sim);
      const got = index.search(q, opts);
      assert.equal(got.length, Math.min(opts.limit, want.length), `case ${k}`);
      got.forEach((h, i) => {
        assert.ok(Math.abs(h.similarity - want[i]!.sim) < 1e-5, `case ${k} rank ${i}`);
        const r = rows[Number(h.task_id.slice(1))]!;
        assert.ok((!opts.repo || r.repo === opts.repo) && (opts.sinceMs == null || r.t >= opts.sinceMs));
        assert.equal(h.timestampMs, r.t);
        assert.equal(h.success, r.t % 3 > 0, 'each execution keeps its own outcome');
      });
      // Within one entry, newest first.
      for (let i = 1; i < got.length; i++) if (got[i]!.similarity === got[i - 1]!.similarity && got[i]!.repo === got[i - 1]!.repo) assert.ok(got[i]!.timestampMs < got[i - 1]!.timestampMs);
    }
  });

  it('blends BM25 per entry and stays exact in the hybrid ranking', () => {
    for (let k = 0; k < 20; k++) {
      const task = tasks[k]!;
      const q = Float32Array.from(task.codes, (x) => x + 60 * (rand() - 0.5));
      const qc = codesOf(q);
      const opts: SearchOptions = { limit: [10, 100][k % 2]!, sinceMs: k % 3 === 0 ? 300 : undefined, lexical: { text: task.text, weight: 0.5 } };
      const lq = index.lexical!.query(task.text);
      const want = rows
        .map((r) => ({ r, score: 0.5 * cosine(qc, tasks[r.task]!.codes) + (0.5 * lq.score(r.doc)) / lq.norm }))
        .filter((x) => opts.sinceMs == null || x.r.t >= opts.sinceMs)
        .sort((a, b) => b.score - a.score);
      const got = index.search(q, opts);
      assert.equal(got.length, opts.limit);
      got.forEach((h, i) => assert.ok(Math.abs(h.score! - want[i]!.score) < 1e-5, `case ${k} rank ${i}: ${h.score} vs ${want[i]!.score}`));
    }
  });

  it('caps the distinct entries searched (entries), returning all of their executions up to the limit', () => {
    for (let k = 0; k < 20; k++) {
      const task = tasks[k]!;
      const q = Float32Array.from(task.codes, (x) => x + 50 * (rand() - 0.5));
      const qc = codesOf(q);
      const entries = [1, 3, 8][k % 3]!;
      const lexical = k % 2 ? { text: task.text, weight: 0.5 } : undefined;
      const lq = index.lexical!.query(task.text);
      const scoreOf = (r: (typeof rows)[number]) => (lexical ? 0.5 * cosine(qc, tasks[r.task]!.codes) + (0.5 * lq.score(r.doc)) / lq.norm : cosine(qc, tasks[r.task]!.codes));
      // The best `entries` distinct (repo, vector) entries by the exact score (ties: the same task in both repos), and every execution of them.
      const byDoc = new Map<number, number>();
      for (const r of rows) byDoc.set(r.doc, scoreOf(r));
      const topScores = [...byDoc.values()].sort((a, b) => b - a).slice(0, entries);
      const got = index.search(q, { limit: 5000, entries, lexical });
      const gotDocs = new Set(got.map((h) => rows[Number(h.task_id.slice(1))]!.doc));
      assert.equal(gotDocs.size, entries, `case ${k}: ${entries} entries`);
      const gotScores = [...gotDocs].map((d) => byDoc.get(d)!).sort((a, b) => b - a);
      gotScores.forEach((x, i) => assert.ok(Math.abs(x - topScores[i]!) < 1e-5, `case ${k} entry ${i}: ${x} vs ${topScores[i]}`));
      assert.equal(got.length, rows.filter((r) => gotDocs.has(r.doc)).length, `case ${k}: every execution of each entry`);
      // The execution limit still binds first when it is lower.
      assert.equal(index.search(q, { limit: 5, entries, lexical }).length, 5);
    }
  });

  it('tells apart equal vectors with different descriptions', () => {
    const v = new VectorIndex('m', 4);
    const c = Int8Array.from([1, 2, 3, 4]);
    v.add(execution('a', c, { task_description: 'one' }));
    v.add(execution('b', c, { task_description: 'two' }));
    v.add(execution('c', c, { task_description: 'one' }));
    assert.equal(v.entries, 2);
    assert.equal(v.search(Float32Array.from(c), { limit: 10 }).length, 3);
  });
});

describe('vector index: hybrid ranking re-scores a bounded number of lexical matches', () => {
  // 3,000 distinct vectors; every description shares the word "deploy", so its BM25 ties across
  // 3,000 entries; one far-off entry also has the rare word "canary".
  const rand = mulberry32(5);
  const index = new VectorIndex('m', DIM);
  const rows: { codes: Int8Array; text: string }[] = [];
  for (let n = 0; n < 3000; n++) {
    const text = n === 2999 ? 'deploy canary' : `deploy step ${n % 50}`;
    const codes = codesOf(Float32Array.from({ length: DIM }, () => rand() * 2 - 1));
    rows.push({ codes, text });
    index.add(execution(`h${n}`, codes, { timestampMs: n, task_description: text }));
  }
  const q = Float32Array.from({ length: DIM }, () => rand() * 2 - 1);
  const qc = codesOf(q);
  const lq = index.lexical!.query('deploy canary');
  const exact = rows.map((r, n) => ({ n, score: 0.5 * cosine(qc, r.codes) + (0.5 * lq.score(n)) / lq.norm })).sort((a, b) => b.score - a.score);

  it('is exact when the budget is unbounded, and when it covers every match above the cutoff', () => {
    for (const candidates of [Infinity, 5000]) {
      const got = index.search(q, { limit: 20, lexical: { text: 'deploy canary', weight: 0.5, candidates } });
      assert.deepEqual(
        got.map((h) => Number(h.task_id.slice(1))),
        exact.slice(0, 20).map((x) => x.n),
        `candidates ${candidates}`,
      );
    }
  });

  it('re-scores the best BM25 matches first, so a small budget still finds the strong lexical match', () => {
    const byCosine = rows.map((r, n) => ({ n, sim: cosine(qc, r.codes) })).sort((a, b) => b.sim - a.sim);
    assert.ok(byCosine.findIndex((x) => x.n === 2999) > 200, 'precondition: its cosine is far from the top');
    const got = index.search(q, { limit: 20, lexical: { text: 'deploy canary', weight: 0.5, candidates: 1 } });
    assert.equal(got.length, 20);
    assert.ok(got.some((h) => h.task_id === 'h2999'), 'the only entry with both words is re-scored although its cosine is not among the top');
    // Approximate past the budget: every score is a true score, in order, and none beats the exact best.
    for (let i = 0; i < got.length; i++) {
      const n = Number(got[i]!.task_id.slice(1));
      assert.ok(Math.abs(got[i]!.score! - exact.find((x) => x.n === n)!.score) < 1e-5);
      if (i > 0) assert.ok(got[i]!.score! <= got[i - 1]!.score! + 1e-9);
    }
    assert.ok(got[0]!.score! <= exact[0]!.score + 1e-6);
  });
});

describe('vector index: HNSW graph for large repos', () => {
  // 6,000 distinct vectors around 300 centres (paraphrase-like), one repo; the graph is built at 2,000.
  const rand = mulberry32(11);
  const centres = Array.from({ length: 300 }, () => Float32Array.from({ length: DIM }, () => rand() * 2 - 1));
  const vectors = Array.from({ length: 6000 }, (_, n) => codesOf(Float32Array.from(centres[n % 300]!, (x) => x + 0.8 * (rand() - 0.5))));
  const fill = (index: VectorIndex, upto = vectors.length) => vectors.slice(0, upto).forEach((v, n) => index.add(execution(`e${n}`, v, { timestampMs: n, task_description: `t${n}` })));
  const dirs: string[] = [];
  const cacheDir = () => {
    const d = tempDir('orb-ann-test-');
    dirs.push(d);
    return d;
  };
  const settings = { minEntries: 2000, connectivity: 16, expansionAdd: 128, expansionSearch: 128 };
  after(() => undefined);

  function exactTop(q: Int8Array, k: number, upto = vectors.length): string[] {
    return vectors
      .slice(0, upto)
      .map((v, n) => ({ n, sim: cosine(q, v) }))
      .sort((a, b) => b.sim - a.sim)
      .slice(0, k)
      .map((x) => `e${x.n}`);
  }

  it('finds what the exact scan finds (recall@10 and @50 ≥ 0.95), with exact similarities', async () => {
    const index = new VectorIndex('m', DIM, { lexical: false });
    fill(index);
    const ann = new AnnIndexer(index, { ...settings, cacheDir: cacheDir() });
    await ann.idle();
    assert.equal(index.parts[0]!.ann?.covered, 6000, 'the graph covers the repo');
    for (const k of [10, 50]) {
      let found = 0;
      for (let t = 0; t < 30; t++) {
        const q = Float32Array.from(centres[t]!, (x) => x + 0.8 * (rand() - 0.5));
        const got = index.search(q, { limit: k });
        const want = new Set(exactTop(codesOf(q), k));
        found += got.filter((h) => want.has(h.task_id)).length;
        for (const h of got) assert.ok(Math.abs(h.similarity - cosine(codesOf(q), vectors[Number(h.task_id.slice(1))]!)) < 1e-5);
      }
      assert.ok(found / (30 * k) >= 0.95, `recall@${k} ${found / (30 * k)}`);
    }
    await ann.close();
  });

  it('finds entries added after the graph was built (the exact tail)', async () => {
    const index = new VectorIndex('m', DIM, { lexical: false });
    fill(index, 5000);
    const ann = new AnnIndexer(index, { ...settings, rebuildShare: 10, cacheDir: cacheDir() });
    await ann.idle();
    const v = codesOf(Float32Array.from({ length: DIM }, () => rand() * 2 - 1));
    index.add(execution('late', v, { timestampMs: 9999, task_description: 'late' }));
    assert.equal(index.parts[0]!.ann?.covered, 5000);
    assert.equal(index.search(Float32Array.from(v), { limit: 5 })[0]!.task_id, 'late');
    await ann.close();
  });

  it('reuses a cached graph, and rebuilds it when it is stale or corrupt', async () => {
    const dir = cacheDir();
    const run = async (upto: number) => {
      const index = new VectorIndex('m', DIM, { lexical: false });
      fill(index, upto);
      const ann = new AnnIndexer(index, { ...settings, cacheDir: dir });
      await ann.idle();
      await ann.close();
      return { report: ann.reports[0]!, index };
    };
    assert.equal((await run(4000)).report.cached, false);
    assert.equal((await run(4000)).report.cached, true, 'same entries, same settings: the file is used');
    assert.equal((await run(4500)).report.cached, false, 'other entries: stale, rebuilt');
    const file = readdirSync(dir).find((f) => f.endsWith('.usearch'))!;
    writeFileSync(join(dir, file), 'not a graph');
    const rebuilt = await run(4500);
    assert.equal(rebuilt.report.cached, false, 'a corrupt file is rebuilt');
    assert.equal(rebuilt.index.search(Float32Array.from(vectors[7]!), { limit: 1 })[0]!.task_id, 'e7');
  });
});
