// Retention: executions older than a cutoff move, with their feedback and (optionally) their
// int8 vectors, from the hot DuckDB file to hive-partitioned Parquet by month:
//
//   <archive-dir>/executions/year=2026/month=01/<run_id>_0.parquet
//   <archive-dir>/feedback/year=2026/month=01/<run_id>_0.parquet     (month of the execution)
//   <archive-dir>/embeddings/year=2026/month=01/<run_id>_0.parquet   (int8 codes + scale as stored)
//
// A run is a journaled, idempotent protocol; a kill -9 at any point loses nothing and duplicates
// nothing, and a rerun is safe:
//
//   0. recover: every earlier run of this database that is not 'done' has deleted nothing (see 5),
//      so its files are removed (staging folder and any <run_id>_*.parquet in the archive tree)
//      and it is marked 'rolled_back'. Deterministic, whatever step it died at.
//   1. journal: a maintenance_log row 'started' (run id, cutoff, archive folder) is committed.
//   2. stage (one read transaction, so one snapshot): pick the keys to archive into temp tables —
//      hot executions older than the cutoff whose task_id the archive does not hold yet, their
//      feedback and vectors — and COPY them to <archive-dir>/.staging/<run_id>/, file names
//      carrying the run id.
//   3. verify (same snapshot): read the staged Parquet back; per table the keys must be exactly
//      the selected keys, each once, in the right month, and a checksum over every column must
//      equal the same checksum over the hot rows.
//   4. move: rename each staged file into the archive tree (same filesystem), fsync files and
//      folders.
//   5. commit (ONE transaction): re-check the hot checksums (a concurrent UPDATE, e.g. feedback
//      setting user_rating, aborts the run rather than archive a stale row), delete exactly the
//      archived keys from executions, feedback and execution_embeddings (each DELETE's count must
//      match), and mark the log row 'done'.
//
// Invariants: a row leaves the hot tables only in the transaction that marks its run 'done',
// after its verified file is in place; a run not 'done' is undone before anything else happens;
// a row whose key the archive already holds is never archived again (a span redelivered after
// its execution was archived is dropped from the hot table: first write wins, as in the writer).
// Runs are serialized within the process; DuckDB's file lock keeps other processes out.
//
// Summary tables (tier_performance_mv, tier_duration_sketch, pool_performance_mv,
// solution_patterns_mv) are lifetime aggregates and are left untouched: they keep counting
// archived executions, which is what dashboards want.
//
// The layout and the read side are archive-layout.ts, file helpers archive-files.ts, the schedule
// inside serve archive-schedule.ts.
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { parseDuration } from '../duration.js';
import { listFiles, removeRunFiles } from './archive-files.js';
import { archiveReadSql, EMBEDDINGS, EXECUTIONS, FEEDBACK, hasArchive, STAGING, type ArchiveKind, type ArchivedTable } from './archive-layout.js';
import { fsyncPath } from './fsync.js';
import { inTransaction, sqlIdent, sqlString, sqlTimestamp } from './sql.js';

// ---------------------------------------------------------------------------------------------
// Options, report, steps

/** Points of a run where a test can stop it (kill -9 or an injected crash). */
export const ARCHIVE_STEPS = ['recovered', 'log', 'staged', 'verified', 'moving', 'moved', 'deleting', 'committed'] as const;
export type ArchiveStep = (typeof ARCHIVE_STEPS)[number];

/** Thrown by `crashAfter`: the run stops there as if killed (no clean-up, no journal update). */
export class ArchiveCrash extends Error {
  constructor(readonly step: ArchiveStep) {
    super(`archive: injected crash after step '${step}'`);
  }
}

/** A concurrent change to a row being archived: the run is undone, the next one retries. */
export class ArchiveConflict extends Error {}

