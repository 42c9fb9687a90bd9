// Starts embedding beside a running store: resolve the model (building the offline one on
// first use), start the model thread, start the indexer. Never on the acknowledgement path.
// Assembly of embed/ and query/ for the server, so it lives on the server side.
import type { Config } from '../config/config.js';
import type { Store } from '../store/db.js';
import type { Logger } from '../telemetry/log.js';
import type { IngestMetrics } from '../telemetry/metrics.js';
import { vectorModelId } from '../embed/content.js';
import { EmbedClient } from '../embed/embed-client.js';
import { EmbeddingIndexer } from '../embed/indexer.js';
import { memoryBudget } from '../memory-budget.js';
import { DEFAULT_ROW_BYTES } from '../pipeline/group-commit.js';
import { modelOptions, resolveModel, type ModelFiles } from '../embed/model.js';
import { SolutionLinker } from '../embed/solutions.js';
import { VectorIndex } from '../query/vector-index.js';
import { AnnIndexer } from '../query/ann.js';

const SOLUTION_LINK_INTERVAL_MS = 10_000;

/** Every few seconds, when ingest is not busy: vectors for new solution patterns, then paraphrase merges. */
async function startSolutionLinking(store: Store, client: EmbedClient, log: Logger, ingestBusy: () => boolean): Promise<{ stop(): Promise<void> }> {
  const conn = await store.connect();
  const linker = new SolutionLinker(conn, store.writer, { modelId: client.modelId, embed: async (texts) => (await client.embed(texts)).vectors });
  let running: Promise<void> | null = null;
  let lastRun = performance.now();
  const timer = setInterval(() => {
    // Waits for a lull, but not for ever: under steady ingest it still runs once a minute.
    if (running || (ingestBusy() && performance.now() - lastRun < 6 * SOLUTION_LINK_INTERVAL_MS)) return;
    lastRun = performance.now();
    running = linker
      .runOnce()
      .then((r) => {
        if (r.merged.length) log.info({ merged: r.merged.map((m) => ({ alias: m.alias, into: m.canonical, similarity: Math.round(m.similarity * 1000) / 1000 })) }, 'solution patterns merged by similarity');
      })
      .catch((err: unknown) => log.error({ err }, 'solution linking failed; retrying later'))
      .finally(() => (running = null));
  }, SOLUTION_LINK_INTERVAL_MS);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
      conn.closeSync();
    },
  };
}

export interface EmbeddingService {
  indexer: EmbeddingIndexer;
  client: EmbedClient;
  /** Every vector of the active model, kept current as vectors land. */
  index: VectorIndex;
  files: ModelFiles;
  stop(): Promise<void>;
}

export async function startEmbedding(
  config: Config,
  store: Store,
  metrics: IngestMetrics,
  log: Logger,
  onWrite: () => void = () => undefined,
  ingestBusy: () => boolean = () => false,
): Promise<EmbeddingService> {
  const files = await resolveModel(modelOptions(config));
  const client = await EmbedClient.start(files, { threads: config.embedThreads }, config.embedNice);
  log.info({ model: client.modelId, dimension: client.dimension, origin: files.origin, dir: files.dir }, 'embedding model loaded');
  const conn = await store.connect();
  const index = new VectorIndex(vectorModelId(client.modelId, config.embedContent), client.dimension, { content: config.embedContent });
  const loaded = await index.load(conn);
  log.info({ vectors: loaded, entries: index.entries, model: index.modelId, content: config.embedContent }, 'vector index loaded');
  // Repos with many distinct vectors get an HNSW graph, built in a thread and cached beside the database.
  const ann = new AnnIndexer(index, { cacheDir: config.db === ':memory:' ? null : `${config.db}.ann` }, (err, repo) => log.error({ err, repo }, 'HNSW graph build failed; the scan stays exact'));
  const indexer = new EmbeddingIndexer(conn, client, { batchSize: config.embedBatchSize, maxBacklog: Math.min(config.embedMaxBacklog, Math.floor(memoryBudget(config.memoryLimit).embedBacklogBytes / DEFAULT_ROW_BYTES)), cacheEntries: 20_000, maxYieldMs: config.embedMaxYieldMs, content: config.embedContent }, log, {
    onBatch(s) {
      metrics.embeddings.inc({ source: 'model' }, s.embedded);
      metrics.embeddings.inc({ source: 'cache' }, s.cacheHits);
      metrics.embedSeconds.observe(s.seconds);
      metrics.embedTruncated.inc(s.truncated);
      metrics.embedTokens.inc({ kind: 'real' }, s.realTokens);
      metrics.embedTokens.inc({ kind: 'padded' }, s.paddedTokens);
    },
    onBacklog: (n) => metrics.embedBacklog.set(n),
    busy: ingestBusy,
    onYield: (seconds) => metrics.embedYieldSeconds.inc(seconds),
    onVectors(rows) {
      onWrite();
      for (const r of rows)
        index.add({ ...r, timestampMs: r.timestamp.getTime(), scale: r.vector.scale, values: r.vector.values });
    },
  });
  await indexer.start();
  const solutions = await startSolutionLinking(store, client, log, ingestBusy);
  return {
    indexer,
    client,
    index,
    files,
    async stop() {
      await solutions.stop();
      await indexer.stop();
      await client.close();
      await ann.close();
      conn.closeSync();
    },
  };
}
