import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { DeadlineError } from '../../src/errors.js';
import { ReadPool } from '../../src/query/pool.js';
import { Store } from '../../src/store/db.js';
import { tempDir } from '../helpers/server.js';

describe('read pool time limit (real DuckDB file)', () => {
  const dir = tempDir();
  let store: Store;
  before(async () => {
    store = await Store.open({ path: join(dir, 'pool.duckdb') });
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a stream interrupted at the limit is an error, never a short result', async () => {
    const pool = await ReadPool.open(() => store.connect(), 1, 300);
    let rows = 0;
    await assert.rejects(
      pool.use(async (conn) => {
        const result = await conn.stream('SELECT i, md5(i::VARCHAR) FROM range(100000000) t(i)');
        // Read slowly: the limit passes mid-stream and the connection is interrupted.
        for (let chunk = await result.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await result.fetchChunk()) {
          rows += chunk.rowCount;
          await new Promise((r) => setTimeout(r, 20));
        }
        return rows;
      }),
      (err: unknown) => err instanceof DeadlineError && /interrupted after 300 ms/.test(err.message),
    );
    assert.ok(rows > 0 && rows < 100_000_000, `read ${rows} rows before the interrupt`);
    // The connection still serves the next query.
    assert.equal(await pool.use(async (conn) => Number((await conn.runAndReadAll('SELECT 41 + 1')).getRows()[0]![0])), 42);
    pool.close();
  });
});
