// The README's way to seed a running server with demo data: `orb-learn demo --collector URL
// --orb-learn URL` against a real `orb-learn serve`, which keeps the executions.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli, spawnServe } from '../helpers/process.js';
import { tempDir } from '../helpers/server.js';
import { writeTinyModel } from '../helpers/tiny-model.js';

describe('seeding a running server with demo data', () => {
  it('sends the demo executions and feedback to the server, which stores and answers them', async () => {
    const dir = tempDir('orb-seed-');
    const srv = await spawnServe(['--db', join(dir, 'seeded.duckdb')], { ORB_EMBED: 'true', ORB_MODEL_DIR: writeTinyModel(join(dir, 'tiny')) });
    try {
      const demo = await runCli(['demo', '--executions', '120', '--collector', srv.httpUrl, '--orb-learn', srv.httpUrl, '--wait', '60']);
      assert.equal(demo.code, 0, demo.stderr);
      assert.match(demo.stdout, /^model_tier\s+total/m);
      const tiers = await runCli(['query', 'tiers', '--json', '--server', srv.httpUrl]);
      assert.equal(tiers.code, 0, tiers.stderr);
      const total = (JSON.parse(tiers.stdout).rows as { total: number }[]).reduce((n, r) => n + r.total, 0);
      assert.equal(total, 120, 'every demo execution is kept by the running server');
      const feedback = await runCli(['query', 'sql', 'SELECT count(*) AS n FROM feedback', '--json', '--server', srv.httpUrl]);
      assert.ok(JSON.parse(feedback.stdout).rows[0].n > 0, 'and the demo feedback');
    } finally {
      srv.child.kill('SIGTERM');
      await srv.exited;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
