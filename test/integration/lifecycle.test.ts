import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readFile } from '../helpers/db.js';
import { ExportResultCode } from '@opentelemetry/core';
import { spawnServe, runCli } from '../helpers/process.js';
import { tempDir } from '../helpers/server.js';
import { exportSpans, makeExporter, makeSpans, minimalExecution } from '../helpers/spans.js';

async function storedIds(db: string): Promise<Set<string>> {
  return new Set((await readFile(db, 'SELECT task_id::VARCHAR FROM executions')).map((r) => String(r[0])));
}

/** Exports batches of spans with known task ids until stopped; returns the ids that were acknowledged. */
async function streamExports(grpcAddress: string, shouldStop: () => boolean, perBatch = 50): Promise<{ acked: string[]; failures: number }> {
  const exporter = makeExporter('grpc', { grpcUrl: `http://${grpcAddress}`, httpUrl: '' });
  const acked: string[] = [];
  let failures = 0;
  while (!shouldStop() && failures < 3) {
    const ids = Array.from({ length: perBatch }, () => randomUUID());
    const result = await exportSpans(exporter, makeSpans(ids.map((id) => ({ attributes: minimalExecution({ 'execution.task_id': id }) }))));
    if (result.code === ExportResultCode.SUCCESS) acked.push(...ids);
    else failures++;
  }
  await exporter.shutdown().catch(() => undefined);
  return { acked, failures };
}

describe('orb-learn serve as a process', () => {
  let dir: string;
  before(() => {
    dir = tempDir();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('on SIGTERM finishes in-flight requests, commits them and exits 0', async (t) => {
    const db = join(dir, 'graceful.duckdb');
    // A long group wait guarantees requests are still queued when the signal lands.
    const srv = await spawnServe(['--db', db, '--batch-max-wait-ms', '400']);
    let stop = false;
    const streams = [0, 1, 2].map(() => streamExports(srv.grpcAddress, () => stop, 20));
    await new Promise((r) => setTimeout(r, 700));
    srv.child.kill('SIGTERM');
    stop = true;
    const { code } = await srv.exited;
    assert.equal(code, 0, srv.output());
    assert.match(srv.output(), /"stopped cleanly"/);
    const acked = (await Promise.all(streams)).flatMap((s) => s.acked);
    assert.ok(acked.length > 0, 'some exports were acknowledged');
    const stored = await storedIds(db);
    for (const id of acked) assert.ok(stored.has(id), `acknowledged ${id} is in the file`);
    t.diagnostic(`acknowledged: ${acked.length}; stored: ${stored.size}`);
  });

  it('after kill -9 mid-stream and a restart, every acknowledged span is in the file', async (t) => {
    const db = join(dir, 'crash.duckdb');
    // Summary deltas stay journalled (never merged) until the kill: the restart must merge them.
    const srv = await spawnServe(['--db', db, '--batch-max-wait-ms', '5', '--summary-interval-ms', '600000']);
    let stop = false;
    const streams = [0, 1, 2, 3].map(() => streamExports(srv.grpcAddress, () => stop));
    await new Promise((r) => setTimeout(r, 1500));
    srv.child.kill('SIGKILL');
    const { signal } = await srv.exited;
    assert.equal(signal, 'SIGKILL');
    stop = true;
    const results = await Promise.all(streams);
    const acked = results.flatMap((s) => s.acked);
    assert.ok(acked.length >= 200, `the client saw acknowledgements before the kill (${acked.length})`);

    // Restart on the same file: DuckDB replays its WAL; then stop cleanly and read the file.
    const again = await spawnServe(['--db', db]);
    again.child.kill('SIGTERM');
    assert.equal((await again.exited).code, 0, again.output());
    const stored = await storedIds(db);
    const missing = acked.filter((id) => !stored.has(id));
    assert.deepEqual(missing, [], `${missing.length} acknowledged spans lost of ${acked.length}`);
    t.diagnostic(`acknowledged before kill: ${acked.length}; rows after restart: ${stored.size}`);
    const [tiers, pools, journal] = (await readFile(db, `SELECT (SELECT sum(total_executions) FROM tier_performance_mv)::INT,
      (SELECT sum(total_tasks) FROM pool_performance_mv)::INT, (SELECT count(*) FROM summary_journal)::INT`))[0]!;
    assert.deepEqual({ tiers, pools, journal }, { tiers: stored.size, pools: stored.size, journal: 0 }, 'the journal was merged once, nothing lost or doubled');
  });

  it('refuses a bad setting with one clear line and exit code 2', async () => {
    const r = await runCli(['serve', '--grpc', 'localhost'], { ORB_HTTP: '127.0.0.1:0' });
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim(), 'orb-learn: invalid setting grpc (from --grpc): expected HOST:PORT');
    const env = await runCli(['serve'], { ORB_QUEUE_MAX_ROWS: 'lots' });
    assert.equal(env.code, 2);
    assert.match(env.stderr.trim(), /^orb-learn: invalid setting queueMaxRows \(from ORB_QUEUE_MAX_ROWS\): /);
    assert.equal(env.stderr.trim().split('\n').length, 1);
  });
});
