// span → ExecutionRow, or a RejectedSpan that says why. Pure: no I/O, no clock reads.
import type { z } from 'zod';
import { attributesToObject, int64ToBigInt, readAnyValue, type AttributeKind } from './attributes.js';
import { ExecutionRow, RECORD_FIELDS, ROW_FIELDS, type FieldKind, type FieldSpec } from './record.js';
import type { FeedbackRow } from './feedback.js';
import { convertFeedbackSpan, evaluationFeedback, isFeedbackSpan } from './span-to-feedback.js';
import { boundRule, wrongType } from './issues.js';
import { rejectedSpan, type RejectedSpan } from './rejected.js';
import { deriveTaskId, isUuid, MAX_TASK_ID_CHARS } from './task-id.js';
import { nanosToDate, timeProblem } from './time.js';
import { genaiRole, pendingSpan, type PendingSpan } from './genai/spans.js';
import { attributeLoad, MAX_REJECTS_KEPT, overCap, rowBytes, SAMPLED_LOAD, sampleAttributes } from './span-load.js';
import { STATUS_CODE_ERROR, type ExportTraceRequest, type KeyValue, type WireSpan } from './wire-types.js';

export const EXECUTION_PREFIX = 'execution.';
export const METADATA_PREFIX = 'execution.metadata.';

export interface ConvertedRequest {
  executions: ExecutionRow[];
  feedback: FeedbackRow[];
  rejected: RejectedSpan[];
  /** Spans without any execution.* or feedback.* attribute: trace storage's business, not ours. */
  nonExecution: number;
  /** GenAI agent spans and inference calls, kept until their run is assembled (src/convert/genai/). */
  genaiPending: PendingSpan[];
  total: number;
  /** Rejected spans past MAX_REJECTS_KEPT: counted (partial_success says how many), not kept. */
  rejectedNotKept: number;
  /** Estimated size in memory of what is kept, in bytes: the write queue is bounded by it. */
  bytes: number;
}

interface SpanContext {
  resource: Record<string, unknown>;
  serviceName: string | null;
  receivedAt: Date;
}

/** Which wire kinds each record kind accepts: int is accepted for double. */
const ACCEPTS: Partial<Record<FieldKind, readonly AttributeKind[]>> = {
  uuid: ['string'],
  string: ['string'],
  enum: ['string'],
  int: ['int'],
  double: ['int', 'double'],
  bool: ['bool'],
};

/** Keyed by the full attribute name, so the hot loop neither slices nor re-hashes. */
const SETTABLE: ReadonlyMap<string, FieldSpec> = new Map(
  RECORD_FIELDS.filter((f) => ACCEPTS[f.kind]).map((f) => [`${EXECUTION_PREFIX}${f.name}`, f]),
);

/** Every row field present from the start: one object shape for all spans, no dictionary mode. */
function emptyInput(): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const f of ROW_FIELDS) o[f.name] = undefined;
  return o;
}
const INPUT_TEMPLATE = emptyInput();

export function isExecutionSpan(span: WireSpan): boolean {
  return (span.attributes ?? []).some((kv) => kv.key.startsWith(EXECUTION_PREFIX));
}

function hex(bytes: Uint8Array | undefined): string | null {
  if (!bytes || bytes.length === 0) return null;
  const h = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
  return /^0+$/.test(h) ? null : h;
}

const WIRE_NAME: Record<AttributeKind, string> = {
  string: 'string',
  bool: 'bool',
  int: 'int',
  double: 'double',
  array: 'array',
  kvlist: 'kvlist',
  bytes: 'bytes',
  empty: 'empty value',
};

function expected(kind: FieldKind): string {
  return kind === 'double' ? 'double (or int)' : kind === 'uuid' || kind === 'enum' ? 'string' : kind;
}

/** One line per zod issue, naming the attribute and the rule. */
export function describeIssue(issue: z.core.$ZodIssue): string {
  const field = String(issue.path[0] ?? '');
  const attr = `${EXECUTION_PREFIX}${field}`;
  switch (issue.code) {
    case 'invalid_type':
      return `${attr}: ${wrongType(issue, 'required attribute is missing')}`;
    default:
      return `${attr}: ${boundRule(issue) ?? issue.message}`;
  }
}

