// OTLP/gRPC: TraceService/Export. Bytes stay raw through grpc-js so that decoding, and its
// errors, are ours: a bad message gets INVALID_ARGUMENT rather than grpc-js's INTERNAL.
// grpc-js inflates grpc-encoding gzip itself and caps the inflated size at the same limit.
// The listening socket is ours (grpc-js's connection injector takes each connection) so that the
// number of open connections can be capped, which grpc-js has no option for.
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { Server, ServerCredentials, type ServiceDefinition, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import type { Logger } from '../telemetry/log.js';
import type { BearerAuth } from './security.js';
import { classify, toGrpcError } from './errors.js';
import { handleExportBytes, type ExportDeps } from './handler.js';
import { listen } from './listen.js';
import { TRACE_EXPORT_PATH } from './proto-root.js';

export interface GrpcReceiverOptions {
  host: string;
  port: number;
  maxMessageBytes: number;
  credentials?: ServerCredentials;
  auth?: BearerAuth | null;
  /** Open connections past this are refused. */
  maxConnections: number;
  /** A connection with no call in flight for this long is closed (GOAWAY; a client reconnects on its next call). */
  idleTimeoutMs: number;
}

/**
 * A socket with no traffic at all for this long past the idle timeout is destroyed: one that never
 * finished its TLS handshake or HTTP/2 preface has no session for grpc-js's idle timer to close.
 */
const SILENT_GRACE_MS = 5_000;

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
    private readonly listener: NetServer,
    readonly port: number,
  ) {}

  static async start(opts: GrpcReceiverOptions, deps: ExportDeps, log: Logger): Promise<GrpcReceiver> {
    const idleMs = opts.idleTimeoutMs;
    const server = new Server({
      'grpc.max_receive_message_length': opts.maxMessageBytes,
      'grpc.max_send_message_length': opts.maxMessageBytes,
      'grpc.max_connection_idle_ms': idleMs,
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
    const injector = server.createConnectionInjector(opts.credentials ?? ServerCredentials.createInsecure());
    const listener = createServer((socket) => {
      deps.metrics.grpcConnections.inc({ event: 'accepted' });
      dropWhenSilent(socket, idleMs + SILENT_GRACE_MS, () => deps.metrics.grpcConnections.inc({ event: 'silent' }));
      injector.injectConnection(socket);
    });
    listener.maxConnections = opts.maxConnections;
    const port = await listen(listener, opts.port, opts.host);
    // A listener error after the bind (EMFILE on accept, say) is logged; the listener keeps going.
    listener.on('error', (err) => log.warn({ err }, 'grpc listener error'));
    return new GrpcReceiver(server, listener, port);
  }

  /** Stops accepting, lets in-flight calls finish, forces after graceMs. */
  stop(graceMs: number): Promise<void> {
    this.listener.close();
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

/**
 * Destroys the socket once no byte has gone either way for `ms`. Polled from the byte counts:
 * once the HTTP/2 session owns the socket its reads and writes are native and never refresh
 * `socket.setTimeout`, which therefore cut busy connections `ms` after they opened.
 */
function dropWhenSilent(socket: Socket, ms: number, onDrop: () => void): void {
  let seen = -1;
  let since = Date.now();
  const timer = setInterval(() => {
    const bytes = socket.bytesRead + socket.bytesWritten;
    if (bytes !== seen) [seen, since] = [bytes, Date.now()];
    else if (Date.now() - since >= ms) {
      clearInterval(timer);
      onDrop();
      socket.destroy();
    }
  }, Math.max(50, Math.min(1000, ms / 5)));
  timer.unref();
  socket.once('close', () => clearInterval(timer));
}
