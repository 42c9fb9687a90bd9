// Hostile and careless input against a real server: every one is a 400 or a kept reject with a
// precise reason, never a 500, a crash or a silently wrong row (issue 10 §3, §6).
import assert from 'node:assert/strict';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { after, before, describe, it } from 'node:test';
const MAX_VALUE_DEPTH = 32;
import { decodeResponse, decodeStatus, encodeRequest, grpcExport, httpPost, otlpRequest } from '../helpers/raw.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { minimalExecution } from '../helpers/spans.js';

const PROTO = { 'content-type': 'application/x-protobuf' };
const JSON_CT = { 'content-type': 'application/json' };
const TRACE = '5b8efff798038103d269b633813fc60c';
const START = '1767225600000000000'; // 2026-01-01

const attr = (key: string, value: Record<string, unknown>) => ({ key, value });
const strAttrs = (o: Record<string, unknown>) =>
  Object.entries(o).map(([k, v]) => attr(k, typeof v === 'string' ? { stringValue: v } : Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v }));

/** One OTLP/JSON span with these attributes on top of a valid execution's. */
function jsonSpan(spanId: string, extra: Record<string, unknown>[] = [], over: Record<string, unknown> = {}) {
  return {
    resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: TRACE, spanId, name: 'execution', startTimeUnixNano: START, endTimeUnixNano: '1767225601000000000', attributes: [...strAttrs(minimalExecution()), ...extra], ...over }] }] }],
  };
}

function nested(depth: number): Record<string, unknown> {
  let v: Record<string, unknown> = { stringValue: 'leaf' };
  for (let i = 0; i < depth; i++) v = { arrayValue: { values: [v] } };
  return v;
}

