// All status mapping lives here: typed errors → gRPC status and HTTP status, one table.
import { Metadata, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { DeadlineError, InvalidInputError, OverloadedError, RetryableError, TooLargeError, UnauthenticatedError } from '../errors.js';
import { CONTENT_TYPE, encodeStatus, type Encoding } from './codec.js';

export class MethodNotAllowedError extends Error {
  override name = 'MethodNotAllowedError';
}
export class UnsupportedMediaTypeError extends Error {
  override name = 'UnsupportedMediaTypeError';
}
export class NotFoundError extends Error {
  override name = 'NotFoundError';
}

export interface WireStatus {
  grpc: GrpcStatus;
  http: number;
  message: string;
  retryAfterSeconds?: number;
  /** An unexpected failure: log it, never leak internals beyond its message. */
  internal: boolean;
}

export function classify(err: unknown): WireStatus {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof InvalidInputError) return { grpc: GrpcStatus.INVALID_ARGUMENT, http: 400, message, internal: false };
  if (err instanceof TooLargeError) return { grpc: GrpcStatus.RESOURCE_EXHAUSTED, http: 413, message, internal: false };
  // A memory bound reached: RESOURCE_EXHAUSTED with RetryInfo, which collectors and SDKs retry (429 over HTTP).
  if (err instanceof OverloadedError)
    return { grpc: GrpcStatus.RESOURCE_EXHAUSTED, http: 429, message, retryAfterSeconds: err.retryAfterSeconds, internal: false };
  if (err instanceof RetryableError)
    return { grpc: GrpcStatus.UNAVAILABLE, http: 503, message, retryAfterSeconds: err.retryAfterSeconds, internal: false };
  if (err instanceof UnauthenticatedError) return { grpc: GrpcStatus.UNAUTHENTICATED, http: 401, message, internal: false };
  if (err instanceof MethodNotAllowedError) return { grpc: GrpcStatus.UNIMPLEMENTED, http: 405, message, internal: false };
  if (err instanceof UnsupportedMediaTypeError) return { grpc: GrpcStatus.INVALID_ARGUMENT, http: 415, message, internal: false };
  if (err instanceof DeadlineError) return { grpc: GrpcStatus.DEADLINE_EXCEEDED, http: 504, message, internal: false };
  if (err instanceof NotFoundError) return { grpc: GrpcStatus.UNIMPLEMENTED, http: 404, message, internal: false };
  return { grpc: GrpcStatus.INTERNAL, http: 500, message: `internal error: ${message}`, internal: true };
}

/** A gRPC error whose grpc-status-details-bin carries RetryInfo when the client should back off. */
export function toGrpcError(s: WireStatus): Partial<ServiceError> {
  const metadata = new Metadata();
  if (s.retryAfterSeconds !== undefined) {
    metadata.set(
      'grpc-status-details-bin',
      encodeStatus({ code: s.grpc, message: s.message, retryAfterSeconds: s.retryAfterSeconds }, 'protobuf'),
    );
  }
  return { code: s.grpc, details: s.message, metadata };
}

export interface HttpReply {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** The error body is an encoded google.rpc.Status, in the request's encoding. */
export function toHttpReply(s: WireStatus, enc: Encoding): HttpReply {
  const headers: Record<string, string> = { 'content-type': CONTENT_TYPE[enc] };
  if (s.retryAfterSeconds !== undefined) headers['retry-after'] = String(s.retryAfterSeconds);
  return { status: s.http, headers, body: encodeStatus({ code: s.grpc, message: s.message, retryAfterSeconds: s.retryAfterSeconds }, enc) };
}
