import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DuckDBConnection } from '@duckdb/node-api';
import { buildOfflineModel } from '../../src/embed/offline/index.js';
import { loadOfflineEmbedder, type OfflineEmbedder } from '../helpers/offline-session.js';
import { findMerges, SOLUTION_MERGE_THRESHOLD, SolutionLinker } from '../../src/embed/solutions.js';
import { Store } from '../../src/store/db.js';
import { patternId } from '../../src/store/summaries.js';
import { row } from '../helpers/rows.js';
import { tempDir } from '../helpers/server.js';

const v = (...xs: number[]) => Float32Array.from(xs);
const at = (day: number) => new Date(Date.UTC(2026, 0, day));

describe('findMerges (pure)', () => {
  it('makes the newer of two close patterns an alias of the older, and leaves distant ones apart', () => {
    const existing = [{ patternId: 'a', extractedAt: at(1), embedding: v(1, 0, 0) }];
    const fresh = [
      { patternId: 'b', extractedAt: at(3), embedding: v(0.99, 0.1, 0) },
      { patternId: 'c', extractedAt: at(2), embedding: v(0, 1, 0) },
      { patternId: 'd', extractedAt: at(4), embedding: v(0.05, 0.99, 0) },
    ];
    const merges = findMerges(existing, fresh, 0.9, 'm');
    assert.deepEqual(
      merges.map((m) => [m.alias, m.canonical]),
      [['b', 'a'], ['d', 'c']],
    );
    assert.ok(merges.every((m) => m.similarity >= 0.9 && m.modelId === 'm'));
  });

  it('keeps the older pattern canonical even when the fresh one is older than its match', () => {
    const merges = findMerges([{ patternId: 'new', extractedAt: at(9), embedding: v(1, 0) }], [{ patternId: 'old', extractedAt: at(1), embedding: v(1, 0.01) }], 0.9);
    assert.deepEqual(merges.map((m) => [m.alias, m.canonical]), [['new', 'old']]);
  });

  it('merges nothing below the threshold', () => {
    assert.deepEqual(findMerges([{ patternId: 'a', extractedAt: at(1), embedding: v(1, 0) }], [{ patternId: 'b', extractedAt: at(2), embedding: v(0.8, 0.6) }], 0.9), []);
  });
});

