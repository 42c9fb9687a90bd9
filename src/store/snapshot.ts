// A consistent read-only copy of the database for analysts: DuckDB lets one process open the
// live file, and then no other process can, not even read-only. One transaction copies every
// table (MVCC: the writer keeps committing meanwhile) into a temp file, which then replaces
// the published snapshot atomically (rename), so a reader never sees a half-written file.
import { fsyncPath } from './fsync.js';
import { inTransaction, sqlIdent, sqlString } from './sql.js';
import { mergeJournalInto } from './summary-journal.js';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';

/** Where a snapshot is written before it is renamed into place: its own folder, beside the snapshot. */
export function snapshotStagingDir(path: string): string {
  return join(dirname(path), '.orb-snapshot-staging');
}

export function defaultSnapshotPath(db: string): string {
  return `${db.replace(/\.duckdb$/, '')}.snapshot.duckdb`;
}



export interface SnapshotInfo {
  path: string;
  bytes: number;
  seconds: number;
  publishedAt: Date;
}

export class SnapshotPublisher {
  private changed = true;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<SnapshotInfo | null> | null = null;
  last: SnapshotInfo | null = null;

  constructor(
    private readonly conn: DuckDBConnection,
    readonly path: string,
    private readonly intervalMs: number,
    private readonly onPublished: (info: SnapshotInfo) => void = () => undefined,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {}

  /** Something was committed since the last snapshot. */
  markChanged(): void {
    this.changed = true;
  }

  start(): void {
    if (this.intervalMs <= 0) return;
    this.timer = setInterval(() => {
      if (this.changed && !this.running) void this.publish().catch(this.onError);
    }, this.intervalMs);
    this.timer.unref();
  }

  publish(): Promise<SnapshotInfo | null> {
    this.running ??= this.copy().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async copy(): Promise<SnapshotInfo> {
    this.changed = false;
    const started = performance.now();
    mkdirSync(snapshotStagingDir(this.path), { recursive: true });
    const tmp = join(snapshotStagingDir(this.path), `${basename(this.path)}.tmp-${process.pid}`);
    for (const f of [tmp, `${tmp}.wal`]) rmSync(f, { force: true });
    const source = String((await this.conn.runAndReadAll('SELECT current_database()')).getRows()[0]![0]);
    await this.conn.run(`ATTACH ${sqlString(tmp)} AS orb_snapshot`);
    try {
      await inTransaction(this.conn, () => this.conn.run(`COPY FROM DATABASE ${sqlIdent(source)} TO orb_snapshot`));
      // The copy holds the summary journal as of its transaction: merged there, the summaries
      // agree with the copied executions.
      await mergeJournalInto(this.conn, 'orb_snapshot');
    } catch (err) {
      this.changed = true;
      await this.conn.run('DETACH orb_snapshot').catch(() => undefined);
      rmSync(tmp, { force: true });
      throw err;
    }
    await this.conn.run('DETACH orb_snapshot');
    if (existsSync(`${tmp}.wal`)) throw new Error(`snapshot ${tmp} kept a WAL after detach`);
    fsyncPath(tmp);
    renameSync(tmp, this.path);
    fsyncPath(dirname(this.path));
    this.last = { path: this.path, bytes: statSync(this.path).size, seconds: (performance.now() - started) / 1000, publishedAt: new Date() };
    this.onPublished(this.last);
    return this.last;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }
}
