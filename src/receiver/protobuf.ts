// The hot-path decoder for ExportTraceServiceRequest, on protobufjs's Reader. It builds the
// plain wire shapes of convert/wire-types.ts directly: protobufjs's reflected decoder sets
// oneofs by deleting properties, which leaves every AnyValue in slow dictionary mode, and
// materialises links and other fields orb-learn never reads. Field numbers follow proto/;
// the reflected decoder serves as the test oracle (test/receiver/protobuf.test.ts).
import protobuf from 'protobufjs';
import { MAX_VALUE_DEPTH, type AnyValue, type ExportTraceRequest, type KeyValue, type WireResourceSpans, type WireScopeSpans, type WireSpan, type WireSpanEvent } from '../convert/wire-types.js';

type Reader = protobuf.Reader;

const VARINT = 0;
const FIXED64 = 1;
const LEN = 2;

/** Runs `field` for each field of the message that ends at `end`; unknown or mistyped fields are skipped. */
function fields(r: Reader, end: number, field: (num: number, wire: number) => boolean): void {
  while (r.pos < end) {
    const tag = r.uint32();
    if (!field(tag >>> 3, tag & 7)) r.skipType(tag & 7);
  }
  if (r.pos !== end) throw new RangeError(`message overruns its length at offset ${r.pos}`);
}

const endOf = (r: Reader) => {
  const len = r.uint32();
  const end = r.pos + len;
  if (end > r.len) throw new RangeError(`length ${len} at offset ${r.pos} overruns the buffer`);
  return end;
};

/** fixed64 nanoseconds as a bigint: exact, unlike a double. */
function fixed64(r: Reader): bigint {
  const lo = r.fixed32();
  const hi = r.fixed32();
  return (BigInt(hi) << 32n) | BigInt(lo);
}

function anyValue(r: Reader, end: number, depth: number): AnyValue {
  if (depth > MAX_VALUE_DEPTH) throw new RangeError(`AnyValue nested deeper than ${MAX_VALUE_DEPTH} levels`);
  const v: AnyValue = { value: undefined };
  fields(r, end, (num, wire) => {
    switch (num) {
      case 1:
        if (wire !== LEN) return false;
        v.value = 'stringValue';
        v.stringValue = r.string();
        return true;
      case 2:
        if (wire !== VARINT) return false;
        v.value = 'boolValue';
        v.boolValue = r.bool();
        return true;
      case 3: {
        if (wire !== VARINT) return false;
        v.value = 'intValue';
        const long = r.int64() as unknown as { toString(): string } | number;
        v.intValue = typeof long === 'number' ? long : long.toString();
        return true;
      }
      case 4:
        if (wire !== FIXED64) return false;
        v.value = 'doubleValue';
        v.doubleValue = r.double();
        return true;
      case 5: {
        if (wire !== LEN) return false;
        const values: AnyValue[] = [];
        fields(r, endOf(r), (n, w) => {
          if (n !== 1 || w !== LEN) return false;
          values.push(anyValue(r, endOf(r), depth + 1));
          return true;
        });
        v.value = 'arrayValue';
        v.arrayValue = { values };
        return true;
      }
      case 6: {
        if (wire !== LEN) return false;
        const values: KeyValue[] = [];
        fields(r, endOf(r), (n, w) => {
          if (n !== 1 || w !== LEN) return false;
          values.push(keyValue(r, endOf(r), depth + 1));
          return true;
        });
        v.value = 'kvlistValue';
        v.kvlistValue = { values };
        return true;
      }
      case 7:
        if (wire !== LEN) return false;
        v.value = 'bytesValue';
        v.bytesValue = r.bytes();
        return true;
      default:
        return false;
    }
  });
  return v;
}

function keyValue(r: Reader, end: number, depth = 0): KeyValue {
  const kv: KeyValue = { key: '', value: null };
  fields(r, end, (num, wire) => {
    if (wire !== LEN) return false;
    if (num === 1) kv.key = r.string();
    else if (num === 2) kv.value = anyValue(r, endOf(r), depth);
    else return false;
    return true;
  });
  return kv;
}

/** Reads repeated KeyValue field `num` into `into`. */
function attribute(r: Reader, into: KeyValue[]): true {
  into.push(keyValue(r, endOf(r)));
  return true;
}

