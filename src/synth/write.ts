// The I/O half of `orb-learn synth`: generated chunks go through the store's own writer (so the
// summary tables it keeps stay correct), and, when an embedder is given, every distinct
// embedding content is embedded once and each execution gets its vector on a second connection.
// The next chunk is generated while the previous one commits.
import type { DuckDBConnection } from '@duckdb/node-api';
import { DEFAULT_EMBED_CONTENT, embeddingContent, vectorModelId, type EmbedContent } from '../embed/content.js';
import { contentHash, embeddingWrite, registerModel, type EmbeddedRow } from '../embed/indexer.js';
import { quantize, type QuantizedVector } from '../embed/quantize.js';
import type { ExecutionRow } from '../convert/record.js';
import type { Store } from '../store/db.js';
import { TableWriter } from '../store/table-writer.js';
import { generateExecutions, type GenerateOptions } from './generate.js';

/** What synth needs of an embedder (OnnxEmbedder has it). */
export interface SynthEmbedder {
  readonly modelId: string;
  readonly dimension: number;
  embed(texts: string[]): Promise<{ vectors: Float32Array[] }>;
}

export interface SynthVectors {
  embedder: SynthEmbedder;
  /** Recorded in embedding_models.source. */
  source: string;
  /** Texts per model call (default 64). */
  batchSize?: number;
  /** What is embedded (default 'task'). */
  content?: EmbedContent;
}

export interface SynthProgress {
  rows: number;
  contents: number;
}

export interface SynthOptions extends GenerateOptions {
  vectors?: SynthVectors;
  onProgress?(p: SynthProgress): void;
}

export interface SynthResult {
  rows: number;
  inserted: number;
  duplicates: number;
  /** Distinct embedding contents that went through the model. */
  contents: number;
  vectors: number;
  seconds: number;
}

class VectorWriter {
  private readonly byHash = new Map<string, QuantizedVector>();
  private readonly writer: TableWriter;
  vectorsWritten = 0;
  private readonly content: EmbedContent;
  private readonly modelId: string;

  constructor(
    private readonly conn: DuckDBConnection,
    private readonly v: SynthVectors,
  ) {
    this.writer = new TableWriter(conn);
    this.content = v.content ?? DEFAULT_EMBED_CONTENT;
    this.modelId = vectorModelId(v.embedder.modelId, this.content);
  }

  get contents(): number {
    return this.byHash.size;
  }

  async start(): Promise<void> {
    await registerModel(this.conn, this.modelId, this.v.embedder.dimension, this.v.source);
  }

  /** Embeds the contents not seen before (length-sorted batches), then writes one vector per row. */
  async write(rows: readonly ExecutionRow[]): Promise<void> {
    const hashes = new Array<string>(rows.length);
    const fresh = new Map<string, string>();
    for (let i = 0; i < rows.length; i++) {
      const content = embeddingContent(rows[i]!, this.content);
      const h = contentHash(content);
      hashes[i] = h;
      if (!this.byHash.has(h)) fresh.set(h, content);
    }
    const todo = [...fresh].sort((a, b) => a[1].length - b[1].length);
    const batch = this.v.batchSize ?? 64;
    for (let i = 0; i < todo.length; i += batch) {
      const part = todo.slice(i, i + batch);
      const { vectors } = await this.v.embedder.embed(part.map(([, content]) => content));
      part.forEach(([h], k) => this.byHash.set(h, quantize(vectors[k]!)));
    }
    const embedded: EmbeddedRow[] = rows.map((r, i) => ({ task_id: r.task_id, content_hash: hashes[i]!, vector: this.byHash.get(hashes[i]!)! }));
    await this.writer.write([embeddingWrite(this.modelId, embedded)]);
    this.vectorsWritten += rows.length;
  }
}

/**
 * The generator's rows in chunks of `chunkSize`, made in small slices that give way to the event
 * loop, so the next chunk is generated while the previous one waits on DuckDB (its commit and
 * summary upserts run on DuckDB's threads).
 */
async function* interleaved(opts: GenerateOptions, chunkSize: number): AsyncGenerator<ExecutionRow[]> {
  let chunk: ExecutionRow[] = [];
  for (const slice of generateExecutions({ ...opts, chunkSize: 1000 })) {
    for (const row of slice) chunk.push(row);
    if (chunk.length >= chunkSize) {
      yield chunk;
      chunk = [];
    } else {
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
  if (chunk.length > 0) yield chunk;
}

/** Generates and writes `opts.rows` executions (and their vectors) into an open store. */
export async function synthesize(store: Store, opts: SynthOptions): Promise<SynthResult> {
  const started = performance.now();
  let conn: DuckDBConnection | null = null;
  let vectors: VectorWriter | null = null;
  if (opts.vectors) {
    conn = await store.connect();
    vectors = new VectorWriter(conn, opts.vectors);
    await vectors.start();
  }
  let rows = 0;
  let inserted = 0;
  let duplicates = 0;
  const write = async (chunk: ExecutionRow[]) => {
    const r = await store.writer.commit({ executions: chunk, rejected: [] });
    inserted += r.inserted;
    duplicates += r.duplicates;
    if (vectors) await vectors.write(chunk);
    rows += chunk.length;
    opts.onProgress?.({ rows, contents: vectors?.contents ?? 0 });
  };
  try {
    let pending: Promise<void> | null = null;
    for await (const chunk of interleaved(opts, opts.chunkSize ?? 50_000)) {
      if (pending) await pending;
      pending = write(chunk);
    }
    if (pending) await pending;
  } finally {
    conn?.closeSync();
  }
  return {
    rows,
    inserted,
    duplicates,
    contents: vectors?.contents ?? 0,
    vectors: vectors?.vectorsWritten ?? 0,
    seconds: (performance.now() - started) / 1000,
  };
}
