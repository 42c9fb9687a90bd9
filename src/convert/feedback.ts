// Feedback as the ingester stores it. The FeedbackRecord itself is defined in the emitter package
// (packages/emitter/src/feedback.ts), shared by producer and ingester.
import { z } from 'zod';
import { FeedbackRecord } from '@orb-learn/emitter';

export { FEEDBACK_ATTRIBUTES, FEEDBACK_PREFIX, FeedbackRecord, type FeedbackRecordInput } from '@orb-learn/emitter';

export const FEEDBACK_SOURCES = ['span', 'evaluation', 'api'] as const;

/** A stored feedback row: the record plus its identity and provenance. */
export const FeedbackRow = FeedbackRecord.extend({
  feedback_id: z.guid().transform((s) => s.toLowerCase()),
  timestamp: z.date(),
  /** gen_ai.evaluation.score.value, as sent. */
  score: z.number().nullable().default(null),
  source: z.enum(FEEDBACK_SOURCES),
  trace_id: z.string().nullable().default(null),
  span_id: z.string().nullable().default(null),
  received_at: z.date(),
});
export type FeedbackRow = z.output<typeof FeedbackRow>;
