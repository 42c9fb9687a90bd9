// A FeedbackRecord: what a user thought of an execution (review §1.1's feedback table). A producer
// emits one as `feedback.*` attributes on a span (recordFeedback); the ingester validates with the
// same schema. The field names are the SQL table's columns, the attribute names FEEDBACK_ATTRIBUTES.
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
