// Raw OTLP requests for asserting exact statuses and partial_success, which the SDK exporters
// only log. Encoded by protobufjs from proto/, sent by real grpc-js and node:http clients.
import { Client, credentials, Metadata, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { request } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { retryDelaySeconds as statusRetryDelay } from '../../src/receiver/codec.js';
import { ExportTraceServiceRequest, ExportTraceServiceResponse, RpcStatus, TRACE_EXPORT_PATH } from '../../src/receiver/proto-root.js';

export function encodeRequest(obj: Record<string, unknown>): Buffer {
  return Buffer.from(ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(obj)).finish());
}

export function decodeResponse(buf: Buffer): { partialSuccess?: { rejectedSpans: number; errorMessage: string } } {
  return ExportTraceServiceResponse.toObject(ExportTraceServiceResponse.decode(buf), { longs: Number }) as never;
}

export interface GrpcOutcome {
  response?: Buffer;
  error?: ServiceError;
}

export interface GrpcExportClient {
  export(body: Buffer): Promise<GrpcOutcome>;
  close(): void;
}

/** One channel, reused: what a collector's exporter does. */
export interface GrpcClientOptions {
  gzip?: boolean;
  maxSend?: number;
  credentials?: ChannelCredentials;
  token?: string;
  /** The call's deadline from now (default 15 s). */
  deadlineMs?: number;
}

export function grpcClient(address: string, opts: GrpcClientOptions = {}): GrpcExportClient {
  const client = new Client(address, opts.credentials ?? credentials.createInsecure(), {
    'grpc.max_send_message_length': opts.maxSend ?? 64 * 1024 * 1024,
    ...(opts.gzip ? { 'grpc.default_compression_algorithm': 2 } : {}),
  });
  return {
    export: (body) =>
      new Promise((resolve) => {
        client.makeUnaryRequest(
          TRACE_EXPORT_PATH,
          (b: Buffer) => b,
          (b: Buffer) => b,
          body,
          (() => {
            const m = new Metadata();
            if (opts.token) m.set('authorization', `Bearer ${opts.token}`);
            return m;
          })(),
          { deadline: Date.now() + (opts.deadlineMs ?? 15_000) },
          (error, response) => resolve(error ? { error } : { response: response! }),
        );
      }),
    close: () => client.close(),
  };
}

export async function grpcExport(address: string, body: Buffer, opts: GrpcClientOptions = {}): Promise<GrpcOutcome> {
  const client = grpcClient(address, opts);
  try {
    return await client.export(body);
  } finally {
    client.close();
  }
}

/** The back-off a gRPC error asks for, read from grpc-status-details-bin → google.rpc.RetryInfo. */
export function retryDelaySeconds(err: ServiceError): number | undefined {
  return statusRetryDelay(err.metadata?.get('grpc-status-details-bin')[0]);
}

export interface HttpOutcome {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export function httpPost(url: string, body: Buffer, headers: Record<string, string>, method = 'POST', tls: RequestOptions = {}): Promise<HttpOutcome> {
  return new Promise((resolve, reject) => {
    const send = url.startsWith('https:') ? httpsRequest : request;
    const req = send(url, { method, headers: { 'content-length': String(body.length), ...headers }, ...tls }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

export function decodeStatus(buf: Buffer): { code: number; message: string } {
  return RpcStatus.toObject(RpcStatus.decode(buf)) as never;
}

/** A request of execution spans as plain OTLP objects (protobufjs field names). */
export function otlpRequest(spans: { attrs: Record<string, unknown>; spanId?: string; traceId?: string; parentSpanId?: string; name?: string }[]): Record<string, unknown> {
  let n = 0;
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'raw-client' } }] },
        scopeSpans: [
          {
            spans: spans.map((s) => {
              n++;
              return {
                traceId: Buffer.from(s.traceId ?? '5b8efff798038103d269b633813fc60c', 'hex'),
                spanId: Buffer.from(s.spanId ?? n.toString(16).padStart(16, '0'), 'hex'),
                ...(s.parentSpanId ? { parentSpanId: Buffer.from(s.parentSpanId, 'hex') } : {}),
                name: s.name ?? 'execution',
                startTimeUnixNano: '1767225600000000000',
                endTimeUnixNano: '1767225610000000000',
                attributes: Object.entries(s.attrs).map(([key, v]) => ({
                  key,
                  value:
                    typeof v === 'string'
                      ? { stringValue: v }
                      : typeof v === 'boolean'
                        ? { boolValue: v }
                        : Number.isInteger(v)
                          ? { intValue: v }
                          : { doubleValue: v },
                })),
              };
            }),
          },
        ],
      },
    ],
  };
}