export function convertSpan(span: WireSpan, ctx: SpanContext): { row: ExecutionRow } | { rejected: RejectedSpan } {
  const traceId = hex(span.traceId);
  const spanId = hex(span.spanId);
  const input: Record<string, unknown> = { ...INPUT_TEMPLATE };
  const metadata: Record<string, unknown> = {};
  const problems: string[] = [];

  for (const kv of span.attributes ?? []) {
    if (!kv.key.startsWith(EXECUTION_PREFIX)) continue;
    const attr = readAnyValue(kv.value);
    if (kv.key.startsWith(METADATA_PREFIX)) {
      metadata[kv.key.slice(METADATA_PREFIX.length)] = attr.value;
      continue;
    }
    const field = SETTABLE.get(kv.key);
    if (!field) {
      if (kv.key === 'execution.metadata' && attr.kind === 'kvlist') {
        Object.assign(metadata, attr.value);
        continue;
      }
      // Unknown execution.* keys are kept, under their full name, so a typo is visible and nothing is lost.
      metadata[kv.key] = attr.value;
      continue;
    }
    if (!ACCEPTS[field.kind]!.includes(attr.kind)) {
      problems.push(`${kv.key}: expected ${expected(field.kind)}, got ${WIRE_NAME[attr.kind]}`);
      continue;
    }
    // An int64 past 2^53 arrives as its decimal string (exact): no number field can hold it.
    if (attr.kind === 'int' && typeof attr.value === 'string') {
      problems.push(`${kv.key}: ${attr.value} is beyond ±2^53, the largest integer kept exactly`);
      continue;
    }
    input[field.name] = attr.value;
  }

  const start = int64ToBigInt(span.startTimeUnixNano);
  const end = int64ToBigInt(span.endTimeUnixNano);
  if (start <= 0n) problems.push('span: start_time_unix_nano is missing');
  for (const [field, t] of [['start_time_unix_nano', start], ['end_time_unix_nano', end]] as const) {
    const p = t > 0n ? timeProblem(`span: ${field}`, t, ctx.receivedAt) : null;
    if (p) problems.push(p);
  }

  if (typeof input.task_id === 'string' && input.task_id.length > MAX_TASK_ID_CHARS)
    problems.push(`execution.task_id: ${input.task_id.length} characters is not an id (at most ${MAX_TASK_ID_CHARS})`);
  else if (typeof input.task_id === 'string' && !isUuid(input.task_id)) {
    metadata.original_task_id = input.task_id;
    delete input.task_id;
  }
  if (input.task_id === undefined) {
    if (traceId && spanId) input.task_id = deriveTaskId(traceId, spanId);
    else if (!problems.some((p) => p.startsWith('execution.task_id')))
      problems.push('execution.task_id: required when the span has no trace_id and span_id');
  }

  input.timestamp = nanosToDate(start);
  input.duration_seconds ??= Number(end - start) / 1e9;
  const statusIsError = span.status?.code === STATUS_CODE_ERROR;
  input.success ??= !statusIsError;
  if (input.error_message === undefined && span.status?.message) input.error_message = span.status.message;

  metadata.resource = ctx.resource;
  if (span.name) metadata.span_name = span.name;
  input.metadata = metadata;
  input.trace_id = traceId;
  input.span_id = spanId;
  input.service_name = ctx.serviceName;
  input.received_at = ctx.receivedAt;

  if (problems.length === 0) {
    const parsed = ExecutionRow.safeParse(input, { reportInput: true });
    if (parsed.success) return { row: parsed.data };
    problems.push(...parsed.error.issues.map(describeIssue));
  }
  return { rejected: rejectedSpan(span, { ...ctx, traceId, spanId }, problems.join('; '), traceId && spanId ? `rejected/${traceId}/${spanId}` : null) };
}

function serviceNameOf(resource: Record<string, unknown>): string | null {
  const s = resource['service.name'];
  return typeof s === 'string' && s !== '' ? s : null;
}

/** Keeps a reject while the request has kept fewer than MAX_REJECTS_KEPT (a sample: the first ones); counts the rest. */
function reject(out: ConvertedRequest, r: RejectedSpan, bytes: number): void {
  if (out.rejected.length < MAX_REJECTS_KEPT) {
    out.rejected.push(r);
    out.bytes += bytes;
  } else out.rejectedNotKept++;
}

export function convertRequest(request: ExportTraceRequest, receivedAt: Date): ConvertedRequest {
  const out: ConvertedRequest = { executions: [], feedback: [], rejected: [], nonExecution: 0, genaiPending: [], total: 0, rejectedNotKept: 0, bytes: 0 };
  for (const rs of request.resourceSpans ?? []) {
    const resource = attributesToObject(rs.resource?.attributes as KeyValue[] | undefined);
    const ctx: SpanContext = { resource, serviceName: serviceNameOf(resource), receivedAt };
    for (const ss of rs.scopeSpans ?? []) {
      for (const span of ss.spans ?? []) {
        out.total++;
        const execution = isExecutionSpan(span);
        const g = genaiRole(span);
        // An agent span is a run even with execution.* on it (those win when it is assembled).
        const p = g && (g.role === 'agent' || !execution) ? pendingSpan(span, g, resource, receivedAt) : null;
        if (p) {
          out.genaiPending.push(p);
          continue;
        }
        const feedback = isFeedbackSpan(span);
        if (!execution && !feedback) {
          out.nonExecution++;
          continue;
        }
        const fctx = { ...ctx, traceId: hex(span.traceId), spanId: hex(span.spanId) };
        // Weighed before anything is built from it: a span past the caps keeps only a sample of its attributes.
        const load = attributeLoad(span.attributes);
        const bytes = rowBytes(load);
        const tooMuch = overCap(load);
        if (tooMuch) {
          const idName = fctx.traceId && fctx.spanId ? `rejected/${fctx.traceId}/${fctx.spanId}` : null;
          reject(out, rejectedSpan(span, fctx, tooMuch, idName, sampleAttributes(span.attributes, load)), rowBytes(SAMPLED_LOAD));
          continue;
        }
        if (execution) {
          const r = convertSpan(span, ctx);
          if ('row' in r) {
            out.executions.push(r.row);
            out.bytes += bytes;
            const ev = evaluationFeedback(span, r.row.task_id, fctx);
            out.feedback.push(...ev.feedback);
            for (const e of ev.rejected) reject(out, e, bytes);
          } else reject(out, r.rejected, bytes);
        }
        if (feedback) {
          const f = convertFeedbackSpan(span, fctx);
          if ('feedback' in f) {
            out.feedback.push(f.feedback);
            out.bytes += bytes;
          } else reject(out, f.rejected, bytes);
        }
      }
    }
  }
  return out;
}
