// The cross-instance queries of collector-config/README.md, run as written against three real
// orb-learn instances: snapshots ATTACHed, and Parquet archives read with union_by_name.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { startTestServer, tempDir, type TestServer } from '../helpers/server.js';
import { exportOk, makeExporter, makeSpans, minimalExecution } from '../helpers/spans.js';
import { COLLECTOR_CONFIG_DIR } from './collector.js';

/** The ```sql blocks of the README's "Querying across instances" section. */
function readmeQueries(): { snapshot: string; parquet: string; analysis: string } {
  const readme = readFileSync(join(COLLECTOR_CONFIG_DIR, 'README.md'), 'utf8');
  const section = readme.split(/^## /m).find((s) => s.startsWith('Querying across instances'));
  assert.ok(section, 'README.md has a "Querying across instances" section');
  const blocks = [...section.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const pick = (f: (b: string) => boolean, what: string) => {
    const found = blocks.filter(f);
    assert.equal(found.length, 1, `one ${what} block`);
    return found[0]!;
  };
  return {
    snapshot: pick((b) => b.includes('ATTACH'), 'ATTACH'),
    parquet: pick((b) => b.includes('read_parquet'), 'read_parquet'),
    analysis: pick((b) => !b.includes('ATTACH') && !b.includes('read_parquet'), 'analysis'),
  };
}

const statements = (block: string) =>
  block
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim())
    .filter(Boolean);

/** Runs README SQL in a fresh in-memory DuckDB, with its relative paths under `dir`. */
async function runReadmeSql(dir: string, blocks: string[]): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    let rows: Record<string, unknown>[] = [];
    for (const block of blocks)
      for (const sql of statements(block.replaceAll("'snapshots/", `'${dir}/snapshots/`).replaceAll("'archive/", `'${dir}/archive/`)))
        rows = (await conn.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
    return rows;
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

describe('querying across scale-out instances (collector-config/README.md)', () => {
  const servers: TestServer[] = [];
  let dir: string;
  const queries = readmeQueries();

  before(async () => {
    dir = tempDir('orb-scale-out-');
    for (let i = 0; i < 3; i++) servers.push(await startTestServer());
    const send = async (t: TestServer, spans: ReturnType<typeof makeSpans>) => {
      const e = makeExporter('grpc', t);
      await exportOk(e, spans);
      await e.shutdown();
    };
    const tier = (model_tier: string, n: number) =>
      makeSpans(Array.from({ length: n }, () => ({ attributes: minimalExecution({ 'execution.model_tier': model_tier, 'execution.actual_cost': 1 }) })));
    // A span redelivered across a change of the instance list: stored on instances 0 and 2.
    const moved = makeSpans([{ attributes: minimalExecution({ 'execution.model_tier': 'large', 'execution.actual_cost': 3 }) }]);
    await send(servers[0]!, [...tier('small', 3), ...moved]);
    await send(servers[1]!, tier('medium', 2));
    await send(servers[2]!, [...tier('large', 1), ...moved]);

    for (const [i, t] of servers.entries()) {
      // A snapshot: checkpoint, then copy the file (the live one stays locked by orb-learn).
      await t.rows('CHECKPOINT');
      mkdirSync(join(dir, 'snapshots'), { recursive: true });
      copyFileSync(join(t.dir, 'learning.duckdb'), join(dir, 'snapshots', `orb-learn-${i}.duckdb`));
      // An archive: one Parquet folder per instance. The server's DuckDB may write only into its
      // own archive folder, so the file is written there and then gathered into the analyst's folder.
      mkdirSync(join(dir, 'archive', `orb-learn-${i}`, 'executions'), { recursive: true });
      mkdirSync(join(t.dir, 'archive'), { recursive: true });
      await t.rows(`COPY executions TO '${join(t.dir, 'archive', 'part-0.parquet')}' (FORMAT parquet)`);
      copyFileSync(join(t.dir, 'archive', 'part-0.parquet'), join(dir, 'archive', `orb-learn-${i}`, 'executions', 'part-0.parquet'));
    }
  });

  after(async () => {
    for (const t of servers) await t.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const expected = [
    { model_tier: 'large', executions: 2n, success_rate: 1, avg_cost: 2 },
    { model_tier: 'medium', executions: 2n, success_rate: 1, avg_cost: 1 },
    { model_tier: 'small', executions: 3n, success_rate: 1, avg_cost: 1 },
  ];

  it('the instances hold 8 rows for 7 executions: one span is on two instances', async () => {
    let rows = 0;
    for (const t of servers) rows += Number((await t.rows('SELECT count(*)::INTEGER AS n FROM executions'))[0]!.n);
    assert.equal(rows, 8);
  });

  it('ATTACHes the snapshots, keeps one row per task_id, and answers as one database would', async () => {
    assert.deepEqual(await runReadmeSql(dir, [queries.snapshot, queries.analysis]), expected);
  });

  it('reads the Parquet archives with union_by_name, with the same answer', async () => {
    assert.deepEqual(await runReadmeSql(dir, [queries.parquet, queries.analysis]), expected);
  });

  it('labels each row with the instance it came from', async () => {
    const rows = await runReadmeSql(dir, [
      queries.parquet,
      'SELECT instance, count(*)::INTEGER AS n FROM executions GROUP BY instance ORDER BY instance',
    ]);
    const snap = await runReadmeSql(dir, [
      queries.snapshot,
      'SELECT instance, count(*)::INTEGER AS n FROM executions GROUP BY instance ORDER BY instance',
    ]);
    assert.deepEqual(rows, snap);
    assert.deepEqual(rows.map((r) => r.instance), ['orb-learn-0', 'orb-learn-1', 'orb-learn-2']);
    assert.equal(rows.reduce((n, r) => n + Number(r.n), 0), 7);
  });
});
