// Runs learned from the spans the official OpenTelemetry OpenAI instrumentation emits: the real
// `openai` client, instrumented by @opentelemetry/instrumentation-openai, calls a fake
// OpenAI-compatible server; the agent span is set up as the GenAI conventions prescribe
// (invoke_agent); the real OTLP exporters send everything to a real orb-learn.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { OpenAIInstrumentation } from '@opentelemetry/instrumentation-openai';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { deriveTaskId } from '../../src/convert/task-id.js';
import { eventually } from '../helpers/fake-openai.js';
import { startGenAIRig, type GenAIRig } from '../helpers/genai-rig.js';
import type { TestServer } from '../helpers/server.js';
import { exportOk, makeExporter, shutdownExporter } from '../helpers/spans.js';

const memory = new InMemorySpanExporter();
const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'refactor-agent', 'vcs.repository.url.full': 'https://github.com/acme/payments-api.git' }),
  spanProcessors: [new SimpleSpanProcessor(memory)],
});
provider.register();
registerInstrumentations({ tracerProvider: provider, instrumentations: [new OpenAIInstrumentation()] });
// Loaded after the instrumentation is registered, through require, which it patches.
const { default: OpenAI } = createRequire(import.meta.url)('openai') as typeof import('openai');
const tracer = trace.getTracer('refactor-agent', '1.0.0');

// Prices of model-data/prices.json (USD per 1M tokens), by hand.
const PRICE = { 'gpt-4o': { in: 2.5, out: 10 }, 'gpt-4o-mini': { in: 0.15, out: 0.6 }, 'o4-mini': { in: 1.1, out: 4.4 } };

interface Run {
  spans: ReadableSpan[];
  agent: ReadableSpan;
  taskId: string;
}

