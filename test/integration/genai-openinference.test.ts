// Runs learned from OpenInference spans: the real `openai` client instrumented by
// @arizeai/openinference-instrumentation-openai (a process of its own: it patches the same module
// as the OpenTelemetry instrumentation), an AGENT span set up as OpenInference prescribes, the
// real OTLP exporter, a real orb-learn. This instrumentation reports cached and reasoning tokens.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { trace, type Span } from '@opentelemetry/api';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { OpenAIInstrumentation } from '@arizeai/openinference-instrumentation-openai';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { deriveTaskId } from '../../src/convert/task-id.js';
import { eventually } from '../helpers/fake-openai.js';
import { startGenAIRig, type GenAIRig } from '../helpers/genai-rig.js';
import { tempDir, type TestServer } from '../helpers/server.js';
import { writeTinyModel } from '../helpers/tiny-model.js';
import { exportOk, makeExporter, shutdownExporter } from '../helpers/spans.js';

const memory = new InMemorySpanExporter();
const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'ledger-agents', 'vcs.repository.name': 'ledger' }),
  spanProcessors: [new SimpleSpanProcessor(memory)],
});
provider.register();
registerInstrumentations({ tracerProvider: provider, instrumentations: [new OpenAIInstrumentation({ tracerProvider: provider })] });
const { default: OpenAI } = createRequire(import.meta.url)('openai') as typeof import('openai');
const tracer = trace.getTracer('ledger-agents', '1.0.0');

