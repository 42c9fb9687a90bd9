// Assembles the pipeline. Downstream starts first and upstream stops first, so data drains:
// store → group commit → receivers to start; receivers → queue → store to stop.
import { authTokenOf, ConfigError, type Config } from '../config/config.js';
import { isLoopback, splitHostPort } from '../host.js';
import { startEmbedding, type EmbeddingService } from './embedding.js';
import { GroupCommitQueue } from '../pipeline/group-commit.js';
import { GenAiSettler } from '../pipeline/genai-settler.js';
import { loadModelTables } from '../convert/genai/tables.js';
import { QueryLibrary } from '../query/library.js';
import { isQueryName, QUERY_NAMES } from '../query/params.js';
import { ReadPool, uvThreads } from '../query/pool.js';
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
import { Forwarder, parseHeaders } from '../receiver/forward.js';
import type { ExportDeps } from '../receiver/handler.js';
import { Store } from '../store/db.js';
import { defaultSnapshotPath, snapshotStagingDir, SnapshotPublisher } from '../store/snapshot.js';
import { startArchiveSchedule } from '../store/archive-schedule.js';
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

/** Ingest counts as busy until its queue has been empty this long: embedding waits for that lull. */
const INGEST_LULL_MS = 250;

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
  const store = await Store.open({
    path: config.db,
    // The query API's SQL may read the data (database, snapshot, archive) and nothing else on the
    // host, not even the files beside the database (the working folder, with --db NAME).
    fileAccess: { directories: [archiveDir, snapshotStagingDir(snapshotPath)], files: [config.db, `${config.db}.wal`, snapshotPath] },
    threads: config.dbThreads,
    checkpointThreshold: config.dbCheckpointThreshold,
    summaryIntervalMs: config.summaryIntervalMs,
    onSummaryError: (err) => log.error({ err }, 'merging summary deltas failed; they stay journalled and are retried'),
  }).catch((err: unknown) => {
    forward?.close();
    throw err;
  });
  log.info({ db: config.db, schemaVersion: store.schemaVersion }, 'store open, migrations applied');

  let embedding: EmbeddingService | null = null;
  const rejections = new RejectionLog(log);
  const queue = new GroupCommitQueue(
    store.writer,
    {
      maxBatchRows: config.batchMaxRows,
      maxWaitMs: config.batchMaxWaitMs,
      maxQueueRows: config.queueMaxRows,
      retryAfterSeconds: config.retryAfterSeconds,
    },
    {
      onCommit(batch, seconds, result) {
        metrics.batches.inc();
        metrics.commitRows.inc(batch.executions.length + batch.rejected.length);
        embedding?.indexer.enqueue(batch.executions);
        snapshot.markChanged();
        metrics.commitSeconds.observe(seconds);
        metrics.spansDuplicate.inc(result.duplicates);
        if (batch.rejected.length) rejections.note(batch.rejected);
      },
      onDepth: (rows) => metrics.queueDepth.set(rows),
      onCommitError: (err) => store.noteError(err),
    },
  );
  const settler = new GenAiSettler(
    store.writer,
    await store.connect(),
    {
      tables: genaiTables,
      taskDescriptionAttribute: config.genaiTaskDescriptionAttribute,
      taskTypeAttribute: config.genaiTaskTypeAttribute,
      poolAttribute: config.genaiPoolAttribute,
    },
    metrics,
    { settleMs: config.genaiSettleMs, orphanTtlMs: config.genaiOrphanTtlMs, maxPending: config.genaiMaxPending },
    {
      onSettled(rows) {
        embedding?.indexer.enqueue(rows);
        snapshot.markChanged();
      },
      onError: (err) => log.error({ err }, 'assembling GenAI runs failed; the spans stay pending and are retried'),
    },
  );
  const pool = config.decodeThreads > 0 ? new DecodePool(config.decodeThreads, log) : null;
  const deps: ExportDeps = { consumer: queue, metrics, decode: pool ? pool.decode : inlineDecoder, forward };
  let ready = false;
  const probes = new StoreProbes(store, log);

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
    .route('GET', '/v1/embeddings', async () => json(embedding ? 200 : 503, embedding ? await embedding.indexer.coverage() : { error: 'embedding is not running' }))
    .route('POST', '/v1/embeddings/reembed', async () => {
      if (!embedding) return json(503, { error: 'embedding is not running' });
      embedding.indexer.requestRescan();
      return json(202, await embedding.indexer.coverage());
    });

  const snapshot = new SnapshotPublisher(
    await store.connect(),
    snapshotPath,
    config.snapshotInterval * 1000,
    (info) => {
      metrics.snapshotSeconds.observe(info.seconds);
      metrics.snapshotBytes.set(info.bytes);
      log.info({ path: info.path, bytes: info.bytes, seconds: info.seconds }, 'snapshot published');
    },
    (err) => log.error({ err }, 'snapshot failed'),
  );
  const readPool = await ReadPool.open(() => store.connect(), config.queryConnections, config.queryTimeoutMs);
  const queries = new QueryLibrary(
    readPool,
    () => (embedding ? { index: embedding.index, embedder: embedding.client } : null),
    archiveDir,
    () => store.writer.flushSummaries(),
    { lexicalWeight: config.queryLexicalWeight, maxResultBytes: config.queryMaxResultBytes, sqlConcurrency: config.querySqlConcurrency, router: { mode: config.routerMode, exploreShare: config.routerExploreShare } },
  );
  if (readPool.concurrency < config.queryConnections)
    log.info({ queryConnections: config.queryConnections, atOnce: readPool.concurrency, uvThreads: uvThreads() }, 'queries run at most this many at once, leaving two libuv threads to ingest; raise UV_THREADPOOL_SIZE for more');
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
  policyRoutes(http, store, () => snapshot.markChanged());
  dashboardRoutes(http, queries, { registry: metrics.registry, startedAt: new Date(), index: () => embedding?.index ?? null, snapshot: () => snapshot.last }, log);

  let grpc: GrpcReceiver | undefined;
  try {
    grpc = await GrpcReceiver.start({ ...grpcAddr, maxMessageBytes: config.maxMessageBytes, credentials: tls ? tls.grpcCredentials() : ServerCredentials.createInsecure(), auth }, deps, log);
    await http.start();
  } catch (err) {
    await grpc?.stop(0);
    forward?.close();
    await pool?.close();
    readPool.close();
    await settler.stop();
    await store.close();
    throw err;
  }
  const archive =
    config.archiveOlderThan === 'off'
      ? null
      : startArchiveSchedule(store, {
          archiveDir,
          olderThan: config.archiveOlderThan,
          interval: config.archiveInterval,
          runAtStart: true,
          onReport: (r) => {
            if (r.executions > 0) log.info({ ...r }, 'archived old executions');
            snapshot.markChanged();
          },
          onError: (err) => log.error({ err }, 'archive run failed; it undid itself and retries at the next interval'),
        });
  const self = config.telemetryEndpoint ? startSelfTelemetry(config.telemetryEndpoint, metrics.registry, { host: grpcAddr.host, port: grpc.port }, config.telemetryIntervalMs) : null;
  ready = true;
  probes.start();
  settler.start();
  tls?.watch(config.tlsReloadIntervalMs);
  snapshot.start();
  // The model may need building on a first start: ingest does not wait for it.
  const embeddingStarted = config.embed
    ? startEmbedding(config, store, metrics, log, () => snapshot.markChanged(), () => queue.idleMs() < INGEST_LULL_MS).then(
        (e) => {
          embedding = e;
        },
        (err: unknown) => log.error({ err }, 'embedding disabled: the model could not be loaded'),
      )
    : Promise.resolve();
  const exposed = [grpcAddr.host, httpAddr.host].filter((h) => !isLoopback(h));
  if (exposed.length && !auth && !tls?.mutual)
    log.warn({ listen: exposed }, 'listening beyond loopback with no bearer token and no client certificates: anyone who can reach it can export and query');
  log.info({ grpc: `${grpcAddr.host}:${grpc.port}`, http: `${httpAddr.host}:${http.port}`, tls: tls !== null, mtls: tls?.mutual === true, auth: auth !== null }, 'orb-learn ready');

  let stopping: Promise<void> | null = null;
  return {
    store,
    genai: settler,
    queries,
    snapshot,
    metrics,
    grpcPort: grpc.port,
    httpPort: http.port,
    isReady: () => ready,
    embedding: () => embeddingStarted.then(() => embedding),
    stop() {
      stopping ??= (async () => {
        ready = false;
        probes.stop();
        log.info('stopping: refusing new requests, finishing in-flight ones');
        await Promise.all([grpc.stop(config.shutdownGraceMs), http.stop(config.shutdownGraceMs)]);
        tls?.stop();
        await archive?.stop();
        await queue.drain();
        rejections.flush();
        await settler.stop();
        await snapshot.stop();
        await embeddingStarted;
        await embedding?.stop();
        await pool?.close();
        forward?.close();
        readPool.close();
        await store.close();
        await self?.shutdown().catch((err: unknown) => log.warn({ err }, 'self-telemetry flush failed'));
        log.info('stopped cleanly');
      })();
      return stopping;
    },
  };
}
