// Bytes ⇄ OTLP messages. Protobuf and JSON behind one interface, chosen by Content-Type.
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { MAX_VALUE_DEPTH, type ExportTraceRequest, type ExportTraceResponse } from '../convert/wire-types.js';
import { InvalidInputError, TooLargeError } from '../errors.js';
import { readExportTraceRequest } from './protobuf.js';
import { ExportTraceServiceRequest, ExportTraceServiceResponse, RetryInfo, RpcStatus } from './proto-root.js';

export type Encoding = 'protobuf' | 'json';

export function encodingOf(contentType: string | undefined): Encoding | null {
  const mime = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (mime === 'application/x-protobuf' || mime === 'application/protobuf') return 'protobuf';
  if (mime === 'application/json') return 'json';
  return null;
}

export const CONTENT_TYPE: Record<Encoding, string> = {
  protobuf: 'application/x-protobuf',
  json: 'application/json',
};

const gunzipAsync = promisify(gunzip);

/** Inflates gzip, refusing output past maxBytes (a gzip bomb is refused, not buffered). */
export async function gunzipCapped(body: Buffer, maxBytes: number): Promise<Buffer> {
  try {
    return await gunzipAsync(body, { maxOutputLength: maxBytes });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError)
      throw new TooLargeError(`decompressed body exceeds the ${maxBytes}-byte limit`);
    throw new InvalidInputError(`malformed gzip body: ${e.message}`);
  }
}

export function decodeProtobuf(body: Uint8Array): ExportTraceRequest {
  try {
    return readExportTraceRequest(body);
  } catch (err) {
    throw new InvalidInputError(`malformed protobuf ExportTraceServiceRequest: ${(err as Error).message}`);
  }
}

const HEX_ID_BYTES: Record<string, number> = { traceId: 16, spanId: 8, parentSpanId: 8 };
const DECIMAL = /^-?\d+$/;
// int64 attribute values are signed; times are fixed64 nanoseconds, unsigned. Long.fromString
// would wrap a decimal past these modulo 2^64 without a word.
const INT64_RANGE: Record<string, [bigint, bigint]> = {
  intValue: [-(2n ** 63n), 2n ** 63n - 1n],
  startTimeUnixNano: [0n, 2n ** 64n - 1n],
  endTimeUnixNano: [0n, 2n ** 64n - 1n],
  timeUnixNano: [0n, 2n ** 64n - 1n],
};
const NESTS_VALUE = new Set(['arrayValue', 'kvlistValue']);
/** Past this, the JSON is deeper than any request within MAX_VALUE_DEPTH could be. */
const MAX_JSON_DEPTH = MAX_VALUE_DEPTH * 4 + 16;

function checkInt64(at: string, key: string, v: unknown): void {
  const [min, max] = INT64_RANGE[key]!;
  const kind = key === 'intValue' ? 'int64' : 'uint64 nanoseconds';
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new InvalidInputError(`${at}: expected an integer, got ${v}`);
    if (!Number.isSafeInteger(v)) throw new InvalidInputError(`${at}: ${v} is beyond 2^53 as a JSON number and has lost its exact value; send it as a decimal string`);
  } else if (typeof v !== 'string' || !DECIMAL.test(v))
    throw new InvalidInputError(`${at}: expected an integer (${kind} as a decimal string), got ${JSON.stringify(v)?.slice(0, 40)}`);
  const n = BigInt(v);
  if (n < min || n > max) throw new InvalidInputError(`${at}: ${String(v).slice(0, 40)} is outside the ${kind} range ${min}..${max}`);
}

/**
 * OTLP/JSON differs from protobuf's JSON mapping: ids are hex, not base64. Fix those, check
 * int64s and nesting (iteratively bounded, so a 10,000-deep body is a 400, not a stack overflow).
 */
