import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { InvalidInputError, TooLargeError } from '../../src/errors.js';
import { decodeJson, decodeProtobuf, encodeStatus, encodingOf, gunzipCapped } from '../../src/receiver/codec.js';
import { classify } from '../../src/receiver/errors.js';
import { RetryableError } from '../../src/errors.js';
import { encodeRequest } from '../helpers/raw.js';

describe('codec', () => {
  it('chooses the encoding by Content-Type, ignoring parameters and case', () => {
    assert.equal(encodingOf('application/x-protobuf'), 'protobuf');
    assert.equal(encodingOf('Application/JSON; charset=utf-8'), 'json');
    assert.equal(encodingOf('text/plain'), null);
    assert.equal(encodingOf(undefined), null);
  });

  it('decodes OTLP/JSON and protobuf to the same spans', () => {
    const json = {
      resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: '5B8EFFF798038103D269B633813FC60C', spanId: 'eee19b7ec3c1b174', startTimeUnixNano: '1767225600000000001', attributes: [{ key: 'n', value: { intValue: '9007199254740993' } }] }] }] }],
    };
    const fromJson = decodeJson(Buffer.from(JSON.stringify(json)));
    const fromPb = decodeProtobuf(encodeRequest({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: Buffer.from('5b8efff798038103d269b633813fc60c', 'hex'), spanId: Buffer.from('eee19b7ec3c1b174', 'hex'), startTimeUnixNano: '1767225600000000001', attributes: [{ key: 'n', value: { intValue: '9007199254740993' } }] }] }] }] }));
    for (const req of [fromJson, fromPb]) {
      const span = req.resourceSpans![0]!.scopeSpans![0]!.spans![0]!;
      assert.equal(Buffer.from(span.traceId!).toString('hex'), '5b8efff798038103d269b633813fc60c');
      assert.equal(String(span.startTimeUnixNano), '1767225600000000001', 'nanoseconds survive exactly');
      assert.equal(String(span.attributes![0]!.value!.intValue), '9007199254740993');
    }
  });

  it('names the path of a bad JSON id or int64', () => {
    assert.throws(() => decodeJson(Buffer.from('{"resourceSpans":[{"scopeSpans":[{"spans":[{"spanId":"abc"}]}]}]}')), (e: unknown) => e instanceof InvalidInputError && /resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.spanId: expected 16 hex characters/.test(e.message));
    assert.throws(() => decodeJson(Buffer.from('{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{"key":"a","value":{"intValue":"1.5"}}]}]}]}]}')), /intValue: expected an integer/);
    assert.throws(() => decodeJson(Buffer.from('[1,2]')), /must be an ExportTraceServiceRequest object/);
    assert.throws(() => decodeJson(Buffer.from('{"resourceSpans": 5}')), /invalid ExportTraceServiceRequest JSON: .*array expected/);
  });

  it('refuses gzip that inflates past the cap, and malformed gzip, with distinct errors', async () => {
    await assert.rejects(gunzipCapped(gzipSync(Buffer.alloc(2_000_000)), 1_000_000), TooLargeError);
    await assert.rejects(gunzipCapped(Buffer.from('nope'), 1_000_000), InvalidInputError);
    assert.equal((await gunzipCapped(gzipSync(Buffer.from('hello')), 10)).toString(), 'hello');
  });

  it('encodes google.rpc.Status with RetryInfo as JSON', () => {
    const s = JSON.parse(encodeStatus({ code: 14, message: 'full', retryAfterSeconds: 3 }, 'json').toString());
    assert.deepEqual(s, { code: 14, message: 'full', details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '3s' }] });
  });
});

describe('status mapping', () => {
  it('maps each typed error to one gRPC code and one HTTP status', () => {
    assert.deepEqual([classify(new InvalidInputError('x')).grpc, classify(new InvalidInputError('x')).http], [3, 400]);
    assert.deepEqual([classify(new TooLargeError('x')).grpc, classify(new TooLargeError('x')).http], [8, 413]);
    const r = classify(new RetryableError('x', 7));
    assert.deepEqual([r.grpc, r.http, r.retryAfterSeconds], [14, 503, 7]);
    const internal = classify(new Error('boom'));
    assert.deepEqual([internal.grpc, internal.http, internal.internal], [13, 500, true]);
  });
});
