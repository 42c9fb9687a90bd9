// Embeds committed executions off the acknowledgement path. Rows arrive from the group commit
// (enqueue) and, at start or after an overflow, from the database: whatever lacks a vector for
// the active model. So a crash loses no work, and the (task_id, model_id) key means no row ever
// gets two vectors. Identical contents are embedded once (content-hash LRU); each batch is
// sorted by length so padding stays low.
import { createHash } from 'node:crypto';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Logger } from '../telemetry/log.js';
import { TableWriter } from '../store/table-writer.js';
import type { TableWrite } from '../store/rows.js';
import { CONTENT_COLUMNS, DEFAULT_EMBED_CONTENT, embeddingContent, vectorModelId, type ContentFields, type EmbedContent } from './content.js';
import type { EmbedClient } from './embed-client.js';
import { Lru } from './lru.js';
import { quantize, type QuantizedVector } from './quantize.js';

export interface PendingExecution extends ContentFields {
  task_id: string;
  timestamp: Date;
  quality_score: number | null;
  actual_cost: number;
}

/** A vector that just landed, with what the in-process index keeps beside it. */
export interface LandedVector extends PendingExecution {
  vector: QuantizedVector;
}

export interface IndexerOptions {
  /** Texts per model call. */
  batchSize: number;
  /** Rows held in memory; beyond it they are dropped and re-read from the database later. */
  maxBacklog: number;
  cacheEntries: number;
  /** What is embedded (default 'task'); the vectors' model id says which. */
  content?: EmbedContent;
  /**
   * Ingest comes first: while `busy()` says so, a batch waits, at most this long. Under saturation
   * embedding still moves, one batch per wait; when ingest pauses it catches up.
   */
  maxYieldMs?: number;
}

export interface IndexerHooks {
  onBatch?(stats: { embedded: number; cacheHits: number; seconds: number; truncated: number; paddedTokens: number; realTokens: number }): void;
  onBacklog?(rows: number): void;
  /** Vectors committed to the database, for the in-process index. */
  onVectors?(rows: LandedVector[]): void;
  /** Ingest has work in hand (rows queued or a commit running). */
  busy?(): boolean;
  /** A batch waited this long for ingest. */
  onYield?(seconds: number): void;
}

export const EMBEDDING_COLUMNS = ['task_id', 'model_id', 'content_hash', 'scale', 'embedding', 'embedded_at'] as const;

export interface EmbeddedRow {
  task_id: string;
  content_hash: string;
  vector: QuantizedVector;
}

/** The rows of execution_embeddings for one model, ready for a TableWriter. */
export function embeddingWrite(modelId: string, rows: readonly EmbeddedRow[], at = new Date()): TableWrite {
  return {
    table: 'execution_embeddings',
    key: 'task_id',
    columns: EMBEDDING_COLUMNS,
    rows: rows.map((r) => [r.task_id, modelId, r.content_hash, r.vector.scale, Array.from(r.vector.values), at]),
    inBatchDuplicates: 0,
  };
}

/** Records the model in embedding_models once. */
export async function registerModel(conn: DuckDBConnection, modelId: string, dimension: number, source: string): Promise<void> {
  await conn.run(
    `INSERT INTO embedding_models (model_id, dimension, source, first_used_at) VALUES ($1, $2, $3, now()) ON CONFLICT DO NOTHING`,
    [modelId, dimension, source],
  );
}

export function contentHash(content: string): string {
  return createHash('sha256').update(content).digest('hex').slice(0, 32);
}

export class EmbeddingIndexer {
  private queue: PendingExecution[] = [];
  private readonly queued = new Set<string>();
  private readonly cache: Lru<string, QuantizedVector>;
  private readonly writer: TableWriter;
  private rescanNeeded = true;
  private stopping = false;
  private wake: (() => void) | null = null;
  private loopDone: Promise<void> | null = null;
  embeddedTotal = 0;
  /** The id the vectors are stored under: the model's, with the content recipe. */
  readonly modelId: string;
  readonly content: EmbedContent;

  constructor(
    private readonly conn: DuckDBConnection,
    private readonly client: EmbedClient,
    private readonly opts: IndexerOptions,
    private readonly log: Logger,
    private readonly hooks: IndexerHooks = {},
  ) {
    this.cache = new Lru(opts.cacheEntries);
    this.content = opts.content ?? DEFAULT_EMBED_CONTENT;
    this.modelId = vectorModelId(client.modelId, this.content);
    this.writer = new TableWriter(conn);
  }

  get backlog(): number {
    return this.queue.length;
  }

  async start(): Promise<void> {
    await registerModel(this.conn, this.modelId, this.client.dimension, this.client.files.manifest.source ?? this.client.files.dir);
    this.loopDone = this.loop().catch((err: unknown) => this.log.error({ err }, 'embedding loop stopped'));
  }

  /** Committed rows to embed. Never blocks: past maxBacklog the rows are left for a database rescan. */
  enqueue(rows: readonly PendingExecution[]): void {
    if (this.stopping || rows.length === 0) return;
    if (this.queue.length + rows.length > this.opts.maxBacklog) {
      this.rescanNeeded = true;
    } else {
      for (const r of rows) {
        if (this.queued.has(r.task_id)) continue;
        this.queued.add(r.task_id);
        this.queue.push(r);
      }
      this.hooks.onBacklog?.(this.queue.length);
    }
    this.wake?.();
  }

  /** Looks for rows without a vector for the active model now (what `orb-learn reembed` asks). */
  requestRescan(): void {
    this.rescanNeeded = true;
    this.wake?.();
  }

