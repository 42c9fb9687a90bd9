// A checkpoint that fails (full disk, read-only folder) invalidates the DuckDB instance: every later write is
// refused for ever. The probes must say so (503 with the reason) so that an orchestrator restarts the process,
// and the restart, once the cause is gone, must bring back everything acknowledged. Real faults: a size-limited
// tmpfs under the database's folder, filled during ingest; then the same tmpfs remounted read-only.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ExportResultCode } from '@opentelemetry/core';
import { readFile } from '../helpers/db.js';
import { spawnServe, type ServeProcess } from '../helpers/process.js';
import { exportSpans, makeExporter, makeSpans, minimalExecution } from '../helpers/spans.js';

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

const serveArgs = (db: string) => ['--db', db, '--db-checkpoint-threshold', '16KB', '--batch-max-wait-ms', '5', '--snapshot-interval', '0'];

/** Root ignores permission bits, and a file system with files open for writing cannot be remounted read-only: the server runs as nobody in a folder that turns read-only. */
const NOBODY = { uid: 65534, gid: 65534 };

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

/** The probes while invalidated: both 503, and nothing more is acknowledged. */
async function assertOutage(srv: ServeProcess, fault: Record<string, string>, cause: RegExp): Promise<void> {
  assert.match(fault.reason!, cause);
  assert.match(fault.recovery!, /restart/);
  assert.equal((await probe(srv, '/healthz')).status, 503, 'liveness fails: this process cannot recover, an orchestrator must restart it');
  assert.equal(await exportBatch(srv, 5), null, 'an export to an invalidated store is not acknowledged');
}

/** After the cause is gone: a restart is ready, takes exports, and the file holds every acknowledged one. */
async function assertRecovers(db: string, acked: string[], user: typeof NOBODY | null = null): Promise<number> {
  const srv = await spawnServe(serveArgs(db), {}, user);
  assert.equal((await probe(srv, '/readyz')).status, 200, 'ready again after the restart');
  assert.equal((await probe(srv, '/healthz')).status, 200);
  acked.push(...(await waitFor('an export after recovery', () => exportBatch(srv)))!);
  await stop(srv);
  const stored = await storedIds(db);
  const missing = acked.filter((id) => !stored.has(id));
  assert.deepEqual(missing, [], `${missing.length} of ${acked.length} acknowledged executions lost`);
  return stored.size;
}

/** Stops a server whose store may be invalidated: SIGTERM, and SIGKILL if it does not go (kill -9 loses nothing acknowledged). */
async function stop(srv: ServeProcess): Promise<void> {
  srv.child.kill('SIGTERM');
  const timer = setTimeout(() => srv.child.kill('SIGKILL'), 10_000);
  await srv.exited;
  clearTimeout(timer);
}

describe('a failed checkpoint', () => {
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
    if (mounted) execFileSync('umount', ['-l', dir]);
    rmdirSync(dir);
  });

  it('on a full disk: probes answer 503 with the reason; after space returns a restart recovers every acknowledged export', async (t) => {
    const db = join(dir, 'full.duckdb');
    const acked: string[] = [];
    const srv = await spawnServe(serveArgs(db));
    for (let i = 0; i < 3; i++) acked.push(...(await exportBatch(srv))!);
    assert.equal((await probe(srv, '/readyz')).status, 200);

    // Full, then a little room: WAL appends still fit, the checkpoint's new blocks do not.
    const fillers = fill(dir);
    for (const f of fillers.slice(-3)) rmSync(f);
    const { fault, refused } = await ingestUntilInvalidated(srv, acked);
    t.diagnostic(`readyz: ${JSON.stringify(fault)}; acknowledged ${acked.length}, refused exports ${refused}`);
    await assertOutage(srv, fault, /invalidated|No space left on device/i);

    await stop(srv);
    for (const f of fillers) rmSync(f, { force: true });
    const stored = await assertRecovers(db, acked);
    t.diagnostic(`acknowledged ${acked.length}; stored ${stored}`);
  });
});
