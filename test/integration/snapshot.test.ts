import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { spawnServe } from '../helpers/process.js';
import { tempDir } from '../helpers/server.js';
import { exportOk, makeExporter, makeSpans, minimalExecution } from '../helpers/spans.js';

/** A stock read-only open by another process, as an analyst's DuckDB client would do it. */
function readOnly(path: string, sql: string): Promise<{ code: number | null; out: string; err: string }> {
  const script = `
    import { DuckDBInstance } from '@duckdb/node-api';
    const db = await DuckDBInstance.create(${JSON.stringify(path)}, { access_mode: 'READ_ONLY' });
    const c = await db.connect();
    const r = await c.runAndReadAll(${JSON.stringify(sql)});
    console.log(JSON.stringify(r.getRowsJson()));`;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (err += d));
    child.on('exit', (code) => resolve({ code, out, err }));
  });
}

describe('read-only snapshots while ingest runs', () => {
  let dir: string;
  before(() => {
    dir = tempDir();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('publishes a consistent snapshot that another process opens read-only while the server writes', async () => {
    const db = join(dir, 'live.duckdb');
    const srv = await spawnServe(['--db', db, '--snapshot-interval', '1']);
    const exporter = makeExporter('grpc', { grpcUrl: `http://${srv.grpcAddress}`, httpUrl: srv.httpUrl });
    let stop = false;
    let sent = 0;
    const writer = (async () => {
      while (!stop) {
        await exportOk(exporter, makeSpans(Array.from({ length: 50 }, () => ({ attributes: minimalExecution() }))));
        sent += 50;
      }
    })();
    const seen: number[] = [];
    try {
      const snap = join(dir, 'live.snapshot.duckdb');
      for (let i = 0; i < 100 && !existsSync(snap); i++) await new Promise((r) => setTimeout(r, 100));
      assert.ok(existsSync(snap), 'a snapshot appeared');
      // Open it twice, a second apart, while writes go on: each must be internally consistent.
      for (let k = 0; k < 2; k++) {
        const r = await readOnly(snap, `SELECT (SELECT count(*) FROM executions)::INT, (SELECT sum(total_executions) FROM tier_performance_mv)::INT, (SELECT count(*) FROM executions WHERE task_id IS NULL)::INT, (SELECT count(*) FROM summary_journal)::INT`);
        assert.equal(r.code, 0, r.err);
        const [execs, summarized, nulls, journalled] = (JSON.parse(r.out) as number[][])[0]!;
        assert.ok(execs! > 0);
        assert.equal(summarized, execs, 'summaries and executions come from one transaction');
        assert.equal(nulls, 0);
        assert.equal(journalled, 0, 'the journal was merged inside the copy');
        seen.push(execs!);
        await new Promise((r2) => setTimeout(r2, 1500));
      }
    } finally {
      // Also when an assertion fails: a writer left running would keep the test alive.
      stop = true;
      await writer;
      await exporter.shutdown();
    }
    assert.ok(seen[1]! >= seen[0]!, 'later snapshots hold at least as much');
    // The live file itself stays locked to other processes while the server runs.
    const live = await readOnly(db, 'SELECT 1');
    assert.notEqual(live.code, 0, 'the live file is held by the server');
    srv.child.kill('SIGTERM');
    assert.equal((await srv.exited).code, 0);
    assert.ok(sent > seen[0]!);
  });
});