  /** How many executions have a vector for the active model, and how many do not. */
  async coverage(): Promise<{ modelId: string; executions: number; embedded: number; missing: number }> {
    const r = await this.conn.runAndReadAll(
      `SELECT (SELECT count(*) FROM executions)::BIGINT, (SELECT count(*) FROM execution_embeddings v SEMI JOIN executions e ON e.task_id = v.task_id WHERE v.model_id = $1)::BIGINT`,
      [this.modelId],
    );
    const [executions, embedded] = r.getRows()[0]!.map(Number) as [number, number];
    return { modelId: this.modelId, executions, embedded, missing: executions - embedded };
  }

  /** Rows that lack a vector for the active model, oldest first. */
  private async rescan(): Promise<void> {
    const cols = CONTENT_COLUMNS.map((c) => `e.${c}`).join(', ');
    const reader = await this.conn.runAndReadAll(
      `SELECT e.task_id::VARCHAR AS task_id, ${cols}, e.timestamp, e.quality_score, e.actual_cost FROM executions e
       ANTI JOIN (SELECT task_id FROM execution_embeddings WHERE model_id = $1) v ON v.task_id = e.task_id
       ORDER BY e.timestamp LIMIT $2`,
      [this.modelId, this.opts.maxBacklog],
    );
    const rows = reader.getRowObjectsJS() as unknown as PendingExecution[];
    this.rescanNeeded = rows.length === this.opts.maxBacklog;
    for (const r of rows) {
      if (this.queued.has(r.task_id)) continue;
      this.queued.add(r.task_id);
      this.queue.push(r);
    }
    this.hooks.onBacklog?.(this.queue.length);
    if (rows.length > 0) this.log.info({ rows: rows.length, model: this.modelId }, 'embedding backlog read from the database');
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      if (this.queue.length === 0 && this.rescanNeeded) {
        try {
          await this.rescan();
        } catch (err) {
          this.log.error({ err }, 'embedding backlog scan failed; retrying');
          await new Promise((r) => setTimeout(r, 1000));
          continue;
        }
      }
      if (this.queue.length === 0) {
        // stop() may have run while rescan() was awaited, when there was no wake to call.
        if (this.stopping || this.rescanNeeded) continue;
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        this.wake = null;
        continue;
      }
      await this.yieldToIngest();
      if (this.stopping) break;
      // Enough rows that sorting them by length leaves little padding, and one write per take.
      const take = this.queue.splice(0, Math.max(256, this.opts.batchSize * 8));
      try {
        await this.process(take);
      } catch (err) {
        // Not lost: they still lack vectors, so a rescan finds them again.
        this.log.error({ err, rows: take.length }, 'embedding batch failed; will retry from the database');
        this.rescanNeeded = true;
        await new Promise((r) => setTimeout(r, 1000));
      } finally {
        for (const r of take) this.queued.delete(r.task_id);
        this.hooks.onBacklog?.(this.queue.length);
      }
    }
  }

  private async process(items: PendingExecution[]): Promise<void> {
    const started = performance.now();
    const contents = items.map((r) => embeddingContent(r, this.content));
    const hashes = contents.map(contentHash);
    const vectors = new Map<string, QuantizedVector>();
    const misses: { hash: string; content: string }[] = [];
    for (let i = 0; i < items.length; i++) {
      const h = hashes[i]!;
      const hit = this.cache.get(h);
      if (hit) vectors.set(h, hit);
      else if (!vectors.has(h) && !misses.some((m) => m.hash === h)) misses.push({ hash: h, content: contents[i]! });
    }
    const cacheHits = items.length - misses.length;
    misses.sort((a, b) => a.content.length - b.content.length);
    let truncated = 0;
    let paddedTokens = 0;
    let realTokens = 0;
    for (let i = 0; i < misses.length; i += this.opts.batchSize) {
      const batch = misses.slice(i, i + this.opts.batchSize);
      const r = await this.client.embed(batch.map((m) => m.content));
      truncated += r.truncated;
      paddedTokens += r.paddedTokens;
      realTokens += r.realTokens;
      batch.forEach((m, k) => {
        const q = quantize(r.vectors[k]!);
        vectors.set(m.hash, q);
        this.cache.set(m.hash, q);
      });
    }
    await this.writer.write([
      embeddingWrite(
        this.modelId,
        items.map((r, i) => ({ task_id: r.task_id, content_hash: hashes[i]!, vector: vectors.get(hashes[i]!)! })),
      ),
    ]);
    this.embeddedTotal += items.length;
    this.hooks.onVectors?.(items.map((r, i) => ({ ...r, vector: vectors.get(hashes[i]!)! })));
    this.hooks.onBatch?.({ embedded: misses.length, cacheHits, seconds: (performance.now() - started) / 1000, truncated, paddedTokens, realTokens });
  }

  private async yieldToIngest(): Promise<void> {
    const busy = this.hooks.busy;
    if (!busy?.()) return;
    const started = performance.now();
    const limit = this.opts.maxYieldMs ?? 2000;
    while (!this.stopping && busy() && performance.now() - started < limit) await new Promise((r) => setTimeout(r, 25));
    this.hooks.onYield?.((performance.now() - started) / 1000);
  }

  /** Finishes the batch in hand and stops; what is still queued is found again at the next start. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loopDone;
  }

  /** Test and CLI helper: resolves once nothing is queued or missing. */
  async idle(pollMs = 50): Promise<void> {
    for (;;) {
      if (this.queue.length === 0 && !this.rescanNeeded && this.queued.size === 0) return;
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }
}
