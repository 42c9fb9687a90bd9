import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DuckDBConnection } from '@duckdb/node-api';
import { uuidV5 } from '../../src/convert/task-id.js';
import { Store } from '../../src/store/db.js';
import { bucketValue, normalizeSolution, patternId, sketchBucket, sketchQuantile, SKETCH_GAMMA, summarize, SummaryAccumulator } from '../../src/store/summaries.js';
import { row } from '../helpers/rows.js';
import { tempDir } from '../helpers/server.js';

let seed = 7;
const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
const pick = <T,>(xs: T[]) => xs[Math.floor(rand() * xs.length)]!;

function randomRow(n: number) {
  return row(n, {
    timestamp: new Date(Date.UTC(2026, 0, 1) + Math.floor(rand() * 5 * 86_400_000)),
    repo: pick(['a', 'b', 'c']),
    model_tier: pick(['small', 'medium', 'large']),
    task_type: pick(['refactor', 'test', 'docs']),
    pool_type: pick(['p1', 'p2']),
    success: rand() < 0.7,
    duration_seconds: rand() < 0.05 ? 0 : Math.exp(rand() * 6),
    actual_cost: rand() * 0.1,
    cost_estimate: rand() * 0.1,
    quality_score: rand() < 0.2 ? null : Math.floor(rand() * 101),
    solution_summary: rand() < 0.4 ? null : pick(['extract middleware', 'add retries', 'pin versions']),
  });
}

