// The library's queries do not wait for ingest (issue 10 §2): a query that reads the summaries reads
// the journal beside them, in one snapshot, instead of queueing behind the writer's commits to merge it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ExecutionRow } from '../../src/convert/record.js';
import { row } from '../helpers/rows.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const batch = (from: number, n: number, over: Partial<ExecutionRow> = {}) => Array.from({ length: n }, (_, i) => row(from + i, { model_tier: i % 2 ? 'small' : 'large', ...over }));

describe('queries under ingest', () => {
  let t: TestServer;
  const get = async (path: string) => {
    const res = await fetch(`${t.httpUrl}${path}`);
    assert.equal(res.status, 200, await res.clone().text());
    return (await res.json()) as { rows: Record<string, unknown>[]; answer?: Record<string, unknown> };
  };
  const total = (rows: Record<string, unknown>[], key = 'total') => rows.reduce((s, r) => s + Number(r[key]), 0);

  // An hour between merges: every delta below stays in the journal unless a query merges it.
  before(async () => {
    t = await startTestServer({ summaryIntervalMs: 3_600_000 });
  });
  after(() => t?.close());

  it('tiers, pools and cost-error answer while a large commit holds the writer, and count what is committed', async () => {
    await t.server.store.writer.commit({ executions: batch(0, 200), rejected: [] });
    assert.equal(Number((await t.rows('SELECT count(*) AS n FROM tier_performance_mv'))[0]!.n), 0, 'the first delta is only journalled');

    // The writer's turn is held (as by a slow commit, deterministically), with a large commit queued behind it.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const writer = t.server.store.writer as unknown as { exclusive<T>(f: () => Promise<T>): Promise<T> };
    const turn = writer.exclusive(() => held);
    let committed = false;
    const big = t.server.store.writer.commit({ executions: batch(1_000_000, 60_000, { task_type: 'docs' }), rejected: [] }).then((r) => {
      committed = true;
      return r;
    });
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('the queries waited for the writer')), 30_000)));
    const [tiers, pools, costs] = await Promise.race([Promise.all([get('/v1/query/tiers?days=1000'), get('/v1/query/pools?days=1000'), get('/v1/query/cost-error?days=1000')]), deadline]);
    clearTimeout(timer);
    assert.ok(!committed, 'the queries answered while the writer was held, before the commit queued in it');
    release();
    await turn;
    await big;
    assert.equal(total(tiers.rows), 200, 'tiers counts the journalled commit and not the one in flight');
    assert.equal(total(pools.rows, 'total_tasks'), 200);
    assert.equal(total(costs.rows, 'executions'), 200);

    // Read-your-writes: what was just committed shows at once, still only in the journal.
    assert.equal(total((await get('/v1/query/tiers?days=1000')).rows), 60_200);
    assert.equal(Number((await t.rows('SELECT count(*) AS n FROM tier_performance_mv'))[0]!.n), 0, 'no query merged the journal');
    const docs = (await get('/v1/query/tiers?days=1000&task_type=docs')).rows;
    assert.equal(total(docs), 60_000);
    assert.ok(docs.every((r) => r.p95_duration !== null), 'the duration sketch is read from the journal too');

    // Once merged, nothing counts twice.
    await t.server.store.writer.flushSummaries();
    assert.equal(Number((await t.rows('SELECT count(*) AS n FROM summary_journal'))[0]!.n), 0);
    assert.equal(total((await get('/v1/query/tiers?days=1000')).rows), 60_200);
    assert.equal(total((await get('/v1/query/pools?days=1000')).rows, 'total_tasks'), 60_200);
  });
});
