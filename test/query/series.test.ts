// The dashboard's series queries against a real DuckDB file: per-day figures add up to the
// window figures of the existing queries, the SQL-ranked p95 is the sketch's nearest rank, and
// feedback counts on the day it was given.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ExecutionRow } from '../../src/convert/record.js';
import { uuidV5 } from '../../src/convert/task-id.js';
import { sketchQuantile } from '../../src/store/summaries.js';
import { row } from '../helpers/rows.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const DAY = 86_400_000;

describe('dashboard series queries', () => {
  let t: TestServer;
  const now = new Date();
  const midnight = Math.floor(now.getTime() / DAY) * DAY;
  const onDay = (daysAgo: number, k: number) => new Date(midnight - daysAgo * DAY + 3_600_000 + k * 1000);
  const rows: ExecutionRow[] = [];

  before(async () => {
    t = await startTestServer();
    let n = 0;
    for (let d = 0; d < 10; d++)
      for (let k = 0; k < 20 + d; k++) {
        const tier = ['small', 'medium', 'large'][k % 3]!;
        rows.push(
          row(++n, {
            timestamp: onDay(d, k),
            model_tier: tier,
            task_type: k % 2 ? 'refactor' : 'docs',
            repo: k % 4 ? 'r1' : 'r2',
            pool_type: k % 5 ? 'p1' : 'p2',
            success: (k + d) % 4 !== 0,
            // A spread of durations, so p95 is not every bucket at once.
            duration_seconds: 1 + ((k * 37 + d * 11) % 97),
            quality_score: 50 + (k % 50),
            cost_estimate: 0.01,
            actual_cost: 0.01 + (k % 3) * 0.005,
          }),
        );
      }
    await t.server.store.writer.commit({ executions: rows, rejected: [] });
    // Feedback on an execution of 9 days ago, given today and 9 days ago: each counts on its own day.
    const late = rows.find((r) => r.timestamp.getTime() < midnight - 8 * DAY)!;
    for (const [i, at] of [midnight - 9 * DAY + 7_200_000, now.getTime() - 1000].entries()) {
      const res = await fetch(`${t.httpUrl}/v1/feedback`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ feedback_id: uuidV5(`fb-${i}`), task_id: late.task_id, rating: 2 + i * 2, accepted: i === 1, timestamp: new Date(at).toISOString() }),
      });
      assert.equal(res.status, 201);
    }
  });
  after(() => t.close());

  const q = (name: Parameters<TestServer['server']['queries']['run']>[0], params: Record<string, unknown>) => t.server.queries.run(name, params, { now });

  it('tiers-daily adds up to tiers, day by day, and its p95 is the sketch nearest rank', async () => {
    const daily = await q('tiers-daily', { days: 7 });
    const totals = await q('tiers', { days: 7 });
    for (const tr of totals.rows) {
      const days = daily.rows.filter((r) => r.model_tier === tr.model_tier);
      assert.equal(days.length, 7);
      assert.equal(days.reduce((s, r) => s + Number(r.total), 0), tr.total);
      assert.equal(days.reduce((s, r) => s + Number(r.successful), 0), tr.successful);
    }
    const sketch = await t.rows(`SELECT date::VARCHAR AS date, model_tier, bucket, count FROM tier_duration_sketch`);
    for (const r of daily.rows) {
      const pairs = sketch.filter((s) => s.date === r.date && s.model_tier === r.model_tier).map((s) => ({ bucket: Number(s.bucket), count: Number(s.count) }));
      assert.equal(r.p95_duration, sketchQuantile(pairs, 0.95), `${r.date} ${r.model_tier}`);
      assert.ok(Number(r.success_low) <= Number(r.success_rate) && Number(r.success_rate) <= Number(r.success_high));
    }
    // A one-day window of tiers-daily is the tiers query of that day.
    const today = await q('tiers-daily', { days: 1, task_type: 'docs' });
    const tiersToday = await q('tiers', { days: 1, task_type: 'docs' });
    for (const r of tiersToday.rows) {
      const d = today.rows.find((x) => x.model_tier === r.model_tier)!;
      assert.equal(d.p95_duration, r.p95_duration);
      assert.equal(d.total, r.total);
    }
    assert.equal((await q('tiers-daily', { days: 7, repo: 'r2' })).rows.reduce((s, r) => s + Number(r.total), 0), rows.filter((r) => r.repo === 'r2' && r.timestamp.getTime() >= midnight - 6 * DAY).length);
  });

  it('cost-error-daily: signed and absolute error per day, by tier or task type', async () => {
    const byTier = await q('cost-error-daily', { days: 3, by: 'tier' });
    const byType = await q('cost-error-daily', { days: 3, by: 'task_type' });
    assert.equal(byTier.rows.reduce((s, r) => s + Number(r.executions), 0), byType.rows.reduce((s, r) => s + Number(r.executions), 0));
    const large = byTier.rows.find((r) => r.tier === 'large')!;
    assert.ok(Math.abs(Number(large.mean_error) - 0.01) < 1e-12, 'large always costs 0.01 more than estimated');
    assert.ok(Math.abs(Number(large.mean_abs_error) - 0.01) < 1e-12);
    assert.ok(Math.abs(Number(byTier.rows.find((r) => r.tier === 'small')!.mean_error)) < 1e-12);
  });

  it('pools-summary sums the hourly pool table over the window, with an interval', async () => {
    const r = await q('pools-summary', { days: 30 });
    assert.equal(r.rows.reduce((s, x) => s + Number(x.total_tasks), 0), rows.length);
    const p2 = r.rows.find((x) => x.pool_type === 'p2')!;
    assert.equal(p2.total_tasks, rows.filter((x) => x.pool_type === 'p2').length);
    assert.ok(Number(p2.success_low) < Number(p2.success_rate) && Number(p2.success_rate) < Number(p2.success_high));
  });

  it('feedback-daily counts late feedback on the day it was given', async () => {
    const r = await q('feedback-daily', { days: 30 });
    assert.equal(r.rows.length, 2);
    const [old, today] = r.rows;
    assert.equal(old!.date, new Date(midnight - 9 * DAY).toISOString().slice(0, 10));
    assert.equal(today!.date, new Date(midnight).toISOString().slice(0, 10));
    assert.deepEqual([old!.feedback, old!.avg_rating, old!.accepted, old!.judged], [1, 2, 0, 1]);
    assert.deepEqual([today!.feedback, today!.avg_rating, today!.acceptance_rate], [1, 4, 1]);
    assert.equal((await q('feedback-daily', { days: 7 })).rows.length, 1, 'the older one is outside 7 days');
  });

  it('facets and health', async () => {
    const f = await q('facets', { days: 90 });
    assert.deepEqual(f.rows.filter((r) => r.facet === 'repo').map((r) => r.value).sort(), ['r1', 'r2']);
    assert.equal(f.answer!.executions_ever, rows.length);
    const h = await q('health', { hours: 24 * 10 });
    assert.equal(h.rows.reduce((s, r) => s + Number(r.executions), 0), rows.length);
    assert.equal(h.answer!.hot_executions, rows.length);
    assert.deepEqual(h.answer!.archive_runs, []);
    await assert.rejects(q('facets', { days: 0 }), /days/);
    await assert.rejects(q('tiers-daily', { taskType: 'x' }), /Unrecognized key/);
  });
});
