// A row DuckDB refuses for good (here: a NOT NULL constraint that only this test's database has,
// on a column the record leaves nullable) must not fail the requests grouped with it, nor keep
// failing them on retry: the group is bisected, the good rows commit, and the refused row is kept
// in rejected_spans with DuckDB's own reason; each request gets an honest partial_success.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Store } from '../../src/store/db.js';
import { decodeResponse, encodeRequest, grpcClient, otlpRequest } from '../helpers/raw.js';
import { startTestServer, tempDir, type TestServer } from '../helpers/server.js';
import { fullExecution, minimalExecution } from '../helpers/spans.js';

describe('a row the database refuses for good', () => {
  let srv: TestServer;
  before(async () => {
    const db = join(tempDir('orb-refused-'), 'refused.duckdb');
    const store = await Store.open({ path: db });
    const conn = await store.connect();
    // The test-only constraint: production rows may leave quality_score out; this database refuses them.
    await conn.run('ALTER TABLE executions ALTER COLUMN quality_score SET NOT NULL');
    conn.closeSync();
    await store.close();
    // A long batch wait, so both requests share one transaction.
    srv = await startTestServer({ db, batchMaxWaitMs: 200 });
  });
  after(() => srv.close());

  it('commits the good rows, keeps the refused one with DuckDB\'s reason, and answers partial_success', async () => {
    const client = grpcClient(srv.grpcUrl.replace('http://', ''));
    try {
      const mixed = encodeRequest(
        otlpRequest([
          { attrs: fullExecution({ 'execution.task_description': 'refused-test good one' }), spanId: 'a000000000000001' },
          { attrs: minimalExecution({ 'execution.task_description': 'refused-test no quality score' }), spanId: 'a000000000000002' },
          { attrs: fullExecution({ 'execution.task_description': 'refused-test good two' }), spanId: 'a000000000000003' },
          { attrs: minimalExecution({ 'execution.routing_confidence': 1.5 }), spanId: 'a000000000000004' },
        ]),
      );
      const clean = encodeRequest(
        otlpRequest([{ attrs: fullExecution({ 'execution.task_description': 'refused-test other request' }), spanId: 'b000000000000001', traceId: '6b8efff798038103d269b633813fc60c' }]),
      );
      const [a, b] = await Promise.all([client.export(mixed), client.export(clean)]);
      assert.equal(a.error, undefined, a.error?.message);
      assert.equal(b.error, undefined, b.error?.message);
      const ra = decodeResponse(a.response!);
      assert.equal(ra.partialSuccess?.rejectedSpans, 2, 'the validation reject and the database refusal');
      assert.match(ra.partialSuccess!.errorMessage, /span a000000000000002: refused by the database: .*NOT NULL constraint failed: executions\.quality_score/);
      assert.match(ra.partialSuccess!.errorMessage, /^2 of 4 spans rejected/);
      assert.deepEqual(decodeResponse(b.response!), {}, 'the request grouped with it is not blamed');

      const stored = await srv.rows("SELECT task_description FROM executions WHERE task_description LIKE 'refused-test%' ORDER BY 1");
      assert.deepEqual(
        stored.map((r) => r.task_description),
        ['refused-test good one', 'refused-test good two', 'refused-test other request'],
      );
      const rejected = await srv.rows("SELECT span_id, reason, attributes::VARCHAR AS attributes FROM rejected_spans ORDER BY span_id");
      assert.equal(rejected.length, 2);
      assert.equal(rejected[0]!.span_id, 'a000000000000002');
      assert.match(String(rejected[0]!.reason), /^refused by the database: .*NOT NULL constraint failed: executions\.quality_score/);
      assert.match(String(rejected[0]!.attributes), /refused-test no quality score/, 'the refused row is kept whole');
      assert.equal(rejected[1]!.span_id, 'a000000000000004');
      assert.match(String(rejected[1]!.reason), /routing_confidence/);

      // Redelivered (the collector retrying the same request): nothing doubles, the same answer.
      const again = await client.export(mixed);
      assert.equal(decodeResponse(again.response!).partialSuccess?.rejectedSpans, 2);
      assert.equal((await srv.rows("SELECT count(*)::INT AS n FROM executions WHERE task_description LIKE 'refused-test%'"))[0]!.n, 3);
      assert.equal((await srv.rows('SELECT count(*)::INT AS n FROM rejected_spans'))[0]!.n, 2);
    } finally {
      client.close();
    }
  });
});
