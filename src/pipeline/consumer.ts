// The one interface between stages: a stage hands a batch on and learns when it is durable.
// The pipeline owns this contract; the store implements it. Field names are ConvertedRequest's,
// so a converted request is a batch as it stands.
import type { FeedbackRow } from '../convert/feedback.js';
import type { ExecutionRow } from '../convert/record.js';
import type { RejectedSpan } from '../convert/rejected.js';

export interface CommitBatch {
  executions: readonly ExecutionRow[];
  rejected: readonly RejectedSpan[];
  feedback?: readonly FeedbackRow[];
}

export interface CommitResult {
  inserted: number;
  duplicates: number;
  rejectedStored: number;
  feedbackStored: number;
}

export interface BatchConsumer {
  /** Resolves once the batch is committed; rejects with a typed error otherwise. */
  consume(batch: CommitBatch): Promise<CommitResult>;
}
