// OTLP/HTTP: POST /v1/traces (protobuf or JSON, optionally gzip), beside the routes other
// stages register (health, metrics, later the query API). Every reply goes through errors.ts.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { InvalidInputError, TooLargeError } from '../errors.js';
import type { Logger } from '../telemetry/log.js';
import { CONTENT_TYPE, encodingOf, gunzipCapped, type Encoding } from './codec.js';
import { classify, MethodNotAllowedError, NotFoundError, toHttpReply, UnsupportedMediaTypeError, type HttpReply } from './errors.js';
import { handleExportBytes, type ExportDeps } from './handler.js';
import { listen } from './listen.js';
import { clientCertificateCheck, httpsOptions, OPEN_PATHS, type BearerAuth } from './security.js';
import type { TlsSource } from './tls-source.js';

export const TRACES_PATH = '/v1/traces';

export type RouteHandler = (req: IncomingMessage, url: URL) => Promise<HttpReply>;

export interface HttpReceiverOptions {
  host: string;
  port: number;
  maxMessageBytes: number;
  tls?: TlsSource | null;
  /** Guards every /v1/ route (exports, queries) and /metrics; the probes stay open. */
  auth?: BearerAuth | null;
  /** /metrics needs the token too (default true); false leaves it open for a scraper without one. */
  protectMetrics?: boolean;
  /** Connections past this are refused (Node's server.maxConnections). */
  maxConnections?: number;
  /** A client that has not sent its headers by then is cut off. */
  headersTimeoutMs?: number;
}

/** Reads a body, refusing one past maxBytes without buffering the rest. */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes)
    return Promise.reject(new TooLargeError(`body of ${declared} bytes exceeds the ${maxBytes}-byte limit`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > maxBytes) {
        done = true;
        reject(new TooLargeError(`body exceeds the ${maxBytes}-byte limit`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!done) resolve(Buffer.concat(chunks, size));
    });
    req.on('error', (err) => {
      if (!done) reject(new InvalidInputError(`body could not be read: ${err.message}`));
      done = true;
    });
  });
}

export function tracesRoute(deps: ExportDeps, maxMessageBytes: number): RouteHandler {
  const count = (outcome: string) => deps.metrics.requests.inc({ transport: 'http', outcome });
  const handle: RouteHandler = async (req) => {
    const enc = encodingOf(req.headers['content-type']);
    if (!enc)
      throw new UnsupportedMediaTypeError(
        `unsupported Content-Type ${JSON.stringify(req.headers['content-type'] ?? '')}: use application/x-protobuf or application/json`,
      );
    let body = await readBody(req, maxMessageBytes);
    const coding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
    if (coding === 'gzip') body = await gunzipCapped(body, maxMessageBytes);
    else if (coding !== 'identity') throw new UnsupportedMediaTypeError(`unsupported Content-Encoding ${JSON.stringify(coding)}: use gzip`);
    const r = await handleExportBytes(body, enc, 'http', deps);
    count(r.partial ? 'partial' : 'ok');
    return { status: 200, headers: { 'content-type': CONTENT_TYPE[enc] }, body: r.body };
  };
  return (req, url) =>
    handle(req, url).catch((err: unknown) => {
      count(String(classify(err).http));
      throw err;
    });
}

export class HttpReceiver {
  private readonly routes = new Map<string, Map<string, RouteHandler>>();
  private server: Server | null = null;
  private stopping = false;
  port = 0;

  constructor(
    private readonly opts: HttpReceiverOptions,
    private readonly log: Logger,
  ) {}

  route(method: string, path: string, handler: RouteHandler): this {
    if (!this.routes.has(path)) this.routes.set(path, new Map());
    this.routes.get(path)!.set(method, handler);
    return this;
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const enc: Encoding = encodingOf(req.headers['content-type']) ?? 'json';
    let reply: HttpReply;
    try {
      // Exact paths first, then prefixes registered with a trailing '/' (e.g. /v1/query/).
      const byMethod =
        this.routes.get(url.pathname) ??
        // '/' itself is the one exact path that ends in '/'.
        [...this.routes.entries()].find(([path]) => path.length > 1 && path.endsWith('/') && url.pathname.startsWith(path))?.[1];
      if (!byMethod) throw new NotFoundError(`no route for ${url.pathname}`);
      const handler = byMethod.get(req.method ?? '');
      if (!OPEN_PATHS.has(url.pathname)) {
        if (this.opts.tls?.mutual) clientCertificateCheck(req.socket);
        const guarded = url.pathname.startsWith('/v1/') || (url.pathname === '/metrics' && this.opts.protectMetrics !== false);
        if (guarded) this.opts.auth?.check(req.headers.authorization);
      }
      if (!handler) {
        res.setHeader('allow', [...byMethod.keys()].join(', '));
        throw new MethodNotAllowedError(`${req.method} is not allowed on ${url.pathname}`);
      }
      reply = await handler(req, url);
    } catch (err) {
      const s = classify(err);
      if (s.internal) this.log.error({ err, path: url.pathname }, 'http request failed');
      reply = toHttpReply(s, enc);
      if (s.http === 401 && this.opts.auth) reply.headers['www-authenticate'] = 'Bearer realm="orb-learn"';
      // The rest of an unread body is not worth reading: ask the client to reconnect.
      if (!req.complete) reply.headers.connection = 'close';
    }
    if (this.stopping) reply.headers.connection = 'close';
    res.writeHead(reply.status, { ...reply.headers, 'content-length': String(reply.body.length) });
    res.end(reply.body);
    if (!req.complete) req.resume();
  }

  async start(): Promise<void> {
    const handle = (req: IncomingMessage, res: ServerResponse) => {
      this.dispatch(req, res).catch((err: unknown) => {
        this.log.error({ err }, 'http dispatch failed');
        if (!res.headersSent) res.writeHead(500).end();
      });
    };
    const tls = this.opts.tls;
    const headersTimeout = this.opts.headersTimeoutMs ?? 5_000;
    // Node checks the timeouts every connectionsCheckingInterval (30 s by default): often enough to honour them.
    const limits = { connectionsCheckingInterval: Math.min(1_000, headersTimeout), headersTimeout, requestTimeout: Math.max(60_000, headersTimeout) };
    const server: Server = tls ? createHttpsServer({ ...httpsOptions(tls.current), ...limits }, handle) : createServer(limits, handle);
    // Rotated certificates apply to new connections; open ones keep theirs.
    tls?.onChange((m) => (server as ReturnType<typeof createHttpsServer>).setSecureContext(httpsOptions(m)));
    if (this.opts.maxConnections) server.maxConnections = this.opts.maxConnections;
    this.port = await listen(server, this.opts.port, this.opts.host);
    this.server = server;
  }

  /** Stops accepting, lets in-flight requests finish, cuts the rest after graceMs. */
  stop(graceMs: number): Promise<void> {
    const server = this.server;
    if (!server) return Promise.resolve();
    this.stopping = true;
    return new Promise((resolve) => {
      const force = setTimeout(() => server.closeAllConnections(), graceMs);
      server.close(() => {
        clearTimeout(force);
        resolve();
      });
      server.closeIdleConnections();
    });
  }
}
