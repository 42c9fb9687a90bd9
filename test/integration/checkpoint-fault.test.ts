// A checkpoint that fails (full disk, read-only folder) invalidates the DuckDB instance: every later write on it
// is refused for ever. The server must reopen the file by itself once the cause is gone, with no restart:
// meanwhile /readyz says 503 with the real cause, exports get UNAVAILABLE, /healthz stays 200; afterwards every
// acknowledged export is stored and new ones are taken. Real faults: a size-limited tmpfs under the database's
// folder, filled during ingest; and a read-only bind mount laid over the database's folder while it runs (a
// remount of the tmpfs itself is refused while DuckDB holds files open for writing, and so is a remount of a
// bind mount the server opened its files through; a new mount on top has no writers, so it can turn
// read-only, and every later open, create or unlink by path in the folder gets EROFS).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ExportResultCode } from '@opentelemetry/core';
import { readFile } from '../helpers/db.js';
import { spawnServe, type ServeProcess } from '../helpers/process.js';
import { encodeRequest, grpcExport, otlpRequest } from '../helpers/raw.js';
import { exportSpans, makeExporter, makeSpans, minimalExecution } from '../helpers/spans.js';
import { status as GrpcStatus } from '@grpc/grpc-js';

const MOUNT_REFUSED =
  'this test needs to mount a size-limited tmpfs (run it as root, or in a container with CAP_SYS_ADMIN); it did not run, so it cannot pass';

function mount(args: string[]): void {
  execFileSync('mount', args, { stdio: 'pipe' });
}

/** Fills the file system at `dir` with filler files until it is full; returns their paths. */
function fill(dir: string): string[] {
  const files: string[] = [];
  const chunk = Buffer.alloc(64 * 1024, 1);
  for (let i = 0; ; i++) {
    const f = join(dir, `filler-${i}`);
    try {
      writeFileSync(f, chunk);
      files.push(f);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
      rmSync(f, { force: true });
      return files;
    }
  }
}

async function probe(srv: ServeProcess, path: string): Promise<{ status: number; body: Record<string, string> }> {
  const r = await fetch(`${srv.httpUrl}${path}`);
  return { status: r.status, body: (await r.json()) as Record<string, string> };
}

/** One export of `n` executions with fresh task ids; the ids if it was acknowledged. */
async function exportBatch(srv: ServeProcess, n = 40): Promise<string[] | null> {
  const exporter = makeExporter('grpc', { grpcUrl: `http://${srv.grpcAddress}`, httpUrl: '' });
  const ids = Array.from({ length: n }, () => randomUUID());
  const r = await exportSpans(exporter, makeSpans(ids.map((id) => ({ attributes: minimalExecution({ 'execution.task_id': id, 'execution.task_description': `fault test ${id} ${'x'.repeat(400)}` }) }))));
  await exporter.shutdown().catch(() => undefined);
  return r.code === ExportResultCode.SUCCESS ? ids : null;
}

async function waitFor<T>(what: string, f: () => Promise<T | null>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== null) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const storedIds = async (db: string) => new Set((await readFile(db, 'SELECT task_id::VARCHAR FROM executions')).map((r) => String(r[0])));

/** Root ignores permission bits: a server that must meet a read-only folder runs as nobody. */
const NOBODY = { uid: 65534, gid: 65534 };

// Quick reopen attempts (300 ms at most apart), so that recovery follows the freed space within a second.
const serveArgs = (db: string, threshold = '16KB') => ['--db', db, '--db-checkpoint-threshold', threshold, '--batch-max-wait-ms', '5', '--snapshot-interval', '0', '--db-reopen-max-delay-ms', '300'];

/** Exports until /readyz turns 503; the acknowledged ids go into `acked`. Returns the readyz body. */
async function ingestUntilInvalidated(srv: ServeProcess, acked: string[]): Promise<{ fault: Record<string, string>; refused: number }> {
  let refused = 0;
  const fault = await waitFor('the database to be invalidated', async () => {
    const ids = await exportBatch(srv);
    if (ids) acked.push(...ids);
    else refused++;
    const r = await probe(srv, '/readyz');
    return r.status === 503 ? r.body : null;
  });
  return { fault, refused };
}

/** While the cause lasts: readiness names it, liveness holds (recovery is under way), exports are UNAVAILABLE. */
async function assertOutage(srv: ServeProcess, fault: Record<string, string>, cause: RegExp): Promise<void> {
  assert.equal(fault.status, 'recovering');
  assert.match(fault.reason!, cause, 'the reason names the real cause');
  assert.ok(fault.reason!.match(cause)!.index === 0, `the reason leads with the cause: ${fault.reason}`);
  assert.doesNotMatch(fault.reason!, /database has been invalidated/);
  // Reopen attempts fail while the cause lasts: each one says why.
  const later = await waitFor('a failed reopen attempt', async () => {
    const r = await probe(srv, '/readyz');
    assert.equal(r.status, 503, 'not ready while the cause lasts');
    return Number(r.body.attempts) >= 2 ? r.body : null;
  });
  assert.match(String(later.lastError), cause);
  assert.equal((await probe(srv, '/healthz')).status, 200, 'liveness holds: the process recovers by itself');
  const raw = await grpcExport(srv.grpcAddress, encodeRequest(otlpRequest([{ attrs: minimalExecution({ 'execution.task_id': randomUUID() }) }])));
  assert.equal(raw.error?.code, GrpcStatus.UNAVAILABLE, 'an export meanwhile is refused as retryable');
  assert.match(raw.error!.details, cause);
}

