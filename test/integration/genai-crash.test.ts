// kill -9 between a run's spans: an acknowledged inference call, or an agent span still inside
// its settle wait, is in the file; after a restart the run is assembled as if nothing happened.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { context, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { deriveTaskId } from '../../src/convert/task-id.js';
import { readFile } from '../helpers/db.js';
import { eventually } from '../helpers/fake-openai.js';
import { spawnServe } from '../helpers/process.js';
import { tempDir } from '../helpers/server.js';
import { exportOk, makeExporter, shutdownExporter } from '../helpers/spans.js';

const memory = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': 'crash-agent' }), spanProcessors: [new SimpleSpanProcessor(memory)] });
const tracer = provider.getTracer('crash-agent');

/** An invoke_agent span and one chat span under it (gpt-4o-mini: 1200 in, 300 out). */
function run(name: string): { agent: ReadableSpan; chat: ReadableSpan; taskId: string } {
  memory.reset();
  const agent = tracer.startSpan(`invoke_agent ${name}`, { attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': name, 'gen_ai.provider.name': 'openai' } });
  const chat = tracer.startSpan(
    'chat gpt-4o-mini',
    { attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o-mini', 'gen_ai.response.model': 'gpt-4o-mini-2024-07-18', 'gen_ai.usage.input_tokens': 1200, 'gen_ai.usage.output_tokens': 300 } },
    trace.setSpan(context.active(), agent),
  );
  chat.end();
  agent.end();
  const [c, a] = memory.getFinishedSpans();
  return { agent: a!, chat: c!, taskId: deriveTaskId(a!.spanContext().traceId, a!.spanContext().spanId) };
}

async function send(grpcAddress: string, spans: ReadableSpan[]) {
  const e = makeExporter('grpc', { grpcUrl: `http://${grpcAddress}`, httpUrl: '' });
  await exportOk(e, spans);
  await shutdownExporter(e);
}

const COST = (1200 * 0.15 + 300 * 0.6) / 1e6;

describe('GenAI runs across kill -9', () => {
  let dir: string;
  before(() => {
    dir = tempDir();
  });
  after(async () => {
    await provider.shutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a call acknowledged before the kill, its agent span after the restart; and an agent span killed inside its wait', async () => {
    const db = join(dir, 'crash.duckdb');
    const early = run('call-before-kill');
    const waiting = run('killed-while-waiting');
    const first = await spawnServe(['--db', db], { ORB_GENAI_SETTLE_MS: '60000' });
    await send(first.grpcAddress, [early.chat]);
    await send(first.grpcAddress, [waiting.chat, waiting.agent]);
    first.child.kill('SIGKILL');
    assert.equal((await first.exited).signal, 'SIGKILL');
    assert.deepEqual(await readFile(db, "SELECT kind, count(*)::INTEGER FROM genai_pending GROUP BY kind ORDER BY kind"), [['agent', 1], ['call', 2]], 'every acknowledged span is in the file');
    assert.deepEqual(await readFile(db, 'SELECT count(*)::INTEGER FROM executions'), [[0]]);

    const again = await spawnServe(['--db', db], { ORB_GENAI_SETTLE_MS: '200' });
    await send(again.grpcAddress, [early.agent]);
    await eventually(async () => /orb_genai_runs_total\{outcome="stored"\} 2/.test(await (await fetch(`${again.httpUrl}/metrics`)).text()), 15_000, 'both runs stored');
    again.child.kill('SIGTERM');
    assert.equal((await again.exited).code, 0);
    const rows = await readFile(db, 'SELECT task_id::VARCHAR, actual_cost, estimated_tokens::INTEGER, model_tier FROM executions ORDER BY task_type');
    assert.deepEqual(
      rows.map((r) => [r[0], r[2], r[3]]),
      [
        [early.taskId, 1500, 'small'],
        [waiting.taskId, 1500, 'small'],
      ],
    );
    for (const r of rows) assert.ok(Math.abs(Number(r[1]) - COST) < 1e-12);
    assert.deepEqual(await readFile(db, 'SELECT count(*)::INTEGER FROM genai_pending'), [[0]], 'nothing left pending');
    const tiers = await readFile(db, "SELECT sum(total_executions)::INTEGER, sum(sum_cost) FROM tier_performance_mv WHERE model_tier = 'small'");
    assert.equal(tiers[0]![0], 2, 'summaries count each run once');
    assert.ok(Math.abs(Number(tiers[0]![1]) - 2 * COST) < 1e-12);
  });
});
