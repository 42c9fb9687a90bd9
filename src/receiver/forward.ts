// In-line mode: every export is passed on, unchanged, to a downstream OTLP/gRPC endpoint, and
// acknowledged upstream only when the downstream has acknowledged it too. A downstream failure
// becomes a status that makes the upstream retry (unless the data itself was refused); our own
// writes are idempotent, so the retry stores nothing twice.
import { Client, credentials, Metadata, status as GrpcStatus, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { InvalidInputError, RetryableError, TooLargeError } from '../errors.js';
import { retryDelaySeconds } from './codec.js';
import { readPem } from './security.js';
import { ExportTraceServiceResponse, TRACE_EXPORT_PATH } from './proto-root.js';

export interface ForwardResult {
  rejectedSpans: number;
  errorMessage: string;
}

export interface ForwardOptions {
  target: string;
  timeoutMs?: number;
  maxMessageBytes?: number;
  /** TLS to the downstream: system roots, or this CA's PEM. */
  tls?: boolean;
  ca?: string;
  /** A client certificate and key (PEM paths), for a downstream that wants mTLS. */
  clientCert?: string;
  clientKey?: string;
  /** Sent with every request, e.g. an API key: `authorization=Bearer abc,x-tenant=a`. */
  headers?: Record<string, string>;
  compression?: 'gzip' | 'none';
}

/** `k=v,k2=v2` as in OTEL_EXPORTER_OTLP_HEADERS: values may be percent-encoded. */
export function parseHeaders(spec: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of spec.split(',')) {
    if (!part.trim()) continue;
    const i = part.indexOf('=');
    if (i <= 0) throw new Error(`forward header "${part.trim()}": expected key=value`);
    const key = part.slice(0, i).trim().toLowerCase();
    if (!/^[0-9a-z_.-]+$/.test(key) || key.startsWith('grpc-')) throw new Error(`forward header "${key}": not a usable metadata key`);
    let value: string;
    try {
      value = decodeURIComponent(part.slice(i + 1).trim());
    } catch {
      throw new Error(`forward header "${key}": malformed percent-encoding`);
    }
    out[key] = value;
  }
  return out;
}

function channelCredentials(o: ForwardOptions): ChannelCredentials {
  if (!o.tls && !o.ca && !o.clientCert) return credentials.createInsecure();
  const read = (what: string, path: string | undefined) => (path ? readPem(`forward ${what}`, path) : null);
  return credentials.createSsl(read('CA', o.ca), read('client key', o.clientKey), read('client certificate', o.clientCert));
}

// Data the downstream refuses as such; anything else (its auth, its config, its load) is ours or
// passing, so the upstream keeps the data and retries.
function downstreamError(target: string, err: ServiceError): Error {
  const msg = `downstream ${target}: ${GrpcStatus[err.code] ?? err.code} ${err.details}`;
  const delay = retryDelaySeconds(err.metadata?.get('grpc-status-details-bin')[0]);
  if (err.code === GrpcStatus.INVALID_ARGUMENT) return new InvalidInputError(msg);
  if (err.code === GrpcStatus.RESOURCE_EXHAUSTED && delay === undefined) return new TooLargeError(msg);
  return new RetryableError(msg, Math.max(1, Math.ceil(delay ?? 1)), { cause: err });
}

export class Forwarder {
  readonly target: string;
  private readonly client: Client;
  private readonly timeoutMs: number;
  private readonly metadata: Metadata;

  constructor(o: ForwardOptions) {
    this.target = o.target;
    this.timeoutMs = o.timeoutMs ?? 10_000;
    // Built once, here: a header grpc-js cannot send fails the start, not every forward.
    this.metadata = new Metadata();
    for (const [k, v] of Object.entries(o.headers ?? {})) {
      try {
        this.metadata.set(k, v);
      } catch (err) {
        throw new Error(`forward header "${k}": ${(err as Error).message}`);
      }
    }
    const max = o.maxMessageBytes ?? 16 * 1024 * 1024;
    this.client = new Client(o.target, channelCredentials(o), {
      'grpc.max_send_message_length': max,
      'grpc.max_receive_message_length': max,
      // grpc-js backs off up to 120 s by default: a downstream that is back would wait that long.
      'grpc.initial_reconnect_backoff_ms': 250,
      'grpc.max_reconnect_backoff_ms': 2000,
      ...((o.compression ?? 'gzip') === 'gzip' ? { 'grpc.default_compression_algorithm': 2 } : {}),
    });
  }

  /**
   * Sends an ExportTraceServiceRequest as protobuf bytes; resolves with the downstream's partial
   * success. `deadline` (ms since the epoch) is the upstream's: past it, nobody waits for the answer.
   */
  forward(body: Buffer, deadline = Infinity): Promise<ForwardResult> {
    const metadata = this.metadata.clone();
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        TRACE_EXPORT_PATH,
        (b: Buffer) => b,
        (b: Buffer) => b,
        body,
        metadata,
        { deadline: Math.min(Date.now() + this.timeoutMs, deadline) },
        (err: ServiceError | null, response?: Buffer) => {
          if (err) return reject(downstreamError(this.target, err));
          try {
            const resp = ExportTraceServiceResponse.toObject(ExportTraceServiceResponse.decode(response ?? Buffer.alloc(0)), { longs: Number }) as {
              partialSuccess?: { rejectedSpans?: number; errorMessage?: string };
            };
            resolve({ rejectedSpans: resp.partialSuccess?.rejectedSpans ?? 0, errorMessage: resp.partialSuccess?.errorMessage ?? '' });
          } catch (e) {
            // It took the data; its answer is just unreadable.
            resolve({ rejectedSpans: 0, errorMessage: `downstream ${this.target}: unreadable response (${(e as Error).message})` });
          }
        },
      );
    });
  }

  close(): void {
    this.client.close();
  }
}