describe('solution patterns merged by embedding (real DuckDB, offline USE-lite model)', () => {
  let dir: string;
  let store: Store;
  let conn: DuckDBConnection;
  let model: OfflineEmbedder;
  const rows = async (sql: string) => (await conn.runAndReadAll(sql)).getRowObjectsJS();
  const JWT = 'Extracted JWT validation into shared middleware';
  const JWT_REWORDED = 'Moved JWT validation into a shared middleware';
  const JWT_REMOVED = 'Removed JWT validation from the middleware';
  const PIN = 'Pinned dependency versions in package.json';
  const PIN_REWORDED = 'Pin the versions of dependencies in package.json';

  before(async () => {
    dir = tempDir();
    await buildOfflineModel(join(dir, 'model'));
    model = await loadOfflineEmbedder(join(dir, 'model'));
    store = await Store.open({ path: join(dir, 's.duckdb'), summaryIntervalMs: 0 });
    conn = await store.connect();
  });
  after(async () => {
    conn.closeSync();
    await store.close();
    await model.release();
    rmSync(dir, { recursive: true, force: true });
  });

  const linker = () => new SolutionLinker(conn, store.writer, { modelId: 'use-lite', embed: (texts) => model.embed(texts) });

  it('the threshold separates close rewordings from different fixes on the same subject', async () => {
    const [a, b, c, d, e] = await model.embed([JWT, JWT_REWORDED, JWT_REMOVED, PIN, PIN_REWORDED]);
    const cos = (x: Float32Array, y: Float32Array) => x.reduce((s, xi, i) => s + xi * y[i]!, 0);
    assert.ok(cos(a!, b!) >= SOLUTION_MERGE_THRESHOLD, `rewording ${cos(a!, b!)}`);
    assert.ok(cos(d!, e!) >= SOLUTION_MERGE_THRESHOLD, `rewording ${cos(d!, e!)}`);
    assert.ok(cos(a!, c!) < SOLUTION_MERGE_THRESHOLD, `different fix ${cos(a!, c!)}`);
    assert.ok(cos(a!, d!) < SOLUTION_MERGE_THRESHOLD, `unrelated ${cos(a!, d!)}`);
  });

  it('merges paraphrased patterns into the older one, with their counts, and keeps different fixes apart', async () => {
    const t = (day: number) => new Date(Date.UTC(2026, 0, day));
    await store.writer.commit({
      executions: [
        row(1, { solution_summary: JWT, timestamp: t(1), repo: 'a', success: true, quality_score: 80 }),
        row(2, { solution_summary: JWT_REWORDED, timestamp: t(2), repo: 'b', success: false, quality_score: 60 }),
        row(3, { solution_summary: JWT_REWORDED, timestamp: t(3), repo: 'b', success: true, quality_score: null }),
        row(4, { solution_summary: JWT_REMOVED, timestamp: t(4), repo: 'a', success: true }),
        row(5, { solution_summary: PIN, timestamp: t(5), repo: 'c', success: true }),
        row(6, { solution_summary: PIN_REWORDED, timestamp: t(6), repo: 'c', success: false }),
      ],
      rejected: [],
    });
    const r = await linker().runOnce();
    assert.equal(r.embedded, 5);
    assert.deepEqual(
      r.merged.map((m) => [m.alias, m.canonical]).sort(),
      [[patternId(JWT_REWORDED), patternId(JWT)], [patternId(PIN_REWORDED), patternId(PIN)]].sort(),
    );
    const sols = await rows(`SELECT solution_summary s, usage_count::INT n, success_count::INT ok, sum_quality q, quality_count::INT qn, repos_used_in r FROM solutions ORDER BY extracted_at`);
    assert.deepEqual(sols, [
      { s: JWT, n: 3, ok: 2, q: 140, qn: 2, r: ['a', 'b'] },
      { s: JWT_REMOVED, n: 1, ok: 1, q: 0, qn: 0, r: ['a'] },
      { s: PIN, n: 2, ok: 1, q: 0, qn: 0, r: ['c'] },
    ]);
    const [jwt] = await rows(`SELECT success_rate FROM solutions WHERE solution_summary = '${JWT}'`);
    assert.ok(Math.abs(Number(jwt!.success_rate) - 2 / 3) < 1e-12);
    assert.equal((await rows('SELECT count(*)::INT n FROM solution_aliases'))[0]!.n, 2);
    assert.deepEqual((await linker().runOnce()).embedded, 0, 'a second run has nothing to do');
  });

  it('counts later executions of an alias toward the canonical pattern, also after a restart', async () => {
    await store.writer.commit({ executions: [row(7, { solution_summary: JWT_REWORDED, repo: 'd', success: true })], rejected: [] });
    const count = async () => (await rows(`SELECT usage_count::INT n, repos_used_in r FROM solutions WHERE pattern_id = '${patternId(JWT)}'`))[0];
    assert.deepEqual(await count(), { n: 4, r: ['a', 'b', 'd'] });
    assert.equal((await rows(`SELECT count(*)::INT n FROM solutions WHERE pattern_id = '${patternId(JWT_REWORDED)}'`))[0]!.n, 0);

    conn.closeSync();
    await store.close();
    store = await Store.open({ path: join(dir, 's.duckdb'), summaryIntervalMs: 0 });
    conn = await store.connect();
    await store.writer.commit({ executions: [row(8, { solution_summary: 'MOVED  JWT validation into a shared middleware!', repo: 'e' })], rejected: [] });
    assert.deepEqual((await count())!.n, 5, 'the alias holds across a restart, for every spelling of it');
  });
});
