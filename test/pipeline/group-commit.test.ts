import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RetryableError } from '../../src/errors.js';
import { GroupCommitQueue } from '../../src/pipeline/group-commit.js';
import { Store } from '../../src/store/db.js';
import type { CommitBatch, CommitResult } from '../../src/pipeline/consumer.js';
import { tempDir } from '../helpers/server.js';
import { row } from '../helpers/rows.js';

describe('group commit on a real DuckDB file', () => {
  let dir: string;
  let store: Store;
  before(async () => {
    dir = tempDir();
    store = await Store.open({ path: join(dir, 'g.duckdb') });
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lets concurrent requests share one transaction and resolves each after the commit', async () => {
    const commits: number[] = [];
    const queue = new GroupCommitQueue(store.writer, { maxBatchRows: 1000, maxWaitMs: 50, maxQueueRows: 10_000, retryAfterSeconds: 1 }, {
      onCommit: (batch) => commits.push(batch.executions.length + batch.rejected.length),
    });
    const requests = Array.from({ length: 10 }, (_, k) => queue.consume({ executions: [row(100 + k * 2), row(101 + k * 2)], rejected: [] }));
    const results = await Promise.all(requests);
    assert.equal(results.length, 10);
    assert.deepEqual(commits, [20], 'ten requests, one transaction');
    const conn = await store.connect();
    const n = Number((await conn.runAndReadAll('SELECT count(*) FROM executions WHERE task_description LIKE \'task 1__\'')).getRows()[0]![0]);
    conn.closeSync();
    assert.equal(n, 20);
  });

  it('reports how long it has been idle: 0 while rows wait, then time since the last commit', async () => {
    const queue = new GroupCommitQueue(store.writer, { maxBatchRows: 1000, maxWaitMs: 30, maxQueueRows: 10_000, retryAfterSeconds: 1 });
    const pending = queue.consume({ executions: [row(900)], rejected: [] });
    assert.equal(queue.idleMs(), 0, 'rows are waiting');
    await pending;
    const right = queue.idleMs();
    await new Promise((r) => setTimeout(r, 60));
    assert.ok(queue.idleMs() >= right + 50, `${queue.idleMs()} grows from ${right}`);
  });

  it('splits at maxBatchRows without splitting a request', async () => {
    const commits: number[] = [];
    const queue = new GroupCommitQueue(store.writer, { maxBatchRows: 5, maxWaitMs: 5, maxQueueRows: 10_000, retryAfterSeconds: 1 }, {
      onCommit: (batch) => commits.push(batch.executions.length + batch.rejected.length),
    });
    await Promise.all([0, 1, 2, 3].map((k) => queue.consume({ executions: [row(300 + k * 3), row(301 + k * 3), row(302 + k * 3)], rejected: [] })));
    assert.ok(commits.every((c) => c % 3 === 0 && c <= 6), `groups hold whole requests: ${commits}`);
    assert.equal(commits.reduce((a, b) => a + b, 0), 12);
  });

  it('refuses as retryable when the queue is full, and admits again once drained', async () => {
    const queue = new GroupCommitQueue(store.writer, { maxBatchRows: 10_000, maxWaitMs: 200, maxQueueRows: 10, retryAfterSeconds: 3 });
    const first = queue.consume({ executions: [row(400), row(401), row(402), row(403), row(404), row(405), row(406), row(407)], rejected: [] });
    await assert.rejects(queue.consume({ executions: [row(410), row(411), row(412)], rejected: [] }), (err: unknown) => {
      assert.ok(err instanceof RetryableError);
      assert.equal(err.retryAfterSeconds, 3);
      assert.match(err.message, /write queue full \(8 rows waiting, limit 10\)/);
      return true;
    });
    await first;
    await queue.consume({ executions: [row(410), row(411), row(412)], rejected: [] });
  });

  it('admits one request larger than the bound into an empty queue, so it is not refused forever', async () => {
    const queue = new GroupCommitQueue(store.writer, { maxBatchRows: 100, maxWaitMs: 1, maxQueueRows: 2, retryAfterSeconds: 1 });
    const r = await queue.consume({ executions: [row(500), row(501), row(502)], rejected: [] });
    assert.equal(r.inserted, 3);
  });

  it('on drain commits everything accepted and refuses new work as retryable', async () => {
    const queue = new GroupCommitQueue(store.writer, { maxBatchRows: 100, maxWaitMs: 10_000, maxQueueRows: 1000, retryAfterSeconds: 1 });
    const pending = queue.consume({ executions: [row(600), row(601)], rejected: [] });
    await queue.drain();
    assert.equal((await pending).inserted, 2, 'drain did not wait for the 10 s timer');
    await assert.rejects(queue.consume({ executions: [row(602)], rejected: [] }), RetryableError);
  });

  it('turns a failed commit into a retryable error for every request in the group', async () => {
    const failing = { commit: async (_b: CommitBatch): Promise<CommitResult> => { throw new Error('disk full'); } };
    const queue = new GroupCommitQueue(failing, { maxBatchRows: 100, maxWaitMs: 1, maxQueueRows: 1000, retryAfterSeconds: 2 });
    const all = await Promise.allSettled([queue.consume({ executions: [row(700)], rejected: [] }), queue.consume({ executions: [row(701)], rejected: [] })]);
    for (const r of all) {
      assert.equal(r.status, 'rejected');
      assert.ok((r as PromiseRejectedResult).reason instanceof RetryableError);
      assert.match((r as PromiseRejectedResult).reason.message, /commit failed: disk full/);
    }
    assert.equal(queue.depth, 0);
  });
});
