// The hand-rolled Reader decoder against protobufjs's reflected decoder (the oracle), on
// requests encoded by the real OpenTelemetry exporter's serializer and by protobufjs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { attributesToObject, int64ToBigInt } from '../../src/convert/attributes.js';
import type { ExportTraceRequest } from '../../src/convert/wire-types.js';
import { readExportTraceRequest } from '../../src/receiver/protobuf.js';
import { ExportTraceServiceRequest } from '../../src/receiver/proto-root.js';
import { encodeRequest } from '../helpers/raw.js';
import { fullExecution, makeSpans } from '../helpers/spans.js';

/** What conversion reads of a request, in plain values, so both decoders can be compared. */
function essence(req: ExportTraceRequest) {
  return (req.resourceSpans ?? []).map((rs) => ({
    resource: attributesToObject(rs.resource?.attributes),
    scopes: (rs.scopeSpans ?? []).map((ss) => ({
      scope: ss.scope?.name ?? '',
      spans: (ss.spans ?? []).map((s) => ({
        traceId: Buffer.from(s.traceId ?? []).toString('hex'),
        spanId: Buffer.from(s.spanId ?? []).toString('hex'),
        name: s.name ?? '',
        kind: s.kind ?? 0,
        start: int64ToBigInt(s.startTimeUnixNano),
        end: int64ToBigInt(s.endTimeUnixNano),
        attributes: attributesToObject(s.attributes),
        events: (s.events ?? []).map((e) => ({ name: e.name ?? '', time: int64ToBigInt(e.timeUnixNano), attributes: attributesToObject(e.attributes) })),
        status: { code: s.status?.code ?? 0, message: s.status?.message ?? '' },
      })),
    })),
  }));
}

const oracle = (buf: Uint8Array) => ExportTraceServiceRequest.decode(buf) as unknown as ExportTraceRequest;

describe('Reader-based OTLP decoder', () => {
  it('reads what the OpenTelemetry JS serializer writes exactly as protobufjs does', () => {
    const spans = makeSpans(
      [
        { attributes: fullExecution({ 'execution.metadata.tags': ['a', 'b'], 'big.int': 2 ** 53 + 2 }), status: { code: 'error', message: 'boom' } },
        { attributes: { 'http.route': '/x', ratio: 0.25, flag: false } },
      ],
      { 'service.name': 'svc', 'host.name': 'h' },
    );
    const bytes = ProtobufTraceSerializer.serializeRequest(spans)!;
    assert.deepEqual(essence(readExportTraceRequest(bytes)), essence(oracle(bytes)));
  });

  it('reads nested arrays, kvlists, bytes, events and negative ints like protobufjs', () => {
    const obj = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'k', value: { kvlistValue: { values: [{ key: 'inner', value: { arrayValue: { values: [{ intValue: -5 }, { bytesValue: Buffer.from([1, 2, 3]) }, { doubleValue: 1.5 }] } } }] } } }] },
          scopeSpans: [
            {
              scope: { name: 'lib', version: '1' },
              spans: [
                {
                  traceId: Buffer.alloc(16, 7),
                  spanId: Buffer.alloc(8, 9),
                  name: 'n',
                  kind: 3,
                  startTimeUnixNano: '18446744073709551615',
                  endTimeUnixNano: '1',
                  events: [{ timeUnixNano: '5', name: 'gen_ai.evaluation.result', attributes: [{ key: 'gen_ai.evaluation.score.value', value: { doubleValue: 0.9 } }] }],
                  links: [{ traceId: Buffer.alloc(16, 1), spanId: Buffer.alloc(8, 1) }],
                  status: { code: 1 },
                },
              ],
            },
          ],
        },
      ],
    };
    const bytes = encodeRequest(obj);
    const mine = essence(readExportTraceRequest(bytes));
    assert.deepEqual(mine, essence(oracle(bytes)));
    assert.equal(mine[0]!.scopes[0]!.spans[0]!.start, 18446744073709551615n, 'fixed64 is exact');
  });

  it('skips unknown fields and refuses truncated input', () => {
    const bytes = encodeRequest({ resourceSpans: [{ scopeSpans: [{ spans: [{ name: 'x' }] }] }] });
    const withUnknown = Buffer.concat([bytes, Buffer.from([0xa0, 0x06, 0x01])]); // field 100, varint 1
    assert.equal(readExportTraceRequest(withUnknown).resourceSpans!.length, 1);
    assert.throws(() => readExportTraceRequest(bytes.subarray(0, bytes.length - 2)), RangeError);
  });
});