function normalizeJson(node: unknown, path: string, depth = 0, valueDepth = 0): void {
  if (depth > MAX_JSON_DEPTH) throw new InvalidInputError(`${path}: JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
  if (Array.isArray(node)) {
    node.forEach((v, i) => normalizeJson(v, `${path}[${i}]`, depth + 1, valueDepth));
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const obj = node as Record<string, unknown>;
  for (const [k, v] of Object.entries(obj)) {
    const at = path ? `${path}.${k}` : k;
    const idBytes = HEX_ID_BYTES[k];
    if (idBytes !== undefined && typeof v === 'string') {
      if (v !== '' && !new RegExp(`^[0-9a-fA-F]{${idBytes * 2}}$`).test(v))
        throw new InvalidInputError(`${at}: expected ${idBytes * 2} hex characters, got ${JSON.stringify(v.slice(0, 40))}`);
      obj[k] = Buffer.from(v, 'hex');
    } else if (INT64_RANGE[k]) {
      checkInt64(at, k, v);
    } else if (NESTS_VALUE.has(k)) {
      if (valueDepth + 1 > MAX_VALUE_DEPTH) throw new InvalidInputError(`${at}: AnyValue nested deeper than ${MAX_VALUE_DEPTH} levels`);
      normalizeJson(v, at, depth + 1, valueDepth + 1);
    } else {
      normalizeJson(v, at, depth + 1, valueDepth);
    }
  }
}

export function decodeJson(body: Buffer): ExportTraceRequest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new InvalidInputError(`malformed JSON body: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new InvalidInputError('JSON body must be an ExportTraceServiceRequest object');
  normalizeJson(parsed, '');
  try {
    return ExportTraceServiceRequest.fromObject(parsed as Record<string, unknown>) as unknown as ExportTraceRequest;
  } catch (err) {
    throw new InvalidInputError(`invalid ExportTraceServiceRequest JSON: ${(err as Error).message}`);
  }
}

export function decodeRequest(body: Buffer, enc: Encoding): ExportTraceRequest {
  return enc === 'json' ? decodeJson(body) : decodeProtobuf(body);
}

export function encodeResponse(resp: ExportTraceResponse, enc: Encoding): Buffer {
  if (enc === 'json') {
    const p = resp.partialSuccess;
    // int64 fields are strings in OTLP/JSON.
    return Buffer.from(
      JSON.stringify(p ? { partialSuccess: { rejectedSpans: String(p.rejectedSpans), errorMessage: p.errorMessage } } : {}),
    );
  }
  return Buffer.from(ExportTraceServiceResponse.encode(ExportTraceServiceResponse.fromObject(resp)).finish());
}

export interface StatusBody {
  code: number;
  message: string;
  retryAfterSeconds?: number;
}

const RETRY_INFO_TYPE = 'type.googleapis.com/google.rpc.RetryInfo';

/** google.rpc.Status, with a RetryInfo detail when the client should back off. */
export function encodeStatus(s: StatusBody, enc: Encoding): Buffer {
  if (enc === 'json') {
    const details =
      s.retryAfterSeconds !== undefined ? [{ '@type': RETRY_INFO_TYPE, retryDelay: `${s.retryAfterSeconds}s` }] : [];
    return Buffer.from(JSON.stringify({ code: s.code, message: s.message, details }));
  }
  const details =
    s.retryAfterSeconds !== undefined
      ? [{ type_url: RETRY_INFO_TYPE, value: RetryInfo.encode(RetryInfo.fromObject({ retryDelay: { seconds: s.retryAfterSeconds } })).finish() }]
      : [];
  return Buffer.from(RpcStatus.encode(RpcStatus.fromObject({ code: s.code, message: s.message, details })).finish());
}

/** The RetryInfo delay in a protobuf google.rpc.Status (grpc-status-details-bin), if any. */
export function retryDelaySeconds(statusBin: unknown): number | undefined {
  if (!Buffer.isBuffer(statusBin)) return undefined;
  try {
    const s = RpcStatus.toObject(RpcStatus.decode(statusBin), { longs: Number }) as { details?: { type_url?: string; value?: Uint8Array }[] };
    const info = s.details?.find((d) => d.type_url === RETRY_INFO_TYPE);
    if (!info?.value) return undefined;
    const r = RetryInfo.toObject(RetryInfo.decode(info.value), { longs: Number }) as { retryDelay?: { seconds?: number; nanos?: number } };
    return r.retryDelay ? (r.retryDelay.seconds ?? 0) + (r.retryDelay.nanos ?? 0) / 1e9 : undefined;
  } catch {
    return undefined;
  }
}