/** Once the cause is gone: ready again without a restart, new exports taken, every acknowledged one stored. */
async function assertRecovers(srv: ServeProcess, db: string, acked: string[]): Promise<{ stored: number }> {
  await waitFor('readiness after the cause is gone', async () => ((await probe(srv, '/readyz')).status === 200 ? true : null));
  assert.equal((await probe(srv, '/healthz')).status, 200);
  assert.match(srv.output(), /database reopened/);
  for (let i = 0; i < 3; i++) {
    const ids = await exportBatch(srv);
    assert.ok(ids, 'an export after recovery is acknowledged');
    acked.push(...ids);
  }
  const exit = await stop(srv);
  assert.equal(exit.code, 0, `a recovered server stops cleanly:\n${srv.output().slice(-2000)}`);
  const stored = await storedIds(db);
  const missing = acked.filter((id) => !stored.has(id));
  assert.deepEqual(missing, [], `${missing.length} of ${acked.length} acknowledged executions lost`);
  return { stored: stored.size };
}

/** SIGTERM, and SIGKILL if it does not go (kill -9 loses nothing acknowledged). */
async function stop(srv: ServeProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  srv.child.kill('SIGTERM');
  const timer = setTimeout(() => srv.child.kill('SIGKILL'), 10_000);
  const exit = await srv.exited;
  clearTimeout(timer);
  return exit;
}

describe('a failed checkpoint, reopened in process', () => {
  const servers: ServeProcess[] = [];
  const serve = async (db: string, user: typeof NOBODY | null = null, threshold?: string) => {
    const srv = await spawnServe(serveArgs(db, threshold), {}, user);
    servers.push(srv);
    return srv;
  };
  let dir: string;
  let mounted = false;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'orb-fault-'));
    try {
      mount(['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', dir]);
      mounted = true;
    } catch (err) {
      throw new Error(`${MOUNT_REFUSED}: ${(err as Error).message}`);
    }
  });
  after(() => {
    // A test that failed midway leaves its server running: it must not keep this file alive.
    for (const srv of servers) srv.child.kill('SIGKILL');
    if (mounted) execFileSync('umount', ['-l', dir]);
    rmdirSync(dir);
  });

  it('on a full disk: 503 with the cause and UNAVAILABLE meanwhile; once space returns it recovers with every acknowledged export', async (t) => {
    const db = join(dir, 'full', 'full.duckdb');
    const acked: string[] = [];
    const srv = await serve(db);
    for (let i = 0; i < 3; i++) acked.push(...(await exportBatch(srv))!);
    assert.equal((await probe(srv, '/readyz')).status, 200);

    // Full, then a little room: WAL appends still fit, the checkpoint's new blocks do not.
    const fillers = fill(dir);
    for (const f of fillers.splice(-3)) rmSync(f);
    const { fault, refused } = await ingestUntilInvalidated(srv, acked);
    // Whatever room is left goes too, so that no reopen attempt can checkpoint before the space returns.
    fillers.push(...fill(dir));
    t.diagnostic(`readyz: ${JSON.stringify(fault)}; acknowledged ${acked.length}, refused exports ${refused}`);
    await assertOutage(srv, fault, /No space left on device/);

    for (const f of fillers) rmSync(f, { force: true });
    const { stored } = await assertRecovers(srv, db, acked);
    t.diagnostic(`acknowledged ${acked.length}; stored ${stored} (a commit that failed only in its autocheckpoint is durable but was refused, so stored ≥ acknowledged)`);
  });

  it('in a folder turned read-only: 503 with the cause meanwhile; once writable again it recovers with every acknowledged export', async (t) => {
    // Root ignores permission bits: the server runs as nobody in a folder of its own, whose mode then turns
    // read-only (a remount is refused while DuckDB holds files open for writing).
    const folder = join(dir, 'ro');
    mkdirSync(folder);
    chownSync(folder, NOBODY.uid, NOBODY.gid);
    const db = join(folder, 'ro.duckdb');
    const acked: string[] = [];
    // A threshold above one small export, so that a WAL can wait for the next checkpoint.
    const srv = await serve(db, NOBODY, '512KB');
    try {
      for (let i = 0; i < 3; i++) acked.push(...(await exportBatch(srv))!);
      // One small export after the last checkpoint: its WAL, below the threshold, exists when the folder turns
      // read-only, so the next checkpoint cannot remove it.
      acked.push(...(await exportBatch(srv, 1))!);
      assert.ok(readdirSync(folder).includes('ro.duckdb.wal'), 'a WAL waits for the next checkpoint');
      chmodSync(folder, 0o555);
      const { fault, refused } = await ingestUntilInvalidated(srv, acked);
      t.diagnostic(`readyz: ${JSON.stringify(fault)}; acknowledged ${acked.length}, refused exports ${refused}`);
      await assertOutage(srv, fault, /Permission denied/);
    } catch (err) {
      t.diagnostic(srv.output().slice(-3000));
      t.diagnostic(JSON.stringify(readdirSync(folder)));
      throw err;
    } finally {
      chmodSync(folder, 0o755);
    }
    const { stored } = await assertRecovers(srv, db, acked);
    t.diagnostic(`acknowledged ${acked.length}; stored ${stored}`);
  });
});