describe('GenAI runs from @opentelemetry/instrumentation-openai', () => {
  let rig: GenAIRig;
  let srv: TestServer;
  let client: GenAIRig['client'];

  before(async () => {
    rig = await startGenAIRig(OpenAI, provider, { genaiOrphanTtlMs: 1500 });
    ({ srv, client } = rig);
  });
  after(async () => {
    await rig?.close();
  });

  /** An agent invocation as the GenAI conventions set it up, with the chats it makes inside. */
  async function agentRun(name: string, models: string[], extra: (span: Span) => void = () => undefined): Promise<Run> {
    memory.reset();
    await tracer.startActiveSpan(
      `invoke_agent ${name}`,
      {
        kind: SpanKind.INTERNAL,
        attributes: {
          'gen_ai.operation.name': 'invoke_agent',
          'gen_ai.provider.name': 'openai',
          'gen_ai.agent.name': name,
          'gen_ai.agent.id': `agent_${name}`,
          'gen_ai.agent.description': `Refactor the payment webhook handler to validate signatures (${name})`,
          'gen_ai.request.model': 'gpt-4o',
        },
      },
      async (span) => {
        try {
          for (const model of models) await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'Refactor the webhook handler' }] });
          extra(span);
        } catch (err) {
          span.setAttribute('error.type', (err as Error).constructor.name);
          span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
        } finally {
          span.end();
        }
      },
    );
    const spans = memory.getFinishedSpans();
    const agent = spans.find((s) => s.attributes['gen_ai.operation.name'] === 'invoke_agent')!;
    return { spans, agent, taskId: deriveTaskId(agent.spanContext().traceId, agent.spanContext().spanId) };
  }

  async function send(spans: ReadableSpan[], kind: 'grpc' | 'http-proto' | 'http-json' = 'grpc') {
    const exporter = makeExporter(kind, srv);
    await exportOk(exporter, spans);
    await shutdownExporter(exporter);
  }

  const execution = (taskId: string) =>
    srv.rows(`SELECT *, task_id::VARCHAR AS id, metadata::VARCHAR AS meta FROM executions WHERE task_id = '${taskId}'`).then((r) => r[0]);

  it('a run that used two models: every derived field, and the cost by hand from the price table', async () => {
    const run = await agentRun('webhook-refactorer', ['gpt-4o-mini', 'gpt-4o', 'gpt-4o-mini'], (span) =>
      span.addEvent('gen_ai.evaluation.result', { 'gen_ai.evaluation.name': 'rating', 'gen_ai.evaluation.score.value': 4, 'gen_ai.evaluation.explanation': 'clean diff' }),
    );
    assert.equal(run.spans.length, 4, 'one agent span and three chat spans from the instrumentation');
    const chats = run.spans.filter((s) => s.attributes['gen_ai.operation.name'] === 'chat');
    assert.equal(chats.length, 3);
    for (const c of chats) assert.equal(c.parentSpanContext?.spanId, run.agent.spanContext().spanId, 'the instrumentation parents chats on the active agent span');
    // Exported as a batch processor would: children first (they end first), all in one request.
    await send(run.spans);
    const row = await eventually(() => execution(run.taskId), 10_000, 'the execution');

    // Hand computation. instrumentation-openai 0.21.0 reports prompt and completion tokens only
    // (no cached/reasoning detail), so every token is priced as plain input/output.
    const mini = (1200 * PRICE['gpt-4o-mini'].in + 300 * PRICE['gpt-4o-mini'].out) / 1e6;
    const big = (5000 * PRICE['gpt-4o'].in + 800 * PRICE['gpt-4o'].out) / 1e6;
    assert.ok(Math.abs(Number(row.actual_cost) - (2 * mini + big)) < 1e-12, `cost ${row.actual_cost} vs ${2 * mini + big}`);
    assert.equal(Number(row.estimated_tokens), 2 * 1500 + 5800);
    assert.equal(row.model_tier, 'medium', 'gpt-4o-2024-08-06 used the most tokens (5800 against 3000) and maps to medium');
    assert.equal(row.task_type, 'webhook-refactorer', 'gen_ai.agent.name');
    assert.equal(row.task_description, 'Refactor the payment webhook handler to validate signatures (webhook-refactorer)', 'gen_ai.agent.description');
    assert.equal(row.repo, 'payments-api', 'from vcs.repository.url.full');
    assert.equal(row.pool_type, 'openai', 'gen_ai.provider.name of the agent span');
    assert.equal(row.success, true);
    assert.equal(row.error_type, null);
    assert.equal(row.routing_confidence, null);
    assert.equal(row.cost_estimate, null);
    assert.equal(row.trace_id, run.agent.spanContext().traceId);
    assert.equal(row.span_id, run.agent.spanContext().spanId);
    assert.equal(row.service_name, 'refactor-agent');
    const startMs = run.agent.startTime[0] * 1000 + Math.floor(run.agent.startTime[1] / 1e6);
    assert.equal((row.timestamp as Date).getTime(), startMs);
    const dur = run.agent.duration[0] + run.agent.duration[1] / 1e9;
    assert.ok(Math.abs(Number(row.duration_seconds) - dur) < 1e-6);
    const meta = JSON.parse(String(row.meta)) as { genai: Record<string, unknown> };
    const g = meta.genai as { models: Record<string, { calls: number; input: number; output: number; cost: number; provider: string }>; tier_model: string; call_span_ids: string[]; unpriced_models: string[]; sources: Record<string, string>; convention: string };
    assert.equal(g.convention, 'gen_ai');
    assert.deepEqual(Object.keys(g.models).sort(), ['gpt-4o-2024-08-06', 'gpt-4o-mini-2024-07-18'], 'the response models, all of them');
    assert.equal(g.models['gpt-4o-mini-2024-07-18']!.calls, 2);
    assert.equal(g.models['gpt-4o-2024-08-06']!.provider, 'openai');
    assert.equal(g.tier_model, 'gpt-4o-2024-08-06');
    assert.equal(g.call_span_ids.length, 3);
    assert.deepEqual(g.unpriced_models, []);
    assert.deepEqual(g.sources, { task_description: 'gen_ai.agent.description', task_type: 'agent name', repo: 'resource vcs.repository.url.full', pool_type: 'agent span provider', model_tier: 'model gpt-4o-2024-08-06' });

    // The evaluation event on the agent span is feedback on this execution.
    const fb = await eventually(() => srv.rows(`SELECT feedback_type, rating, comment, source FROM feedback WHERE task_id = '${run.taskId}'`).then((r) => r[0]), 5000, 'feedback');
    assert.deepEqual(fb, { feedback_type: 'rating', rating: 4, comment: 'clean diff', source: 'evaluation' });
    assert.equal((await execution(run.taskId))!.user_rating, 4);

    // Summaries count it once, under its tier.
    await srv.server.store.writer.flushSummaries();
    const tiers = await srv.rows(`SELECT model_tier, total_executions::INTEGER AS n, sum_cost, estimate_count::INTEGER AS e FROM tier_performance_mv WHERE task_type = 'webhook-refactorer'`);
    assert.equal(tiers.length, 1);
    assert.equal(tiers[0]!.model_tier, 'medium');
    assert.equal(tiers[0]!.n, 1);
    assert.equal(tiers[0]!.e, 0, 'no cost_estimate');
    assert.ok(Math.abs(Number(tiers[0]!.sum_cost) - (2 * mini + big)) < 1e-12);
    // cost-error skips it and says so.
    const ce = await srv.server.queries.run('cost-error', {});
    assert.ok(ce.notes.some((n) => /skipped \d+ executions? without a cost_estimate/.test(n)), ce.notes.join('; '));
  });

  it('an error run: error.type and the ERROR status make a failure, and the calls made before it still cost', async () => {
    const run = await agentRun('flaky-agent', ['gpt-4o-mini', 'gpt-broken']);
    assert.equal(run.agent.status.code, SpanStatusCode.ERROR);
    await send(run.spans, 'http-proto');
    const row = await eventually(() => execution(run.taskId), 10_000, 'the execution');
    assert.equal(row.success, false);
    assert.equal(row.error_type, 'unknown', 'InternalServerError is none of the record error types');
    assert.match(String(row.error_message), /500/);
    const g = (JSON.parse(String(row.meta)) as { genai: { error_type: string; models: Record<string, { input: number }> } }).genai;
    assert.equal(g.error_type, 'InternalServerError', 'the error.type as set');
    assert.ok(Math.abs(Number(row.actual_cost) - (1200 * 0.15 + 300 * 0.6) / 1e6) < 1e-12);
    assert.equal(row.model_tier, 'small', 'gpt-4o-mini used the tokens; the failed call used none');
  });

  it('out of order, across requests and transports: the agent first, then each call late; same cost, tokens and tier, summaries moved once', async () => {
    const run = await agentRun('late-calls', ['o4-mini', 'gpt-4o-mini']);
    const calls = run.spans.filter((s) => s !== run.agent);
    await send([run.agent], 'http-json');
    // Settled with no call yet: the agent span's own request model decides, at no cost.
    const first = await eventually(() => execution(run.taskId), 10_000, 'the execution');
    assert.equal(first.model_tier, 'medium', 'gen_ai.request.model gpt-4o on the agent span');
    assert.equal(Number(first.actual_cost), 0);
    await send([calls[1]!], 'grpc');
    await send([calls[0]!], 'http-proto');
    const expected = (2000 * 1.1 + 900 * 4.4 + 1200 * 0.15 + 300 * 0.6) / 1e6;
    const row = await eventually(async () => {
      const r = await execution(run.taskId);
      return r && Math.abs(Number(r.actual_cost) - expected) < 1e-12 ? r : undefined;
    }, 10_000, 'both late calls counted');
    assert.equal(Number(row.estimated_tokens), 2900 + 1500);
    assert.equal(row.model_tier, 'small', 'o4-mini-2025-04-16 used the most tokens');
    // A redelivered call changes nothing.
    const dupBefore = await srv.metric('orb_genai_calls_expired_total');
    await send([calls[0]!], 'grpc');
    await eventually(async () => (await srv.metric('orb_genai_calls_expired_total')) > dupBefore, 5000, 'the duplicate dropped');
    assert.equal(Number((await execution(run.taskId))!.actual_cost), Number(row.actual_cost));
    await srv.server.store.writer.flushSummaries();
    const tiers = await srv.rows(`SELECT model_tier, total_executions::INTEGER AS n, sum_cost FROM tier_performance_mv WHERE task_type = 'late-calls' ORDER BY model_tier`);
    assert.deepEqual(tiers.map((t) => [t.model_tier, t.n]), [['small', 1]], 'the medium row it was first counted under is gone');
    assert.ok(Math.abs(Number(tiers[0]!.sum_cost) - expected) < 1e-12, `summary cost ${tiers[0]!.sum_cost}`);
    const sketch = await srv.rows(`SELECT model_tier, sum(count)::INTEGER AS n FROM tier_duration_sketch WHERE task_type = 'late-calls' GROUP BY ALL`);
    assert.deepEqual(sketch.map((t) => [t.model_tier, t.n]), [['small', 1]]);
  });

  it('a model the tables do not know becomes its own tier, costs nothing and is flagged', async () => {
    const before = await srv.metric('orb_genai_unpriced_runs_total');
    const run = await agentRun('house-agent', ['house-model-7b']);
    await send(run.spans);
    const row = await eventually(() => execution(run.taskId), 10_000, 'the execution');
    assert.equal(row.model_tier, 'house-model-7b');
    assert.equal(Number(row.actual_cost), 0);
    assert.equal(Number(row.estimated_tokens), 800);
    assert.deepEqual((JSON.parse(String(row.meta)) as { genai: { unpriced_models: string[] } }).genai.unpriced_models, ['house-model-7b']);
    // Counted just after the commit that made the row visible.
    await eventually(async () => (await srv.metric('orb_genai_unpriced_runs_total')) === before + 1, 5000, 'the unpriced run counted');
  });

  it('a trace with no agent span: its chat spans make no execution, are counted in /metrics, and expire', async () => {
    memory.reset();
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] });
    await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hello' }] });
    const spans = memory.getFinishedSpans();
    assert.equal(spans.length, 2);
    const executionsBefore = Number((await srv.rows('SELECT count(*)::INTEGER AS n FROM executions'))[0]!.n);
    const expiredBefore = await srv.metric('orb_genai_calls_expired_total');
    await send(spans);
    const text = async () => (await fetch(`${srv.httpUrl}/metrics`)).text();
    await eventually(async () => /orb_genai_pending_spans\{kind="call"\} 2/.test(await text()), 5000, 'two pending calls in /metrics');
    assert.match(await text(), /orb_genai_spans_total\{kind="call"\} \d+/);
    await eventually(async () => /orb_genai_calls_expired_total\{reason="no_agent"\} 2/.test(await text()), 10_000, 'the calls expired');
    assert.equal(await srv.metric('orb_genai_calls_expired_total'), expiredBefore + 2);
    assert.equal(Number((await srv.rows('SELECT count(*)::INTEGER AS n FROM executions'))[0]!.n), executionsBefore);
    assert.equal(Number((await srv.rows(`SELECT count(*)::INTEGER AS n FROM genai_pending`))[0]!.n), 0);
  });
});
