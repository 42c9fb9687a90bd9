import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestServer, tempDir, type TestServer } from '../helpers/server.js';
import { exportOk, makeExporter, makeSpans, minimalExecution } from '../helpers/spans.js';
import { writeTinyModel } from '../helpers/tiny-model.js';

describe('embedding off the ack path (tiny real ONNX model)', () => {
  let t: TestServer;
  before(async () => {
    const modelDir = writeTinyModel(join(tempDir(), 'tiny'));
    t = await startTestServer({ embed: true, modelDir, embedBatchSize: 4 });
  });
  after(() => t.close());

  it('gives every committed execution exactly one int8 vector tagged with the model', async () => {
    const embedding = await t.server.embedding();
    assert.ok(embedding, 'the model loaded');
    const exporter = makeExporter('grpc', t);
    const spans = makeSpans(Array.from({ length: 30 }, (_, i) => ({ attributes: minimalExecution({ 'execution.task_description': `refactor auth middleware ${i % 10}` }) })));
    await exportOk(exporter, spans);
    await exporter.shutdown();
    await embedding.indexer.idle();
    const [c] = await t.rows(`SELECT count(*)::INT n, count(DISTINCT task_id)::INT tasks, min(len(embedding))::INT dmin, max(len(embedding))::INT dmax, count(DISTINCT model_id)::INT models FROM execution_embeddings`);
    assert.deepEqual(c, { n: 30, tasks: 30, dmin: 16, dmax: 16, models: 1 });
    const [m] = await t.rows(`SELECT model_id, dimension FROM embedding_models`);
    assert.equal(m!.model_id, embedding.indexer.modelId);
    assert.equal(m!.dimension, 16);
    const missing = await t.rows(`SELECT task_id FROM executions ANTI JOIN execution_embeddings USING (task_id)`);
    assert.equal(missing.length, 0);
  });

  it('embeds identical contents once (content-hash cache) and keeps vectors unit-length', async () => {
    const cached = await t.metric('orb_embeddings_total');
    const [fromCache] = await t.rows(`SELECT count(*)::INT n FROM execution_embeddings GROUP BY content_hash ORDER BY n DESC LIMIT 1`);
    assert.equal(fromCache!.n, 3, 'three executions share each of ten contents');
    const m = (await t.server.metrics.registry.getSingleMetric('orb_embeddings_total')!.get()).values;
    const bySource = Object.fromEntries(m.map((v) => [v.labels.source, v.value]));
    assert.equal(bySource.model, 10, 'ten distinct contents went through the model');
    assert.equal(bySource.cache, 20);
    assert.equal(cached, 30);
    const norms = await t.rows(`SELECT sqrt(list_sum(list_transform(embedding, x -> x * x))) AS norm FROM execution_vectors`);
    for (const r of norms) assert.ok(Math.abs(Number(r.norm) - 1) < 0.02, `norm ${r.norm}`);
  });

  it('reports coverage over HTTP and accepts a reembed request', async () => {
    const cov = (await (await fetch(`${t.httpUrl}/v1/embeddings`)).json()) as { missing: number; executions: number };
    assert.equal(cov.missing, 0);
    assert.equal(cov.executions, 30);
    const r = await fetch(`${t.httpUrl}/v1/embeddings/reembed`, { method: 'POST' });
    assert.equal(r.status, 202);
  });
});

