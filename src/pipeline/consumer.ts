// The one interface between stages: a stage hands a batch on and learns when it is durable.
import type { CommitBatch, CommitResult } from '../store/writer.js';

export type { CommitBatch, CommitResult };

export interface BatchConsumer {
  /** Resolves once the batch is committed; rejects with a typed error otherwise. */
  consume(batch: CommitBatch): Promise<CommitResult>;
}
