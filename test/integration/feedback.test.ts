import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { recordFeedback } from '@orb-learn/emitter';
import { runCli } from '../helpers/process.js';
import { decodeResponse, encodeRequest, grpcExport } from '../helpers/raw.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { exportOk, makeExporter, makeSpans, minimalExecution } from '../helpers/spans.js';

describe('feedback from spans, GenAI evaluation events, the API and the CLI', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.close());

  const execution = async (id: string) => {
    const e = makeExporter('grpc', t);
    await exportOk(e, makeSpans([{ attributes: minimalExecution({ 'execution.task_id': id }) }]));
    await e.shutdown();
  };
  const feedbackSpans = (fb: Parameters<typeof recordFeedback>[1][]) => {
    const memory = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': 'review-ui' }), spanProcessors: [new SimpleSpanProcessor(memory)] });
    const tracer = provider.getTracer('t');
    fb.forEach((f, i) => {
      const span = tracer.startSpan('user.feedback', { startTime: Date.now() + i * 1000 });
      recordFeedback(span, f);
      span.end();
    });
    return memory.getFinishedSpans();
  };
  const row = async (id: string) => (await t.rows(`SELECT user_rating, user_accepted FROM executions WHERE task_id = '${id}'`))[0];

  it('stores feedback spans; the execution shows the latest rating and acceptance', async () => {
    const id = randomUUID();
    await execution(id);
    const e = makeExporter('grpc', t);
    await exportOk(e, feedbackSpans([{ task_id: id, rating: 4, accepted: false, feedback_type: 'rating', comment: 'ok', user_id: 'u1' }, { task_id: id, rating: 2, user_id: 'u2' }]));
    await e.shutdown();
    const stored = await t.rows(`SELECT rating, accepted, comment, user_id, source FROM feedback WHERE task_id = '${id}' ORDER BY timestamp`);
    assert.deepEqual(stored, [
      { rating: 4, accepted: false, comment: 'ok', user_id: 'u1', source: 'span' },
      { rating: 2, accepted: null, comment: null, user_id: 'u2', source: 'span' },
    ]);
    assert.deepEqual(await row(id), { user_rating: 2, user_accepted: false }, 'latest rating; latest acceptance');
  });

  it('keeps feedback that arrives before its execution and links it when the execution lands', async () => {
    const id = randomUUID();
    const e = makeExporter('grpc', t);
    await exportOk(e, feedbackSpans([{ task_id: id, rating: 5, accepted: true }]));
    await e.shutdown();
    assert.equal((await t.rows(`SELECT count(*)::INT n FROM feedback WHERE task_id = '${id}'`))[0]!.n, 1, 'kept');
    assert.equal(await row(id), undefined, 'no execution yet');
    await execution(id);
    assert.deepEqual(await row(id), { user_rating: 5, user_accepted: true });
  });

  it('maps gen_ai.evaluation.result events: ratings onto rating, other evaluations onto a 0–100 score', async () => {
    const id = randomUUID();
    const memory = new InMemorySpanExporter();
    const tracer = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] }).getTracer('t');
    const span = tracer.startSpan('agent.run', { attributes: minimalExecution({ 'execution.task_id': id }) });
    span.addEvent('gen_ai.evaluation.result', { 'gen_ai.evaluation.name': 'rating', 'gen_ai.evaluation.score.value': 5 });
    span.addEvent('gen_ai.evaluation.result', { 'gen_ai.evaluation.name': 'relevance', 'gen_ai.evaluation.score.value': 0.87, 'gen_ai.evaluation.explanation': 'on topic' });
    span.addEvent('gen_ai.evaluation.result', { 'gen_ai.evaluation.name': 'rating', 'gen_ai.evaluation.score.value': 9 });
    span.end();
    const e = makeExporter('grpc', t);
    await exportOk(e, memory.getFinishedSpans());
    await e.shutdown();
    const fb = await t.rows(`SELECT feedback_type, rating, round(score, 4) AS score, comment, source FROM feedback WHERE task_id = '${id}' ORDER BY feedback_type`);
    assert.deepEqual(fb, [
      { feedback_type: 'evaluation:relevance', rating: null, score: 87, comment: 'on topic', source: 'evaluation' },
      { feedback_type: 'rating', rating: 5, score: 5, comment: null, source: 'evaluation' },
    ]);
    assert.equal((await row(id))!.user_rating, 5);
    const rej = await t.rows(`SELECT reason FROM rejected_spans WHERE span_id = '${span.spanContext().spanId}'`);
    assert.match(String(rej[0]!.reason), /gen_ai\.evaluation\.result\[2\]: gen_ai\.evaluation\.score\.value: a rating must be 1–5, got 9/);
  });

  it('rejects invalid feedback spans with partial_success and keeps them in rejected_spans', async () => {
    const req = {
      resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: Buffer.alloc(16, 3), spanId: Buffer.from('c0ffee0000000001', 'hex'), startTimeUnixNano: '1767225600000000000', attributes: [{ key: 'feedback.rating', value: { intValue: 9 } }, { key: 'feedback.task_id', value: { stringValue: 'not-a-uuid' } }] }] }] }],
    };
    const out = await grpcExport(`127.0.0.1:${t.server.grpcPort}`, encodeRequest(req));
    const r = decodeResponse(out.response!);
    assert.equal(r.partialSuccess?.rejectedSpans, 1);
    assert.match(r.partialSuccess!.errorMessage, /feedback\.task_id: /);
    assert.match(r.partialSuccess!.errorMessage, /feedback\.rating: /);
    const [rej] = await t.rows(`SELECT reason FROM rejected_spans WHERE span_id = 'c0ffee0000000001'`);
    assert.ok(rej);
  });

  it('accepts POST /v1/feedback, idempotently, and answers 400 with the reason', async () => {
    const id = randomUUID();
    await execution(id);
    const fid = randomUUID();
    const post = (body: unknown) => fetch(`${t.httpUrl}/v1/feedback`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const first = await post({ task_id: id, rating: 3, accepted: true, feedback_id: fid });
    assert.equal(first.status, 201);
    assert.deepEqual(await first.json(), { feedback_id: fid, task_id: id, stored: true });
    const again = await post({ task_id: id, rating: 3, accepted: true, feedback_id: fid });
    assert.equal(again.status, 200);
    assert.equal(((await again.json()) as { stored: boolean }).stored, false);
    assert.deepEqual(await row(id), { user_rating: 3, user_accepted: true });
    const bad = await post({ task_id: id, rating: 7 });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { message: string }).message, /feedback: rating: /);
    assert.equal((await post({ rating: 3 })).status, 400);
  });

  it('records feedback from the CLI through the running server', async () => {
    const id = randomUUID();
    await execution(id);
    const r = await runCli(['feedback', 'add', '--task-id', id, '--rating', '1', '--accepted', 'false', '--server', t.httpUrl]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /stored \(server\)/);
    assert.deepEqual(await row(id), { user_rating: 1, user_accepted: false });
    const bad = await runCli(['feedback', 'add', '--task-id', id, '--rating', '6', '--server', t.httpUrl]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /feedback: rating: /);
  });
});