export interface ArchiveOptions {
  archiveDir: string;
  /** Archive executions with timestamp < now − olderThan ('90d', '12h', '2w', or milliseconds). */
  olderThan?: string | number;
  /** An explicit cutoff instead of olderThan. */
  cutoff?: Date;
  /** The clock for olderThan (default: now). */
  now?: Date;
  /** Archive the vectors too (int8 codes + scale as stored). Without it they are deleted with their executions. */
  withVectors?: boolean;
  /** Count what would be archived; write and delete nothing. */
  dryRun?: boolean;
  /** Called as each step completes (a test may SIGKILL the process here). */
  onStep?: (step: ArchiveStep, runId: string | null) => void | Promise<void>;
  /** Tests: stop the run after this step as a crash would (throws ArchiveCrash). */
  crashAfter?: ArchiveStep;
}

export interface RecoveredRun {
  runId: string;
  /** The status it was left in. */
  status: string;
  action: 'rolled_back';
  filesRemoved: number;
}

export interface ArchiveReport {
  /** null for a dry run. */
  runId: string | null;
  cutoff: Date;
  dryRun: boolean;
  executions: number;
  feedback: number;
  embeddings: number;
  /** Vectors deleted with their executions without being archived (no withVectors). */
  embeddingsDropped: number;
  /** Hot rows whose key the archive already held (redelivered after archiving): deleted. */
  duplicatesDropped: number;
  /** Months written, 'YYYY-MM'. */
  months: string[];
  /** Parquet files written, relative to the archive dir. */
  files: string[];
  bytes: number;
  seconds: number;
  /** Earlier runs found unfinished and undone first. */
  recovered: RecoveredRun[];
}

/** Something that can hand out a connection of the store's instance (a Store). */
export interface ConnectionSource {
  connect(): Promise<DuckDBConnection>;
}

function isSource(x: ConnectionSource | DuckDBConnection): x is ConnectionSource {
  return typeof (x as ConnectionSource).connect === 'function' && typeof (x as DuckDBConnection).run !== 'function';
}

function cutoffOf(opts: ArchiveOptions): Date {
  if (opts.cutoff) return new Date(opts.cutoff.getTime());
  if (opts.olderThan === undefined) throw new Error('archive: give olderThan (e.g. 90d) or cutoff');
  const ms = typeof opts.olderThan === 'number' ? opts.olderThan : parseDuration(opts.olderThan);
  if (!(ms > 0)) throw new Error(`archive: olderThan must be > 0, got ${opts.olderThan}`);
  return new Date((opts.now ?? new Date()).getTime() - ms);
}

// ---------------------------------------------------------------------------------------------
// The run

// One run at a time in this process (a schedule and a manual run must not interleave).
let lock: Promise<unknown> = Promise.resolve();
function serialized<T>(fn: () => Promise<T>): Promise<T> {
  const run = lock.then(fn, fn);
  lock = run.catch(() => undefined);
  return run;
}

const TERMINAL = ['done', 'rolled_back', 'failed'];

interface Column {
  name: string;
  type: string;
}

/** Types that DuckDB writes to Parquet and reads back as the same type (lists of them too). */
const ROUND_TRIP = /^(UUID|TIMESTAMP|DATE|VARCHAR|JSON|BLOB|BOOLEAN|TINYINT|SMALLINT|INTEGER|BIGINT|FLOAT|DOUBLE)(\[\])?$/;

interface TableState {
  t: ArchivedTable;
  kind: ArchiveKind;
  /** Temp table of the keys (+ year, month) this run archives. */
  keys: string;
  /** Temp table of the hot keys to delete without archiving (already archived, or vectors dropped). */
  drop: string;
  count: number;
  dropCount: number;
  columns: Column[];
  /** Checksum of the archived rows, verified against the staged Parquet. */
  checksum: string;
}

class ArchiveRun {
  private readonly conn: DuckDBConnection;
  private readonly dir: string;
  private readonly stagingRoot: string;
  private readonly temps: string[] = [];
  runId: string | null = null;

  constructor(
    conn: DuckDBConnection,
    private readonly opts: ArchiveOptions,
    readonly cutoff: Date,
  ) {
    this.conn = conn;
    this.dir = resolve(opts.archiveDir);
    this.stagingRoot = join(this.dir, STAGING);
  }

  private async rows(sql: string): Promise<unknown[][]> {
    return (await this.conn.runAndReadAll(sql)).getRows() as unknown[][];
  }

