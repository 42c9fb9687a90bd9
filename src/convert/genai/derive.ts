// A GenAI run → an ExecutionRow: the agent span plus the inference calls found under it.
// Every derivation (README "GenAI and OpenInference spans") happens here, once; explicit
// execution.* attributes on the agent span always win. The row itself is built by the ordinary
// span conversion, so validation, defaults and rejections are the same as for execution.* spans:
// each derived value goes in as the execution.* attribute a producer would have set.
import { attributesToObject } from '../attributes.js';
import type { FeedbackRow } from '../feedback.js';
import { ERROR_TYPES, ExecutionRow } from '../record.js';
import { evaluationFeedback } from '../span-to-feedback.js';
import { convertSpan, EXECUTION_PREFIX } from '../span-to-record.js';
import type { RejectedSpan } from '../rejected.js';
import { STATUS_CODE_ERROR } from '../wire-types.js';
import { GEN_AI, OPENINFERENCE, RESOURCE } from './names.js';
import { modelOf, providerOf, toAnyValue as toValue, usageOf, type AgentSpan, type Convention, type InferenceCall, type Usage } from './spans.js';
import type { ModelTables } from './tables.js';

export interface GenAiSettings {
  tables: ModelTables;
  /** Attributes tried first for task_description, task_type and pool_type. */
  taskDescriptionAttribute?: string;
  taskTypeAttribute?: string;
  poolAttribute?: string;
}

export interface ModelUsage extends Usage {
  provider: string | null;
  calls: number;
  cost: number;
  /** Calls priced from the span's own cost attribute, from the price table, or not at all. */
  cost_from_attribute: number;
  cost_from_table: number;
  unpriced: number;
}

/** What metadata.genai holds: enough to re-derive the run when a late call arrives. */
export interface GenAiMeta {
  convention: Convention;
  models: Record<string, ModelUsage>;
  call_span_ids: string[];
  /** The agent span's own model and usage: used only when no inference call is known. */
  agent_model: string | null;
  agent_usage: Usage;
  tier_model: string | null;
  unpriced_models: string[];
  explicit: string[];
  sources: Record<string, string>;
  tables: { tiers: string; prices: string };
  error_type?: string;
}

const DERIVED = ['task_type', 'task_description', 'repo', 'model_tier', 'pool_type', 'actual_cost', 'estimated_tokens', 'success', 'error_type', 'error_message'] as const;

const str = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v : null);
const tokens = (u: Usage) => u.input + u.output;
const NO_MODEL = '(no model)';

function addCall(meta: GenAiMeta, c: InferenceCall, tables: ModelTables): void {
  const key = c.model ?? NO_MODEL;
  const m = (meta.models[key] ??= { provider: c.provider, calls: 0, input: 0, output: 0, cache_read: 0, cache_write: 0, reasoning: 0, cost: 0, cost_from_attribute: 0, cost_from_table: 0, unpriced: 0 });
  m.provider ??= c.provider;
  m.calls++;
  m.input += c.input;
  m.output += c.output;
  m.cache_read += c.cache_read;
  m.cache_write += c.cache_write;
  m.reasoning += c.reasoning;
  // A call that used no tokens (it failed before the model answered) costs nothing, priced or not.
  const priced = c.cost ?? (tokens(c) + c.cache_write === 0 ? 0 : tables.cost(c.model, c));
  if (c.cost !== null) m.cost_from_attribute++;
  else if (priced !== null) m.cost_from_table++;
  else m.unpriced++;
  m.cost += priced ?? 0;
  meta.call_span_ids.push(c.span_id);
}

export interface Outcome {
  model_tier: string;
  actual_cost: number;
  estimated_tokens: number;
  /** Provider of the model that decided the tier. */
  provider: string | null;
}

