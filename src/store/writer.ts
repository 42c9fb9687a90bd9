// The I/O half of a commit: one transaction per group of requests, rows appended in DataChunks.
// Redeliveries are rare, so a group is first appended straight into its table; if the primary
// key refuses it, the transaction is rolled back and redone through a temp staging table with
// ON CONFLICT DO NOTHING. Either way a redelivered span never duplicates a row: first write wins.
import { DuckDBDataChunkWriter, JSToDuckDBValueConverter, type DuckDBConnection } from '@duckdb/node-api';
import type { ExecutionRow } from '../convert/record.js';
import type { RejectedSpan } from '../convert/span-to-record.js';
import type { FeedbackRow } from '../convert/feedback.js';
import { dedupeExecutions, executionWrite, feedbackWrite, rejectedWrite, type Cell, type TableWrite } from './rows.js';
import { EMPTIED_SUMMARY_ROWS, mergeClause, SUMMARY_TABLES, SummaryAccumulator, summarize, summarizeRevisions, type SummaryDelta } from './summaries.js';
import { applyGenAiWork, genaiPendingWrite, type GenAiWork } from './genai-pending.js';

export interface CommitBatch {
  executions: readonly ExecutionRow[];
  rejected: readonly RejectedSpan[];
  feedback?: readonly FeedbackRow[];
  /** GenAI spans to keep until their run is assembled, and the writes that assemble or revise runs. */
  genai?: GenAiWork;
}

export interface CommitResult {
  inserted: number;
  duplicates: number;
  rejectedStored: number;
  feedbackStored: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const DUPLICATE_KEY = /PRIMARY KEY or UNIQUE constraint violation|duplicate key/i;

const q = (ident: string) => `"${ident.replaceAll('"', '""')}"`;

/** Writes TableWrites in one transaction, never duplicating a key. */
export class TableWriter {
  private readonly staged = new Set<string>();

  constructor(private readonly conn: DuckDBConnection) {}

  private async stagingFor(w: { table: string; columns: readonly string[] }): Promise<string> {
    const name = `staging_${w.table}`;
    if (!this.staged.has(name)) {
      const cols = w.columns.map(q).join(', ');
      await this.conn.run(`CREATE OR REPLACE TEMP TABLE ${q(name)} AS SELECT ${cols} FROM ${q(w.table)} LIMIT 0`);
      this.staged.add(name);
    }
    return name;
  }

  private async append(table: string, schema: string, catalog: string | null, rows: readonly Cell[][]): Promise<void> {
    const appender = await this.conn.createAppender(table, schema, catalog);
    try {
      const chunks = DuckDBDataChunkWriter.forAppender(appender, { converter: JSToDuckDBValueConverter });
      for (const row of rows) chunks.appendRow(row);
      chunks.flush();
      appender.flushSync();
    } catch (err) {
      // A failed appender must be emptied before it is closed: left holding rows, it flushes them
      // again when finalized and aborts whatever transaction the connection runs by then.
      try {
        appender.clear();
        appender.closeSync();
      } catch {
        /* the first error is the one to report */
      }
      throw err;
    }
    appender.closeSync();
  }

  /** Writes one table's rows; returns the keys that were new (null: all of them). */
  private async apply(w: TableWrite, mode: 'append' | 'merge'): Promise<Set<string> | null> {
    if (w.rows.length === 0) return new Set();
    if (mode === 'append') {
      await this.append(w.table, 'main', null, w.rows);
      return null;
    }
    const staging = await this.stagingFor(w);
    await this.append(staging, 'main', 'temp', w.rows);
    const cols = w.columns.map(q).join(', ');
    const res = await this.conn.runAndReadAll(
      `INSERT INTO ${q(w.table)} (${cols}) SELECT ${cols} FROM temp.main.${q(staging)} ON CONFLICT DO NOTHING RETURNING ${q(w.key)}::VARCHAR`,
    );
    await this.conn.run(`DELETE FROM temp.main.${q(staging)}`);
    return new Set(res.getRows().map((r) => String(r[0])));
  }

