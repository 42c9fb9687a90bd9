// Feedback that arrives over the API or the CLI (not in a span): validated into a FeedbackRow.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { FeedbackRecord, FeedbackRow } from '../convert/feedback.js';
import { InvalidInputError } from '../errors.js';
import { firstIssue } from '../convert/issues.js';

export const FeedbackInput = FeedbackRecord.extend({
  /** An idempotency key: the same id twice stores one row. */
  feedback_id: z.guid().optional(),
  timestamp: z.coerce.date().optional(),
}).strict();

export function feedbackFromInput(raw: unknown, now = new Date()): FeedbackRow {
  const parsed = FeedbackInput.safeParse(raw, { reportInput: true });
  if (!parsed.success) throw new InvalidInputError(`feedback: ${firstIssue(parsed.error, { missing: 'is required' })}`);
  const f = parsed.data;
  return FeedbackRow.parse({ ...f, feedback_id: f.feedback_id ?? randomUUID(), timestamp: f.timestamp ?? now, source: 'api', received_at: now });
}
