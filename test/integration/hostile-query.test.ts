// The SQL API against a real server: statements that act, expose the server or cannot be
// converted, results too large, queries too slow or too many (issue 10 §1, §2, §6, §7).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { encodeRequest, httpPost, otlpRequest } from '../helpers/raw.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { minimalExecution } from '../helpers/spans.js';

interface Reply {
  status: number;
  body: { rows?: Record<string, unknown>[]; notes?: string[]; message?: string };
}

async function sql(t: TestServer, query: string, extra = ''): Promise<Reply> {
  const r = await httpPost(`${t.httpUrl}/v1/query/sql?query=${encodeURIComponent(query)}${extra}`, Buffer.alloc(0), {}, 'GET');
  return { status: r.status, body: JSON.parse(r.body.toString()) };
}

// CPU-bound without memory: the build side is 24 MB, the pairs endless.
const SLOW = 'SELECT count(*) AS n FROM range(3000000) a, range(3000000) b';

describe('the SQL API refuses what acts or exposes the server', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
    const conn = await t.server.store.connect();
    await conn.run('CREATE SEQUENCE IF NOT EXISTS hostile_seq');
    conn.closeSync();
  });
  after(() => t.close());

  it('refuses checkpoints, sequences, file reads of its own files and the settings, with 400 and the reason', async () => {
    const db = `${t.dir}/learning.duckdb`;
    const refused: [string, RegExp][] = [
      ['SELECT * FROM checkpoint()', /checkpoint\(\) is not allowed/],
      ['SELECT * FROM force_checkpoint()', /force_checkpoint\(\) is not allowed/],
      ['SELECT x.* FROM range(1) r, LATERAL (SELECT * FROM checkpoint()) x', /checkpoint\(\) is not allowed/],
      [`SELECT nextval('hostile_seq') AS n`, /nextval\(\) is not allowed: it has side effects/],
      [`SELECT n FROM (SELECT currval('hostile_seq') AS n)`, /currval\(\) is not allowed/],
      ['SELECT setseed(0.5)', /setseed\(\) is not allowed/],
      ['SELECT sleep_ms(60000)', /sleep_ms\(\) is not allowed/],
      [`SELECT * FROM query('SELECT 1')`, /query\(\) is not allowed/],
      ['PRAGMA database_list', /only read-only SELECT statements are allowed \(this one is not a plain SELECT\)/],
      ['SELECT * FROM duckdb_settings()', /duckdb_settings\(\) is not allowed/],
      ["SELECT current_setting('threads')", /current_setting\(\) is not allowed/],
      ['SELECT path FROM duckdb_databases', /duckdb_databases is not allowed/],
      ['SELECT * FROM pg_settings', /pg_settings is not allowed/],
      [`SELECT * FROM read_blob('${db}.wal')`, /read_blob\(\) is not allowed/],
      [`SELECT * FROM read_text('${db}')`, /read_text\(\) is not allowed/],
      [`SELECT * FROM '${db}'`, /looks like a file/],
      ['SELECT * FROM duckdb_extensions()', /duckdb_extensions\(\) is not allowed/],
    ];
    for (const [q, why] of refused) {
      const r = await sql(t, q);
      assert.equal(r.status, 400, `${q}: ${JSON.stringify(r.body)}`);
      assert.match(r.body.message!, why, q);
    }
    const conn = await t.server.store.connect();
    try {
      assert.equal((await conn.runAndReadAll(`SELECT nextval('hostile_seq')::INT AS n`)).getRowObjectsJS()[0]!.n, 1, 'the refused nextval did not run');
    } finally {
      conn.closeSync();
    }
  });

  it('still answers what analysts need: the tables, the catalog, generators, DESCRIBE, a trailing semicolon', async () => {
    for (const q of ['SELECT count(*) AS n FROM executions', 'SELECT table_name FROM duckdb_tables()', 'SELECT * FROM information_schema.columns LIMIT 1', 'SELECT random() < 2 AS r', 'SELECT * FROM range(3)', 'DESCRIBE executions', 'SELECT 1 AS one; -- done']) {
      const r = await sql(t, q);
      assert.equal(r.status, 200, `${q}: ${JSON.stringify(r.body)}`);
    }
  });

  it('converts what JSON cannot hold instead of answering 500: HUGEINT, infinity, far dates, NaN, BIGINT past 2^53', async () => {
    const r = await sql(
      t,
      `SELECT 170141183460469231731687303715884105727::HUGEINT AS h, 'infinity'::TIMESTAMP AS t, '294247-01-10'::DATE AS d,
        'nan'::DOUBLE AS n, 9007199254740993::BIGINT AS b, 42::BIGINT AS small, TIMESTAMP '2026-01-02 03:04:05' AS ts, [1, 2] AS l, {'k': '-infinity'::TIMESTAMP} AS s`,
    );
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body.rows, [
      { h: '170141183460469231731687303715884105727', t: 'infinity', d: '294247-01-10', n: 'NaN', b: '9007199254740993', small: 42, ts: '2026-01-02T03:04:05.000Z', l: [1, 2], s: { k: '-infinity' } },
    ]);
  });
});

