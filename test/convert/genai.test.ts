// Unit tests of the pure GenAI mapping: classification, the tables, and run assembly.
import assert from 'node:assert/strict';
import { writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { reviseRun, settleRun, type GenAiSettings } from '../../src/convert/genai/derive.js';
import { agentSpan, fromJson, genaiRole, inferenceCall, toJson, type InferenceCall } from '../../src/convert/genai/spans.js';
import { loadModelTables } from '../../src/convert/genai/tables.js';
import { convertRequest } from '../../src/convert/span-to-record.js';
import { STATUS_CODE_ERROR, type KeyValue, type WireSpan } from '../../src/convert/wire-types.js';
import { tempDir } from '../helpers/server.js';

const kv = (key: string, v: string | number): KeyValue => ({ key, value: typeof v === 'string' ? { stringValue: v } : Number.isInteger(v) ? { intValue: v } : { doubleValue: v } });
const id = (hex: string) => new Uint8Array(Buffer.from(hex, 'hex'));
const TRACE = id('0af7651916cd43dd8448eb211c80319c');
const AGENT = id('b7ad6b7169203331');
const now = 1_780_000_000_000n * 1_000_000n;

function span(spanId: string, attrs: Record<string, string | number>, extra: Partial<WireSpan> = {}): WireSpan {
  return { traceId: TRACE, spanId: id(spanId), name: 'span', startTimeUnixNano: now, endTimeUnixNano: now + 2_500_000_000n, attributes: Object.entries(attrs).map(([k, v]) => kv(k, v)), ...extra };
}

const tables = loadModelTables();
const settings: GenAiSettings = { tables };
const chat = (spanId: string, model: string, input: number, output: number, more: Record<string, number> = {}): InferenceCall =>
  inferenceCall(span(spanId, { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.response.model': model, 'gen_ai.usage.input_tokens': input, 'gen_ai.usage.output_tokens': output, ...more }, { parentSpanId: AGENT }), spanId, { role: 'call', convention: 'gen_ai' });
const agent = (attrs: Record<string, string | number> = {}, extra: Partial<WireSpan> = {}, resource: Record<string, unknown> = { 'service.name': 'svc' }) =>
  agentSpan(span('b7ad6b7169203331', { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'fixer', ...attrs }, extra), resource, { role: 'agent', convention: 'gen_ai' });

describe('GenAI mapping', () => {
  it('classifies agent spans and inference calls under both conventions, and nothing else', () => {
    assert.deepEqual(genaiRole(span('01', { 'gen_ai.operation.name': 'invoke_agent' })), { role: 'agent', convention: 'gen_ai' });
    assert.deepEqual(genaiRole(span('01', { 'openinference.span.kind': 'AGENT' })), { role: 'agent', convention: 'openinference' });
    for (const op of ['chat', 'text_completion', 'generate_content', 'embeddings']) assert.equal(genaiRole(span('01', { 'gen_ai.operation.name': op }))?.role, 'call', op);
    assert.equal(genaiRole(span('01', { 'openinference.span.kind': 'LLM' }))?.role, 'call');
    for (const op of ['execute_tool', 'create_agent']) assert.equal(genaiRole(span('01', { 'gen_ai.operation.name': op })), null, op);
    assert.equal(genaiRole(span('01', { 'openinference.span.kind': 'TOOL' })), null);
    assert.equal(genaiRole(span('01', { 'http.method': 'GET' })), null);
  });

  it('a request: GenAI spans wait as pending, other spans are not executions', () => {
    const r = convertRequest({ resourceSpans: [{ resource: { attributes: [kv('service.name', 's')] }, scopeSpans: [{ spans: [
      span('b7ad6b7169203331', { 'gen_ai.operation.name': 'invoke_agent', 'execution.model_tier': 'large' }),
      span('00f067aa0ba902b7', { 'gen_ai.operation.name': 'chat' }, { parentSpanId: AGENT }),
      span('00f067aa0ba902b8', { 'gen_ai.operation.name': 'execute_tool' }),
    ] }] }] }, new Date());
    assert.deepEqual(r.genaiPending.map((p) => [p.kind, p.parent_span_id]), [['agent', null], ['call', 'b7ad6b7169203331']]);
    assert.equal(r.executions.length, 0, 'an agent span with execution.* still waits for its calls');
    assert.equal(r.nonExecution, 1);
  });

  it('keeps ids and int64s through the pending JSON', () => {
    const s = span('b7ad6b7169203331', { 'gen_ai.usage.input_tokens': 3 });
    const back = fromJson<WireSpan>(toJson({ ...s, spanId: Buffer.from(s.spanId!) }));
    assert.deepEqual(Buffer.from(back.spanId!).toString('hex'), 'b7ad6b7169203331');
    assert.equal(back.startTimeUnixNano, now);
  });

  it('maps models to tiers by pattern, first match wins, an unmapped model is its own tier', () => {
    assert.equal(tables.tierOf('gpt-4o-mini-2024-07-18'), 'small');
    assert.equal(tables.tierOf('gpt-4o-2024-08-06'), 'medium');
    assert.equal(tables.tierOf('openai/gpt-4o'), 'medium', 'a vendor/ prefix is ignored');
    assert.equal(tables.tierOf('claude-opus-4-1-20250805'), 'large');
    assert.equal(tables.tierOf('claude-3-5-haiku-20241022'), 'small');
    assert.equal(tables.tierOf('o3'), 'large');
    assert.equal(tables.tierOf('acme-llm'), 'acme-llm');
  });

  it('prices input, cache read, cache write, output and reasoning separately; overrides come first', () => {
    // claude-sonnet-4: 3 in, 0.30 cache read, 3.75 cache write, 15 out (per 1M).
    const c = tables.cost('claude-sonnet-4-20250514', { input: 10_000, cache_read: 6000, cache_write: 2000, output: 1000, reasoning: 0 });
    assert.ok(Math.abs(c! - (2000 * 3 + 6000 * 0.3 + 2000 * 3.75 + 1000 * 15) / 1e6) < 1e-15);
    assert.equal(tables.cost('acme-llm', { input: 1, output: 1, cache_read: 0, cache_write: 0, reasoning: 0 }), null);
    const dir = tempDir();
    try {
      writeFileSync(join(dir, 'p.json'), JSON.stringify({ date: '2026-12-01', models: [{ pattern: 'gpt-4o*', input: 1, output: 2 }] }));
      writeFileSync(join(dir, 't.json'), JSON.stringify({ tiers: [{ pattern: 'acme-*', tier: 'medium' }] }));
      const t = loadModelTables({ pricesFile: join(dir, 'p.json'), tiersFile: join(dir, 't.json') });
      assert.equal(t.cost('gpt-4o-mini', { input: 1e6, output: 1e6, cache_read: 0, cache_write: 0, reasoning: 0 }), 3);
      assert.equal(t.tierOf('acme-llm'), 'medium');
      assert.match(t.version.prices, /^2025-08-15 \+ .*p\.json \(2026-12-01\)$/);
      writeFileSync(join(dir, 'bad.json'), JSON.stringify({ models: [{ pattern: 'x', input: -1, output: 1 }] }));
      assert.throws(() => loadModelTables({ pricesFile: join(dir, 'bad.json') }), /models\.0\.input/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the same run whatever the order: all calls first, or none then each late', () => {
    const calls = [chat('00f067aa0ba902b1', 'gpt-4o-mini-2024-07-18', 3000, 500), chat('00f067aa0ba902b2', 'gpt-4o-2024-08-06', 1000, 200), chat('00f067aa0ba902b3', 'gpt-4o-mini-2024-07-18', 1000, 100)];
    const all = settleRun(agent(), calls, new Date(), settings).row!;
    let late = settleRun(agent(), [], new Date(), settings).row!;
    late = reviseRun(late, [calls[2]!], tables)!;
    late = reviseRun(late, [calls[0]!, calls[1]!], tables)!;
    assert.equal(reviseRun(late, [calls[1]!], tables), null, 'a redelivered call changes nothing');
    for (const f of ['model_tier', 'actual_cost', 'estimated_tokens', 'pool_type', 'task_id'] as const) assert.equal(late[f], all[f], f);
    assert.equal(all.model_tier, 'small', 'gpt-4o-mini used 4600 tokens against 1200');
    assert.equal(all.estimated_tokens, 5800);
  });

  it('derives description, type, repo and failure in the documented order', () => {
    const msgs = JSON.stringify([{ role: 'system', parts: [{ type: 'text', content: 'be terse' }] }, { role: 'user', parts: [{ type: 'text', content: 'Fix the flaky login test' }] }]);
    const a = settleRun(agent({ 'gen_ai.input.messages': msgs, 'error.type': 'DeadlineExceeded' }, { status: { code: STATUS_CODE_ERROR, message: 'deadline' } }, { 'vcs.repository.url.full': 'git@github.com:acme/web-app.git', 'service.name': 'svc' }), [], new Date(), settings).row!;
    assert.equal(a.task_description, 'Fix the flaky login test');
    assert.equal(a.task_type, 'fixer');
    assert.equal(a.repo, 'web-app');
    assert.equal(a.success, false);
    assert.equal(a.error_type, 'timeout');
    assert.equal(a.error_message, 'deadline');
    assert.equal((a.metadata.genai as { sources: Record<string, string> }).sources.task_description, 'first user message (gen_ai.input.messages)');
    const b = settleRun(agent({ 'app.task': 'Migrate billing', 'app.kind': 'migration', 'app.pool': 'gpu-pool' }), [], new Date(), { tables, taskDescriptionAttribute: 'app.task', taskTypeAttribute: 'app.kind', poolAttribute: 'app.pool' }).row!;
    assert.deepEqual([b.task_description, b.task_type, b.pool_type, b.repo], ['Migrate billing', 'migration', 'gpu-pool', 'svc']);
    const c = settleRun(agent(), [], new Date(), settings).row!;
    assert.deepEqual([c.task_description, c.model_tier, c.pool_type, c.actual_cost], ['fixer', 'unknown', 'unknown', 0], 'agent name; no model seen');
  });

  it('a stated cost (llm.cost.total) is used as is', () => {
    const call = inferenceCall(span('00f067aa0ba902b9', { 'openinference.span.kind': 'LLM', 'llm.model_name': 'acme-llm', 'llm.token_count.prompt': 10, 'llm.token_count.completion': 5, 'llm.cost.total': 0.125 }), '00f067aa0ba902b9', { role: 'call', convention: 'openinference' });
    const r = settleRun(agent(), [call], new Date(), settings).row!;
    assert.equal(r.actual_cost, 0.125);
    assert.deepEqual((r.metadata.genai as { unpriced_models: string[] }).unpriced_models, []);
  });
});
