// A FeedbackRecord: what a user thought of an execution (review §1.1's feedback table). A producer
// emits one as `feedback.*` attributes on a span (orb-learn/emitter's recordFeedback); the column
// names are the SQL table's, the attribute names are FEEDBACK_ATTRIBUTES.
import { z } from 'zod';

export const FEEDBACK_PREFIX = 'feedback.';

export const FeedbackRecord = z.object({
  /** The execution this feedback is about. Feedback may arrive before its execution. */
  task_id: z.guid().transform((s) => s.toLowerCase()),
  /** Taken from the span's start time when left out. */
  timestamp: z.date().optional(),
  /** What kind of feedback: e.g. `rating`, `thumbs`, `correction`. */
  feedback_type: z.string().min(1, 'must not be empty').nullable().default(null),
  rating: z.int().min(1).max(5).nullable().default(null),
  comment: z.string().nullable().default(null),
  user_id: z.string().min(1, 'must not be empty').nullable().default(null),
});

export type FeedbackRecordInput = z.input<typeof FeedbackRecord>;
export type FeedbackRecord = z.output<typeof FeedbackRecord>;

/** Record field → span attribute (the timestamp is the span's own start time). */
export const FEEDBACK_ATTRIBUTES = {
  task_id: 'feedback.task_id',
  feedback_type: 'feedback.type',
  rating: 'feedback.rating',
  comment: 'feedback.comment',
  user_id: 'feedback.user_id',
} as const satisfies Partial<Record<keyof FeedbackRecord, `${typeof FEEDBACK_PREFIX}${string}`>>;
