// feedback.* spans and gen_ai.evaluation.result events → FeedbackRows. Pure, like span-to-record.
//
// gen_ai.evaluation.result (an event on an execution span) maps by gen_ai.evaluation.name:
//   rating, user_rating, stars  → feedback_type 'rating', rating = the score (must be 1–5)
//   anything else               → feedback_type 'evaluation:<name>', score on 0–100
//                                 (a score in [0, 1] is scaled ×100), no rating
// An evaluator's score is not a user's opinion, so only rating-named evaluations touch
// executions.user_rating (through "the latest rating wins").
import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import { readAnyValue, attributesToObject, int64ToBigInt } from './attributes.js';
import { FEEDBACK_ATTRIBUTES, FEEDBACK_PREFIX, FeedbackRow } from './feedback.js';
import { rejectedSpan, type RejectedSpan, type SpanOrigin } from './rejected.js';
import { wrongType } from './issues.js';
import { uuidV5 } from './task-id.js';
import { nanosToDate, timeProblem } from './time.js';
import type { WireSpan } from './wire-types.js';

export const EVALUATION_EVENT = 'gen_ai.evaluation.result';
const RATING_NAMES = new Set(['rating', 'user_rating', 'stars']);

export type FeedbackContext = SpanOrigin;

const KIND: Record<string, 'string' | 'int' | 'bool'> = {
  task_id: 'string',
  feedback_type: 'string',
  rating: 'int',
  accepted: 'bool',
  comment: 'string',
  user_id: 'string',
};
const FIELD_OF = new Map(Object.entries(FEEDBACK_ATTRIBUTES).map(([field, attr]) => [attr as string, field]));

export function isFeedbackSpan(span: WireSpan): boolean {
  return (span.attributes ?? []).some((kv) => kv.key.startsWith(FEEDBACK_PREFIX));
}

function issues(err: z.ZodError, attr: (f: string) => string): string[] {
  return err.issues.map((i) => `${attr(String(i.path[0] ?? ''))}: ${i.code === 'invalid_type' ? wrongType(i) : i.message}`);
}

export function convertFeedbackSpan(span: WireSpan, ctx: FeedbackContext): { feedback: FeedbackRow } | { rejected: RejectedSpan } {
  const input: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const kv of span.attributes ?? []) {
    const field = FIELD_OF.get(kv.key);
    if (!field) continue;
    const a = readAnyValue(kv.value);
    if (a.kind !== KIND[field]) {
      problems.push(`${kv.key}: expected ${KIND[field]}, got ${a.kind}`);
      continue;
    }
    input[field] = a.value;
  }
  const start = int64ToBigInt(span.startTimeUnixNano);
  const late = start > 0n ? timeProblem('span: start_time_unix_nano', start, ctx.receivedAt) : 'span: start_time_unix_nano is missing';
  if (late) problems.push(late);
  const parsed = FeedbackRow.safeParse({
    ...input,
    feedback_id: ctx.traceId && ctx.spanId ? uuidV5(`feedback/${ctx.traceId}/${ctx.spanId}`) : randomUUID(),
    timestamp: nanosToDate(start),
    source: 'span',
    trace_id: ctx.traceId,
    span_id: ctx.spanId,
    received_at: ctx.receivedAt,
  }, { reportInput: true });
  if (problems.length === 0 && parsed.success) return { feedback: parsed.data };
  if (!parsed.success) problems.push(...issues(parsed.error, (f) => (FEEDBACK_ATTRIBUTES as Record<string, string>)[f] ?? `feedback.${f}`));
  return { rejected: rejectedSpan(span, ctx, problems.join('; '), ctx.traceId && ctx.spanId ? `rejected-feedback/${ctx.traceId}/${ctx.spanId}` : null) };
}

/** The evaluation events of an execution span, as feedback about that execution. */
export function evaluationFeedback(span: WireSpan, taskId: string, ctx: FeedbackContext): { feedback: FeedbackRow[]; rejected: RejectedSpan[] } {
  const out: { feedback: FeedbackRow[]; rejected: RejectedSpan[] } = { feedback: [], rejected: [] };
  (span.events ?? []).forEach((ev, i) => {
    if (ev.name !== EVALUATION_EVENT) return;
    const attrs = attributesToObject(ev.attributes);
    const name = typeof attrs['gen_ai.evaluation.name'] === 'string' ? (attrs['gen_ai.evaluation.name'] as string) : 'unnamed';
    const value = attrs['gen_ai.evaluation.score.value'];
    const id = ctx.traceId && ctx.spanId ? uuidV5(`evaluation/${ctx.traceId}/${ctx.spanId}/${i}`) : randomUUID();
    const isRating = RATING_NAMES.has(name.toLowerCase());
    const at = ev.timeUnixNano ? int64ToBigInt(ev.timeUnixNano) : 0n;
    let reason: string | null = at > 0n ? timeProblem('time_unix_nano', at, ctx.receivedAt) : null;
    if (reason === null && (typeof value !== 'number' || !Number.isFinite(value)))
      reason = `gen_ai.evaluation.score.value: expected a finite number, got ${value === undefined ? 'nothing' : String(value)}`;
    else if (reason === null && isRating && ((value as number) < 1 || (value as number) > 5)) reason = `gen_ai.evaluation.score.value: a ${name} must be 1–5, got ${value}`;
    if (reason !== null) {
      out.rejected.push(rejectedSpan(span, ctx, `event ${EVALUATION_EVENT}[${i}]: ${reason}`, `rejected-evaluation/${id}`, attrs));
      return;
    }
    const v = value as number;
    const explanation = attrs['gen_ai.evaluation.explanation'] ?? attrs['gen_ai.evaluation.score.label'];
    out.feedback.push(
      FeedbackRow.parse({
        feedback_id: id,
        task_id: taskId,
        timestamp: at > 0n ? nanosToDate(at) : ctx.receivedAt,
        feedback_type: isRating ? 'rating' : `evaluation:${name}`,
        rating: isRating ? Math.round(v) : null,
        score: isRating ? v : v >= 0 && v <= 1 ? v * 100 : v,
        comment: typeof explanation === 'string' ? explanation : null,
        source: 'evaluation',
        trace_id: ctx.traceId,
        span_id: ctx.spanId,
        received_at: ctx.receivedAt,
      }),
    );
  });
  return out;
}