  private async one(sql: string): Promise<unknown> {
    return (await this.rows(sql))[0]?.[0];
  }

  private async step(step: ArchiveStep): Promise<void> {
    await this.opts.onStep?.(step, this.runId);
    if (this.opts.crashAfter === step) throw new ArchiveCrash(step);
  }

  async dropTemps(): Promise<void> {
    for (const t of this.temps.splice(0)) await this.conn.run(`DROP TABLE IF EXISTS temp.main.${sqlIdent(t)}`).catch(() => undefined);
  }

  private async temp(name: string, sql: string): Promise<string> {
    const full = `orb_archive_${name}`;
    await this.conn.run(`CREATE OR REPLACE TEMP TABLE ${sqlIdent(full)} AS ${sql}`);
    if (!this.temps.includes(full)) this.temps.push(full);
    return full;
  }

  private async count(table: string): Promise<number> {
    return Number(await this.one(`SELECT count(*) FROM temp.main.${sqlIdent(table)}`));
  }

  private async columns(table: string): Promise<Column[]> {
    const r = await this.rows(
      `SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = current_database() AND schema_name = 'main' AND table_name = ${sqlString(table)} ORDER BY column_index`,
    );
    return r.map((x) => ({ name: String(x[0]), type: String(x[1]) }));
  }

  async assertSchema(): Promise<void> {
    if ((await this.columns('maintenance_log')).length === 0) {
      throw new Error('archive: the maintenance_log table is missing (migration 005): open the database through Store.open, which applies migrations');
    }
  }

  /** Step 0: undo every unfinished run of this database. */
  async recover(): Promise<RecoveredRun[]> {
    const runs = await this.rows(
      `SELECT run_id::VARCHAR, status, archive_dir FROM maintenance_log WHERE operation = 'archive' AND status NOT IN (${TERMINAL.map(sqlString).join(', ')}) ORDER BY started_at`,
    );
    const out: RecoveredRun[] = [];
    for (const [runId, status, dir] of runs as [string, string, string][]) {
      // Nothing of this run was deleted from the hot tables (that happens only with 'done'):
      // removing its files restores the state before it started.
      const filesRemoved = removeRunFiles(dir, runId);
      await this.conn.run(
        `UPDATE maintenance_log SET status = 'rolled_back', finished_at = now()::TIMESTAMP,
           error = coalesce(error || '; ', '') || $1 WHERE run_id = $2::UUID`,
        [`interrupted after '${status}'; ${filesRemoved} file(s) removed and the run undone before a later run`, runId],
      );
      out.push({ runId, status, action: 'rolled_back', filesRemoved });
    }
    // Staging folders left by runs that finished (a crash after the commit, before clean-up).
    if (existsSync(this.stagingRoot)) {
      for (const name of readdirSync(this.stagingRoot)) {
        const st = await this.one(`SELECT status FROM maintenance_log WHERE run_id::VARCHAR = ${sqlString(name)}`);
        if (typeof st === 'string' && TERMINAL.includes(st)) rmSync(join(this.stagingRoot, name), { recursive: true, force: true });
      }
    }
    return out;
  }

  /** Runs not finished, for a dry run to mention. */
  async unfinished(): Promise<RecoveredRun[]> {
    const runs = await this.rows(
      `SELECT run_id::VARCHAR, status FROM maintenance_log WHERE operation = 'archive' AND status NOT IN (${TERMINAL.map(sqlString).join(', ')})`,
    );
    return runs.map(([runId, status]) => ({ runId: String(runId), status: String(status), action: 'rolled_back', filesRemoved: 0 }));
  }

  /** Step 1: the journal row, committed before any file exists. */
  async journal(): Promise<void> {
    this.runId = randomUUID();
    await this.conn.run(
      `INSERT INTO maintenance_log (run_id, operation, started_at, cutoff, status, archive_dir, with_vectors)
       VALUES ($1::UUID, 'archive', now()::TIMESTAMP, ${sqlTimestamp(this.cutoff)}, 'started', $2, $3)`,
      [this.runId, this.dir, Boolean(this.opts.withVectors)],
    );
  }