describe('the SQL API within bytes and time', () => {
  it('refuses a result past the byte cap with 400, before converting the giant values', async () => {
    const t = await startTestServer({ queryMaxResultBytes: 1024 * 1024 });
    try {
      const r = await sql(t, `SELECT repeat('x', 100000000) AS x FROM range(5)`);
      assert.equal(r.status, 400);
      assert.match(r.body.message!, /the result exceeds the 1048576-byte limit \(queryMaxResultBytes\) at row 1/);
      const many = await sql(t, `SELECT repeat('x', 1000) AS x FROM range(5000)`, '&max_rows=5000');
      assert.equal(many.status, 400);
      assert.match(many.body.message!, /exceeds the 1048576-byte limit .* at row 10\d\d/);
      const fits = await sql(t, `SELECT repeat('x', 1000) AS x FROM range(500)`);
      assert.equal(fits.status, 200);
      assert.equal(fits.body.rows!.length, 500);
      const truncated = await sql(t, 'SELECT * FROM range(50)', '&max_rows=10');
      assert.deepEqual(truncated.body.notes, ['truncated at 10 rows']);
    } finally {
      await t.close();
    }
  });

  let t: TestServer;
  before(async () => {
    t = await startTestServer({ queryTimeoutMs: 4000 });
  });
  after(() => t.close());

  it('cuts a slow query off at the time limit with 504, and counts waiting for a lane against it', async () => {
    const started = performance.now();
    const timed = (q: Promise<Reply>) => q.then((r) => ({ ...r, ms: performance.now() - started }));
    const [a, b] = await Promise.all([timed(sql(t, SLOW)), timed(sql(t, SLOW))]);
    assert.deepEqual([a.status, b.status], [504, 504]);
    // One statement runs at a time: had the wait not counted, the second would end a whole limit
    // (4 s) after the first; it ends with it, at its own deadline, whether it got the lane or not.
    assert.ok(Math.max(a.ms, b.ms) < 6000, `${a.ms} ms, ${b.ms} ms`);
    assert.match([a.body.message, b.body.message].join(' | '), /time limit|interrupted after/);
  });

  it('keeps ingest and probes answering while hostile queries run', async () => {
    let settled = 0;
    const hostile = Array.from({ length: 6 }, () => sql(t, SLOW).finally(() => settled++));
    await new Promise((r) => setTimeout(r, 200));
    const body = encodeRequest(otlpRequest([{ attrs: minimalExecution({ 'execution.repo': 'during-hostile' }) as Record<string, unknown>, spanId: 'f100000000000001' }]));
    const exported = await httpPost(`${t.httpUrl}/v1/traces`, body, { 'content-type': 'application/x-protobuf' });
    const health = await httpPost(`${t.httpUrl}/healthz`, Buffer.alloc(0), {}, 'GET');
    const library = await httpPost(`${t.httpUrl}/v1/query/tiers`, Buffer.alloc(0), {}, 'GET');
    assert.equal(settled, 0, 'the export, the probe and a library query were answered while every hostile query was still running');
    assert.deepEqual([exported.status, health.status, library.status], [200, 200, 200]);
    const codes = (await Promise.all(hostile)).map((r) => r.status);
    assert.ok(codes.every((c) => c === 504), codes.join(','));
    assert.equal((await t.rows(`SELECT count(*)::INT AS n FROM executions WHERE repo = 'during-hostile'`))[0]!.n, 1);
  });
});