describe('hostile input', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.close());

  const postJson = (body: unknown) => httpPost(`${t.httpUrl}/v1/traces`, Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)), JSON_CT);
  const postProto = (obj: Record<string, unknown>) => httpPost(`${t.httpUrl}/v1/traces`, encodeRequest(obj), PROTO);
  const reasonOf = async (spanId: string) => (await t.rows(`SELECT reason FROM rejected_spans WHERE span_id = '${spanId}'`))[0]?.reason as string | undefined;

  it('refuses an OTLP/JSON int64 past its range instead of wrapping it modulo 2^64', async () => {
    const r = await postJson(jsonSpan('e000000000000001', [attr('execution.quality_score', { intValue: '18446744073709551666' })]));
    assert.equal(r.status, 400);
    assert.match(decodeStatusJson(r.body), /spans\[0\]\.attributes\[8\]\.value\.intValue: 18446744073709551666 is outside the int64 range/);
    const meta = await postJson(jsonSpan('e000000000000002', [attr('execution.metadata.big', { intValue: '9223372036854775808' })]));
    assert.equal(meta.status, 400);
    const year9999 = await postJson(jsonSpan('e000000000000003', [], { startTimeUnixNano: '253402300799000000000' }));
    assert.equal(year9999.status, 400);
    assert.match(decodeStatusJson(year9999.body), /startTimeUnixNano: 253402300799000000000 is outside the uint64 nanoseconds range/);
    const lossy = await postJson(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${TRACE}","spanId":"e000000000000004","startTimeUnixNano":${START},"attributes":[]}]}]}]}`);
    assert.equal(lossy.status, 400, 'a JSON number past 2^53 has already lost its value');
    assert.match(decodeStatusJson(lossy.body), /beyond 2\^53 as a JSON number/);
    assert.equal((await t.rows(`SELECT count(*)::INT n FROM executions WHERE span_id LIKE 'e00000000000000%'`))[0]!.n, 0);
    // An int64 within range but past 2^53 is exact as a decimal string: kept in metadata, refused for a number field.
    const exact = await postJson(jsonSpan('e000000000000005', [attr('execution.metadata.big', { intValue: '9223372036854775807' })]));
    assert.equal(exact.status, 200);
    const [row] = await t.rows(`SELECT metadata->>'big' AS big FROM executions WHERE span_id = 'e000000000000005'`);
    assert.equal(row!.big, '9223372036854775807');
    const big = encodeRequest({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: Buffer.from(TRACE, 'hex'), spanId: Buffer.from('e000000000000007', 'hex'), startTimeUnixNano: START, attributes: [...strAttrs(minimalExecution()), attr('execution.estimated_tokens', { intValue: '4611686018427387904' })] }] }] }] });
    const pb = await httpPost(`${t.httpUrl}/v1/traces`, big, PROTO);
    assert.equal(decodeResponse(pb.body).partialSuccess?.rejectedSpans, 1);
    assert.match((await reasonOf('e000000000000007'))!, /execution\.estimated_tokens: 4611686018427387904 is beyond ±2\^53/);
  });

  it('rejects span times outside 2000 … a day ahead, naming the unit that was probably meant, in JSON and protobuf', async () => {
    const seconds = await postJson(jsonSpan('e100000000000001', [], { startTimeUnixNano: '1767225600', endTimeUnixNano: '1767225601' }));
    assert.equal(seconds.status, 200);
    assert.equal(JSON.parse(seconds.body.toString()).partialSuccess.rejectedSpans, '1');
    assert.match((await reasonOf('e100000000000001'))!, /start_time_unix_nano: 1767225600 read as nanoseconds is 1970-01-01.*looks like seconds since the epoch \(2026-01-01T00:00:00\.000Z\)/);
    const micros = otlpRequest([{ attrs: minimalExecution() as Record<string, unknown>, spanId: 'e100000000000002' }]);
    const sp = (micros as { resourceSpans: { scopeSpans: { spans: Record<string, unknown>[] }[] }[] }).resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
    sp.startTimeUnixNano = '1767225600000000';
    sp.endTimeUnixNano = '1767225601000000';
    const pb = await postProto(micros);
    assert.equal(decodeResponse(pb.body).partialSuccess?.rejectedSpans, 1);
    assert.match((await reasonOf('e100000000000002'))!, /looks like microseconds/);
    const ahead = String(BigInt(Date.now() + 3 * 86_400_000) * 1_000_000n);
    await postJson(jsonSpan('e100000000000003', [], { startTimeUnixNano: ahead, endTimeUnixNano: ahead }));
    assert.match((await reasonOf('e100000000000003'))!, /more than a day after it was received/);
    assert.equal((await t.rows(`SELECT count(*)::INT n FROM executions WHERE span_id LIKE 'e1000000000000%'`))[0]!.n, 0);
  });

  it('answers 400, not 500, to OTLP/JSON nested 10,000 deep', async () => {
    const deep = '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000);
    const body = `{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{"key":"execution.repo","value":${deep}}]}]}]}]}`;
    const r = await postJson(body);
    assert.equal(r.status, 400);
    assert.match(decodeStatusJson(r.body), /JSON nested deeper than \d+ levels/);
    const arrays = await postJson(JSON.stringify(jsonSpan('e200000000000001', [attr('execution.metadata.deep', { stringValue: 'HERE' })])).replace('{"stringValue":"HERE"}', '{"arrayValue":{"values":['.repeat(10_000) + '{"stringValue":"x"}' + ']}}'.repeat(10_000)));
    assert.equal(arrays.status, 400);
  });

  it('holds protobuf and JSON to one AnyValue nesting limit', async () => {
    for (const [depth, ok] of [[MAX_VALUE_DEPTH, true], [MAX_VALUE_DEPTH + 1, false]] as const) {
      const spanId = `e3000000000000${depth}`;
      const js = await postJson(jsonSpan(spanId, [attr('execution.metadata.deep', nested(depth))]));
      const obj = jsonSpan(spanId, [attr('execution.metadata.deep', nested(depth))]) as unknown as { resourceSpans: { scopeSpans: { spans: Record<string, unknown>[] }[] }[] };
      const s = obj.resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
      s.traceId = Buffer.from(TRACE, 'hex');
      s.spanId = Buffer.from(spanId, 'hex');
      const pb = await postProto(obj);
      assert.equal(js.status, ok ? 200 : 400, `JSON at depth ${depth}`);
      assert.equal(pb.status, ok ? 200 : 400, `protobuf at depth ${depth}`);
      if (!ok) {
        assert.match(decodeStatusJson(js.body), new RegExp(`AnyValue nested deeper than ${MAX_VALUE_DEPTH} levels`));
        assert.match(decodeStatus(pb.body).message, new RegExp(`AnyValue nested deeper than ${MAX_VALUE_DEPTH} levels`));
      }
    }
  });

  it('refuses protobuf trace and span ids of the wrong length, over HTTP and gRPC, as JSON does', async () => {
    for (const [traceId, spanId, what] of [
      [Buffer.alloc(3, 1), Buffer.alloc(8, 1), /trace_id must be 16 bytes, got 3/],
      [Buffer.alloc(1000, 1), Buffer.alloc(8, 1), /trace_id must be 16 bytes, got 1000/],
      [Buffer.alloc(16, 1), Buffer.alloc(20, 1), /span_id must be 8 bytes, got 20/],
    ] as const) {
      const body = encodeRequest({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId, spanId, startTimeUnixNano: START, attributes: strAttrs(minimalExecution()) }] }] }] });
      const h = await httpPost(`${t.httpUrl}/v1/traces`, body, PROTO);
      assert.equal(h.status, 400);
      assert.match(decodeStatus(h.body).message, what);
      const g = await grpcExport(`127.0.0.1:${t.server.grpcPort}`, body);
      assert.equal(g.error?.code, GrpcStatus.INVALID_ARGUMENT);
      assert.match(g.error!.details, what);
    }
    const js = await postJson(jsonSpan('e4000000000000', []));
    assert.equal(js.status, 400, 'JSON: a 7-byte span id');
  });

  it('rejects the nil UUID and a 1 MB task_id, and NUL or invalid UTF-8 in identifier fields', async () => {
    await postJson(jsonSpan('e500000000000001', [attr('execution.task_id', { stringValue: '00000000-0000-0000-0000-000000000000' })]));
    assert.match((await reasonOf('e500000000000001'))!, /execution\.task_id: must not be the nil UUID/);
    await postJson(jsonSpan('e500000000000002', [attr('execution.task_id', { stringValue: 'x'.repeat(1024 * 1024) })]));
    assert.match((await reasonOf('e500000000000002'))!, /execution\.task_id: \d+ bytes; the span's attributes take \d+ bytes .*more than the 262144 a span may carry/);
    await postJson(jsonSpan('e500000000000003', [attr('execution.task_type', { stringValue: 'refactor\u0000; DROP' })]));
    assert.match((await reasonOf('e500000000000003'))!, /execution\.task_type: must not contain a NUL character/);
    // Invalid UTF-8 in a protobuf string: the decoder makes it U+FFFD, which an identifier refuses.
    const body = encodeRequest(otlpRequest([{ attrs: { ...minimalExecution(), 'execution.repo': 'REPLACEME' } as Record<string, unknown>, spanId: 'e500000000000004' }]));
    const bad = Buffer.from(body.toString('latin1').replace('REPLACEME', 'repo\xff\xfe\xfdxx'), 'latin1');
    const r = await httpPost(`${t.httpUrl}/v1/traces`, bad, PROTO);
    assert.equal(r.status, 200);
    assert.match((await reasonOf('e500000000000004'))!, /execution\.repo: must not contain U\+FFFD/);
    assert.equal((await t.rows(`SELECT count(*)::INT n FROM executions WHERE span_id LIKE 'e50000000000000%'`))[0]!.n, 0);
  });

  it('says NaN or Infinity, not "missing", for a required double', async () => {
    for (const [spanId, v] of [['e600000000000001', NaN], ['e600000000000002', Infinity]] as const) {
      const body = encodeRequest(otlpRequest([{ attrs: { ...minimalExecution(), 'execution.actual_cost': v } as Record<string, unknown>, spanId }]));
      await httpPost(`${t.httpUrl}/v1/traces`, body, PROTO);
      assert.match((await reasonOf(spanId))!, new RegExp(`execution\\.actual_cost: must be a finite number, got ${v}`));
    }
    const { 'execution.actual_cost': _, ...without } = minimalExecution();
    await postJson(jsonSpan('e600000000000003', [], { attributes: strAttrs(without) }));
    assert.match((await reasonOf('e600000000000003'))!, /execution\.actual_cost: required attribute is missing/);
  });

  it('tells a wrong-typed feedback rating from a missing one', async () => {
    const post = (body: unknown) => httpPost(`${t.httpUrl}/v1/feedback`, Buffer.from(JSON.stringify(body)), JSON_CT);
    const id = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';
    for (const [rating, message] of [
      ['5', /feedback: rating: expected a number, got the string "5"/],
      [4.5, /feedback: rating: must be an integer, got 4\.5/],
    ] as const) {
      const r = await post({ task_id: id, rating });
      assert.equal(r.status, 400);
      assert.match(JSON.parse(r.body.toString()).message, message);
    }
    const missing = await post({ rating: 3 });
    assert.match(JSON.parse(missing.body.toString()).message, /feedback: task_id: is required/);
    const nil = await post({ task_id: '00000000-0000-0000-0000-000000000000', rating: 3 });
    assert.match(JSON.parse(nil.body.toString()).message, /feedback: task_id: must not be the nil UUID/);
  });
});

function decodeStatusJson(body: Buffer): string {
  return (JSON.parse(body.toString()) as { message: string }).message;
}
