// One DuckDB instance per process (a second process cannot open a file a writer holds):
// one connection writes, others read.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { FaultWatch, type StoreHealth } from './fault.js';
import { migrate, schemaVersion } from './migrations.js';
import { sqlString } from './sql.js';
import { ExecutionWriter } from './writer.js';

export interface StoreOptions {
  path: string;
  /** DuckDB worker threads; leave room for the receivers on small machines. */
  threads?: number;
  /** WAL size that triggers an automatic checkpoint (DuckDB's checkpoint_threshold). */
  checkpointThreshold?: string;
  /** DuckDB's memory_limit in bytes (its default is 80% of the machine's RAM). */
  memoryLimitBytes?: number;
  /** See ExecutionWriterOptions. */
  summaryIntervalMs?: number;
  onSummaryError?(err: unknown): void;
  /**
   * Given, DuckDB may touch only these folders and files (the database's own included) and the setting is
   * fixed: a SELECT from the query API then cannot read the host's files (read_text, glob, ...).
   */
  fileAccess?: { directories: string[]; files: string[] };
  /** Refuse a file that does not exist instead of creating it (and its folder): for readers. */
  mustExist?: boolean;
}

/** A reader was pointed at a database file that does not exist; nothing was created. */
export class MissingDatabaseError extends Error {
  override name = 'MissingDatabaseError';
  constructor(readonly path: string) {
    super(`no database at ${path}`);
  }
}

/** Confines DuckDB's file access to these folders and files, for the life of the instance. */
export async function confine(conn: DuckDBConnection, access: { directories: string[]; files: string[] }): Promise<void> {
  const list = (xs: string[]) => `[${[...new Set(xs)].map(sqlString).join(', ')}]`;
  await conn.run(`SET allowed_directories = ${list(access.directories.map((d) => `${resolve(d)}${sep}`))}`);
  await conn.run(`SET allowed_paths = ${list(access.files.map((f) => resolve(f)))}`);
  // Once off, DuckDB refuses to turn external access back on or to widen the lists while it runs.
  // (lock_configuration would also stop COPY FROM DATABASE, which the snapshot uses.)
  await conn.run('SET enable_external_access = false');
}

export class Store {
  private closed = false;
  private readonly faults = new FaultWatch();
  private probeConn: DuckDBConnection | null = null;
  /** Every connection handed out: an invalidated instance is let go only once none holds it. */
  private readonly handedOut = new Set<DuckDBConnection>();

  private constructor(
    readonly path: string,
    private readonly instance: DuckDBInstance,
    private readonly writeConn: DuckDBConnection,
    readonly writer: ExecutionWriter,
    readonly schemaVersion: number,
  ) {}

  static async open(opts: StoreOptions): Promise<Store> {
    if (opts.path !== ':memory:' && opts.mustExist && !existsSync(opts.path)) throw new MissingDatabaseError(opts.path);
    if (opts.path !== ':memory:') mkdirSync(dirname(opts.path), { recursive: true });
    const config: Record<string, string> = {};
    if (opts.threads) config.threads = String(opts.threads);
    if (opts.checkpointThreshold) config.checkpoint_threshold = opts.checkpointThreshold;
    if (opts.memoryLimitBytes) config.memory_limit = `${Math.floor(opts.memoryLimitBytes / 1024)}KiB`;
    const instance = await DuckDBInstance.create(opts.path, config);
    const conn = await instance.connect();
    if (opts.fileAccess) await confine(conn, opts.fileAccess);
    await migrate(conn);
    const writer = new ExecutionWriter(conn, { summaryIntervalMs: opts.summaryIntervalMs, onSummaryError: opts.onSummaryError });
    // Summary deltas a stopped process journalled are merged before anyone reads the tables.
    await writer.flushSummaries();
    return new Store(opts.path, instance, conn, writer, await schemaVersion(conn));
  }

  /** A fresh connection on the same instance, for readers. */
  async connect(): Promise<DuckDBConnection> {
    const conn = await this.instance.connect();
    this.handedOut.add(conn);
    return conn;
  }

  /** Keeps the first fatal error a caller saw (the failed checkpoint itself), the reason the probes give. */
  noteError(err: unknown): void {
    this.faults.note(err);
  }

  /**
   * Whether the instance still runs statements. An invalidated one (a failed checkpoint) never does again:
   * only reopening the file, which replays the WAL, brings back what was acknowledged.
   */
  async health(): Promise<StoreHealth> {
    this.probeConn ??= await this.instance.connect();
    return this.faults.check(this.probeConn);
  }

  /** Writes the WAL into the file now: on a reopened instance, the proof that the disk has room again. */
  async checkpoint(): Promise<void> {
    try {
      await this.writeConn.run('CHECKPOINT');
    } catch (err) {
      this.faults.note(err);
      throw err;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const healthy = (await this.health().catch(() => ({ ok: true }))).ok;
    this.probeConn?.closeSync();
    if (healthy) {
      await this.writer.flushSummaries();
      this.writer.close();
      await this.writeConn.run('CHECKPOINT');
    } else {
      // Nothing more can be written or checkpointed; the WAL on disk holds what was acknowledged.
      this.writer.close();
    }
    // A connection still open keeps the old instance, and its file handles, alive beside a reopened one.
    for (const c of [this.writeConn, ...this.handedOut]) {
      try {
        c.closeSync();
      } catch {
        // already closed by its owner
      }
    }
    this.handedOut.clear();
    this.instance.closeSync();
  }
}
