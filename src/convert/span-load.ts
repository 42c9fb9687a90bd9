// What a span's attributes weigh, counted on the wire shapes before anything is built from them:
// the caps a span's metadata must keep to, and the size its row will take in memory (the write
// queue is bounded in bytes by these estimates).
import { caseOf, readAnyValue } from './attributes.js';
import type { AnyValue, KeyValue } from './wire-types.js';

/** Most attributes a span may carry, its execution.metadata kvlist entries included. */
export const MAX_SPAN_ATTRIBUTES = 1024;
/** Most bytes of attribute keys and values a span may carry. */
export const MAX_SPAN_ATTRIBUTE_BYTES = 256 * 1024;
/** Rejected spans kept (in rejected_spans) per request; the rest are counted, not kept. */
export const MAX_REJECTS_KEPT = 1000;

/** A row's fixed cost in memory beside its attributes (fields, dates, ids, object headers). */
const ROW_OVERHEAD_BYTES = 1024;
/** What a key and value cost as JS objects beyond their characters. */
const ATTRIBUTE_OVERHEAD_BYTES = 64;
/** Attributes a rejected span past the caps keeps, each value cut to VALUE_SAMPLE_CHARS. */
const SAMPLE_ATTRIBUTES = 32;
const VALUE_SAMPLE_CHARS = 256;

export interface AttributeLoad {
  count: number;
  bytes: number;
  /** The heaviest top-level attribute, named in the reason when the bytes are past the cap. */
  largest?: { key: string; bytes: number };
}

function addValue(v: AnyValue | null | undefined, load: AttributeLoad): void {
  const c = v ? caseOf(v) : undefined;
  if (c === 'stringValue') load.bytes += v!.stringValue?.length ?? 0;
  else if (c === 'bytesValue') load.bytes += v!.bytesValue?.length ?? 0;
  else if (c === 'arrayValue') for (const x of v!.arrayValue?.values ?? []) addValue(x, load);
  else if (c === 'kvlistValue') addAll(v!.kvlistValue?.values, load);
  else load.bytes += 8;
}

function addAll(kvs: KeyValue[] | null | undefined, load: AttributeLoad): void {
  for (const kv of kvs ?? []) {
    load.count++;
    load.bytes += kv.key.length;
    addValue(kv.value, load);
  }
}

export function attributeLoad(kvs: KeyValue[] | null | undefined): AttributeLoad {
  const load: AttributeLoad = { count: 0, bytes: 0 };
  let largest = { key: '', bytes: -1 };
  for (const kv of kvs ?? []) {
    const before = load.bytes;
    addAll([kv], load);
    if (load.bytes - before > largest.bytes) largest = { key: kv.key, bytes: load.bytes - before };
  }
  if (largest.bytes >= 0) load.largest = largest;
  return load;
}

/** Why a span carries too much, or null. */
export function overCap(load: AttributeLoad): string | null {
  if (load.count > MAX_SPAN_ATTRIBUTES)
    return `span: carries ${load.count} attributes (execution.metadata entries included), more than the ${MAX_SPAN_ATTRIBUTES} a span may carry`;
  if (load.bytes > MAX_SPAN_ATTRIBUTE_BYTES) {
    const l = load.largest!;
    return `${l.key.slice(0, 128)}: ${l.bytes} bytes; the span's attributes take ${load.bytes} bytes (execution.metadata included), more than the ${MAX_SPAN_ATTRIBUTE_BYTES} a span may carry`;
  }
  return null;
}

/** The estimated size in memory of a row built from a span of this load. */
export function rowBytes(load: AttributeLoad): number {
  return ROW_OVERHEAD_BYTES + load.bytes + load.count * ATTRIBUTE_OVERHEAD_BYTES;
}

/** The most a sampled span's attributes weigh. */
export const SAMPLED_LOAD: AttributeLoad = { count: SAMPLE_ATTRIBUTES + 1, bytes: SAMPLE_ATTRIBUTES * 2 * VALUE_SAMPLE_CHARS };

/** What a span past the caps keeps as its attributes: the first few, values cut short, and a count of the rest. */
export function sampleAttributes(kvs: KeyValue[] | null | undefined, load: AttributeLoad): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of (kvs ?? []).slice(0, SAMPLE_ATTRIBUTES)) {
    const c = kv.value ? caseOf(kv.value) : undefined;
    const value = c === 'arrayValue' || c === 'kvlistValue' || c === 'bytesValue' ? '(not kept)' : readAnyValue(kv.value).value;
    out[kv.key.slice(0, VALUE_SAMPLE_CHARS)] = typeof value === 'string' ? value.slice(0, VALUE_SAMPLE_CHARS) : value;
  }
  out['orb.attributes_not_kept'] = load.count - Object.keys(out).length;
  return out;
}