  private async setStatus(status: string): Promise<void> {
    await this.conn.run(`UPDATE maintenance_log SET status = $1 WHERE run_id = $2::UUID`, [status, this.runId!]);
  }

  /** Archived keys of one table that matter to the hot tables (none when the archive has no file). */
  private archived(kind: ArchiveKind, cols: string, tail: string): string {
    if (!hasArchive(this.dir, kind)) {
      return `SELECT ${cols} FROM (SELECT NULL::UUID AS task_id, NULL::VARCHAR AS model_id, NULL::UUID AS feedback_id, NULL::INTEGER AS year, NULL::INTEGER AS month) a WHERE false`;
    }
    return `SELECT ${cols} FROM ${archiveReadSql(this.dir, kind)} a ${tail}`;
  }

  /** Step 2a: the keys of this run, per table, in temp tables (inside the stage transaction). */
  async select(): Promise<TableState[]> {
    const month = (col: string) => `strftime(${col}, '%Y') AS year, strftime(${col}, '%m') AS month`;
    // Archived executions that hot rows refer to (their months place late feedback and vectors).
    const ax = await this.temp(
      'archived_x',
      this.archived(
        'executions',
        `a.task_id, lpad(a.year::VARCHAR, 4, '0') AS year, lpad(a.month::VARCHAR, 2, '0') AS month`,
        `WHERE a.task_id IN (SELECT task_id FROM executions UNION ALL SELECT task_id FROM feedback UNION ALL SELECT task_id FROM execution_embeddings)`,
      ),
    );
    const x = await this.temp(
      'x',
      `SELECT task_id, ${month('timestamp')} FROM executions WHERE timestamp < ${sqlTimestamp(this.cutoff)} AND task_id NOT IN (SELECT task_id FROM temp.main.${sqlIdent(ax)})`,
    );
    const xd = await this.temp('x_drop', `SELECT task_id FROM executions WHERE task_id IN (SELECT task_id FROM temp.main.${sqlIdent(ax)})`);
    // Executions whose feedback and vectors go to the archive: this run's and those archived before.
    const targets = await this.temp('targets', `SELECT task_id, year, month FROM temp.main.${sqlIdent(x)} UNION ALL SELECT task_id, year, month FROM temp.main.${sqlIdent(ax)}`);
    const af = await this.temp('archived_f', this.archived('feedback', 'a.feedback_id', `WHERE a.feedback_id IN (SELECT feedback_id FROM feedback)`));
    const f = await this.temp(
      'f',
      `SELECT f.feedback_id, t.year, t.month FROM feedback f JOIN temp.main.${sqlIdent(targets)} t ON t.task_id = f.task_id
       WHERE f.feedback_id NOT IN (SELECT feedback_id FROM temp.main.${sqlIdent(af)})`,
    );
    const fd = await this.temp('f_drop', `SELECT feedback_id FROM feedback WHERE feedback_id IN (SELECT feedback_id FROM temp.main.${sqlIdent(af)})`);
    let e: string;
    let ed: string;
    if (this.opts.withVectors) {
      const ae = await this.temp(
        'archived_e',
        this.archived('embeddings', 'a.task_id, a.model_id', `SEMI JOIN execution_embeddings v ON v.task_id = a.task_id AND v.model_id = a.model_id`),
      );
      e = await this.temp(
        'e',
        `SELECT v.task_id, v.model_id, t.year, t.month FROM execution_embeddings v JOIN temp.main.${sqlIdent(targets)} t ON t.task_id = v.task_id
         ANTI JOIN temp.main.${sqlIdent(ae)} a ON a.task_id = v.task_id AND a.model_id = v.model_id`,
      );
      ed = await this.temp(
        'e_drop',
        `SELECT v.task_id, v.model_id FROM execution_embeddings v SEMI JOIN temp.main.${sqlIdent(ae)} a ON a.task_id = v.task_id AND a.model_id = v.model_id`,
      );
    } else {
      e = await this.temp('e', `SELECT NULL::UUID AS task_id, NULL::VARCHAR AS model_id, NULL::VARCHAR AS year, NULL::VARCHAR AS month WHERE false`);
      ed = await this.temp('e_drop', `SELECT v.task_id, v.model_id FROM execution_embeddings v SEMI JOIN temp.main.${sqlIdent(targets)} t ON t.task_id = v.task_id`);
    }
    const state = async (t: ArchivedTable, kind: ArchiveKind, keys: string, drop: string): Promise<TableState> => ({
      t,
      kind,
      keys,
      drop,
      count: await this.count(keys),
      dropCount: await this.count(drop),
      columns: await this.columns(t.table),
      checksum: '',
    });
    return [await state(EXECUTIONS, 'executions', x, xd), await state(FEEDBACK, 'feedback', f, fd), await state(EMBEDDINGS, 'embeddings', e, ed)];
  }

