// @orb-learn/emitter: what a producer service uses to put executions and feedback on its own spans.
//
// The record schemas (record.ts, feedback.ts) are the ingester's own: orb-learn imports them from
// this package, so a record that passes here is stored as given. The attributes are set in one
// call, only after the whole record has passed: never a partial record on a span.
//
// Its runtime imports are zod and the two schema modules, nothing else: @opentelemetry/api is
// imported for types only (the producer already has it: it owns the span), and no server, DuckDB or
// gRPC code is reachable from here (test/emit/emitter.test.ts walks the import graph).
import type { Attributes, AttributeValue, Span } from '@opentelemetry/api';
import type { z } from 'zod';
import { FEEDBACK_ATTRIBUTES, FEEDBACK_PREFIX, FeedbackRecord, type FeedbackRecordInput } from './feedback.js';
import { boundRule } from './issues.js';
import { ERROR_TYPES, ErrorType, ExecutionRecord, identifier, idUuid, NIL_UUID, type ExecutionRecordInput } from './record.js';

export { ERROR_TYPES, ErrorType, ExecutionRecord, identifier, idUuid, NIL_UUID, type ExecutionRecordInput };
export { FEEDBACK_ATTRIBUTES, FEEDBACK_PREFIX, FeedbackRecord, type FeedbackRecordInput };
export { boundRule, firstIssue, issueField, wrongType } from './issues.js';

export const EXECUTION_PREFIX = 'execution.';
export const METADATA_PREFIX = 'execution.metadata.';

/** Metadata keys orb-learn fills itself (the span's resource and name): a value given here would be lost. */
export const RESERVED_METADATA_KEYS: readonly string[] = ['resource', 'span_name'];

/**
 * An ExecutionRecord as a producer hands it in. What the span itself supplies may be left out:
 * `task_id` (orb-learn derives a stable one from the trace and span ids), `timestamp` (the span's
 * start), `success` (its status is not ERROR) and `duration_seconds` (its end − start). Unknown
 * fields are errors, so a typo cannot silently drop a value.
 */
export const EmittedExecution = ExecutionRecord.partial({ task_id: true, timestamp: true, success: true, duration_seconds: true }).strict();
export type ExecutionInput = z.input<typeof EmittedExecution>;

/** A FeedbackRecord as a producer hands it in; unknown fields are errors. */
export const EmittedFeedback = FeedbackRecord.strict();
export type FeedbackInput = z.input<typeof EmittedFeedback>;

/** A record that failed validation; nothing was set on the span. */
export class InvalidRecordError extends Error {
  override name = 'InvalidRecordError';
  constructor(
    /** Which record: ExecutionRecord or FeedbackRecord. */
    readonly record: string,
    /** The first failing field, as the record names it (`routing_confidence`, `metadata.ticket`). */
    readonly field: string,
    /** That field's span attribute (`execution.routing_confidence`). */
    readonly attribute: string,
    /** One line per problem, each naming its field and attribute. */
    readonly problems: string[],
  ) {
    super(`invalid ${record}: ${problems.join('; ')}`);
  }
}

interface Problem {
  field: string;
  line: string;
}

function show(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return `${typeof v} ${String(v)}`;
  if (v instanceof Date) return 'Date';
  return Array.isArray(v) ? 'array' : typeof v;
}

function describeIssue(issue: z.core.$ZodIssue): { field: string; rule: string; unknown?: true }[] {
  const path = issue.path.map(String);
  const field = path[0] === 'metadata' && path.length > 1 ? `metadata.${path[1]}` : (path[0] ?? '');
  const hasInput = Object.prototype.hasOwnProperty.call(issue, 'input') && issue.input !== undefined;
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((k) => ({ field: k, rule: 'unknown field (not part of the record)', unknown: true as const }));
    case 'invalid_type':
      if (path.length === 0) return [{ field, rule: `expected an object, got ${show(issue.input)}` }];
      return [{ field, rule: hasInput ? `expected ${issue.expected}, got ${show(issue.input)}` : 'required' }];
    case 'too_small':
    case 'too_big': {
      const bound = boundRule(issue);
      return [{ field, rule: bound ? `${bound}, got ${String(issue.input)}` : issue.message }];
    }
    case 'invalid_value':
      return [{ field, rule: `${boundRule(issue)}, got ${show(issue.input)}` }];
    case 'invalid_format':
      return [{ field, rule: `must be a ${issue.format === 'guid' || issue.format === 'uuid' ? 'UUID' : issue.format}, got ${show(issue.input)}` }];
    default:
      return [{ field, rule: issue.message }];
  }
}

function fail(record: string, problems: Problem[], attributeOf: (field: string) => string): never {
  const first = problems[0]!;
  throw new InvalidRecordError(
    record,
    first.field,
    first.field ? attributeOf(first.field) : '',
    problems.map((p) => p.line),
  );
}

/** For an unknown field: the record field whose attribute the caller probably meant (`type` → feedback_type). */
type Suggest = (unknownField: string) => string | undefined;

function problemsOf(issues: z.core.$ZodIssue[], attributeOf: (field: string) => string, suggest: Suggest = () => undefined): Problem[] {
  return issues.flatMap(describeIssue).map(({ field, rule, unknown }) => {
    if (unknown) {
      const meant = suggest(field);
      return { field, line: `${field}: ${rule}${meant ? `; did you mean ${meant}?` : ''}` };
    }
    return { field, line: field ? `${field} (${attributeOf(field)}): ${rule}` : rule };
  });
}

