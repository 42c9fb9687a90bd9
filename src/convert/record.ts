// The ExecutionRecord: the one definition of what an execution is (review §2.3, plus
// predicted_success_probability). The SQL schema, the span mapping and the producer-side
// emitter all derive from it; test/store/schema-agreement.test.ts proves the SQL agrees.
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
});

/** What a producer hands in (defaults may be left out). */
export type ExecutionRecordInput = z.input<typeof ExecutionRecord>;
export type ExecutionRecord = z.output<typeof ExecutionRecord>;

/** A stored row: the record plus where it came from. */
export const ExecutionRow = ExecutionRecord.extend({
  trace_id: z.string().nullable(),
  span_id: z.string().nullable(),
  service_name: z.string().nullable(),
  received_at: z.date(),
});
export type ExecutionRow = z.output<typeof ExecutionRow>;

export type FieldKind = 'uuid' | 'timestamp' | 'string' | 'int' | 'double' | 'bool' | 'enum' | 'json';

export interface FieldSpec {
  name: string;
  kind: FieldKind;
  /** NOT NULL in SQL: the field can never be null once parsed. */
  required: boolean;
  /** A default applies when the input leaves it out. */
  hasDefault: boolean;
}

interface Def {
  type: string;
  innerType?: { _zod: { def: Def } };
  in?: { _zod: { def: Def } };
  format?: string;
  checks?: { _zod: { def: { check: string; format?: string } } }[];
}

function kindOf(schema: { _zod: { def: Def } }): { kind: FieldKind; nullable: boolean; hasDefault: boolean } {
  let def = schema._zod.def;
  let nullable = false;
  let hasDefault = false;
  for (;;) {
    if (def.type === 'nullable' || def.type === 'optional') nullable = true;
    else if (def.type === 'default') hasDefault = true;
    else if (def.type === 'pipe') {
      def = def.in!._zod.def;
      continue;
    } else break;
    def = def.innerType!._zod.def;
  }
  const formats = [def.format, ...(def.checks ?? []).map((c) => c._zod.def.format)];
  let kind: FieldKind;
  switch (def.type) {
    case 'string':
      kind = formats.includes('guid') || formats.includes('uuid') ? 'uuid' : 'string';
      break;
    case 'number':
      kind = formats.includes('safeint') ? 'int' : 'double';
      break;
    case 'boolean':
      kind = 'bool';
      break;
    case 'date':
      kind = 'timestamp';
      break;
    case 'enum':
      kind = 'enum';
      break;
    case 'record':
      kind = 'json';
      break;
    default:
      throw new Error(`unsupported zod type ${def.type}`);
  }
  return { kind, nullable, hasDefault };
}

function fieldsOf(shape: Record<string, unknown>): FieldSpec[] {
  return Object.entries(shape).map(([name, schema]) => {
    const k = kindOf(schema as { _zod: { def: Def } });
    return { name, kind: k.kind, required: !k.nullable, hasDefault: k.hasDefault };
  });
}

export const RECORD_FIELDS: readonly FieldSpec[] = fieldsOf(ExecutionRecord.shape);
export const ROW_FIELDS: readonly FieldSpec[] = fieldsOf(ExecutionRow.shape);