  async months(x: TableState): Promise<string[]> {
    const r = await this.rows(`SELECT DISTINCT year || '-' || month FROM temp.main.${sqlIdent(x.keys)} ORDER BY 1`);
    return r.map((m) => String(m[0]));
  }

  private stagingDir(): string {
    return join(this.stagingRoot, this.runId!);
  }

  private joinOn(s: TableState, a: string, b: string): string {
    return s.t.key.map((k) => `${a}.${sqlIdent(k)} = ${b}.${sqlIdent(k)}`).join(' AND ');
  }

  /**
   * Sum of a hash of every column: equal sums ⇒ the same rows, barring a 64-bit collision. Types
   * that Parquet round-trips are hashed as they are (fast, and a list of 384 int8 codes stays a
   * list); any other type as text, so a type Parquet would change fails verification loudly
   * rather than passing wrongly.
   */
  private checksumExpr(s: TableState, alias: string): string {
    const cols = s.columns.map((c) => (ROUND_TRIP.test(c.type) ? `${alias}.${sqlIdent(c.name)}` : `${alias}.${sqlIdent(c.name)}::VARCHAR`));
    return `coalesce(sum(hash(${cols.join(', ')})), 0)::VARCHAR`;
  }

  private hotRows(s: TableState): string {
    return `${s.t.table} h JOIN temp.main.${sqlIdent(s.keys)} k ON ${this.joinOn(s, 'h', 'k')}`;
  }

  /** Step 2b: COPY each table's rows to the staging folder, partitioned by month. */
  async stage(states: TableState[]): Promise<void> {
    mkdirSync(this.stagingDir(), { recursive: true });
    for (const s of states) {
      if (s.count === 0) continue;
      const order = s.t === EXECUTIONS ? 'h.timestamp' : s.t.key.map((k) => `h.${sqlIdent(k)}`).join(', ');
      const res = await this.conn.run(
        `COPY (SELECT h.*, k.year, k.month FROM ${this.hotRows(s)} ORDER BY ${order})
         TO ${sqlString(join(this.stagingDir(), s.t.dir))}
         (FORMAT PARQUET, PARTITION_BY (year, month), COMPRESSION ZSTD, FILENAME_PATTERN ${sqlString(`${this.runId}_{i}`)}, OVERWRITE_OR_IGNORE)`,
      );
      if (res.rowsChanged !== s.count) throw new Error(`archive: COPY of ${s.t.table} wrote ${res.rowsChanged} rows, ${s.count} were selected`);
    }
  }

