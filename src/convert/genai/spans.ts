// Which spans are GenAI agent runs or inference calls, and what a call contributes. Pure.
// A run's spans may come in any order and in different requests, so nothing is derived here
// that needs the whole run: an agent span is kept (trimmed) and an inference call is reduced to
// its model and tokens; the run is assembled once it is complete enough (see derive.ts).
import { attributesToObject } from '../attributes.js';
import type { AnyValue, KeyValue, WireSpan } from '../wire-types.js';
import { AGENT_KIND, AGENT_OPERATION, BULKY_ATTRIBUTES, BULKY_PREFIXES, GEN_AI, INFERENCE_KINDS, INFERENCE_OPERATIONS, OPENINFERENCE } from './names.js';

export type Convention = 'gen_ai' | 'openinference';
export type GenAiRole = { role: 'agent' | 'call'; convention: Convention };

/** The role of a span under either convention; null for every other span (tools, chains, HTTP...). */
export function genaiRole(span: WireSpan): GenAiRole | null {
  for (const kv of span.attributes ?? []) {
    if (kv.key === GEN_AI.operation) {
      const op = kv.value?.stringValue;
      if (op === AGENT_OPERATION) return { role: 'agent', convention: 'gen_ai' };
      if (op && INFERENCE_OPERATIONS.has(op)) return { role: 'call', convention: 'gen_ai' };
    } else if (kv.key === OPENINFERENCE.kind) {
      const kind = kv.value?.stringValue?.toUpperCase();
      if (kind === AGENT_KIND) return { role: 'agent', convention: 'openinference' };
      if (kind && INFERENCE_KINDS.has(kind)) return { role: 'call', convention: 'openinference' };
    }
  }
  return null;
}

/** Token counts as the conventions define them: cache reads/writes are part of input, reasoning part of output. */
export interface Usage {
  input: number;
  output: number;
  cache_read: number;
  cache_write: number;
  reasoning: number;
}

export interface InferenceCall extends Usage {
  span_id: string;
  convention: Convention;
  operation: string;
  /** The model that answered (response), else the one asked for (request). */
  model: string | null;
  provider: string | null;
  /** A cost the span states itself (OpenInference llm.cost.total), in USD. */
  cost: number | null;
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0);
const str = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v : null);
const first = <T>(...vs: (T | null)[]): T | null => vs.find((v) => v !== null) ?? null;

export function usageOf(a: Record<string, unknown>): Usage {
  return {
    input: num(a[GEN_AI.inputTokens] ?? a[GEN_AI.promptTokens] ?? a[OPENINFERENCE.promptTokens]),
    output: num(a[GEN_AI.outputTokens] ?? a[GEN_AI.completionTokens] ?? a[OPENINFERENCE.completionTokens]),
    cache_read: num(a[GEN_AI.cacheReadTokens] ?? a[OPENINFERENCE.cacheReadTokens]),
    cache_write: num(a[GEN_AI.cacheCreationTokens] ?? a[OPENINFERENCE.cacheWriteTokens]),
    reasoning: num(a[GEN_AI.reasoningTokens] ?? a[OPENINFERENCE.reasoningTokens]),
  };
}

export function modelOf(a: Record<string, unknown>): string | null {
  return first(str(a[GEN_AI.responseModel]), str(a[GEN_AI.requestModel]), str(a[OPENINFERENCE.modelName]));
}

export function providerOf(a: Record<string, unknown>): string | null {
  return first(str(a[GEN_AI.provider]), str(a[GEN_AI.system]), str(a[OPENINFERENCE.provider]), str(a[OPENINFERENCE.system]));
}

export function inferenceCall(span: WireSpan, spanId: string, role: GenAiRole): InferenceCall {
  const a = attributesToObject(span.attributes);
  const cost = a[OPENINFERENCE.costTotal];
  return {
    span_id: spanId,
    convention: role.convention,
    operation: str(a[GEN_AI.operation]) ?? String(a[OPENINFERENCE.kind] ?? 'LLM').toLowerCase(),
    model: modelOf(a),
    provider: providerOf(a),
    ...usageOf(a),
    cost: typeof cost === 'number' && Number.isFinite(cost) && cost >= 0 ? cost : null,
  };
}

function textOf(content: unknown): string | null {
  if (typeof content === 'string') return str(content);
  if (Array.isArray(content)) {
    const texts = content.map((p) => (typeof p === 'string' ? p : p && typeof p === 'object' ? ((p as Record<string, unknown>).content ?? (p as Record<string, unknown>).text) : null)).filter((t): t is string => typeof t === 'string');
    return str(texts.join('\n'));
  }
  return null;
}

function firstUserIn(messages: unknown): string | null {
  if (!Array.isArray(messages)) return null;
  for (const m of messages) {
    if (!m || typeof m !== 'object' || (m as Record<string, unknown>).role !== 'user') continue;
    const t = textOf((m as Record<string, unknown>).parts ?? (m as Record<string, unknown>).content);
    if (t) return t;
  }
  return null;
}

const parse = (s: string): unknown => {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
};

