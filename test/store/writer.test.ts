import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { RejectedSpan } from '../../src/convert/rejected.js';
import { uuidV5 } from '../../src/convert/task-id.js';
import { Store } from '../../src/store/db.js';
import { row } from '../helpers/rows.js';
import { tempDir } from '../helpers/server.js';


describe('ExecutionWriter on a real DuckDB file', () => {
  let dir: string;
  let store: Store;
  let conn: DuckDBConnection;
  const count = async (t: string) => Number((await conn.runAndReadAll(`SELECT count(*) FROM ${t}`)).getRows()[0]![0]);

  before(async () => {
    dir = tempDir();
    store = await Store.open({ path: join(dir, 'w.duckdb') });
    conn = await store.connect();
  });
  after(async () => {
    conn.closeSync();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('inserts new rows, ignores redeliveries (first write wins) and in-batch repeats', async () => {
    const first = await store.writer.commit({ executions: [row(1), row(2), row(2)], rejected: [] });
    assert.deepEqual(first, { inserted: 2, duplicates: 1, rejectedStored: 0, feedbackStored: 0 });
    const again = await store.writer.commit({ executions: [row(1, { repo: 'changed' }), row(3)], rejected: [] });
    assert.deepEqual(again, { inserted: 1, duplicates: 1, rejectedStored: 0, feedbackStored: 0 });
    assert.equal(await count('executions'), 3);
    const r = await conn.runAndReadAll(`SELECT repo FROM executions WHERE task_id = '${uuidV5('row-1')}'`);
    assert.equal(r.getRows()[0]![0], 'r', 'a redelivery does not overwrite');
  });

  it('round-trips every column type', async () => {
    const src = row(10, { quality_score: 77, user_rating: 3, error_type: 'timeout', swarm_topology: 'mesh', estimated_tokens: 2 ** 40, metadata: { a: [1, 'x'], b: { c: true } } });
    await store.writer.commit({ executions: [src], rejected: [] });
    const got = (await conn.runAndReadAll(`SELECT * FROM executions WHERE task_id = '${src.task_id}'`)).getRowObjectsJS()[0]!;
    assert.equal(got.quality_score, 77);
    assert.equal(got.user_rating, 3);
    assert.equal(got.error_type, 'timeout');
    assert.equal(got.swarm_topology, 'mesh');
    assert.equal(got.estimated_tokens, BigInt(2 ** 40));
    assert.deepEqual(JSON.parse(got.metadata as string), { a: [1, 'x'], b: { c: true } });
    assert.deepEqual(got.timestamp, src.timestamp);
  });

  it('stores rejected spans once per span', async () => {
    const rej: RejectedSpan = {
      rejected_id: uuidV5('rej-1'),
      received_at: new Date(),
      trace_id: 'aa',
      span_id: 'bb',
      span_name: 'run',
      service_name: 'svc',
      reason: 'execution.repo: required attribute is missing',
      attributes: { 'execution.task_type': 'x' },
      resource: { 'service.name': 'svc' },
    };
    assert.equal((await store.writer.commit({ executions: [], rejected: [rej, rej] })).rejectedStored, 1);
    assert.equal((await store.writer.commit({ executions: [], rejected: [rej] })).rejectedStored, 0);
    const got = (await conn.runAndReadAll('SELECT reason, attributes FROM rejected_spans')).getRowObjectsJS()[0]!;
    assert.equal(got.reason, rej.reason);
    assert.deepEqual(JSON.parse(got.attributes as string), rej.attributes);
  });
});

describe('feedback that comes before its execution, beyond the in-memory bound', () => {
  it('still links every rating once more task ids wait than the writer keeps in memory', async () => {
    const dir = tempDir();
    const store = await Store.open({ path: join(dir, 'f.duckdb') });
    // A writer of its own with a tiny bound, on the same file.
    const { ExecutionWriter } = await import('../../src/store/writer.js');
    const conn = await store.connect();
    const writer = new ExecutionWriter(conn, { maxWaitingFeedback: 2, summaryIntervalMs: 0 });
    const { feedbackFromInput } = await import('../../src/pipeline/feedback-input.js');
    const early = [1, 2, 3, 4].map((n) => row(50_000 + n));
    for (const [i, e] of early.entries()) await writer.commit({ executions: [], rejected: [], feedback: [feedbackFromInput({ task_id: e.task_id, rating: 1 + i })] });
    await writer.commit({ executions: early, rejected: [], feedback: [] });
    const got = (await conn.runAndReadAll(`SELECT user_rating::INT r FROM executions WHERE task_id IN (${early.map((e) => `'${e.task_id}'`).join(', ')}) ORDER BY r`)).getRows();
    assert.deepEqual(got.map((r) => r[0]), [1, 2, 3, 4]);

    // Feedback for executions that are already there (the usual order) waits for nothing.
    const fresh = new ExecutionWriter(conn, { maxWaitingFeedback: 2 });
    await fresh.commit({ executions: [], rejected: [], feedback: early.map((e) => feedbackFromInput({ task_id: e.task_id, rating: 5 })) });
    const linker = (fresh as unknown as { feedback: { waiting: Set<string>; overflow: boolean } }).feedback;
    assert.equal(linker.waiting.size, 0);
    assert.equal(linker.overflow, false);
    const latest = (await conn.runAndReadAll(`SELECT DISTINCT user_rating::INT FROM executions WHERE task_id IN (${early.map((e) => `'${e.task_id}'`).join(', ')})`)).getRows();
    assert.deepEqual(latest, [[5]], 'the latest rating shows');
    conn.closeSync();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
});