function event(r: Reader, end: number): WireSpanEvent {
  const e: WireSpanEvent = { timeUnixNano: 0n, name: '', attributes: [] };
  fields(r, end, (num, wire) => {
    if (num === 1 && wire === FIXED64) e.timeUnixNano = fixed64(r);
    else if (num === 2 && wire === LEN) e.name = r.string();
    else if (num === 3 && wire === LEN) return attribute(r, e.attributes!);
    else return false;
    return true;
  });
  return e;
}

/** An id is absent (empty) or exactly its length: OTLP/JSON's hex check, the same rule. */
function id(r: Reader, what: string, bytes: number): Uint8Array {
  const b = r.bytes();
  if (b.length !== 0 && b.length !== bytes) throw new RangeError(`span ${what} must be ${bytes} bytes, got ${b.length}`);
  return b;
}

function span(r: Reader, end: number): WireSpan {
  const s: WireSpan = {
    traceId: undefined,
    spanId: undefined,
    parentSpanId: undefined,
    name: '',
    kind: 0,
    startTimeUnixNano: 0n,
    endTimeUnixNano: 0n,
    attributes: [],
    events: [],
    status: null,
  };
  fields(r, end, (num, wire) => {
    switch (num) {
      case 1:
        if (wire !== LEN) return false;
        s.traceId = id(r, 'trace_id', 16);
        return true;
      case 2:
        if (wire !== LEN) return false;
        s.spanId = id(r, 'span_id', 8);
        return true;
      case 4:
        if (wire !== LEN) return false;
        s.parentSpanId = id(r, 'parent_span_id', 8);
        return true;
      case 5:
        if (wire !== LEN) return false;
        s.name = r.string();
        return true;
      case 6:
        if (wire !== VARINT) return false;
        s.kind = r.int32();
        return true;
      case 7:
        if (wire !== FIXED64) return false;
        s.startTimeUnixNano = fixed64(r);
        return true;
      case 8:
        if (wire !== FIXED64) return false;
        s.endTimeUnixNano = fixed64(r);
        return true;
      case 9:
        return wire === LEN && attribute(r, s.attributes!);
      case 11:
        if (wire !== LEN) return false;
        s.events!.push(event(r, endOf(r)));
        return true;
      case 15: {
        if (wire !== LEN) return false;
        const st = { code: 0, message: '' };
        fields(r, endOf(r), (n, w) => {
          if (n === 2 && w === LEN) st.message = r.string();
          else if (n === 3 && w === VARINT) st.code = r.int32();
          else return false;
          return true;
        });
        s.status = st;
        return true;
      }
      default:
        return false;
    }
  });
  return s;
}

function scopeSpans(r: Reader, end: number): WireScopeSpans {
  const ss: WireScopeSpans = { scope: null, spans: [] };
  fields(r, end, (num, wire) => {
    if (wire !== LEN) return false;
    if (num === 1) {
      const scope = { name: '', version: '' };
      fields(r, endOf(r), (n, w) => {
        if (w !== LEN || (n !== 1 && n !== 2)) return false;
        scope[n === 1 ? 'name' : 'version'] = r.string();
        return true;
      });
      ss.scope = scope;
    } else if (num === 2) ss.spans!.push(span(r, endOf(r)));
    else return false;
    return true;
  });
  return ss;
}

function resourceSpans(r: Reader, end: number): WireResourceSpans {
  const rs: WireResourceSpans = { resource: null, scopeSpans: [] };
  fields(r, end, (num, wire) => {
    if (wire !== LEN) return false;
    if (num === 1) {
      const attributes: KeyValue[] = [];
      fields(r, endOf(r), (n, w) => n === 1 && w === LEN && attribute(r, attributes));
      rs.resource = { attributes };
    } else if (num === 2) rs.scopeSpans!.push(scopeSpans(r, endOf(r)));
    else return false;
    return true;
  });
  return rs;
}

export function readExportTraceRequest(body: Uint8Array): ExportTraceRequest {
  const r = protobuf.Reader.create(body);
  const out: ExportTraceRequest = { resourceSpans: [] };
  fields(r, r.len, (num, wire) => {
    if (num !== 1 || wire !== LEN) return false;
    out.resourceSpans!.push(resourceSpans(r, endOf(r)));
    return true;
  });
  return out;
}
