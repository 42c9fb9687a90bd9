// A span refused by conversion, kept with its reason (rejected_spans): nothing sent is lost.
import { randomUUID } from 'node:crypto';
import { attributesToObject } from './attributes.js';
import { uuidV5 } from './task-id.js';
import type { WireSpan } from './wire-types.js';

export interface RejectedSpan {
  rejected_id: string;
  received_at: Date;
  trace_id: string | null;
  span_id: string | null;
  span_name: string | null;
  service_name: string | null;
  reason: string;
  attributes: Record<string, unknown>;
  resource: Record<string, unknown>;
}

/** Where a span came from: what a rejected span keeps besides its reason. */
export interface SpanOrigin {
  resource: Record<string, unknown>;
  serviceName: string | null;
  receivedAt: Date;
  traceId: string | null;
  spanId: string | null;
}

/**
 * The one builder of a RejectedSpan. `idName`, for a real span, names it for a UUID v5, so a
 * redelivered reject is kept once; null gives a random id. `attributes` default to the span's.
 */
export function rejectedSpan(
  span: WireSpan,
  origin: SpanOrigin,
  reason: string,
  idName: string | null,
  attributes: Record<string, unknown> = attributesToObject(span.attributes),
): RejectedSpan {
  return {
    rejected_id: idName ? uuidV5(idName) : randomUUID(),
    received_at: origin.receivedAt,
    trace_id: origin.traceId,
    span_id: origin.spanId,
    span_name: span.name || null,
    service_name: origin.serviceName,
    reason,
    attributes,
    resource: origin.resource,
  };
}
