// OTLP AnyValue → JS values, keeping the wire kind so that type rules can be checked.
import type { AnyValue, AnyValueCase, Int64, KeyValue } from './wire-types.js';

export type AttributeKind = 'string' | 'bool' | 'int' | 'double' | 'array' | 'kvlist' | 'bytes' | 'empty';

export interface Attribute {
  kind: AttributeKind;
  value: unknown;
}

const KIND_OF_CASE: Record<AnyValueCase, AttributeKind> = {
  stringValue: 'string',
  boolValue: 'bool',
  intValue: 'int',
  doubleValue: 'double',
  arrayValue: 'array',
  kvlistValue: 'kvlist',
  bytesValue: 'bytes',
};

/** Which value an AnyValue holds (protobuf's discriminator, else the field set). */
export function caseOf(v: AnyValue): AnyValueCase | undefined {
  if (v.value) return v.value;
  for (const c of Object.keys(KIND_OF_CASE) as AnyValueCase[]) {
    if (Object.prototype.hasOwnProperty.call(v, c) && v[c] !== undefined && v[c] !== null) return c;
  }
  return undefined;
}

/** int64 → number when it is exact, else its decimal string (JSON cannot hold it). */
export function int64ToJs(v: Int64): number | string {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  const s = typeof v === 'string' ? v : v.toString();
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : s;
}

export function int64ToBigInt(v: Int64 | undefined | null): bigint {
  if (v === undefined || v === null) return 0n;
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return BigInt(Math.trunc(v));
  return BigInt(typeof v === 'string' ? v : v.toString());
}

export function readAnyValue(v: AnyValue | null | undefined): Attribute {
  if (!v) return { kind: 'empty', value: null };
  const c = caseOf(v);
  if (!c) return { kind: 'empty', value: null };
  const kind = KIND_OF_CASE[c];
  switch (c) {
    case 'intValue':
      return { kind, value: int64ToJs(v.intValue!) };
    case 'arrayValue':
      return { kind, value: (v.arrayValue?.values ?? []).map((x) => readAnyValue(x).value) };
    case 'kvlistValue':
      return { kind, value: attributesToObject(v.kvlistValue?.values) };
    case 'bytesValue':
      return { kind, value: Buffer.from(v.bytesValue ?? []).toString('base64') };
    default:
      return { kind, value: v[c] };
  }
}

/** KeyValue list → plain object; a repeated key keeps its last value. */
export function attributesToObject(kvs: KeyValue[] | undefined | null): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of kvs ?? []) out[kv.key] = readAnyValue(kv.value).value;
  return out;
}
