import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { row } from '../helpers/rows.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

describe('archive schedule inside serve, and queries over the archive', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ archiveOlderThan: '90d', archiveInterval: '1s' });
  });
  after(() => t.close());

  it('moves old executions to Parquet on its schedule; sql --include-archive still sees them', async () => {
    const old = row(1, { timestamp: new Date(Date.now() - 200 * 86_400_000), repo: 'ancient' });
    const fresh = row(2, { timestamp: new Date(), repo: 'fresh' });
    await t.server.store.writer.commit({ executions: [old, fresh], rejected: [] });
    for (let i = 0; i < 50; i++) {
      if ((await t.rows(`SELECT count(*)::INT n FROM executions WHERE repo = 'ancient'`))[0]!.n === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal((await t.rows(`SELECT count(*)::INT n FROM executions`))[0]!.n, 1, 'only the fresh one stays hot');
    const hot = await t.server.queries.run('sql', { query: 'SELECT count(*) AS n FROM executions' });
    assert.equal(hot.rows[0]!.n, 1);
    const all = await t.server.queries.run('sql', { query: `SELECT repo FROM all_executions ORDER BY repo`, include_archive: 'true' });
    assert.deepEqual(all.rows.map((r) => r.repo), ['ancient', 'fresh']);
    const log = await t.rows(`SELECT count(*)::INT n FROM maintenance_log WHERE status = 'done' AND executions_archived > 0`);
    assert.ok(Number(log[0]!.n) >= 1, 'the run is journaled');
    const tiers = await t.server.queries.run('tiers', { days: 1000 });
    assert.equal(tiers.rows.reduce((s, r) => s + Number(r.total), 0), 2, 'lifetime summaries keep counting archived executions');
  });
});