/** Tier, cost and tokens from what the run's calls used; the agent span's own usage only without calls. */
function outcome(meta: GenAiMeta, tables: ModelTables): Outcome {
  const models = Object.entries(meta.models);
  meta.unpriced_models = models.filter(([, m]) => m.unpriced > 0).map(([name]) => name).sort();
  if (models.length > 0) {
    // The model that used the most tokens decides; ties go to the name first in order, so any arrival order agrees.
    const ranked = models.filter(([n]) => n !== NO_MODEL).sort(([a, x], [b, y]) => tokens(y) - tokens(x) || (a < b ? -1 : 1));
    const top = ranked[0];
    meta.tier_model = top ? top[0] : meta.agent_model;
    const cost = models.reduce((s, [, m]) => s + m.cost, 0);
    return {
      model_tier: meta.tier_model ? tables.tierOf(meta.tier_model) : 'unknown',
      actual_cost: cost,
      estimated_tokens: models.reduce((s, [, m]) => s + tokens(m), 0),
      provider: top?.[1].provider ?? null,
    };
  }
  meta.tier_model = meta.agent_model;
  const cost = tables.cost(meta.agent_model, meta.agent_usage);
  if (cost === null && tokens(meta.agent_usage) > 0) meta.unpriced_models = [meta.agent_model ?? NO_MODEL];
  return { model_tier: meta.agent_model ? tables.tierOf(meta.agent_model) : 'unknown', actual_cost: cost ?? 0, estimated_tokens: tokens(meta.agent_usage), provider: null };
}

/** error.type values → the record's error types; anything else is 'unknown' (the value stays in metadata). */
function errorTypeOf(t: string): (typeof ERROR_TYPES)[number] {
  const s = t.toLowerCase();
  if ((ERROR_TYPES as readonly string[]).includes(s)) return s as (typeof ERROR_TYPES)[number];
  if (/timeout|timed.?out|deadline/.test(s)) return 'timeout';
  if (/valid|schema|parse|bad.?request|\b400\b/.test(s)) return 'validation';
  if (/crash|panic|fatal|segfault|oom|killed/.test(s)) return 'crash';
  return 'unknown';
}

function repoOf(resource: Record<string, unknown>): { value: string; from: string } | null {
  const name = str(resource[RESOURCE.repoName]);
  if (name) return { value: name, from: `resource ${RESOURCE.repoName}` };
  const url = str(resource[RESOURCE.repoUrl]);
  const fromUrl = url?.replace(/\/+$/, '').replace(/\.git$/, '').split(/[/:]/).pop();
  if (fromUrl) return { value: fromUrl, from: `resource ${RESOURCE.repoUrl}` };
  const service = str(resource[RESOURCE.serviceName]);
  return service ? { value: service, from: `resource ${RESOURCE.serviceName}` } : null;
}

function pick(sources: Record<string, string>, field: string, candidates: [unknown, string][]): string | null {
  for (const [v, from] of candidates) {
    const s = str(v);
    if (s) {
      sources[field] = from;
      return s;
    }
  }
  return null;
}

export interface SettledRun {
  row?: ExecutionRow;
  rejected?: RejectedSpan;
  feedback: FeedbackRow[];
  rejectedFeedback: RejectedSpan[];
}

