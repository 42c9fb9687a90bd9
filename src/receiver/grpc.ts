// OTLP/gRPC: TraceService/Export. Bytes stay raw through grpc-js so that decoding, and its
// errors, are ours: a bad message gets INVALID_ARGUMENT rather than grpc-js's INTERNAL.
// grpc-js inflates grpc-encoding gzip itself and caps the inflated size at the same limit.
import { Server, ServerCredentials, type ServiceDefinition, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import type { Logger } from '../telemetry/log.js';
import type { BearerAuth } from './security.js';
import { classify, toGrpcError } from './errors.js';
import { handleExportBytes, type ExportDeps } from './handler.js';
import { TRACE_EXPORT_PATH } from './proto-root.js';

export interface GrpcReceiverOptions {
  host: string;
  port: number;
  maxMessageBytes: number;
  credentials?: ServerCredentials;
  auth?: BearerAuth | null;
}

const identity = (b: Buffer) => b;

const TRACE_SERVICE: ServiceDefinition = {
  Export: {
    path: TRACE_EXPORT_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

/** The caller's deadline in ms since the epoch (Infinity when it set none). */
function deadlineMs(d: Date | number): number {
  return d instanceof Date ? d.getTime() : d;
}

export class GrpcReceiver {
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(opts: GrpcReceiverOptions, deps: ExportDeps, log: Logger): Promise<GrpcReceiver> {
    const server = new Server({
      'grpc.max_receive_message_length': opts.maxMessageBytes,
      'grpc.max_send_message_length': opts.maxMessageBytes,
    });
    server.addService(TRACE_SERVICE, {
      Export(call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) {
        Promise.resolve()
          .then(() => opts.auth?.check(call.metadata.get('authorization').map(String)))
          .then(() => handleExportBytes(call.request, 'protobuf', 'grpc', deps, deadlineMs(call.getDeadline())))
          .then(
          (r) => {
            deps.metrics.requests.inc({ transport: 'grpc', outcome: r.partial ? 'partial' : 'ok' });
            callback(null, r.body);
          },
          (err: unknown) => {
            const s = classify(err);
            if (s.internal) log.error({ err }, 'grpc export failed');
            deps.metrics.requests.inc({ transport: 'grpc', outcome: String(s.grpc) });
            callback(toGrpcError(s));
          },
        );
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${opts.port}`, opts.credentials ?? ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    return new GrpcReceiver(server, port);
  }

  /** Stops accepting, lets in-flight calls finish, forces after graceMs. */
  stop(graceMs: number): Promise<void> {
    return new Promise((resolve) => {
      const force = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      this.server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
  }
}
