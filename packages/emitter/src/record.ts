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

export const ExecutionRecord = z.object({
  task_id: z.guid().transform((s) => s.toLowerCase()),
  timestamp: z.date(),

  task_type: text,
  task_description: text,
  repo: text,
  file_count: count.default(0),
  estimated_tokens: count.default(0),

  model_tier: text,
  pool_type: text,
  swarm_topology: z.string().nullable().default(null),
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