describe('GenAI runs from @arizeai/openinference-instrumentation-openai', () => {
  let rig: GenAIRig;
  let srv: TestServer;
  let client: GenAIRig['client'];

  before(async () => {
    // Embedding on (a tiny generated model): similar and recommend must find these runs.
    rig = await startGenAIRig(OpenAI, provider, { embed: true, modelDir: writeTinyModel(tempDir('orb-tiny-')) });
    ({ srv, client } = rig);
  });
  after(async () => {
    await rig?.close();
  });

  async function agentRun(task: string, models: string[], attrs: Record<string, string | number> = {}) {
    memory.reset();
    await tracer.startActiveSpan('ledger-agent', { attributes: { 'openinference.span.kind': 'AGENT', 'agent.name': 'ledger-agent', 'input.value': task, 'input.mime_type': 'text/plain', ...attrs } }, async (span: Span) => {
      for (const model of models) await client.chat.completions.create({ model, messages: [{ role: 'system', content: 'You migrate ledgers.' }, { role: 'user', content: task }] });
      span.setAttribute('output.value', 'done');
      span.end();
    });
    const spans = memory.getFinishedSpans();
    const agent = spans.find((s) => s.attributes['openinference.span.kind'] === 'AGENT')!;
    const exporter = makeExporter('grpc', srv);
    await exportOk(exporter, spans);
    await shutdownExporter(exporter);
    const taskId = deriveTaskId(agent.spanContext().traceId, agent.spanContext().spanId);
    return { spans, taskId };
  }

  const execution = (taskId: string) => srv.rows(`SELECT *, metadata::VARCHAR AS meta FROM executions WHERE task_id = '${taskId}'`).then((r) => r[0]);

  it('an AGENT span with LLM spans under it: cached and reasoning tokens priced by the table, by hand', async () => {
    const task = 'Migrate the ledger reconciliation job to the new double-entry schema';
    const run = await agentRun(task, ['o4-mini', 'gpt-4o-mini']);
    const llm = run.spans.filter((s) => s.attributes['openinference.span.kind'] === 'LLM');
    assert.equal(llm.length, 2);
    assert.equal(llm[0]!.attributes['llm.token_count.prompt_details.cache_read'], 1024, 'the instrumentation reports cached tokens');
    assert.equal(llm[0]!.attributes['llm.token_count.completion_details.reasoning'], 640, 'and reasoning tokens');
    const row = await eventually(() => execution(run.taskId), 10_000, 'the execution');
    // o4-mini: 976 uncached input × 1.10 + 1024 cached × 0.275 + 260 output × 4.40 + 640 reasoning × 4.40 (USD per 1M)
    const o4 = (976 * 1.1 + 1024 * 0.275 + 260 * 4.4 + 640 * 4.4) / 1e6;
    // gpt-4o-mini: 800 × 0.15 + 400 cached × 0.075 + 300 × 0.60
    const mini = (800 * 0.15 + 400 * 0.075 + 300 * 0.6) / 1e6;
    assert.ok(Math.abs(Number(row.actual_cost) - (o4 + mini)) < 1e-12, `cost ${row.actual_cost} vs ${o4 + mini}`);
    assert.equal(Number(row.estimated_tokens), 2900 + 1500);
    assert.equal(row.model_tier, 'small', 'o4-mini-2025-04-16 used the most tokens');
    assert.equal(row.task_description, task, 'the first user message: OpenInference input.value');
    assert.equal(row.task_type, 'ledger-agent', 'agent.name');
    assert.equal(row.repo, 'ledger', 'resource vcs.repository.name');
    assert.equal(row.pool_type, 'openai', 'no provider on the agent span: the deciding model’s llm.provider');
    assert.equal(row.success, true);
    const g = (JSON.parse(String(row.meta)) as { genai: { convention: string; sources: Record<string, string>; models: Record<string, { cache_read: number; reasoning: number; cost_from_table: number }> } }).genai;
    assert.equal(g.convention, 'openinference');
    assert.equal(g.sources.task_description, 'first user message (input.value)');
    assert.equal(g.sources.pool_type, 'model');
    assert.equal(g.models['o4-mini-2025-04-16']!.cache_read, 1024);
    assert.equal(g.models['o4-mini-2025-04-16']!.reasoning, 640);
  });

  it('tiers, similar and recommend use the runs', async () => {
    const task = 'Refactor the auth middleware to validate JWT';
    const runs: { taskId: string }[] = [];
    for (let i = 0; i < 5; i++) runs.push(await agentRun(task, ['gpt-4o-mini']));
    for (const r of runs) await eventually(() => execution(r.taskId), 10_000, 'the execution');
    const emb = await srv.server.embedding();
    assert.ok(emb, 'embedding is running');
    await eventually(async () => {
      const rows = await srv.rows(`SELECT count(*)::INTEGER AS n FROM execution_embeddings WHERE task_id IN (${runs.map((r) => `'${r.taskId}'`).join(', ')})`);
      return rows[0]!.n === 5;
    }, 20_000, 'the runs embedded');
    const tiers = await srv.server.queries.run('tiers', { task_type: 'ledger-agent' });
    assert.ok(tiers.rows.some((r) => r.model_tier === 'small' && Number(r.total) >= 5), JSON.stringify(tiers.rows));
    const similar = await srv.server.queries.run('similar', { text: task, threshold: -1, limit: 50 });
    for (const r of runs) assert.ok(similar.rows.some((x) => x.task_id === r.taskId), 'each run is found by similar');
    const rec = await srv.server.queries.run('recommend', { text: task, task_type: 'ledger-agent' });
    assert.equal(rec.answer?.tier ?? rec.answer?.model_tier ?? rec.answer?.recommended_tier, 'small', JSON.stringify(rec.answer));
  });

  it('explicit execution.* attributes on the agent span win over every derivation', async () => {
    const run = await agentRun('Backfill ledger entries for March', ['gpt-4o'], {
      'execution.model_tier': 'large',
      'execution.task_type': 'backfill',
      'execution.pool_type': 'batch-pool',
      'execution.cost_estimate': 0.02,
      'execution.routing_confidence': 0.7,
    });
    const row = await eventually(() => execution(run.taskId), 10_000, 'the execution');
    assert.equal(row.model_tier, 'large');
    assert.equal(row.task_type, 'backfill');
    assert.equal(row.pool_type, 'batch-pool');
    assert.equal(row.cost_estimate, 0.02);
    assert.equal(row.routing_confidence, 0.7);
    assert.ok(Math.abs(Number(row.actual_cost) - (5000 * 2.5 + 800 * 10) / 1e6) < 1e-12, 'not set explicitly: from tokens');
    assert.deepEqual((JSON.parse(String(row.meta)) as { genai: { explicit: string[] } }).genai.explicit.sort(), ['cost_estimate', 'model_tier', 'pool_type', 'routing_confidence', 'task_type']);
  });
});
