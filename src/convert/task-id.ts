// A retried span must map to the same row, so a task without a usable id gets a
// name-based UUID (RFC 9562 v5) of its trace_id + span_id.
import { createHash } from 'node:crypto';

// A fixed namespace for orb-learn's derived ids (itself a v5 UUID of "orb-learn/execution").
const NAMESPACE = Buffer.from('6f1c3a52e2b95a7e8e3f1d2c4b5a6978', 'hex');

export function uuidV5(name: string, namespace: Buffer = NAMESPACE): string {
  const hash = createHash('sha1').update(namespace).update(name).digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const h = hash.subarray(0, 16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function deriveTaskId(traceIdHex: string, spanIdHex: string): string {
  return uuidV5(`${traceIdHex}/${spanIdHex}`);
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(s: string): boolean {
  return UUID_PATTERN.test(s);
}

/** A producer's own task id that is not a UUID is kept (in metadata) up to this length. */
export const MAX_TASK_ID_CHARS = 256;
