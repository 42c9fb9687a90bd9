// Plain shapes of a decoded OTLP trace export, as both codecs hand them on.
// No behaviour here: conversion lives in span-to-record.ts.

/**
 * How deep an AnyValue may nest (arrays and kvlists inside attribute values): one limit for
 * protobuf and OTLP/JSON alike, so a request is refused or taken whatever its encoding.
 */
export const MAX_VALUE_DEPTH = 32;

/** An int64 as protobufjs yields it (Long), or as a number/decimal string. */
export type Int64 = bigint | number | string | { low: number; high: number; unsigned?: boolean; toString(): string };

export type AnyValueCase =
  | 'stringValue'
  | 'boolValue'
  | 'intValue'
  | 'doubleValue'
  | 'arrayValue'
  | 'kvlistValue'
  | 'bytesValue';

export interface AnyValue {
  /** The oneof discriminator: which of the fields below is set. */
  value?: AnyValueCase;
  stringValue?: string;
  boolValue?: boolean;
  intValue?: Int64;
  doubleValue?: number;
  arrayValue?: { values?: AnyValue[] };
  kvlistValue?: { values?: KeyValue[] };
  bytesValue?: Uint8Array;
}

export interface KeyValue {
  key: string;
  value?: AnyValue | null;
}

export interface WireStatus {
  code?: number;
  message?: string;
}

export interface WireSpanEvent {
  timeUnixNano?: Int64;
  name?: string;
  attributes?: KeyValue[];
}

export interface WireSpan {
  traceId?: Uint8Array;
  spanId?: Uint8Array;
  parentSpanId?: Uint8Array;
  name?: string;
  kind?: number;
  startTimeUnixNano?: Int64;
  endTimeUnixNano?: Int64;
  attributes?: KeyValue[];
  events?: WireSpanEvent[];
  status?: WireStatus | null;
}

export interface WireScopeSpans {
  scope?: { name?: string; version?: string } | null;
  spans?: WireSpan[];
}

export interface WireResourceSpans {
  resource?: { attributes?: KeyValue[] } | null;
  scopeSpans?: WireScopeSpans[];
}

export interface ExportTraceRequest {
  resourceSpans?: WireResourceSpans[];
}

export interface ExportTraceResponse {
  partialSuccess?: { rejectedSpans: number; errorMessage: string };
}

/** OTLP Status.StatusCode.STATUS_CODE_ERROR */
export const STATUS_CODE_ERROR = 2;