/** The execution of an agent span and the calls under it. */
export function settleRun(agent: AgentSpan, calls: readonly InferenceCall[], receivedAt: Date, s: GenAiSettings): SettledRun {
  const span = agent.span;
  const a = attributesToObject(span.attributes);
  const explicit = (span.attributes ?? []).filter((kv) => kv.key.startsWith(EXECUTION_PREFIX)).map((kv) => kv.key.slice(EXECUTION_PREFIX.length));
  const sources: Record<string, string> = {};
  const meta: GenAiMeta = {
    convention: agent.convention,
    models: {},
    call_span_ids: [],
    agent_model: modelOf(a),
    agent_usage: usageOf(a),
    tier_model: null,
    unpriced_models: [],
    explicit,
    sources,
    tables: s.tables.version,
  };
  const seen = new Set<string>();
  for (const c of calls) if (!seen.has(c.span_id)) (seen.add(c.span_id), addCall(meta, c, s.tables));
  const o = outcome(meta, s.tables);

  const agentName = str(a[GEN_AI.agentName]) ?? str(a[OPENINFERENCE.agentName]);
  const derived: Record<string, unknown> = {};
  derived.task_description = pick(sources, 'task_description', [
    ...(s.taskDescriptionAttribute ? [[a[s.taskDescriptionAttribute], s.taskDescriptionAttribute] as [unknown, string]] : []),
    [a[GEN_AI.agentDescription], GEN_AI.agentDescription],
    [agent.first_user_message?.text, `first user message (${agent.first_user_message?.from})`],
    [agentName, 'agent name'],
    [span.name, 'span name'],
    ['agent run', 'default'],
  ]);
  derived.task_type = pick(sources, 'task_type', [
    ...(s.taskTypeAttribute ? [[a[s.taskTypeAttribute], s.taskTypeAttribute] as [unknown, string]] : []),
    [agentName, 'agent name'],
    [span.name, 'span name'],
    ['agent', 'default'],
  ]);
  const repo = repoOf(agent.resource);
  if (repo) (derived.repo = repo.value), (sources.repo = repo.from);
  else (derived.repo = 'unknown'), (sources.repo = 'default');
  const agentProvider = providerOf(a);
  derived.pool_type = pick(sources, 'pool_type', [
    ...(s.poolAttribute ? [[a[s.poolAttribute], s.poolAttribute] as [unknown, string]] : []),
    [agentProvider, 'agent span provider'],
    [o.provider, 'model'],
    ['unknown', 'default'],
  ]);
  derived.model_tier = o.model_tier;
  sources.model_tier = meta.tier_model ? `model ${meta.tier_model}` : 'no model seen';
  derived.actual_cost = o.actual_cost;
  derived.estimated_tokens = o.estimated_tokens;
  const errorType = str(a[GEN_AI.errorType]);
  if (errorType) {
    meta.error_type = errorType;
    derived.success = false;
    derived.error_type = errorTypeOf(errorType);
    derived.error_message = str(span.status?.message) ?? errorType;
  } else if (span.status?.code === STATUS_CODE_ERROR) derived.error_type = 'unknown';

  const attributes = [...(span.attributes ?? [])];
  const has = new Set(explicit);
  for (const f of DERIVED) if (!has.has(f) && derived[f] !== undefined && derived[f] !== null) attributes.push({ key: `${EXECUTION_PREFIX}${f}`, value: toValue(derived[f]) });
  attributes.push({ key: `${EXECUTION_PREFIX}metadata.genai`, value: toValue(meta) });

  const serviceName = str(agent.resource[RESOURCE.serviceName]);
  const ctx = { resource: agent.resource, serviceName, receivedAt };
  const r = convertSpan({ ...span, attributes }, ctx);
  if ('rejected' in r) return { rejected: r.rejected, feedback: [], rejectedFeedback: [] };
  const hex = (b?: Uint8Array) => (b && b.length ? Buffer.from(b).toString('hex') : null);
  const ev = evaluationFeedback(span, r.row.task_id, { ...ctx, traceId: hex(span.traceId), spanId: hex(span.spanId) });
  return { row: r.row, feedback: ev.feedback, rejectedFeedback: ev.rejected };
}


/** metadata.genai of a stored execution, if it came from a GenAI run. */
export function genaiMetaOf(row: { metadata: Record<string, unknown> }): GenAiMeta | null {
  const g = row.metadata.genai as GenAiMeta | undefined;
  return g && typeof g === 'object' && g.models && Array.isArray(g.call_span_ids) ? g : null;
}

/**
 * An execution after calls that arrived once it was stored: the same fields as if they had come
 * first (tier, cost, tokens, and a pool taken from the model), unless set explicitly. Null when
 * every call was already counted (a redelivery).
 */
export function reviseRun(old: ExecutionRow, calls: readonly InferenceCall[], tables: ModelTables): ExecutionRow | null {
  const prior = genaiMetaOf(old);
  if (!prior) return null;
  const meta: GenAiMeta = structuredClone(prior);
  const seen = new Set(meta.call_span_ids);
  let added = 0;
  for (const c of calls) if (!seen.has(c.span_id)) (seen.add(c.span_id), addCall(meta, c, tables), added++);
  if (added === 0) return null;
  const o = outcome(meta, tables);
  const keep = new Set(meta.explicit);
  const next: ExecutionRow = { ...old, metadata: { ...old.metadata, genai: meta } };
  if (!keep.has('model_tier')) (next.model_tier = o.model_tier), (meta.sources.model_tier = meta.tier_model ? `model ${meta.tier_model}` : 'no model seen');
  if (!keep.has('actual_cost')) next.actual_cost = o.actual_cost;
  if (!keep.has('estimated_tokens')) next.estimated_tokens = o.estimated_tokens;
  if (!keep.has('pool_type') && (meta.sources.pool_type === 'model' || meta.sources.pool_type === 'default') && o.provider) (next.pool_type = o.provider), (meta.sources.pool_type = 'model');
  return ExecutionRow.parse(next);
}
