// In-line mode: every export is passed on, unchanged, to a downstream OTLP/gRPC endpoint, and
// acknowledged upstream only when the downstream has acknowledged it too. A downstream failure
// becomes a status that makes the upstream retry; our own writes are idempotent, so the retry
// stores nothing twice.
import { Client, credentials, Metadata, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { InvalidInputError, RetryableError } from '../errors.js';
import { ExportTraceServiceResponse, TRACE_EXPORT_PATH } from './wire.js';

export interface ForwardResult {
  rejectedSpans: number;
  errorMessage: string;
}

const PERMANENT = new Set([GrpcStatus.INVALID_ARGUMENT, GrpcStatus.UNIMPLEMENTED, GrpcStatus.PERMISSION_DENIED, GrpcStatus.UNAUTHENTICATED]);

export class Forwarder {
  private readonly client: Client;

  constructor(
    readonly target: string,
    private readonly timeoutMs = 10_000,
    maxMessageBytes = 16 * 1024 * 1024,
  ) {
    this.client = new Client(target, credentials.createInsecure(), { 'grpc.max_send_message_length': maxMessageBytes, 'grpc.max_receive_message_length': maxMessageBytes });
  }

  /** Sends an ExportTraceServiceRequest as protobuf bytes; resolves with the downstream's partial success. */
  forward(body: Buffer): Promise<ForwardResult> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        TRACE_EXPORT_PATH,
        (b: Buffer) => b,
        (b: Buffer) => b,
        body,
        new Metadata(),
        { deadline: Date.now() + this.timeoutMs },
        (err: ServiceError | null, response?: Buffer) => {
          if (err) {
            const msg = `downstream ${this.target}: ${GrpcStatus[err.code]} ${err.details}`;
            reject(PERMANENT.has(err.code) ? new InvalidInputError(msg) : new RetryableError(msg, 1, { cause: err }));
            return;
          }
          const resp = ExportTraceServiceResponse.toObject(ExportTraceServiceResponse.decode(response ?? Buffer.alloc(0)), { longs: Number }) as {
            partialSuccess?: { rejectedSpans?: number; errorMessage?: string };
          };
          resolve({ rejectedSpans: resp.partialSuccess?.rejectedSpans ?? 0, errorMessage: resp.partialSuccess?.errorMessage ?? '' });
        },
      );
    });
  }

  close(): void {
    this.client.close();
  }
}