/** The first user message, where the producer captured message content; with the attribute it came from. */
export function firstUserMessage(a: Record<string, unknown>): { text: string; from: string } | null {
  const gm = a[GEN_AI.inputMessages];
  const g = firstUserIn(typeof gm === 'string' ? parse(gm) : gm);
  if (g) return { text: g, from: GEN_AI.inputMessages };
  for (let i = 0; ; i++) {
    const role = a[`${OPENINFERENCE.inputMessagesPrefix}${i}.message.role`];
    if (role === undefined) break;
    const content = str(a[`${OPENINFERENCE.inputMessagesPrefix}${i}.message.content`]);
    if (role === 'user' && content) return { text: content, from: 'llm.input_messages' };
  }
  const iv = str(a[OPENINFERENCE.inputValue]);
  if (iv) {
    const parsed = parse(iv);
    if (parsed && typeof parsed === 'object') {
      const m = firstUserIn((parsed as Record<string, unknown>).messages ?? parsed);
      if (m) return { text: m, from: OPENINFERENCE.inputValue };
      const q = str((parsed as Record<string, unknown>).input) ?? str((parsed as Record<string, unknown>).query);
      if (q) return { text: q, from: OPENINFERENCE.inputValue };
    } else return { text: iv, from: OPENINFERENCE.inputValue };
  }
  return null;
}

/** What a pending agent span keeps: the span without message contents, and the first user message. */
export interface AgentSpan {
  span: WireSpan;
  resource: Record<string, unknown>;
  convention: Convention;
  first_user_message: { text: string; from: string } | null;
}

const MAX_KEPT_STRING = 4096;

export function agentSpan(span: WireSpan, resource: Record<string, unknown>, role: GenAiRole): AgentSpan {
  const attrs = attributesToObject(span.attributes);
  const keep = (kv: KeyValue) => !BULKY_ATTRIBUTES.has(kv.key) && !BULKY_PREFIXES.some((p) => kv.key.startsWith(p));
  const trim = (kv: KeyValue): KeyValue => {
    const s = kv.value?.stringValue;
    return s !== undefined && s.length > MAX_KEPT_STRING && !kv.key.startsWith('execution.') ? { key: kv.key, value: { stringValue: s.slice(0, MAX_KEPT_STRING) } } : kv;
  };
  return {
    span: { ...span, attributes: (span.attributes ?? []).filter(keep).map(trim) },
    resource,
    convention: role.convention,
    first_user_message: firstUserMessage(attrs),
  };
}

/** JSON that keeps what OTLP values hold and JSON does not: int64s and bytes. */
export function toJson(v: unknown): string {
  return JSON.stringify(v, function (this: Record<string, unknown>, k, after: unknown) {
    // The holder's own value: Buffer.toJSON has already run on `after`.
    const x = k === '' ? after : this[k];
    if (typeof x === 'bigint') return { $i: x.toString() };
    if (x instanceof Uint8Array) return { $b: Buffer.from(x).toString('base64') };
    if (x && typeof x === 'object' && 'low' in x && 'high' in x && typeof (x as { toString(): string }).toString === 'function') return { $i: (x as { toString(): string }).toString() };
    return after;
  });
}

export function fromJson<T>(s: string): T {
  return JSON.parse(s, (_k, x: unknown) => {
    if (x && typeof x === 'object' && !Array.isArray(x)) {
      const o = x as Record<string, unknown>;
      if (typeof o.$i === 'string' && Object.keys(o).length === 1) return BigInt(o.$i);
      if (typeof o.$b === 'string' && Object.keys(o).length === 1) return new Uint8Array(Buffer.from(o.$b, 'base64'));
    }
    return x;
  }) as T;
}

/** A JS value as an OTLP AnyValue (integers as int, objects as kvlists). */
export function toAnyValue(v: unknown): AnyValue {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') return Number.isSafeInteger(v) ? { intValue: v } : { doubleValue: v };
  if (Array.isArray(v)) return { arrayValue: { values: v.map(toAnyValue) } };
  if (v && typeof v === 'object') return { kvlistValue: { values: Object.entries(v).map(([key, x]) => ({ key, value: toAnyValue(x) })) } };
  return {};
}


/** A GenAI span kept until its run is assembled: committed like any row, so an acknowledged span is never lost. */
export interface PendingSpan {
  pending_id: string;
  kind: 'agent' | 'call';
  trace_id: string;
  span_id: string;
  parent_span_id: string | null;
  received_at: Date;
  /** toJson of an AgentSpan or an InferenceCall. */
  body: string;
}

const hexId = (b: Uint8Array | undefined): string | null => {
  if (!b || b.length === 0) return null;
  const h = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
  return /^0+$/.test(h) ? null : h;
};

/** The pending form of an agent span or inference call; null when it lacks the ids that tie a run together. */
export function pendingSpan(span: WireSpan, role: GenAiRole, resource: Record<string, unknown>, receivedAt: Date): PendingSpan | null {
  const traceId = hexId(span.traceId);
  const spanId = hexId(span.spanId);
  if (!traceId || !spanId) return null;
  const parent = hexId(span.parentSpanId);
  const body = role.role === 'agent' ? toJson(agentSpan(span, resource, role)) : toJson(inferenceCall(span, spanId, role));
  return { pending_id: `${traceId}/${spanId}`, kind: role.role, trace_id: traceId, span_id: spanId, parent_span_id: parent, received_at: receivedAt, body };
}
