// Assembles the pipeline. Downstream starts first and upstream stops first, so data drains:
// store → group commit → receivers to start; receivers → queue → store to stop.
import { authTokenOf, ConfigError, type Config } from '../config/config.js';
import { isLoopback, splitHostPort } from '../host.js';
import type { EmbeddingService } from './embedding.js';
import type { GenAiSettler } from '../pipeline/genai-settler.js';
import type { BatchConsumer } from '../pipeline/consumer.js';
import { loadModelTables } from '../convert/genai/tables.js';
import type { QueryLibrary } from '../query/library.js';
import { isQueryName, QUERY_NAMES } from '../query/params.js';
import { jsonInSlices } from '../query/result.js';
import { NotFoundError } from '../receiver/errors.js';
import { BearerAuth } from '../receiver/security.js';
import { TlsSource } from '../receiver/tls-source.js';
import { ServerCredentials } from '@grpc/grpc-js';
import { GrpcReceiver } from '../receiver/grpc.js';
import { HttpReceiver, readBody, TRACES_PATH, tracesRoute } from '../receiver/http.js';
import { InvalidInputError } from '../errors.js';
import { feedbackFromInput } from '../pipeline/feedback-input.js';
import { policyRoutes } from './policy-routes.js';
import { StoreProbes } from './probes.js';
import { dashboardRoutes } from './dashboard-routes.js';
import { inlineDecoder } from '../receiver/decode.js';
import { DecodePool } from '../receiver/decode-pool.js';
import { memoryBudget } from '../memory-budget.js';
import { Forwarder, parseHeaders } from '../receiver/forward.js';
import type { ExportDeps } from '../receiver/handler.js';
import type { Store } from '../store/db.js';
import { defaultSnapshotPath, type SnapshotPublisher } from '../store/snapshot.js';
import { openStoreInstance, refuseWhileRecovering, startRecovery, STORE_WATCH_MS, type InstanceContext, type StoreInstance } from './store-instance.js';
import type { StoreRecovery } from './recovery.js';
import { dirname, join } from 'node:path';
import type { Logger } from '../telemetry/log.js';
import { RejectionLog } from '../telemetry/rejection-log.js';
import { IngestMetrics } from '../telemetry/metrics.js';
import { refuseOwnReceiver, startSelfTelemetry } from '../telemetry/self.js';

export interface RunningServer {
  readonly store: Store;
  /** Assembles GenAI runs; tick() runs a round now. */
  readonly genai: GenAiSettler;
  readonly queries: QueryLibrary;
  readonly snapshot: SnapshotPublisher;
  /** The store in use and its reopening after an invalidation; the four above are the instance in use now. */
  readonly recovery: StoreRecovery<StoreInstance>;
  /** Resolves once the embedding model is loaded (or failed to load, or embedding is off). */
  embedding(): Promise<EmbeddingService | null>;
  readonly metrics: IngestMetrics;
  readonly grpcPort: number;
  readonly httpPort: number;
  isReady(): boolean;
  stop(): Promise<void>;
}

const text = (status: number, body: string, type = 'text/plain; charset=utf-8') => ({
  status,
  headers: { 'content-type': type },
  body: Buffer.from(body),
});

const json = (status: number, body: unknown) => text(status, JSON.stringify(body), 'application/json');

