// A recommendation's id and propensity travel with the outcome: recommend over HTTP, the emitter on
// a real OTel SDK span, the real OTLP/gRPC exporter, orb-learn, the DuckDB file; then eval routing
// reads them back (doubly robust estimates need the propensity).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { recordExecution } from '../../src/emit/index.js';
import { startTestServer, tempDir, type TestServer } from '../helpers/server.js';
import { exportOk, makeExporter } from '../helpers/spans.js';
import { writeTinyModel } from '../helpers/tiny-model.js';

describe('routing decision round trip: recommend → emitter → OTLP → store → eval routing', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ embed: true, modelDir: writeTinyModel(join(tempDir(), 'tiny')) });
    await t.server.embedding(); // recommend needs the model loaded
  });
  after(() => t.close());

  it('stores recommendation_id and routing_propensity as the router returned them', async () => {
    const memory = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': 'router-e2e' }), spanProcessors: [new SimpleSpanProcessor(memory)] });
    const tracer = provider.getTracer('router-e2e');
    const ids: string[] = [];
    const start = Date.now() - 3_600_000;
    for (let i = 0; i < 12; i++) {
      const res = await fetch(`${t.httpUrl}/v1/query/recommend?${new URLSearchParams({ text: 'rotate the signing keys', task_type: 'security', mode: 'explore', seed: String(i) })}`);
      assert.equal(res.status, 200, await res.clone().text());
      const a = ((await res.json()) as { answer: Record<string, unknown> }).answer;
      // An empty database names no tier; the router then runs a default, still logging the decision.
      const tier = (a.recommended_tier as string | null) ?? (i % 2 ? 'small' : 'large');
      ids.push(String(a.recommendation_id));
      const span = tracer.startSpan('agent.security', { startTime: start + i * 1000 });
      recordExecution(span, {
        task_type: 'security', task_description: 'rotate the signing keys', repo: 'r', model_tier: tier, pool_type: 'p', routing_confidence: 0.5,
        success: tier === 'large', cost_estimate: tier === 'large' ? 0.03 : 0.001, actual_cost: tier === 'large' ? 0.03 : 0.001,
        recommendation_id: String(a.recommendation_id), routing_propensity: Number(a.propensity),
      });
      span.end(start + i * 1000 + 500);
      const exporter = makeExporter('grpc', t);
      await exportOk(exporter, memory.getFinishedSpans());
      await exporter.shutdown();
      memory.reset();
    }
    await provider.shutdown();
    const rows = await t.rows('SELECT recommendation_id, routing_propensity FROM executions ORDER BY timestamp');
    assert.deepEqual(rows.map((r) => r.recommendation_id), ids, 'every id, in order');
    for (const r of rows) assert.ok(Number(r.routing_propensity) > 0 && Number(r.routing_propensity) <= 1);
    assert.equal(new Set(ids).size, 12, 'one id per recommendation');
    const e = (await t.server.embedding())!;
    await e.indexer.idle();
    const ev = await t.server.queries.run('eval-routing', {});
    assert.equal(ev.answer!.executions_scored, 11, 'the first has no earlier history');
    assert.equal(ev.answer!.with_propensity, 11);
    assert.equal(ev.answer!.method, 'doubly_robust');
    const http = (await (await fetch(`${t.httpUrl}/v1/query/eval-routing`)).json()) as { answer: Record<string, unknown> };
    assert.equal(http.answer.executions_scored, 11);
  });

  it('rejects a propensity outside (0, 1] with the field named, and keeps the span', async () => {
    const span = new BasicTracerProvider().getTracer('x').startSpan('agent.x');
    assert.throws(
      () => recordExecution(span, { task_type: 'x', task_description: 'x', repo: 'r', model_tier: 'small', pool_type: 'p', routing_confidence: 0.5, cost_estimate: 0, actual_cost: 0, routing_propensity: 0 }),
      /routing_propensity \(execution\.routing_propensity\): must be > 0/,
    );
  });
});