  /** Step 3: the staged Parquet holds exactly the selected rows, each once, with identical values. */
  async verify(states: TableState[]): Promise<void> {
    for (const s of states) {
      if (s.count === 0) continue;
      const glob = `${this.stagingDir()}/${s.t.dir}/**/*.parquet`;
      const files = listFiles(join(this.stagingDir(), s.t.dir));
      const foreign = files.filter((f) => !basename(f).startsWith(`${this.runId}_`));
      if (foreign.length > 0) throw new Error(`archive: unexpected files in staging: ${foreign.join(', ')}`);
      const staged = `read_parquet(${sqlString(glob)}, hive_partitioning = true, hive_types = {'year': INTEGER, 'month': INTEGER})`;
      const keyList = s.t.key.map((k) => `a.${sqlIdent(k)}`).join(', ');
      const [n, distinct, matched, placed, sum] = (await this.rows(
        `SELECT count(*), count(DISTINCT (${keyList})),
                count(k.${sqlIdent(s.t.key[0]!)}), count(*) FILTER (WHERE a.year = k.year::INTEGER AND a.month = k.month::INTEGER),
                ${this.checksumExpr(s, 'a')}
         FROM ${staged} a LEFT JOIN temp.main.${sqlIdent(s.keys)} k ON ${this.joinOn(s, 'a', 'k')}`,
      ))[0]!.map((v) => (typeof v === 'bigint' ? Number(v) : v));
      const problems: string[] = [];
      if (n !== s.count) problems.push(`${n} rows staged, ${s.count} selected`);
      if (distinct !== n) problems.push(`${Number(n) - Number(distinct)} duplicate keys`);
      if (matched !== n) problems.push(`${Number(n) - Number(matched)} staged keys not selected`);
      if (placed !== n) problems.push(`${Number(n) - Number(placed)} rows in the wrong month`);
      const hot = String(await this.one(`SELECT ${this.checksumExpr(s, 'h')} FROM ${this.hotRows(s)}`));
      if (String(sum) !== hot) problems.push(`checksum of the staged rows ${String(sum)} ≠ hot rows ${hot}`);
      if (problems.length > 0) throw new Error(`archive: verification of ${s.t.table} failed: ${problems.join('; ')}`);
      s.checksum = hot;
    }
  }

  /** Step 4: staged files into the archive tree (rename: same filesystem), fsynced. */
  async move(): Promise<{ files: string[]; bytes: number }> {
    const staged = listFiles(this.stagingDir()).sort();
    const files: string[] = [];
    let bytes = 0;
    const dirs = new Set<string>();
    for (const src of staged) {
      const rel = relative(this.stagingDir(), src);
      const dest = join(this.dir, rel);
      if (existsSync(dest)) throw new Error(`archive: ${dest} already exists`);
      mkdirSync(dirname(dest), { recursive: true });
      fsyncPath(src);
      renameSync(src, dest);
      bytes += statSync(dest).size;
      files.push(rel.split(sep).join('/'));
      for (let d = dirname(dest); d !== this.dir && d.startsWith(this.dir); d = dirname(d)) dirs.add(d);
      dirs.add(this.dir);
      if (files.length === 1) await this.step('moving');
    }
    for (const d of dirs) fsyncPath(d);
    return { files, bytes };
  }

  /** Step 5: one transaction deletes exactly what is archived (or dropped) and marks the run done. */
  deleteAndFinish(states: TableState[], files: string[], bytes: number): Promise<void> {
    return inTransaction(this.conn, async () => {
      for (const s of states) {
        if (s.count === 0) continue;
        const hot = String(await this.one(`SELECT ${this.checksumExpr(s, 'h')} FROM ${this.hotRows(s)}`));
        if (hot !== s.checksum) throw new ArchiveConflict(`archive: ${s.t.table} rows changed while being archived (checksum ${s.checksum} → ${hot}); the run is undone and the next one retries`);
      }
      for (const s of states) {
        const expected = s.count + s.dropCount;
        if (expected === 0) continue;
        const keys = s.t.key.map(sqlIdent).join(', ');
        const res = await this.conn.run(
          `DELETE FROM ${s.t.table} h USING (SELECT ${keys} FROM temp.main.${sqlIdent(s.keys)} UNION ALL SELECT ${keys} FROM temp.main.${sqlIdent(s.drop)}) k
           WHERE ${this.joinOn(s, 'h', 'k')}`,
        );
        if (res.rowsChanged !== expected) throw new ArchiveConflict(`archive: deleting from ${s.t.table} removed ${res.rowsChanged} rows, expected ${expected}`);
      }
      const [x, f, e] = states as [TableState, TableState, TableState];
      await this.conn.run(
        `UPDATE maintenance_log SET status = 'done', finished_at = now()::TIMESTAMP, executions_archived = $1, feedback_archived = $2,
           embeddings_archived = $3, embeddings_dropped = $4, duplicates_dropped = $5, files = $6::VARCHAR[], bytes = $7 WHERE run_id = $8::UUID`,
        [x.count, f.count, e.count, this.opts.withVectors ? 0 : e.dropCount, x.dropCount + f.dropCount + (this.opts.withVectors ? e.dropCount : 0), `[${files.map((p) => JSON.stringify(p)).join(',')}]`, bytes, this.runId!],
      );
      await this.step('deleting');
    });
  }