  /**
   * Stages each delta and returns the statements that merge it into its summary table
   * (ON CONFLICT (keys) DO UPDATE SET merge), for the caller to send with others in one call:
   * each round trip costs more than the statement. Inside a transaction.
   */
  async upsertStatements(deltas: readonly SummaryDelta[], catalog?: string): Promise<string[]> {
    const target = (t: string) => (catalog ? `${q(catalog)}.main.${q(t)}` : q(t));
    const statements: string[] = [];
    for (const d of deltas) {
      if (d.rows.length === 0) continue;
      const staging = await this.stagingFor(d);
      await this.append(staging, 'main', 'temp', d.rows);
      const cols = d.columns.map(q).join(', ');
      statements.push(
        `INSERT INTO ${target(d.table)} (${cols}) SELECT ${cols} FROM temp.main.${q(staging)} ON CONFLICT (${d.keys.map(q).join(', ')}) DO UPDATE SET ${d.merge}`,
        `DELETE FROM temp.main.${q(staging)}`,
      );
    }
    return statements;
  }

  /** Runs `f` in a transaction; the statements it returns go to DuckDB with the COMMIT, in one call. */
  async inTransaction(f: () => Promise<string[]>): Promise<void> {
    await this.conn.run('BEGIN TRANSACTION');
    try {
      await this.conn.run([...(await f()), 'COMMIT'].join(';\n'));
    } catch (err) {
      await this.conn.run('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  /** SQL that sets executions.user_rating / user_accepted from the latest feedback that has one. */
  static latestFeedbackSql(taskIds: readonly string[]): string | null {
    const ids = [...new Set(taskIds)];
    if (ids.length === 0) return null;
    if (!ids.every((id) => UUID.test(id))) throw new Error('latestFeedbackSql: task ids must be UUIDs');
    const order = `struct_pack(t := timestamp, r := received_at, id := feedback_id::VARCHAR)`;
    return `UPDATE executions SET user_rating = coalesce(f.rating, executions.user_rating), user_accepted = coalesce(f.accepted, executions.user_accepted)
       FROM (SELECT task_id, arg_max(rating, ${order}) FILTER (WHERE rating IS NOT NULL) AS rating,
                    arg_max(accepted, ${order}) FILTER (WHERE accepted IS NOT NULL) AS accepted
             FROM feedback WHERE task_id IN (${ids.map((id) => `'${id}'`).join(', ')}) GROUP BY task_id) f
       WHERE executions.task_id = f.task_id`;
  }

  /** Creates what upsert needs outside any transaction (a rollback would drop a temp table made inside). */
  async prepareUpserts(tables: readonly { table: string; columns: readonly string[] }[]): Promise<void> {
    for (const t of tables) await this.stagingFor(t);
  }

  private async transaction(writes: TableWrite[], mode: 'append' | 'merge', within?: WithinTransaction): Promise<number[]> {
    // Staging tables are made outside the transaction, so a rollback cannot take them away.
    if (mode === 'merge') for (const w of writes) if (w.rows.length > 0) await this.stagingFor(w);
    const inserted: (Set<string> | null)[] = [];
    await this.inTransaction(async () => {
      for (const w of writes) inserted.push(await this.apply(w, mode));
      return (await within?.(inserted)) ?? [];
    });
    return inserted.map((keys, i) => (keys === null ? writes[i]!.rows.length : keys.size));
  }

  /**
   * Returns, for each write, how many of its rows were new. `within` runs inside the same
   * transaction with the new keys of each write (null: every row was new); the statements it
   * returns run last, with the COMMIT.
   */
  async write(writes: TableWrite[], within?: WithinTransaction): Promise<number[]> {
    try {
      return await this.transaction(writes, 'append', within);
    } catch (err) {
      if (!DUPLICATE_KEY.test((err as Error).message)) throw err;
      return await this.transaction(writes, 'merge', within);
    }
  }
}

export type WithinTransaction = (inserted: (Set<string> | null)[]) => Promise<string[] | void>;

async function readJournal(conn: DuckDBConnection, catalog?: string): Promise<{ pending: SummaryAccumulator; nextSeq: number }> {
  const table = catalog ? `${q(catalog)}.main.summary_journal` : 'summary_journal';
  const pending = new SummaryAccumulator();
  let nextSeq = 0;
  for (const [seq, deltas] of (await conn.runAndReadAll(`SELECT seq, deltas FROM ${table} ORDER BY seq`)).getRows()) {
    pending.merge(SummaryAccumulator.fromJSON(JSON.parse(String(deltas)) as Record<string, unknown[][]>));
    nextSeq = Math.max(nextSeq, Number(seq) + 1);
  }
  return { pending, nextSeq };
}

/**
 * Merges the summary journal of a database attached as `catalog` into its own summary tables,
 * in one transaction: a copy of the database (a snapshot) then reads as the source would after a flush.
 */
export async function mergeJournalInto(conn: DuckDBConnection, catalog: string): Promise<number> {
  const { pending } = await readJournal(conn, catalog);
  if (pending.size === 0) return 0;
  const tables = new TableWriter(conn);
  await tables.prepareUpserts(SUMMARY_COLUMNS);
  await tables.inTransaction(async () => [
    ...(await tables.upsertStatements(pending.deltas(), catalog)),
    ...EMPTIED_SUMMARY_ROWS.map((s) => s.replace('DELETE FROM ', `DELETE FROM ${q(catalog)}.main.`)),
    `DELETE FROM ${q(catalog)}.main.summary_journal`,
  ]);
  return pending.size;
}

/** A solution pattern found close enough to an older one to count as it from now on. */
export interface SolutionMerge {
  alias: string;
  canonical: string;
  similarity: number;
  modelId: string;
}

const SOLUTIONS = SUMMARY_TABLES.find((t) => t.table === 'solutions')!;

export interface ExecutionWriterOptions {
  /** Longest a committed delta waits in the journal before the summary tables take it in; 0 merges in every commit. */
  summaryIntervalMs?: number;
  /** Merge sooner when this many summary rows are held. */
  summaryMaxRows?: number;
  /** Task ids with feedback and no execution kept in memory (see ExecutionWriter). */
  maxWaitingFeedback?: number;
  /** A merge run by the timer failed (the deltas stay journalled and are merged later). */
  onSummaryError?(err: unknown): void;
}

const SUMMARY_COLUMNS = SUMMARY_TABLES.map((t) => ({ table: t.table, columns: t.columns.map((c) => c.name) }));

/**
 * Executions, rejects and feedback: one transaction per group commit. The summaries of what was
 * new are journalled in that transaction and merged into the summary tables in bulk (see
 * schema/007_summary_journal.sql); `flushSummaries()` merges now, for readers that need them current.
 */
export class ExecutionWriter {
  private readonly tables: TableWriter;
  private prepared = false;
  /** Task ids with feedback but (as far as we know) no execution yet: the only ones a new execution must link. */
  private readonly waitingFeedback = new Set<string>();
  /**
   * Past this many waiting task ids (feedback whose execution may never come), the set is dropped
   * and every new execution is checked against feedback in SQL: slower commits, bounded memory.
   */
  private readonly maxWaitingFeedback: number;
  private waitingOverflow = false;
  /** Journalled, not yet merged. */
  private pending = new SummaryAccumulator();
  private journalSeq = 0;
  private timer: NodeJS.Timeout | null = null;
  /** The connection runs one transaction at a time: commits and merges queue here. */
  private turn: Promise<unknown> = Promise.resolve();
  private readonly intervalMs: number;
  private readonly maxRows: number;
  /** Merged solution patterns: alias → canonical. */
  private readonly aliases = new Map<string, string>();
  private readonly resolve = (id: string) => this.aliases.get(id) ?? id;

  constructor(
    private readonly conn: DuckDBConnection,
    private readonly opts: ExecutionWriterOptions = {},
  ) {
    this.tables = new TableWriter(conn);
    this.intervalMs = opts.summaryIntervalMs ?? 1000;
    this.maxRows = opts.summaryMaxRows ?? 20_000;
    this.maxWaitingFeedback = opts.maxWaitingFeedback ?? 100_000;
  }

  private exclusive<T>(f: () => Promise<T>): Promise<T> {
    const run = this.turn.then(f, f);
    this.turn = run.catch(() => undefined);
    return run;
  }

  /** Summary rows committed but not yet in the summary tables. */
  get pendingSummaryRows(): number {
    return this.pending.size;
  }

  commit(batch: CommitBatch): Promise<CommitResult> {
    return this.exclusive(async () => {
      const result = await this.commitNow(batch);
      // The merge is a transaction of its own: a delta that cannot merge never refuses a commit.
      if (this.intervalMs === 0 || this.pending.size >= this.maxRows) await this.flushNow().catch((err: unknown) => this.opts.onSummaryError?.(err));
      else this.scheduleMerge();
      return result;
    });
  }

  /** Merges every journalled delta into the summary tables now. */
  flushSummaries(): Promise<void> {
    return this.exclusive(() => this.flushNow());
  }

  private async flushNow(): Promise<void> {
    await this.prepare();
    if (this.pending.size === 0) return;
    try {
      await this.tables.inTransaction(async () => [...(await this.tables.upsertStatements(this.pending.deltas())), ...EMPTIED_SUMMARY_ROWS, 'DELETE FROM summary_journal']);
    } catch (err) {
      this.opts.onSummaryError?.(err);
      await this.salvageJournal();
    }
    this.pending = new SummaryAccumulator();
  }

  /**
   * The bulk merge failed: merge the journal row by row, and move a row that cannot merge to
   * summary_journal_failed with its error, so one bad delta blocks neither ingest nor a restart.
   */
  private async salvageJournal(): Promise<void> {
    const rows = (await this.conn.runAndReadAll('SELECT seq, deltas FROM summary_journal ORDER BY seq')).getRows();
    for (const [seq, deltas] of rows) {
      try {
        const acc = SummaryAccumulator.fromJSON(JSON.parse(String(deltas)) as Record<string, unknown[][]>);
        await this.tables.inTransaction(async () => [...(await this.tables.upsertStatements(acc.deltas())), `DELETE FROM summary_journal WHERE seq = ${Number(seq)}`]);
      } catch (err) {
        this.opts.onSummaryError?.(err);
        const reason = String((err as Error).message ?? err).slice(0, 2000).replaceAll("'", "''");
        await this.tables.inTransaction(async () => [
          `INSERT INTO summary_journal_failed SELECT seq, committed_at, deltas, '${reason}', now() FROM summary_journal WHERE seq = ${Number(seq)}`,
          `DELETE FROM summary_journal WHERE seq = ${Number(seq)}`,
        ]);
      }
    }
  }

  /**
   * Makes each alias pattern count as its canonical one: its counts move into the canonical row,
   * its row goes, and later executions follow the alias. One transaction, after the journal is merged.
   */
  mergeSolutions(merges: readonly SolutionMerge[]): Promise<void> {
    return this.exclusive(async () => {
      await this.prepare();
      const todo = merges.filter(
        (m) => UUID.test(m.alias) && UUID.test(m.canonical) && !this.aliases.has(m.alias) && this.resolve(m.canonical) !== m.alias,
      );
      if (todo.length === 0) return;
      // Pending deltas may hold the alias's counts: merged first, they move with its row.
      await this.flushNow();
      const cols = SOLUTIONS.columns.map((c) => q(c.name));
      const lit = (s: string) => `'${s.replaceAll("'", "''")}'`;
      await this.tables.inTransaction(async () => {
        const statements: string[] = [];
        for (const m of todo) {
          const canonical = this.resolve(m.canonical);
          statements.push(
            `INSERT INTO solutions (${cols.join(', ')}) SELECT '${canonical}'::UUID, ${cols.slice(1).join(', ')} FROM solutions WHERE pattern_id = '${m.alias}' ON CONFLICT (pattern_id) DO UPDATE SET ${mergeClause(SOLUTIONS)}`,
            `DELETE FROM solutions WHERE pattern_id = '${m.alias}'`,
            // A chain (b → a, then a → c) collapses, so every alias names a pattern that exists.
            `UPDATE solution_aliases SET canonical_id = '${canonical}' WHERE canonical_id = '${m.alias}'`,
            `INSERT INTO solution_aliases VALUES ('${m.alias}', '${canonical}', ${Number(m.similarity)}, ${lit(m.modelId)}, now())`,
          );
        }
        return statements;
      });
      for (const m of todo) {
        const canonical = this.resolve(m.canonical);
        for (const [a, c] of this.aliases) if (c === m.alias) this.aliases.set(a, canonical);
        this.aliases.set(m.alias, canonical);
      }
    });
  }

  /** Stores the vectors of solution summaries (solutions.embedding), through the writer's turn. */
  setSolutionEmbeddings(modelId: string, vectors: readonly { patternId: string; embedding: Float32Array }[]): Promise<void> {
    return this.exclusive(async () => {
      const rows = vectors.filter((v) => UUID.test(v.patternId) && v.embedding.every(Number.isFinite));
      if (rows.length === 0) return;
      const values = rows.map((v) => `('${v.patternId}'::UUID, [${Array.from(v.embedding).join(',')}]::FLOAT[])`).join(', ');
      await this.tables.inTransaction(async () => [
        `UPDATE solutions SET embedding = v.e, embedding_model = '${modelId.replaceAll("'", "''")}' FROM (VALUES ${values}) v(id, e) WHERE solutions.pattern_id = v.id`,
      ]);
    });
  }

  /** Stops the merge timer; call flushSummaries() first to leave nothing journalled. */
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private async prepare(): Promise<void> {
    if (this.prepared) return;
    await this.tables.prepareUpserts(SUMMARY_COLUMNS);
    // Feedback that came before its execution, from earlier runs.
    const orphans = await this.conn.runAndReadAll('SELECT DISTINCT task_id::VARCHAR FROM feedback ANTI JOIN executions USING (task_id)');
    for (const r of orphans.getRows()) this.waitFor(String(r[0]));
    for (const [a, c] of (await this.conn.runAndReadAll('SELECT pattern_id::VARCHAR, canonical_id::VARCHAR FROM solution_aliases')).getRows()) this.aliases.set(String(a), String(c));
    // Deltas a stopped process journalled but did not merge.
    const journal = await readJournal(this.conn);
    this.pending = journal.pending;
    this.journalSeq = journal.nextSeq;
    this.prepared = true;
  }

  private async withoutExecution(taskIds: string[]): Promise<string[]> {
    const ids = [...new Set(taskIds)].filter((id) => UUID.test(id));
    if (ids.length === 0) return [];
    const r = await this.conn.runAndReadAll(`SELECT id FROM (VALUES ${ids.map((id) => `('${id}')`).join(', ')}) t(id) WHERE id::UUID NOT IN (SELECT task_id FROM executions WHERE task_id IN (${ids.map((id) => `'${id}'`).join(', ')}))`);
    return r.getRows().map((x) => String(x[0]));
  }

  private waitFor(taskId: string): void {
    if (this.waitingOverflow) return;
    this.waitingFeedback.add(taskId);
    if (this.waitingFeedback.size > this.maxWaitingFeedback) {
      this.waitingOverflow = true;
      this.waitingFeedback.clear();
    }
  }

  private scheduleMerge(): void {
    if (this.timer || this.pending.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flushSummaries().catch((err: unknown) => {
        this.opts.onSummaryError?.(err);
        this.scheduleMerge();
      });
    }, this.intervalMs);
    this.timer.unref();
  }

  private async commitNow(batch: CommitBatch): Promise<CommitResult> {
    await this.prepare();
    const executions = dedupeExecutions(batch.executions);
    let feedbackTasks: string[] = [];
    let delta = new SummaryAccumulator();
    const feedback = batch.feedback ?? [];
    const writes = [executionWrite(executions), rejectedWrite(batch.rejected), feedbackWrite(feedback), genaiPendingWrite(batch.genai?.pending ?? [])];
    const [inserted = 0, rejectedStored = 0, feedbackStored = 0] = await this.tables.write(writes, async (keys) => {
      const fresh = keys[0] == null ? executions : executions.filter((r) => keys[0]!.has(r.task_id));
      const freshFeedback = keys[2] == null ? feedback : feedback.filter((f) => keys[2]!.has(f.feedback_id));
      // New feedback, and executions whose feedback came first: the latest opinion shows on the row.
      const linked = this.waitingOverflow
        ? fresh.map((r) => r.task_id)
        : this.waitingFeedback.size || freshFeedback.length
          ? fresh.filter((r) => this.waitingFeedback.has(r.task_id)).map((r) => r.task_id)
          : [];
      const update = TableWriter.latestFeedbackSql([...linked, ...freshFeedback.map((f) => f.task_id)]);
      const after = update ? [update] : [];
      delta = summarize(fresh, undefined, this.resolve);
      if (batch.genai) {
        await applyGenAiWork(this.conn, batch.genai, keys[0] ?? null);
        summarizeRevisions(batch.genai.revisions ?? [], delta, this.resolve);
      }
      // Only feedback whose execution is not there yet waits (this transaction's rows included).
      feedbackTasks = freshFeedback.length ? await this.withoutExecution(freshFeedback.map((f) => f.task_id)) : [];
      if (delta.size > 0) {
        const json = delta.serialize();
        // A literal is cheapest in the same call as the COMMIT; a large one parses faster as a parameter.
        if (json.length <= 65_536) after.push(`INSERT INTO summary_journal VALUES (${this.journalSeq}, now(), '${json.replaceAll("'", "''")}')`);
        else await this.conn.run('INSERT INTO summary_journal VALUES ($1, now(), $2)', [this.journalSeq, json]);
      }
      return after;
    });
    // Only after the commit: a rolled-back transaction changes nothing here.
    if (delta.size > 0) {
      this.pending.merge(delta);
      this.journalSeq++;
    }
    for (const id of feedbackTasks) this.waitFor(id);
    if (this.waitingFeedback.size) for (const r of executions) this.waitingFeedback.delete(r.task_id);
    return { inserted, duplicates: batch.executions.length - inserted, rejectedStored, feedbackStored };
  }
}
