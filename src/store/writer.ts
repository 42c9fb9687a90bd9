// The store's side of the stage contract: one transaction per group commit, for executions,
// rejects and feedback. The connection runs one transaction at a time, so this is a slim
// coordinator of the writer's exclusive turn; the work is done by the table writer
// (table-writer.ts), the summary journal (summary-journal.ts), feedback linking
// (feedback-link.ts) and the solution patterns (solution-patterns.ts).
import type { DuckDBConnection } from '@duckdb/node-api';
import type { CommitBatch, CommitResult } from '../pipeline/consumer.js';
import { FeedbackLinker } from './feedback-link.js';
import { executionWrite, feedbackWrite, rejectedWrite } from './rows.js';
import { SolutionPatterns, type SolutionMerge } from './solution-patterns.js';
import { SummaryAccumulator, summarize, summarizeRevisions } from './summaries.js';
import { applyGenAiWork, genaiPendingWrite } from './genai-pending.js';
import { SummaryJournal } from './summary-journal.js';
import { TableWriter } from './table-writer.js';

export interface ExecutionWriterOptions {
  /** Longest a committed delta waits in the journal before the summary tables take it in; 0 merges in every commit. */
  summaryIntervalMs?: number;
  /** Merge sooner when this many summary rows are held. */
  summaryMaxRows?: number;
  /** Task ids with feedback and no execution kept in memory (see FeedbackLinker). */
  maxWaitingFeedback?: number;
  /** A merge run by the timer failed (the deltas stay journalled and are merged later). */
  onSummaryError?(err: unknown): void;
}

/**
 * Executions, rejects and feedback: one transaction per group commit. The summaries of what was
 * new are journalled in that transaction and merged into the summary tables in bulk (see
 * schema/007_summary_journal.sql); `flushSummaries()` merges now, for readers that need them current.
 */
export class ExecutionWriter {
  private readonly tables: TableWriter;
  private readonly journal: SummaryJournal;
  private readonly feedback: FeedbackLinker;
  private readonly solutions: SolutionPatterns;
  private prepared = false;
  private timer: NodeJS.Timeout | null = null;
  /** The connection runs one transaction at a time: commits and merges queue here. */
  private turn: Promise<unknown> = Promise.resolve();
  private readonly intervalMs: number;
  private readonly maxRows: number;

  constructor(
    private readonly conn: DuckDBConnection,
    private readonly opts: ExecutionWriterOptions = {},
  ) {
    this.tables = new TableWriter(conn);
    this.journal = new SummaryJournal(conn, this.tables, (err) => opts.onSummaryError?.(err));
    this.feedback = new FeedbackLinker(conn, opts.maxWaitingFeedback ?? 100_000);
    this.solutions = new SolutionPatterns(conn);
    this.intervalMs = opts.summaryIntervalMs ?? 1000;
    this.maxRows = opts.summaryMaxRows ?? 20_000;
  }

  private exclusive<T>(f: () => Promise<T>): Promise<T> {
    const run = this.turn.then(f, f);
    this.turn = run.catch(() => undefined);
    return run;
  }

  /** Summary rows committed but not yet in the summary tables. */
  get pendingSummaryRows(): number {
    return this.journal.size;
  }

  commit(batch: CommitBatch): Promise<CommitResult> {
    return this.exclusive(async () => {
      const result = await this.commitNow(batch);
      // The merge is a transaction of its own: a delta that cannot merge never refuses a commit.
      if (this.intervalMs === 0 || this.journal.size >= this.maxRows) await this.flushNow().catch((err: unknown) => this.opts.onSummaryError?.(err));
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
    await this.journal.merge();
  }

  /** Makes each alias pattern count as its canonical one (see SolutionPatterns.merge), after the journal is merged. */
  mergeSolutions(merges: readonly SolutionMerge[]): Promise<void> {
    return this.exclusive(async () => {
      await this.prepare();
      const todo = this.solutions.todo(merges);
      if (todo.length === 0) return;
      // Pending deltas may hold the alias's counts: merged first, they move with its row.
      await this.flushNow();
      await this.solutions.merge(todo);
    });
  }

  /** Stores the vectors of solution summaries (solutions.embedding), through the writer's turn. */
  setSolutionEmbeddings(modelId: string, vectors: readonly { patternId: string; embedding: Float32Array }[]): Promise<void> {
    return this.exclusive(() => this.solutions.setEmbeddings(modelId, vectors));
  }

  /** Stops the merge timer; call flushSummaries() first to leave nothing journalled. */
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private async prepare(): Promise<void> {
    if (this.prepared) return;
    await this.journal.load();
    await this.feedback.load();
    await this.solutions.load();
    this.prepared = true;
  }

  private scheduleMerge(): void {
    if (this.timer || this.journal.size === 0) return;
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
    const { write: executionRows, kept: executions } = executionWrite(batch.executions);
    const feedback = batch.feedback ?? [];
    let waiting: string[] = [];
    let delta = new SummaryAccumulator();
    const writes = [executionRows, rejectedWrite(batch.rejected), feedbackWrite(feedback), genaiPendingWrite(batch.genaiPending ?? [])];
    const [inserted = 0, rejectedStored = 0, feedbackStored = 0] = await this.tables.write(writes, async (keys) => {
      const fresh = keys[0] == null ? executions : executions.filter((r) => keys[0]!.has(r.task_id));
      const freshFeedback = keys[2] == null ? feedback : feedback.filter((f) => keys[2]!.has(f.feedback_id));
      // New feedback, and executions whose feedback came first: the latest opinion shows on the row.
      const link = this.feedback.linkSql(fresh, freshFeedback);
      delta = summarize(fresh, undefined, this.solutions.resolve);
      if (batch.genai) {
        // The settler's writes: pending spans used or dropped, late calls revising executions.
        await applyGenAiWork(this.conn, batch.genai, keys[0] ?? null);
        summarizeRevisions(batch.genai.revisions ?? [], delta, this.solutions.resolve);
      }
      // Only feedback whose execution is not there yet waits (this transaction's rows included).
      waiting = freshFeedback.length ? await this.feedback.stillWaiting(freshFeedback) : [];
      return [...(link ? [link] : []), ...(await this.journal.record(delta))];
    });
    // Only after the commit: a rolled-back transaction changes nothing here.
    this.journal.committed(delta);
    this.feedback.committed(waiting, executions);
    return { inserted, duplicates: batch.executions.length - inserted, rejectedStored, feedbackStored };
  }
}