  async fail(err: unknown): Promise<void> {
    if (!this.runId) return;
    // Nothing was deleted (the delete transaction rolled back, or was never reached): undo the files.
    const msg = (err as Error).message ?? String(err);
    try {
      removeRunFiles(this.dir, this.runId);
      await this.conn.run(`UPDATE maintenance_log SET status = 'failed', finished_at = now()::TIMESTAMP, error = $1 WHERE run_id = $2::UUID`, [msg, this.runId]);
    } catch (cleanup) {
      // Left unfinished: the next run's recovery undoes it.
      await this.conn
        .run(`UPDATE maintenance_log SET error = $1 WHERE run_id = $2::UUID`, [`${msg}; clean-up failed: ${(cleanup as Error).message}`, this.runId])
        .catch(() => undefined);
    }
  }


  /** What a run archived (or would), from the selected states of executions, feedback, embeddings. */
  private async counts(states: TableState[]) {
    const [x, f, e] = states as [TableState, TableState, TableState];
    return {
      executions: x.count,
      feedback: f.count,
      embeddings: e.count,
      embeddingsDropped: this.opts.withVectors ? 0 : e.dropCount,
      duplicatesDropped: x.dropCount + f.dropCount + (this.opts.withVectors ? e.dropCount : 0),
      months: await this.months(x),
    };
  }

  async run(): Promise<ArchiveReport> {
    const started = performance.now();
    const report = (over: Partial<ArchiveReport>): ArchiveReport => ({
      runId: this.runId,
      cutoff: this.cutoff,
      dryRun: Boolean(this.opts.dryRun),
      executions: 0,
      feedback: 0,
      embeddings: 0,
      embeddingsDropped: 0,
      duplicatesDropped: 0,
      months: [],
      files: [],
      bytes: 0,
      seconds: (performance.now() - started) / 1000,
      recovered: [],
      ...over,
    });
    await this.assertSchema();

    if (this.opts.dryRun) {
      const recovered = await this.unfinished();
      // Counted on one snapshot, then rolled back: a dry run changes nothing.
      await this.conn.run('BEGIN TRANSACTION');
      try {
        return report({ ...(await this.counts(await this.select())), recovered });
      } finally {
        await this.conn.run('ROLLBACK').catch(() => undefined);
        await this.dropTemps();
      }
    }

    const recovered = await this.recover();
    await this.step('recovered');
    await this.journal();
    try {
      await this.step('log');
      // Stage and verify on one snapshot.
      const states = await inTransaction(this.conn, async () => {
        const states = await this.select();
        await this.stage(states);
        await this.step('staged');
        await this.verify(states);
        return states;
      });
      await this.setStatus('verified');
      await this.step('verified');
      const { files, bytes } = await this.move();
      await this.setStatus('moved');
      await this.step('moved');
      await this.deleteAndFinish(states, files, bytes);
      await this.step('committed');
      rmSync(this.stagingDir(), { recursive: true, force: true });
      return report({ ...(await this.counts(states)), files, bytes, recovered });
    } catch (err) {
      if (!(err instanceof ArchiveCrash)) await this.fail(err);
      throw err;
    } finally {
      await this.dropTemps();
    }
  }
}

/**
 * Archives executions older than the cutoff (with their feedback, and their vectors when
 * withVectors) to Parquet under opts.archiveDir, then deletes them from the hot tables.
 * Takes a Store (a connection of its own is opened and closed) or a connection (not the writer's).
 */
export function archiveOlderThan(target: ConnectionSource | DuckDBConnection, opts: ArchiveOptions): Promise<ArchiveReport> {
  const cutoff = cutoffOf(opts);
  return serialized(async () => {
    const own = isSource(target);
    const conn = own ? await target.connect() : target;
    try {
      return await new ArchiveRun(conn, opts, cutoff).run();
    } finally {
      if (own) conn.closeSync();
    }
  });
}
