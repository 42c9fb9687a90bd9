// The ExecutionRecord: the one definition of what an execution is (review §2.3, plus
// predicted_success_probability). The ingester validates every span with it (orb-learn's
// src/convert re-exports it), its SQL schema and span mapping derive from it, and producers validate
// with it through this package, so producer and ingester cannot drift.
import { z } from 'zod';

export const ERROR_TYPES = ['timeout', 'quality_gate', 'crash', 'validation', 'unknown'] as const;
export const ErrorType = z.enum(ERROR_TYPES);

const probability = z.number().min(0).max(1);
const nonNegative = z.number().min(0);
const count = z.int().min(0);
const text = z.string().min(1, 'must not be empty');
/**
 * Names that group executions (task type, repo, tier, pool): a NUL would split them in C tools and
 * a U+FFFD means the producer sent invalid UTF-8, which the decoder replaced.
 */
const clean = (s: z.ZodString) =>
  s.regex(/^[^\u0000]*$/, 'must not contain a NUL character').regex(/^[^\uFFFD]*$/, 'must not contain U+FFFD (the request carried invalid UTF-8)');
export const identifier = clean(text);
export const NIL_UUID = '00000000-0000-0000-0000-000000000000';
/** A UUID that identifies something: the nil UUID is "no id", which would merge every such task. */
export const idUuid = z
  .guid()
  .refine((s) => s !== NIL_UUID, 'must not be the nil UUID')
  .transform((s) => s.toLowerCase());

export const ExecutionRecord = z.object({
  task_id: idUuid,
  timestamp: z.date(),

  task_type: identifier,
  task_description: text,
  repo: identifier,
  file_count: count.default(0),
  estimated_tokens: count.default(0),

  model_tier: identifier,
  pool_type: identifier,
  swarm_topology: clean(z.string()).nullable().default(null),
  /** The router's confidence; absent on runs learned from GenAI/OpenInference spans (no standard source). */
  routing_confidence: probability.nullable().default(null),
  predicted_success_probability: probability.nullable().default(null),
  complexity_score: z.int().min(0).max(100).default(50),

  success: z.boolean(),
  duration_seconds: nonNegative,
  quality_score: z.int().min(0).max(100).nullable().default(null),

  /** The router's estimate; optional for the same reason. Queries that need it skip rows without it. */
  cost_estimate: nonNegative.nullable().default(null),
  actual_cost: nonNegative,

  error_type: ErrorType.nullable().default(null),
  error_message: z.string().nullable().default(null),

  user_accepted: z.boolean().nullable().default(null),
  user_rating: z.int().min(1).max(5).nullable().default(null),

  peak_memory_mb: nonNegative.nullable().default(null),
  cpu_time_seconds: nonNegative.nullable().default(null),

  solution_summary: z.string().nullable().default(null),

  metadata: z.record(z.string(), z.unknown()).default({}),

  // The router's decision, for joining an outcome back to it (schema/010): the id recommend
  // returned and the probability with which it picked this tier.
  recommendation_id: z.string().min(1, 'must not be empty').max(128).nullable().default(null),
  routing_propensity: z.number().gt(0).max(1).nullable().default(null),
});

/** What a producer hands in (defaults may be left out). */
export type ExecutionRecordInput = z.input<typeof ExecutionRecord>;
export type ExecutionRecord = z.output<typeof ExecutionRecord>;
