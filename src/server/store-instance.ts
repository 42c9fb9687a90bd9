// Everything that holds a connection on the DuckDB instance, owned by one object: the store and its writer,
// group commit, the GenAI settler, the snapshot, the read pool and query library, the embedding indexer and
// vector index, the archive schedule. An invalidated instance cannot be mended part by part (each part's
// connection is dead), so recovery (recovery.ts) lets the whole object go and opens a new one on the file.
import type { Config } from '../config/config.js';
import type { ModelTables } from '../convert/genai/tables.js';
import { GroupCommitQueue } from '../pipeline/group-commit.js';
import { GenAiSettler } from '../pipeline/genai-settler.js';
import { QueryLibrary } from '../query/library.js';
import { SqlProcess } from '../query/sql-process.js';
import { ReadPool, uvThreads } from '../query/pool.js';
import { Store } from '../store/db.js';
import { snapshotStagingDir, SnapshotPublisher } from '../store/snapshot.js';
import { startArchiveSchedule, type ArchiveSchedule } from '../store/archive-schedule.js';
import type { Logger } from '../telemetry/log.js';
import type { IngestMetrics } from '../telemetry/metrics.js';
import type { RejectionLog } from '../telemetry/rejection-log.js';
import { startEmbedding, type EmbeddingService } from './embedding.js';
import { RetryableError } from '../errors.js';
import { memoryBudget } from '../memory-budget.js';
import { StoreRecovery, type StoreState } from './recovery.js';

/** Ingest counts as busy until its queue has been empty this long: embedding waits for that lull. */
const INGEST_LULL_MS = 250;

export interface InstanceContext {
  config: Config;
  log: Logger;
  metrics: IngestMetrics;
  rejections: RejectionLog;
  genaiTables: ModelTables;
  snapshotPath: string;
  archiveDir: string;
  /** A commit failed: the instance may have been invalidated by it (recovery checks at once). */
  onCommitError(err: unknown): void;
}

export interface StoreInstance {
  readonly store: Store;
  readonly queue: GroupCommitQueue;
  readonly settler: GenAiSettler;
  readonly snapshot: SnapshotPublisher;
  readonly queries: QueryLibrary;
  /** Resolves once the embedding model is loaded (or failed to load, or embedding is off). */
  embedding(): Promise<EmbeddingService | null>;
  /** The embedding service if it is running now. */
  embeddingNow(): EmbeddingService | null;
  /** Starts the timers (settler, snapshot, archive, embedding): once the receivers may hand it work. */
  start(): void;
  /** Stops every part and closes the instance; on a healthy one, drains the queue and checkpoints first. */
  close(): Promise<void>;
}

export async function openStoreInstance(ctx: InstanceContext): Promise<StoreInstance> {
  const { config, log, metrics } = ctx;
  const store = await Store.open({
    path: config.db,
    // The query API's SQL may read the data (database, snapshot, archive) and nothing else on the
    // host, not even the files beside the database (the working folder, with --db NAME).
    fileAccess: { directories: [ctx.archiveDir, snapshotStagingDir(ctx.snapshotPath)], files: [config.db, `${config.db}.wal`, ctx.snapshotPath] },
    threads: config.dbThreads,
    checkpointThreshold: config.dbCheckpointThreshold,
    memoryLimitBytes: memoryBudget(config.memoryLimit).duckdbBytes,
    summaryIntervalMs: config.summaryIntervalMs,
    onSummaryError: (err) => log.error({ err }, 'merging summary deltas failed; they stay journalled and are retried'),
  });
  // Parts built so far, let go in reverse if a later one cannot be built.
  const built: (() => Promise<void> | void)[] = [() => store.close()];
  try {
    return await assemble(ctx, store, built);
  } catch (err) {
    for (const undo of built.reverse()) await Promise.resolve(undo()).catch(() => undefined);
    throw err;
  }
}