describe('summary tables kept by the writer', () => {
  let dir: string;
  let store: Store;
  let conn: DuckDBConnection;
  const rows = async (sql: string) => (await conn.runAndReadAll(sql)).getRowObjectsJS();

  before(async () => {
    dir = tempDir();
    store = await Store.open({ path: join(dir, 's.duckdb') });
    conn = await store.connect();
    // Random batches, with redeliveries inside and across batches (the merge path).
    const all = Array.from({ length: 3000 }, (_, i) => randomRow(i));
    for (let i = 0; i < all.length; i += 250) {
      const fresh = all.slice(i, i + 250);
      const redelivered = i > 0 ? all.slice(Math.max(0, i - 100), i - 40) : [];
      await store.writer.commit({ executions: [...fresh, ...redelivered, ...fresh.slice(0, 10)], rejected: [] });
    }
    await store.writer.flushSummaries();
  });
  after(async () => {
    conn.closeSync();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const close = (a: unknown, b: unknown, what: string) => {
    const x = Number(a);
    const y = Number(b);
    assert.ok(Math.abs(x - y) <= 1e-9 * Math.max(1, Math.abs(y)), `${what}: ${x} vs ${y}`);
  };

  it('has exactly the executions it was given, once each', async () => {
    const [c] = await rows('SELECT count(*)::INT n, count(DISTINCT task_id)::INT d FROM executions');
    assert.deepEqual(c, { n: 3000, d: 3000 });
  });

  it('tier_performance_mv equals a recomputation from executions', async () => {
    const kept = await rows(`SELECT * EXCLUDE (avg_duration, avg_cost, avg_quality) FROM tier_performance_mv ORDER BY ALL`);
    const again = await rows(`SELECT repo, model_tier, task_type, timestamp::DATE AS date, count(*) total_executions, count(*) FILTER (success) successful_count,
        sum(duration_seconds) sum_duration, sum(actual_cost) sum_cost, sum(cost_estimate) sum_cost_estimate, sum(abs(actual_cost - cost_estimate)) sum_abs_cost_error,
        coalesce(sum(quality_score), 0)::DOUBLE sum_quality, count(quality_score) quality_count
      FROM executions GROUP BY ALL ORDER BY ALL`);
    assert.equal(kept.length, again.length);
    kept.forEach((k, i) => {
      const a = again[i]!;
      for (const c of ['repo', 'model_tier', 'task_type', 'total_executions', 'successful_count', 'quality_count']) assert.equal(String(k[c]), String(a[c]), c);
      assert.deepEqual(k.date, a.date);
      for (const c of ['sum_duration', 'sum_cost', 'sum_cost_estimate', 'sum_abs_cost_error', 'sum_quality']) close(k[c], a[c], c);
    });
  });

  it('tier_duration_sketch holds every duration once, in its bucket', async () => {
    const kept = await rows(`SELECT repo, model_tier, task_type, date, bucket, count FROM tier_duration_sketch ORDER BY ALL`);
    const durations = await rows(`SELECT repo, model_tier, task_type, timestamp::DATE AS date, duration_seconds FROM executions`);
    const counts = new Map<string, number>();
    for (const d of durations) {
      const k = `${d.repo}|${d.model_tier}|${d.task_type}|${String(d.date)}|${sketchBucket(Number(d.duration_seconds))}`;
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    assert.equal(kept.length, counts.size);
    for (const k of kept) assert.equal(Number(k.count), counts.get(`${k.repo}|${k.model_tier}|${k.task_type}|${String(k.date)}|${k.bucket}`));
  });

  it('pool_performance_mv and solution_patterns_mv equal recomputations', async () => {
    const pools = await rows(`SELECT pool_type, repo, hour, total_tasks, successful_tasks, sum_duration, sum_cost FROM pool_performance_mv ORDER BY ALL`);
    const poolsAgain = await rows(`SELECT pool_type, repo, date_trunc('hour', timestamp) AS hour, count(*) total_tasks, count(*) FILTER (success) successful_tasks,
        sum(duration_seconds) sum_duration, sum(actual_cost) sum_cost FROM executions GROUP BY ALL ORDER BY ALL`);
    assert.equal(pools.length, poolsAgain.length);
    pools.forEach((p, i) => {
      const a = poolsAgain[i]!;
      assert.deepEqual([p.pool_type, p.repo, p.hour, String(p.total_tasks), String(p.successful_tasks)], [a.pool_type, a.repo, a.hour, String(a.total_tasks), String(a.successful_tasks)]);
      close(p.sum_duration, a.sum_duration, 'sum_duration');
      close(p.sum_cost, a.sum_cost, 'sum_cost');
    });
    const pats = await rows(`SELECT solution_summary, repo, task_types, usage_count, success_count, sum_quality, quality_count, first_seen, last_seen FROM solution_patterns_mv ORDER BY ALL`);
    const patsAgain = await rows(`SELECT solution_summary, repo, list_sort(list_distinct(list(task_type))) task_types, count(*) usage_count, count(*) FILTER (success) success_count,
        coalesce(sum(quality_score), 0)::DOUBLE sum_quality, count(quality_score) quality_count, min(timestamp) first_seen, max(timestamp) last_seen
      FROM executions WHERE solution_summary IS NOT NULL GROUP BY ALL ORDER BY ALL`);
    assert.deepEqual(pats.map((p) => ({ ...p, usage_count: String(p.usage_count), success_count: String(p.success_count), quality_count: String(p.quality_count) })),
      patsAgain.map((p) => ({ ...p, usage_count: String(p.usage_count), success_count: String(p.success_count), quality_count: String(p.quality_count) })));
  });

  it('reads p95 from the sketch within the documented ±1% of the exact nearest-rank p95', async () => {
    const [exact] = await rows(`SELECT quantile_disc(duration_seconds, 0.95) AS p95 FROM executions WHERE model_tier = 'large'`);
    const pairs = (await rows(`SELECT bucket, sum(count)::BIGINT AS count FROM tier_duration_sketch WHERE model_tier = 'large' GROUP BY bucket`)).map((r) => ({ bucket: Number(r.bucket), count: Number(r.count) }));
    const est = sketchQuantile(pairs, 0.95)!;
    const bound = (SKETCH_GAMMA - 1) / (SKETCH_GAMMA + 1);
    assert.ok(Math.abs(est - Number(exact!.p95)) <= bound * Number(exact!.p95) + 1e-12, `${est} vs ${exact!.p95}`);
    assert.equal(bucketValue(sketchBucket(0)), 0);
  });

  it('merges near-identical solution summaries into one pattern in solutions', async () => {
    await store.writer.commit({
      executions: [
        row(20001, { solution_summary: 'Rewrite the README.', repo: 'x', success: true, quality_score: 80 }),
        row(20002, { solution_summary: 'rewrite  the readme', repo: 'y', success: false, quality_score: null, task_type: 'docs' }),
        row(20003, { solution_summary: 'REWRITE THE README!!', repo: 'x', success: true, quality_score: 90 }),
      ],
      rejected: [],
    });
    await store.writer.flushSummaries();
    const [p] = await rows(`SELECT pattern_id::VARCHAR id, solution_summary, usage_count, success_count, success_rate, sum_quality, quality_count, repos_used_in, task_types FROM solutions WHERE solution_summary ILIKE '%readme%'`);
    assert.equal(p!.id, patternId('rewrite the readme'));
    assert.equal(p!.usage_count, 3n);
    assert.equal(p!.success_count, 2n);
    assert.ok(Math.abs(Number(p!.success_rate) - 2 / 3) < 1e-12);
    assert.equal(p!.sum_quality, 170);
    assert.deepEqual(p!.repos_used_in, ['x', 'y']);
    assert.deepEqual(p!.task_types, ['docs', 'refactor']);
    assert.equal(normalizeSolution('Rewrite the README.'), 'rewrite the readme');
    const again = await rows(`SELECT count(*)::INT n FROM solutions WHERE solution_summary ILIKE '%readme%'`);
    assert.equal(again[0]!.n, 1);
  });

  it('counts nothing twice when the same batch is committed again', async () => {
    const before = await rows('SELECT sum(total_executions)::INT n FROM tier_performance_mv');
    await store.writer.commit({ executions: [row(1, { repo: 'z' }), randomRow(5), row(9001)], rejected: [] });
    await store.writer.flushSummaries();
    const afterRows = await rows('SELECT sum(total_executions)::INT n FROM tier_performance_mv');
    assert.equal(afterRows[0]!.n, (before[0]!.n as number) + 1, 'only the new task counted');
    assert.equal((await rows(`SELECT count(*)::INT n FROM tier_performance_mv WHERE repo = 'z'`))[0]!.n, 0, 'a redelivery with other values changes nothing');
    assert.equal(uuidV5('row-5'), (await rows(`SELECT task_id::VARCHAR t FROM executions WHERE task_description = 'task 5'`))[0]!.t);
  });
});

describe('summary journal', () => {
  let dir: string;
  before(() => {
    dir = tempDir();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const count = async (conn: DuckDBConnection, sql: string) => Number((await conn.runAndReadAll(sql)).getRows()[0]![0]);

  it('journals each commit\'s delta in its transaction and merges them in bulk', async () => {
    const store = await Store.open({ path: join(dir, 'j.duckdb'), summaryIntervalMs: 60_000 });
    const conn = await store.connect();
    for (let i = 0; i < 5; i++) await store.writer.commit({ executions: Array.from({ length: 20 }, (_, k) => randomRow(100_000 + i * 20 + k)), rejected: [] });
    assert.equal(await count(conn, 'SELECT count(*) FROM summary_journal'), 5, 'one journal row per commit');
    assert.equal(await count(conn, 'SELECT count(*) FROM tier_performance_mv'), 0, 'not merged before the interval');
    assert.ok(store.writer.pendingSummaryRows > 0);
    await store.writer.flushSummaries();
    assert.equal(await count(conn, 'SELECT count(*) FROM summary_journal'), 0);
    assert.equal(await count(conn, 'SELECT sum(total_executions) FROM tier_performance_mv'), 100);
    assert.equal(store.writer.pendingSummaryRows, 0);
    conn.closeSync();
    await store.close();
  });

  it('merges in the commit once the interval has passed, and on close', async () => {
    const store = await Store.open({ path: join(dir, 'k.duckdb'), summaryIntervalMs: 0 });
    const conn = await store.connect();
    await store.writer.commit({ executions: [randomRow(200_001), randomRow(200_002)], rejected: [] });
    assert.equal(await count(conn, 'SELECT count(*) FROM summary_journal'), 0);
    assert.equal(await count(conn, 'SELECT sum(total_executions) FROM tier_performance_mv'), 2);
    conn.closeSync();
    await store.close();

    const slow = await Store.open({ path: join(dir, 'k.duckdb'), summaryIntervalMs: 60_000 });
    await slow.writer.commit({ executions: [randomRow(200_003)], rejected: [] });
    await slow.close();
    const again = await Store.open({ path: join(dir, 'k.duckdb') });
    const c2 = await again.connect();
    assert.equal(await count(c2, 'SELECT count(*) FROM summary_journal'), 0, 'close merged what was journalled');
    assert.equal(await count(c2, 'SELECT sum(total_executions) FROM tier_performance_mv'), 3);
    c2.closeSync();
    await again.close();
  });

  it('acknowledges extreme values and still merges: buckets saturate, overflowing sums stay Infinity across a restart', async () => {
    const path = join(dir, 'x.duckdb');
    const store = await Store.open({ path, summaryIntervalMs: 60_000 });
    const big = (n: number) => row(400_000 + n, { repo: 'extreme', duration_seconds: 1e300, actual_cost: 1e308, cost_estimate: 0 });
    await store.writer.commit({ executions: [big(1), big(2)], rejected: [] });
    await store.close(); // merges
    const again = await Store.open({ path, summaryIntervalMs: 60_000 });
    await again.writer.commit({ executions: [big(3)], rejected: [] });
    await again.writer.commit({ executions: [randomRow(400_010)], rejected: [] });
    const conn = await again.connect();
    // Not merged yet: the journal row with Infinity goes through JSON and back at the next open.
    conn.closeSync();
    await again.close();
    const third = await Store.open({ path });
    const c = await third.connect();
    const [t] = (await c.runAndReadAll(`SELECT total_executions::INT n, sum_cost FROM tier_performance_mv WHERE repo = 'extreme'`)).getRowObjectsJS();
    assert.deepEqual(t, { n: 3, sum_cost: Infinity });
    assert.equal(await count(c, `SELECT max(bucket) FROM tier_duration_sketch WHERE repo = 'extreme'`), 32767);
    assert.equal(await count(c, 'SELECT count(*) FROM summary_journal_failed'), 0);
    c.closeSync();
    await third.close();
  });

  it('moves a journal row that cannot merge aside with its error and merges the rest', async () => {
    const path = join(dir, 'bad.duckdb');
    const store = await Store.open({ path });
    await store.writer.commit({ executions: [randomRow(500_001)], rejected: [] });
    await store.close();
    // While no writer holds the file: one good journal row, and one no merge can take (text where
    // a count goes), as a damaged or hand-edited journal would hold.
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const raw = await DuckDBInstance.create(path);
    const rc = await raw.connect();
    const good = summarize([randomRow(500_002)]).serialize().replaceAll("'", "''");
    await rc.run(`INSERT INTO summary_journal VALUES (7, now(), '{"pool_performance_mv": [["p1", "r", "2026-01-01T00:00:00.000Z", "many", 1, 1, 1]]}'), (8, now(), '${good}')`);
    rc.closeSync();
    raw.closeSync();
    const errors: unknown[] = [];
    const again = await Store.open({ path, onSummaryError: (e) => errors.push(e) });
    const c = await again.connect();
    assert.equal(await count(c, 'SELECT count(*) FROM summary_journal'), 0);
    assert.equal(await count(c, 'SELECT count(*) FROM summary_journal_failed WHERE seq = 7'), 1);
    assert.ok(errors.length >= 1, 'the failure is reported');
    assert.equal(await count(c, 'SELECT sum(total_executions) FROM tier_performance_mv'), 2, 'the good rows merged');
    await again.writer.commit({ executions: [randomRow(500_003)], rejected: [] });
    await again.writer.flushSummaries();
    assert.equal(await count(c, 'SELECT sum(total_executions) FROM tier_performance_mv'), 3, 'ingest goes on');
    c.closeSync();
    await again.close();
  });

  it('combines deltas in memory exactly as the tables merge them', () => {
    const rs = Array.from({ length: 500 }, (_, i) => randomRow(300_000 + i));
    const whole = summarize(rs).toJSON();
    const parts = new SummaryAccumulator();
    for (let i = 0; i < rs.length; i += 37) parts.merge(SummaryAccumulator.fromJSON(JSON.parse(JSON.stringify(summarize(rs.slice(i, i + 37))))));
    const norm = (j: Record<string, unknown[][]>) =>
      Object.fromEntries(Object.entries(j).map(([t, rows]) => [t, rows.map((r) => JSON.stringify(r.map((v) => (typeof v === 'number' ? Number(v.toPrecision(12)) : v)))).sort()]));
    assert.deepEqual(norm(JSON.parse(JSON.stringify(parts))), norm(JSON.parse(JSON.stringify(whole))));
  });
});
