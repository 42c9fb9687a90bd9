// The one interface between stages: a stage hands a batch on and learns when it is durable.
// The pipeline owns this contract; the store implements it. Field names are ConvertedRequest's,
// so a converted request is a batch as it stands.
import type { FeedbackRow } from '../convert/feedback.js';
import type { ExecutionRow } from '../convert/record.js';
import type { RejectedSpan } from '../convert/rejected.js';
import type { PendingSpan } from '../convert/genai/spans.js';

export interface CommitBatch {
  executions: readonly ExecutionRow[];
  rejected: readonly RejectedSpan[];
  feedback?: readonly FeedbackRow[];
  /** GenAI agent spans and inference calls, kept (committed) until their run is assembled. */
  genaiPending?: readonly PendingSpan[];
  /** Estimated size in memory of the rows, in bytes (conversion's estimate); unset, the queue assumes a typical row. */
  bytes?: number;
  /** The GenAI settler's writes, in the same transaction as the executions. */
  genai?: GenAiWork;
}

/** An assembled run: its agent span leaves; its calls leave only if its execution was new. */
export interface SettledWork {
  agent: string;
  task_id: string | null;
  calls: readonly string[];
}

/** A stored execution re-derived with late calls. */
export interface Revision {
  old: ExecutionRow;
  next: ExecutionRow;
  calls: readonly string[];
}

export interface GenAiWork {
  settled?: readonly SettledWork[];
  revisions?: readonly Revision[];
  /** Pending spans to drop: calls already counted (redeliveries), expired calls. */
  drop?: readonly string[];
}

export interface CommitResult {
  inserted: number;
  duplicates: number;
  rejectedStored: number;
  feedbackStored: number;
  /** This request's rows the database refused for good, kept in rejected_spans with its reason. */
  refused?: readonly RejectedSpan[];
}

export interface BatchConsumer {
  /** Resolves once the batch is committed; rejects with a typed error otherwise. */
  consume(batch: CommitBatch): Promise<CommitResult>;
}