async function assemble(ctx: InstanceContext, store: Store, built: (() => Promise<void> | void)[]): Promise<StoreInstance> {
  const { config, log, metrics } = ctx;
  let embedding: EmbeddingService | null = null;
  const queue = new GroupCommitQueue(
    store.writer,
    {
      maxBatchRows: config.batchMaxRows,
      maxWaitMs: config.batchMaxWaitMs,
      maxQueueRows: config.queueMaxRows,
      maxQueueBytes: memoryBudget(config.memoryLimit).queueBytes,
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
        if (batch.rejected.length) ctx.rejections.note(batch.rejected);
      },
      onDepth: (rows, bytes) => {
        metrics.queueDepth.set(rows);
        metrics.queueDepthBytes.set(bytes);
      },
      onCommitError: (err) => {
        store.noteError(err);
        ctx.onCommitError(err);
      },
    },
  );
  built.push(() => queue.drain());
  const settler = new GenAiSettler(
    store.writer,
    await store.connect(),
    {
      tables: ctx.genaiTables,
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
  built.push(() => settler.stop());
  const snapshot = new SnapshotPublisher(
    await store.connect(),
    ctx.snapshotPath,
    config.snapshotInterval * 1000,
    (info) => {
      metrics.snapshotSeconds.observe(info.seconds);
      metrics.snapshotBytes.set(info.bytes);
      log.info({ path: info.path, bytes: info.bytes, seconds: info.seconds }, 'snapshot published');
    },
    (err) => log.error({ err }, 'snapshot failed'),
  );
  built.push(() => snapshot.stop());
  const readPool = await ReadPool.open(() => store.connect(), config.queryConnections, config.queryTimeoutMs);
  built.push(() => readPool.close());
  const sqlProcess =
    config.querySqlSource === 'snapshot' && config.snapshotInterval > 0
      ? new SqlProcess({
          snapshot: ctx.snapshotPath,
          archiveDir: ctx.archiveDir,
          threads: config.querySqlThreads,
          memoryLimit: config.querySqlMemoryLimit,
          nice: config.querySqlNice,
          concurrency: config.querySqlConcurrency,
          timeoutMs: config.queryTimeoutMs,
          maxResultBytes: config.queryMaxResultBytes,
          onExit: (code, signal) => {
            if (signal === 'SIGKILL' || (code !== 0 && code !== null)) log.warn({ code, signal }, 'the snapshot SQL process ended; the next /v1/query/sql starts a new one');
          },
        })
      : null;
  built.push(() => sqlProcess?.close());
  const queries = new QueryLibrary(
    readPool,
    () => (embedding ? { index: embedding.index, embedder: embedding.client } : null),
    ctx.archiveDir,
    () => store.writer.flushSummaries(),
    { lexicalWeight: config.queryLexicalWeight, maxResultBytes: config.queryMaxResultBytes, sqlConcurrency: config.querySqlConcurrency, sqlProcess: sqlProcess ?? undefined, router: { mode: config.routerMode, exploreShare: config.routerExploreShare } },
  );
  if (readPool.concurrency < config.queryConnections)
    log.info({ queryConnections: config.queryConnections, atOnce: readPool.concurrency, uvThreads: uvThreads() }, 'queries run at most this many at once, leaving two libuv threads to ingest; raise UV_THREADPOOL_SIZE for more');

  let archive: ArchiveSchedule | null = null;
  let embeddingStarted: Promise<void> = Promise.resolve();
  let closing: Promise<void> | null = null;
  return {
    store,
    queue,
    settler,
    snapshot,
    queries,
    embedding: () => embeddingStarted.then(() => embedding),
    embeddingNow: () => embedding,
    start() {
      archive =
        config.archiveOlderThan === 'off'
          ? null
          : startArchiveSchedule(store, {
              archiveDir: ctx.archiveDir,
              olderThan: config.archiveOlderThan,
              interval: config.archiveInterval,
              runAtStart: true,
              onReport: (r) => {
                if (r.executions > 0) log.info({ ...r }, 'archived old executions');
                snapshot.markChanged();
              },
              onError: (err) => log.error({ err }, 'archive run failed; it undid itself and retries at the next interval'),
            });
      settler.start();
      snapshot.start();
      // The model may need building on a first start: ingest does not wait for it.
      embeddingStarted = config.embed
        ? startEmbedding(config, store, metrics, log, () => snapshot.markChanged(), () => queue.idleMs() < INGEST_LULL_MS).then(
            (e) => {
              if (closing) void e.stop();
              else embedding = e;
            },
            (err: unknown) => log.error({ err }, 'embedding disabled: the model could not be loaded'),
          )
        : Promise.resolve();
    },
    close() {
      closing ??= (async () => {
        await archive?.stop();
        await queue.drain();
        ctx.rejections.flush();
        await settler.stop();
        await snapshot.stop();
        await embeddingStarted;
        await embedding?.stop();
        embedding = null;
        readPool.close();
        sqlProcess?.close();
        await store.close();
      })();
      return closing;
    },
  };
}

/** How often the instance is looked at when nobody probes (a commit error looks at once). */
export const STORE_WATCH_MS = 2_000;

/** Watches the first instance and, once DuckDB invalidates it, reopens the file with back-off. */
export function startRecovery(first: StoreInstance, ctx: InstanceContext): StoreRecovery<StoreInstance> {
  const { config, log } = ctx;
  const reopen = async () => {
    const next = await openStoreInstance(ctx);
    try {
      // Opening replays the WAL but may not write the file: a checkpoint proves the cause is gone.
      await next.store.checkpoint();
    } catch (err) {
      await next.close().catch(() => undefined);
      throw err;
    }
    next.start();
    return next;
  };
  return new StoreRecovery(first, reopen, { maxAttempts: config.dbReopenAttempts, firstDelayMs: Math.min(1_000, config.dbReopenMaxDelayMs), maxDelayMs: config.dbReopenMaxDelayMs }, {
    onInvalidated: (reason) => log.error({ reason }, 'database invalidated; exports are refused as retryable while it is reopened'),
    onAttemptFailed: (err, attempt, nextDelayMs) => log.warn({ err: (err as Error).message, attempt, nextDelayMs }, 'reopening the database failed; retrying'),
    onRecovered: (attempts, seconds) => log.info({ attempts, seconds }, 'database reopened: the WAL was replayed and a checkpoint succeeded; ready again'),
    onFailed: (reason, lastError) => log.error({ reason, lastError }, 'database recovery gave up: liveness fails so that the process is restarted'),
    onCloseError: (err) => log.warn({ err }, 'closing the invalidated instance failed; it is let go all the same'),
  });
}

/** While no instance is in use: UNAVAILABLE (HTTP 503), retryable, naming the cause. */
export function refuseWhileRecovering(state: StoreState, retryAfterSeconds: number): never {
  const why = state.kind === 'open' ? 'orb-learn is shutting down' : `the database is ${state.kind === 'failed' ? 'unrecoverable' : 'being reopened'}: ${state.reason}`;
  throw new RetryableError(why, retryAfterSeconds);
}
