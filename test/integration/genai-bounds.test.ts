// The pending GenAI spans are bounded: past genaiMaxPending the oldest calls are dropped, counted.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../helpers/fake-openai.js';
import { encodeRequest, grpcClient, otlpRequest } from '../helpers/raw.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const chat = (i: number) => ({
  traceId: (0x1000 + i).toString(16).padStart(32, '0'),
  spanId: (0x2000 + i).toString(16).padStart(16, '0'),
  parentSpanId: (0x3000 + i).toString(16).padStart(16, '0'),
  name: 'chat gpt-4o-mini',
  attrs: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o-mini', 'gen_ai.usage.input_tokens': 10, 'gen_ai.usage.output_tokens': 5 },
});

describe('pending GenAI spans', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ genaiMaxPending: 3 });
  });
  after(() => srv?.close());

  it('keep at most genaiMaxPending: the oldest calls go, counted as overflow, visible in /metrics', async () => {
    const client = grpcClient(srv.grpcUrl.replace('http://', ''));
    for (let i = 0; i < 5; i++) {
      const r = await client.export(encodeRequest(otlpRequest([chat(i)])));
      assert.equal(r.error, undefined);
    }
    client.close();
    await srv.server.genai.tick();
    await eventually(async () => Number((await srv.rows('SELECT count(*)::INTEGER AS n FROM genai_pending'))[0]!.n) === 3, 5000, 'three left');
    const left = (await srv.rows('SELECT span_id FROM genai_pending ORDER BY span_id')).map((r) => r.span_id);
    assert.deepEqual(left, [2, 3, 4].map((i) => (0x2000 + i).toString(16).padStart(16, '0')), 'the newest three stay');
    const metrics = await (await fetch(`${srv.httpUrl}/metrics`)).text();
    assert.match(metrics, /orb_genai_calls_expired_total\{reason="overflow"\} 2/);
    await srv.server.genai.tick();
    assert.match(await (await fetch(`${srv.httpUrl}/metrics`)).text(), /orb_genai_pending_spans\{kind="call"\} 3/);
  });
});