const executionAttribute = (field: string) =>
  field.startsWith('metadata.') ? `${METADATA_PREFIX}${field.slice('metadata.'.length)}` : `${EXECUTION_PREFIX}${field}`;

/** A metadata value as an attribute: scalars as they are, anything nested as its JSON text. */
function metadataValue(key: string, v: unknown, problems: Problem[]): AttributeValue | undefined {
  const bad = (rule: string) => {
    problems.push({ field: `metadata.${key}`, line: `metadata.${key} (${METADATA_PREFIX}${key}): ${rule}` });
    return undefined;
  };
  switch (typeof v) {
    case 'undefined':
      return undefined;
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      return Number.isFinite(v) ? v : bad(`must be a finite number, got ${String(v)}`);
    case 'bigint':
      return bad('a bigint has no attribute or JSON form: pass a number or a string');
    case 'function':
    case 'symbol':
      return bad(`a ${typeof v} cannot be carried`);
  }
  if (v === null) return undefined;
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? bad('invalid Date') : v.toISOString();
  try {
    return JSON.stringify(v);
  } catch (err) {
    return bad(`cannot be written as JSON: ${(err as Error).message}`);
  }
}

/**
 * The `execution.*` attributes for a record, validated by the ingester's ExecutionRecord schema.
 * Only fields given (not undefined or null) become attributes; orb-learn applies the schema's
 * defaults itself. `timestamp` is validated but not emitted: the span's start time is the record's
 * timestamp (start the span with `startTime` to set it). `metadata.<key>` becomes
 * `execution.metadata.<key>`: strings, numbers and booleans as they are, Dates as ISO text, arrays
 * and objects as JSON text; undefined and null entries are left out.
 * @throws InvalidRecordError naming every failing field; nothing is returned then.
 */
export function executionAttributes(record: ExecutionInput): Attributes {
  const parsed = EmittedExecution.safeParse(record, { reportInput: true });
  if (!parsed.success) fail('ExecutionRecord', problemsOf(parsed.error.issues, executionAttribute), executionAttribute);
  const given = record as Record<string, unknown>;
  const data = parsed.data as Record<string, unknown>;
  const attrs: Attributes = {};
  for (const field of Object.keys(EmittedExecution.shape)) {
    if (field === 'timestamp' || field === 'metadata') continue;
    if (given[field] === undefined || given[field] === null) continue;
    attrs[`${EXECUTION_PREFIX}${field}`] = data[field] as AttributeValue;
  }
  const problems: Problem[] = [];
  for (const [key, v] of Object.entries(parsed.data.metadata)) {
    if (key === '') problems.push({ field: 'metadata.', line: 'metadata: keys must not be empty' });
    else if (RESERVED_METADATA_KEYS.includes(key))
      problems.push({ field: `metadata.${key}`, line: `metadata.${key} (${METADATA_PREFIX}${key}): reserved: orb-learn fills it from the span` });
    else {
      const value = metadataValue(key, v, problems);
      if (value !== undefined) attrs[`${METADATA_PREFIX}${key}`] = value;
    }
  }
  if (problems.length) fail('ExecutionRecord', problems, executionAttribute);
  return attrs;
}

/**
 * Validates an execution record and sets its `execution.*` attributes on the span, all at once.
 * Call it before `span.end()`. Mind the SDK's attribute count limit (128 by default): a record with
 * every field set leaves room for about 100 metadata keys.
 * @returns the attributes that were set.
 * @throws InvalidRecordError naming the failing fields; the span is then left untouched.
 */
export function recordExecution(span: Span, record: ExecutionInput): Attributes {
  const attrs = executionAttributes(record);
  span.setAttributes(attrs);
  return attrs;
}

const feedbackAttribute = (field: string) => FEEDBACK_ATTRIBUTES[field as keyof typeof FEEDBACK_ATTRIBUTES] ?? `${FEEDBACK_PREFIX}${field}`;
const suggestFeedbackField: Suggest = (unknownField) =>
  Object.entries(FEEDBACK_ATTRIBUTES).find(([, attribute]) => attribute === `${FEEDBACK_PREFIX}${unknownField}`)?.[0];

/**
 * The `feedback.*` attributes for a feedback record, validated by FeedbackRecord. `timestamp` is
 * validated but not emitted: the span's start time is the feedback's timestamp.
 * @throws InvalidRecordError naming every failing field.
 */
export function feedbackAttributes(feedback: FeedbackInput): Attributes {
  const parsed = EmittedFeedback.safeParse(feedback, { reportInput: true });
  if (!parsed.success) fail('FeedbackRecord', problemsOf(parsed.error.issues, feedbackAttribute, suggestFeedbackField), feedbackAttribute);
  const given = feedback as Record<string, unknown>;
  const data = parsed.data as Record<string, unknown>;
  const attrs: Attributes = {};
  for (const [field, attribute] of Object.entries(FEEDBACK_ATTRIBUTES)) {
    if (given[field] === undefined || given[field] === null) continue;
    attrs[attribute] = data[field] as AttributeValue;
  }
  return attrs;
}

/**
 * Validates a feedback record and sets its `feedback.*` attributes on the span, all at once.
 * @returns the attributes that were set.
 * @throws InvalidRecordError naming the failing fields; the span is then left untouched.
 */
export function recordFeedback(span: Span, feedback: FeedbackInput): Attributes {
  const attrs = feedbackAttributes(feedback);
  span.setAttributes(attrs);
  return attrs;
}
