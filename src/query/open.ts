// The query library over a database file, for code and the CLI when no server holds the file
// (DuckDB lets one process open it). Vectors for similar/recommend load with the model.
import { dirname, join } from 'node:path';
import { DEFAULT_EMBED_CONTENT, vectorModelId, type EmbedContent } from '../embed/content.js';
import type { DuckDBConnection } from '@duckdb/node-api';
import { OnnxEmbedder } from '../embed/embedder.js';
import { resolveModel, modelOptions } from '../embed/model.js';
import { Store } from '../store/db.js';
import { QueryLibrary } from './library.js';
import { ReadPool } from './pool.js';
import { VectorIndex } from './vector-index.js';

export interface OpenQueriesOptions {
  db: string;
  /** Default: archive/ beside the database. */
  archiveDir?: string;
  /** Load the model and the vector index (needed by similar and recommend). Default true. */
  vectors?: boolean;
  modelDir?: string;
  modelCacheDir?: string;
  lexicalWeight?: number;
  /** What the stored vectors are of (default 'task'). */
  embedContent?: EmbedContent;
  timeoutMs?: number;
  connections?: number;
}

export interface OpenQueries {
  library: QueryLibrary;
  /** A connection of its own for `fn` (policies, reports), closed after it. */
  withConnection<T>(fn: (conn: DuckDBConnection) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export async function openQueries(o: OpenQueriesOptions): Promise<OpenQueries> {
  const store = await Store.open({ path: o.db });
  const pool = await ReadPool.open(() => store.connect(), o.connections ?? 1, o.timeoutMs ?? 10_000);
  let vectors: { index: VectorIndex; embedder: OnnxEmbedder } | null = null;
  const close = async () => {
    await vectors?.embedder.close();
    pool.close();
    await store.close();
  };
  try {
    if (o.vectors ?? true) {
      const embedder = await OnnxEmbedder.load(await resolveModel(modelOptions(o)), { threads: 2 });
      const content = o.embedContent ?? DEFAULT_EMBED_CONTENT;
      vectors = { index: new VectorIndex(vectorModelId(embedder.modelId, content), embedder.dimension, { content }), embedder };
      // A start-up load, not a query: no query time limit (an interrupted load would be partial).
      const conn = await store.connect();
      try {
        await vectors.index.load(conn);
      } finally {
        conn.closeSync();
      }
    }
  } catch (err) {
    await close();
    throw err;
  }
  const library = new QueryLibrary(pool, () => vectors, o.archiveDir ?? join(dirname(o.db), 'archive'), undefined, { lexicalWeight: o.lexicalWeight });
  const withConnection = async <T>(fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> => {
    const conn = await store.connect();
    try {
      return await fn(conn);
    } finally {
      conn.closeSync();
    }
  };
  return { library, withConnection, close };
}