describe('one task, one vector; a new recipe re-embeds (tiny real ONNX model, real server)', () => {
  const dir = tempDir();
  const modelDir = writeTinyModel(join(dir, 'tiny'));
  const db = join(dir, 'recipe.duckdb');
  const runs = [
    { 'execution.model_tier': 'small', 'execution.pool_type': 'local', 'execution.actual_cost': 0.001, 'execution.success': true },
    { 'execution.model_tier': 'medium', 'execution.pool_type': 'gpu', 'execution.actual_cost': 0.006, 'execution.success': false },
    { 'execution.model_tier': 'large', 'execution.pool_type': 'cloud', 'execution.actual_cost': 0.03, 'execution.success': true },
  ];
  after(() => rmSync(dir, { recursive: true, force: true }));
  const vectors = (t: TestServer) =>
    t.rows(`SELECT e.model_tier, e.task_type, v.model_id, v.content_hash, v.embedding::VARCHAR AS embedding FROM executions e JOIN execution_embeddings v USING (task_id) ORDER BY v.model_id, e.task_type, e.model_tier`);

  it('runs of one task on different tiers, pools and outcomes share one vector; another task type gets its own', async () => {
    const t = await startTestServer({ embed: true, modelDir, db });
    try {
      const embedding = (await t.server.embedding())!;
      const exporter = makeExporter('grpc', t);
      const task = { 'execution.task_type': 'refactor', 'execution.task_description': 'refactor auth middleware' };
      await exportOk(exporter, makeSpans([...runs.map((r) => ({ attributes: minimalExecution({ ...task, ...r }) })), { attributes: minimalExecution({ ...task, 'execution.task_type': 'test' }) }]));
      await exporter.shutdown();
      await embedding.indexer.idle();
      const rows = await vectors(t);
      assert.equal(rows.length, 4);
      const refactor = rows.filter((r) => r.task_type === 'refactor');
      assert.deepEqual(refactor.map((r) => r.model_tier), ['large', 'medium', 'small']);
      assert.equal(new Set(refactor.map((r) => r.content_hash)).size, 1, 'one content');
      assert.equal(new Set(refactor.map((r) => r.embedding)).size, 1, 'one vector');
      assert.notEqual(rows.find((r) => r.task_type === 'test')!.embedding, refactor[0]!.embedding);
      assert.deepEqual(new Set(rows.map((r) => r.model_id)), new Set([`${embedding.client.modelId}+task`]));
      const m = Object.fromEntries((await t.server.metrics.registry.getSingleMetric('orb_embeddings_total')!.get()).values.map((v) => [v.labels.source, v.value]));
      assert.deepEqual([m.model, m.cache], [2, 2], 'two contents through the model, two runs from the cache');
    } finally {
      await t.close();
    }
  });

  it("switching to the review's recipe is a model change: every execution is embedded again, under the bare model id", async () => {
    const t = await startTestServer({ embed: true, modelDir, db, embedContent: 'review' });
    try {
      const embedding = (await t.server.embedding())!;
      await embedding.indexer.idle();
      const cov = await embedding.indexer.coverage();
      assert.deepEqual(cov, { modelId: embedding.client.modelId, executions: 4, embedded: 4, missing: 0 });
      const review = (await vectors(t)).filter((r) => r.model_id === embedding.client.modelId);
      assert.equal(review.length, 4);
      assert.equal(new Set(review.map((r) => r.content_hash)).size, 4, 'the review string carries tier, pool and outcome: one vector per run');
      assert.equal(embedding.index.size, 4, 'the index serves the active recipe');
      const sim = (await (await fetch(`${t.httpUrl}/v1/query/similar?text=refactor%20auth&threshold=-1`)).json()) as { notes: string[] };
      assert.match(sim.notes[0]!, new RegExp(`vectors of model ${embedding.client.modelId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
    } finally {
      await t.close();
    }
  });
});

describe('embedding waits for a lull in ingest', () => {
  let t: TestServer;
  before(async () => {
    const modelDir = writeTinyModel(join(tempDir(), 'tiny'));
    t = await startTestServer({ embed: true, modelDir, embedBatchSize: 4, embedMaxYieldMs: 60_000 });
  });
  after(() => t.close());

  it('embeds nothing while exports keep arriving, then everything once they stop', async () => {
    const embedding = await t.server.embedding();
    assert.ok(embedding);
    const exporter = makeExporter('grpc', t);
    const started = performance.now();
    let sent = 0;
    // Back-to-back exports for 1.5 s: the queue is never idle for the lull (250 ms).
    while (performance.now() - started < 1500) {
      await exportOk(exporter, makeSpans(Array.from({ length: 10 }, (_, i) => ({ attributes: minimalExecution({ 'execution.task_description': `busy ${sent + i}` }) }))));
      sent += 10;
    }
    const [during] = await t.rows(`SELECT count(*)::INT n FROM execution_embeddings`);
    await exporter.shutdown();
    assert.ok(sent >= 50, `sent ${sent}`);
    assert.equal(during!.n, 0, 'no batch ran while ingest was busy');
    await embedding.indexer.idle();
    const [afterwards] = await t.rows(`SELECT count(*)::INT n FROM execution_embeddings`);
    assert.equal(afterwards!.n, sent);
    assert.ok((await t.metric('orb_embedding_yield_seconds_total')) > 0, 'the wait is in /metrics');
  });
});
