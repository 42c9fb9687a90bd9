// /v1/query/sql over the snapshot, in a process of its own (issue 10 §2): a real server, the real
// child process, a published snapshot. The statement's CPU then goes to a low-priority process with
// one DuckDB thread, never to the server's instance or event loop.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { encodeRequest, httpPost, otlpRequest } from '../helpers/raw.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { minimalExecution } from '../helpers/spans.js';

interface Reply {
  status: number;
  body: { rows?: Record<string, unknown>[]; notes?: string[]; message?: string };
}

async function sql(t: TestServer, query: string): Promise<Reply> {
  const r = await httpPost(`${t.httpUrl}/v1/query/sql?query=${encodeURIComponent(query)}`, Buffer.alloc(0), {}, 'GET');
  return { status: r.status, body: JSON.parse(r.body.toString()) };
}

async function exportOne(t: TestServer, repo: string, spanId: string): Promise<void> {
  const body = encodeRequest(otlpRequest([{ attrs: minimalExecution({ 'execution.repo': repo }) as Record<string, unknown>, spanId }]));
  const r = await httpPost(`${t.httpUrl}/v1/traces`, body, { 'content-type': 'application/x-protobuf' });
  assert.equal(r.status, 200);
}

async function until<T>(what: string, f: () => T | null | Promise<T | null>, ms = 20_000): Promise<T> {
  for (const end = Date.now() + ms; ; ) {
    const v = await f();
    if (v !== null) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** This process's children running the SQL process, with their nice values (field 19 of /proc/PID/stat). */
function sqlChildren(): { pid: number; nice: number }[] {
  const out: { pid: number; nice: number }[] = [];
  for (const d of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) !== process.pid) continue;
      if (!readFileSync(`/proc/${d}/cmdline`, 'utf8').includes('sql-process-child')) continue;
      out.push({ pid: Number(d), nice: Number(fields[16]) });
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

const SLOW = 'SELECT count(*) AS n FROM range(3000000) a, range(3000000) b';
const fromSnapshot = (r: Reply) => (r.body.notes ?? []).some((n) => /^read from the snapshot of /.test(n));

describe('/v1/query/sql over the snapshot, in a process of its own', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ snapshotInterval: 1, queryTimeoutMs: 2000, queryMaxResultBytes: 1024 * 1024 });
  });
  after(() => t.close());

  it('reads live until a snapshot exists, then the snapshot, saying so, from a low-priority child process', async () => {
    const live = await sql(t, 'SELECT count(*)::INT AS n FROM executions');
    assert.equal(live.status, 200);
    assert.equal(fromSnapshot(live), false, 'no snapshot yet: the live tables answer');
    assert.deepEqual(sqlChildren(), []);

    await exportOne(t, 'before-snapshot', 'a100000000000001');
    await until('a published snapshot', () => t.server.snapshot.last);
    const r = await until('the snapshot to hold the execution', async () => {
      const x = await sql(t, `SELECT count(*)::INT AS n FROM executions WHERE repo = 'before-snapshot'`);
      return x.body.rows?.[0]?.n === 1 ? x : null;
    });
    assert.ok(fromSnapshot(r), JSON.stringify(r.body.notes));
    const children = sqlChildren();
    assert.equal(children.length, 1, 'one SQL process');
    assert.equal(children[0]!.nice, 10, 'it runs at nice 10 (querySqlNice)');
  });

  it('keeps the guard, the byte cap and the time limit, and the server answers meanwhile', async () => {
    await until('a published snapshot', () => t.server.snapshot.last);
    const snapshot = t.server.snapshot.last!.path;
    for (const [q, why] of [
      ['SELECT * FROM checkpoint()', /checkpoint\(\) is not allowed/],
      [`SELECT * FROM read_blob('${snapshot}')`, /read_blob\(\) is not allowed/],
      [`SELECT repeat('x', 2000000) AS x FROM range(5)`, /exceeds the 1048576-byte limit/],
    ] as const) {
      const r = await sql(t, q);
      assert.equal(r.status, 400, `${q}: ${JSON.stringify(r.body)}`);
      assert.match(r.body.message!, why);
    }
    let settled = false;
    const slow = sql(t, SLOW).finally(() => (settled = true));
    await new Promise((r) => setTimeout(r, 200));
    await exportOne(t, 'during-slow', 'a100000000000002');
    const tiers = await httpPost(`${t.httpUrl}/v1/query/tiers`, Buffer.alloc(0), {}, 'GET');
    assert.equal(tiers.status, 200);
    assert.equal(settled, false, 'the export and a library query were answered while the slow statement ran');
    const r = await slow;
    assert.equal(r.status, 504, JSON.stringify(r.body));
    assert.equal((await sql(t, 'SELECT 1 AS one')).status, 200, 'the process answers again after a cut-off statement');
  });

  it('starts a new process when its process is killed', async () => {
    await until('a published snapshot', () => t.server.snapshot.last);
    assert.equal((await sql(t, 'SELECT 1 AS one')).status, 200);
    const [child] = sqlChildren();
    assert.ok(child);
    process.kill(child.pid, 'SIGKILL');
    await until('the killed process to be gone', () => (sqlChildren().some((c) => c.pid === child.pid) ? null : true));
    const r = await sql(t, 'SELECT 2 AS two');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body.rows, [{ two: 2 }]);
    assert.notEqual(sqlChildren()[0]?.pid, child.pid);
  });
});

describe('/v1/query/sql with querySqlSource live', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ snapshotInterval: 1, querySqlSource: 'live' });
  });
  after(() => t.close());

  it('reads the live tables (its own writes at once) even when a snapshot exists', async () => {
    await exportOne(t, 'first', 'b100000000000001');
    await until('a published snapshot', () => t.server.snapshot.last);
    await exportOne(t, 'second', 'b100000000000002');
    const r = await sql(t, `SELECT count(*)::INT AS n FROM executions WHERE repo = 'second'`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.rows, [{ n: 1 }]);
    assert.equal(fromSnapshot(r), false);
    assert.deepEqual(sqlChildren(), []);
  });
});
