// Group commit: concurrent requests share one transaction. A request is acknowledged only
// when the transaction holding its rows has committed. The queue is bounded in rows and in bytes
// (the rows' estimated size in memory); when full, callers get a RetryableError (rows) or an
// OverloadedError (bytes), the collector retries, and memory stays bounded.
import { InvalidInputError, isPermanentStoreError, OverloadedError, RetryableError } from '../errors.js';
import { commitBisecting, emptyResult } from './bisect.js';
import type { RejectedSpan } from '../convert/rejected.js';
import type { BatchConsumer, CommitBatch, CommitResult } from './consumer.js';

/** Where a group goes: the store's writer, in one transaction. */
export interface Committer {
  commit(batch: CommitBatch): Promise<CommitResult>;
}

export interface GroupCommitOptions {
  /** Most rows in one transaction. */
  maxBatchRows: number;
  /** Longest a request waits for company before its transaction starts. */
  maxWaitMs: number;
  /** Most rows waiting; beyond it, requests are refused as retryable. */
  maxQueueRows: number;
  /** Most bytes waiting (by estimateBytes); beyond it, requests are refused as overloaded. */
  maxQueueBytes?: number;
  retryAfterSeconds: number;
}

export interface GroupCommitHooks {
  onCommit?(batch: CommitBatch, seconds: number, result: CommitResult): void;
  onDepth?(rows: number, bytes: number): void;
  /** A commit failed (its requests are refused as retryable): the store may have been invalidated by it. */
  onCommitError?(err: unknown): void;
}

interface Pending {
  batch: CommitBatch;
  rows: number;
  bytes: number;
  resolve(r: CommitResult): void;
  reject(e: unknown): void;
}

const sizeOf = (b: CommitBatch) => b.executions.length + b.rejected.length + (b.feedback?.length ?? 0) + (b.genaiPending?.length ?? 0);

/** A row's size in memory when its batch does not say (an API feedback row, a settled run). */
export const DEFAULT_ROW_BYTES = 2048;

/** The batch's own estimate (conversion adds up its spans' attributes), else rows × a typical row. */
export const estimateBytes = (b: CommitBatch, rows = sizeOf(b)) => b.bytes ?? rows * DEFAULT_ROW_BYTES;

export class GroupCommitQueue implements BatchConsumer {
  private pending: Pending[] = [];
  private pendingRows = 0;
  private pendingBytes = 0;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private closing = false;

  constructor(
    private readonly sink: Committer,
    private readonly opts: GroupCommitOptions,
    private readonly hooks: GroupCommitHooks = {},
  ) {}

  get depth(): number {
    return this.pendingRows;
  }

  /** Estimated bytes of the rows waiting. */
  get depthBytes(): number {
    return this.pendingBytes;
  }

  private lastActive = 0;

  /** Milliseconds since the queue last held rows; 0 while it does. Background work waits for a lull. */
  idleMs(): number {
    return this.pendingRows > 0 ? 0 : performance.now() - this.lastActive;
  }

  consume(batch: CommitBatch): Promise<CommitResult> {
    const rows = sizeOf(batch);
    if (rows === 0) return Promise.resolve(emptyResult());
    if (this.closing) return Promise.reject(new RetryableError('orb-learn is shutting down', this.opts.retryAfterSeconds));
    // An empty queue admits any request, so one larger than the bound is not refused forever.
    if (this.pendingRows > 0 && this.pendingRows + rows > this.opts.maxQueueRows) {
      return Promise.reject(
        new RetryableError(
          `write queue full (${this.pendingRows} rows waiting, limit ${this.opts.maxQueueRows})`,
          this.opts.retryAfterSeconds,
        ),
      );
    }
    const bytes = estimateBytes(batch, rows);
    const maxBytes = this.opts.maxQueueBytes ?? Infinity;
    if (this.pendingRows > 0 && this.pendingBytes + bytes > maxBytes) {
      return Promise.reject(
        new OverloadedError(
          `write queue full (${this.pendingBytes} bytes waiting, limit ${maxBytes}, from --memory-limit)`,
          this.opts.retryAfterSeconds,
        ),
      );
    }
    return new Promise<CommitResult>((resolve, reject) => {
      this.pending.push({ batch, rows, bytes, resolve, reject });
      this.pendingRows += rows;
      this.pendingBytes += bytes;
      this.hooks.onDepth?.(this.pendingRows, this.pendingBytes);
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running) return;
    if (this.pendingRows >= this.opts.maxBatchRows || this.closing) {
      this.startFlush();
    } else if (!this.timer) {
      this.timer = setTimeout(() => this.startFlush(), this.opts.maxWaitMs);
    }
  }

  private startFlush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.running || this.pending.length === 0) return;
    this.running = this.flushOnce().finally(() => {
      this.running = null;
      // What arrived during that commit has waited long enough: it forms the next group now.
      if (this.pending.length > 0) this.startFlush();
    });
  }

  private take(): Pending[] {
    const group: Pending[] = [];
    let rows = 0;
    while (this.pending.length > 0) {
      const next = this.pending[0]!;
      if (group.length > 0 && rows + next.rows > this.opts.maxBatchRows) break;
      group.push(this.pending.shift()!);
      rows += next.rows;
    }
    return group;
  }

  private async flushOnce(): Promise<void> {
    const group = this.take();
    const batch: CommitBatch = {
      executions: group.flatMap((p) => p.batch.executions),
      rejected: group.flatMap((p) => p.batch.rejected),
      feedback: group.flatMap((p) => p.batch.feedback ?? []),
    };
    // Requests carry only pending GenAI spans; assembled runs go to the writer from the settler.
    const pending = group.flatMap((p) => p.batch.genaiPending ?? []);
    if (pending.length > 0) batch.genaiPending = pending;
    const rows = group.reduce((n, p) => n + p.rows, 0);
    const bytes = group.reduce((n, p) => n + p.bytes, 0);
    const commit = async (b: CommitBatch): Promise<CommitResult> => {
      const started = performance.now();
      const result = await this.sink.commit(b);
      this.hooks.onCommit?.(b, (performance.now() - started) / 1000, result);
      return result;
    };
    try {
      let result: CommitResult;
      let refused: RejectedSpan[][] = [];
      try {
        result = await commit(batch);
      } catch (err) {
        // A row the database refuses for good would fail its whole group on every retry.
        if (!isPermanentStoreError(err)) throw err;
        ({ result, refused } = await commitBisecting(commit, group.map((p) => p.batch), err));
      }
      // Per-request counts are not tracked inside a shared transaction; the group total is reported,
      // with each request's own refused rows.
      group.forEach((p, i) => p.resolve(refused[i]?.length ? { ...result, refused: refused[i] } : result));
    } catch (err) {
      this.hooks.onCommitError?.(err);
      const message = `commit failed: ${(err as Error).message}`;
      const failure = isPermanentStoreError(err)
        ? new InvalidInputError(message, { cause: err })
        : new RetryableError(message, this.opts.retryAfterSeconds, { cause: err });
      for (const p of group) p.reject(failure);
    } finally {
      this.lastActive = performance.now();
      this.pendingRows -= rows;
      this.pendingBytes -= bytes;
      this.hooks.onDepth?.(this.pendingRows, this.pendingBytes);
    }
  }

  /** Refuses new work, then commits everything already accepted. */
  async drain(): Promise<void> {
    this.closing = true;
    while (this.running || this.pending.length > 0) {
      if (!this.running) this.startFlush();
      await this.running;
    }
  }
}