export async function startServer(config: Config, log: Logger): Promise<RunningServer> {
  const metrics = new IngestMetrics();
  const snapshotPath = config.snapshotPath ?? defaultSnapshotPath(config.db);
  const archiveDir = config.archiveDir ?? join(dirname(config.db), 'archive');
  // Everything that can refuse the settings comes before the database opens.
  const grpcAddr = splitHostPort(config.grpc);
  const httpAddr = splitHostPort(config.http);
  const tls =
    config.tlsCert && config.tlsKey
      ? new TlsSource({ cert: config.tlsCert, key: config.tlsKey, clientCa: config.tlsClientCa }, (err) => log.error({ err }, 'TLS files changed but cannot be used yet; keeping the previous certificate'))
      : null;
  const token = authTokenOf(config);
  const auth = token ? new BearerAuth(token) : null;
  // Checked again once the port is bound (a port of 0 is known only then).
  if (config.telemetryEndpoint) refuseOwnReceiver(config.telemetryEndpoint, grpcAddr);
  const genaiTables = (() => {
    try {
      return loadModelTables({ tiersFile: config.genaiTiersFile, pricesFile: config.genaiPricesFile });
    } catch (err) {
      throw new ConfigError(`invalid setting genaiTiersFile/genaiPricesFile: ${(err as Error).message}`);
    }
  })();
  const forwardHeaders = config.forwardHeaders ? parseHeaders(config.forwardHeaders) : {};
  const forward = config.forward
    ? new Forwarder({
        target: config.forward,
        timeoutMs: config.forwardTimeoutMs,
        maxMessageBytes: config.maxMessageBytes,
        tls: config.forwardTls,
        ca: config.forwardCa,
        clientCert: config.forwardClientCert,
        clientKey: config.forwardClientKey,
        headers: forwardHeaders,
        compression: config.forwardCompression,
      })
    : null;
  const rejections = new RejectionLog(log);
  const ctx: InstanceContext = { config, log, metrics, rejections, genaiTables, snapshotPath, archiveDir, onCommitError: () => void recovery.check().catch(() => undefined) };
  const first = await openStoreInstance(ctx).catch((err: unknown) => {
    forward?.close();
    throw err;
  });
  log.info({ db: config.db, schemaVersion: first.store.schemaVersion }, 'store open, migrations applied');
  const recovery = startRecovery(first, ctx);
  /** The instance in use; while there is none, a retryable refusal (UNAVAILABLE, 503) that names the cause. */
  const live = (): StoreInstance => recovery.current() ?? refuseWhileRecovering(recovery.status(), config.retryAfterSeconds);
  const queue: BatchConsumer = { consume: (batch) => live().queue.consume(batch) };
  const budget = memoryBudget(config.memoryLimit);
  const pool =
    config.decodeThreads > 0 ? new DecodePool(config.decodeThreads, log, { maxInFlightBytes: budget.decodeBytes, maxHeapBytes: budget.decodeHeapBytes, retryAfterSeconds: config.retryAfterSeconds }) : null;
  const deps: ExportDeps = { consumer: queue, metrics, decode: pool ? pool.decode : inlineDecoder, forward };
  let ready = false;
  const probes = new StoreProbes(recovery);

  const http = new HttpReceiver(
    {
      ...httpAddr,
      maxMessageBytes: config.maxMessageBytes,
      tls,
      auth,
      protectMetrics: config.metricsAuth,
      maxConnections: config.httpMaxConnections,
      headersTimeoutMs: config.httpHeadersTimeoutMs,
    },
    log,
  )
    .route('POST', TRACES_PATH, tracesRoute(deps, config.maxMessageBytes))
    .route('GET', '/healthz', () => probes.healthz())
    .route('GET', '/readyz', () => probes.readyz(ready))
    .route('GET', '/metrics', async () => text(200, await metrics.registry.metrics(), metrics.registry.contentType))
    .route('GET', '/v1/embeddings', async () => {
      const embedding = live().embeddingNow();
      return json(embedding ? 200 : 503, embedding ? await embedding.indexer.coverage() : { error: 'embedding is not running' });
    })
    .route('POST', '/v1/embeddings/reembed', async () => {
      const embedding = live().embeddingNow();
      if (!embedding) return json(503, { error: 'embedding is not running' });
      embedding.indexer.requestRescan();
      return json(202, await embedding.indexer.coverage());
    });

  const queries: Pick<QueryLibrary, 'run'> = { run: (...args) => live().queries.run(...args) };
  http.route('GET', '/v1/query/', async (_req, url) => {
    const name = url.pathname.slice('/v1/query/'.length);
    if (!isQueryName(name)) throw new NotFoundError(`no query ${JSON.stringify(name)}: known are ${QUERY_NAMES.join(', ')}`);
    const params: Record<string, unknown> = Object.fromEntries(url.searchParams);
    const explain = params.explain === 'true' || params.explain === '1';
    delete params.explain;
    const result = await queries.run(name, params, { explain });
    return { status: 200, headers: { 'content-type': 'application/json' }, body: await jsonInSlices(result as unknown as Parameters<typeof jsonInSlices>[0]) };
  });

  http.route('POST', '/v1/feedback', async (req) => {
    const body = await readBody(req, 1024 * 1024);
    let raw: unknown;
    try {
      raw = JSON.parse(body.toString('utf8'));
    } catch (err) {
      throw new InvalidInputError(`feedback: malformed JSON body: ${(err as Error).message}`);
    }
    const row = feedbackFromInput(raw);
    const r = await queue.consume({ executions: [], rejected: [], feedback: [row] });
    metrics.feedback.inc({ source: 'api' }, r.feedbackStored);
    return json(r.feedbackStored ? 201 : 200, { feedback_id: row.feedback_id, task_id: row.task_id, stored: r.feedbackStored === 1 });
  });
  const store = {
    connect: () => live().store.connect(),
    get writer() {
      return live().store.writer;
    },
  };
  policyRoutes(http, store, () => recovery.current()?.snapshot.markChanged());
  const current = () => recovery.current();
  metrics.vectorIndexSource = () => current()?.embeddingNow()?.index.codeBytes ?? 0;
  dashboardRoutes(http, queries, { registry: metrics.registry, startedAt: new Date(), index: () => current()?.embeddingNow()?.index ?? null, snapshot: () => current()?.snapshot.last ?? null }, log);

  let grpc: GrpcReceiver | undefined;
  try {
    grpc = await GrpcReceiver.start({ ...grpcAddr, maxMessageBytes: config.maxMessageBytes, credentials: tls ? tls.grpcCredentials() : ServerCredentials.createInsecure(), auth, maxConnections: config.grpcMaxConnections, idleTimeoutMs: config.grpcIdleTimeoutMs }, deps, log);
    await http.start();
  } catch (err) {
    await grpc?.stop(0);
    forward?.close();
    await pool?.close();
    await (await recovery.stop())?.close();
    throw err;
  }
  const self = config.telemetryEndpoint ? startSelfTelemetry(config.telemetryEndpoint, metrics.registry, { host: grpcAddr.host, port: grpc.port }, config.telemetryIntervalMs) : null;
  ready = true;
  first.start();
  recovery.watch(STORE_WATCH_MS);
  tls?.watch(config.tlsReloadIntervalMs);
  const exposed = [grpcAddr.host, httpAddr.host].filter((h) => !isLoopback(h));
  if (exposed.length && !auth && !tls?.mutual)
    log.warn({ listen: exposed }, 'listening beyond loopback with no bearer token and no client certificates: anyone who can reach it can export and query');
  log.info({ grpc: `${grpcAddr.host}:${grpc.port}`, http: `${httpAddr.host}:${http.port}`, tls: tls !== null, mtls: tls?.mutual === true, auth: auth !== null }, 'orb-learn ready');

  let stopping: Promise<void> | null = null;
  return {
    get store() {
      return live().store;
    },
    get genai() {
      return live().settler;
    },
    get queries() {
      return live().queries;
    },
    get snapshot() {
      return live().snapshot;
    },
    recovery,
    metrics,
    grpcPort: grpc.port,
    httpPort: http.port,
    isReady: () => ready,
    embedding: () => live().embedding(),
    stop() {
      stopping ??= (async () => {
        ready = false;
        log.info('stopping: refusing new requests, finishing in-flight ones');
        await Promise.all([grpc.stop(config.shutdownGraceMs), http.stop(config.shutdownGraceMs)]);
        tls?.stop();
        await (await recovery.stop())?.close();
        await pool?.close();
        forward?.close();
        await self?.shutdown().catch((err: unknown) => log.warn({ err }, 'self-telemetry flush failed'));
        log.info('stopped cleanly');
      })();
      return stopping;
    },
  };
}
