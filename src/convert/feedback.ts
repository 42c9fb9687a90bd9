// A FeedbackRecord: what a user thought of an execution (review §1.1's feedback table). A producer
// emits one as `feedback.*` attributes on a span (orb-learn/emitter's recordFeedback); the column
// names are the SQL table's, the attribute names are FEEDBACK_ATTRIBUTES.
import { z } from 'zod';
import { identifier, idUuid } from './record.js';

export const FEEDBACK_PREFIX = 'feedback.';

export const FeedbackRecord = z.object({
  /** The execution this feedback is about. Feedback may arrive before its execution. */
  task_id: idUuid,
  /** Taken from the span's start time when left out. */
  timestamp: z.date().optional(),
  /** What kind of feedback: e.g. `rating`, `thumbs`, `correction`. */
  feedback_type: identifier.nullable().default(null),
  rating: z.int().min(1).max(5).nullable().default(null),
  /** Whether the user accepted the result; the latest one shows in executions.user_accepted. */
  accepted: z.boolean().nullable().default(null),
  comment: z.string().nullable().default(null),
  user_id: identifier.nullable().default(null),
});

export type FeedbackRecordInput = z.input<typeof FeedbackRecord>;
export type FeedbackRecord = z.output<typeof FeedbackRecord>;

/** Record field → span attribute (the timestamp is the span's own start time). */
export const FEEDBACK_ATTRIBUTES = {
  task_id: 'feedback.task_id',
  feedback_type: 'feedback.type',
  rating: 'feedback.rating',
  accepted: 'feedback.accepted',
  comment: 'feedback.comment',
  user_id: 'feedback.user_id',
} as const satisfies Partial<Record<keyof FeedbackRecord, `${typeof FEEDBACK_PREFIX}${string}`>>;

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
