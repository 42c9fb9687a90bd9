// How --memory-limit is shared out. Each part that holds data in memory gets a share in bytes and
// pushes back (retryable, with RetryInfo) past it, so the process stays within the limit under
// any load instead of growing until the kernel kills it. What is left over is Node's own heap,
// the native modules and the embedding model.
import { parseSize } from './size.js';

export interface MemoryBudget {
  /** The whole limit, in bytes. */
  totalBytes: number;
  /** DuckDB's memory_limit (its buffer manager; it spills or fails a statement past it). */
  duckdbBytes: number;
  /** Rows waiting for group commit, by their estimated in-memory size. */
  queueBytes: number;
  /** Export bodies being decoded; a decoded body takes several times its wire size. */
  decodeBytes: number;
  /** The V8 old generation of each decode worker: a hard ceiling; a request that needs more is refused as too large. */
  decodeHeapBytes: number;
  /** Committed rows held for embedding (past it they are left for a database rescan, nothing is lost). */
  embedBacklogBytes: number;
}

/** Shares, measured with bench:overload on the 512MB default (docs/benchmarks.md). */
const SHARE = { duckdb: 0.25, queue: 0.1, decode: 1 / 32, decodeHeap: 0.4, embedBacklog: 0.05 } as const;

export function memoryBudget(limit: string | number): MemoryBudget {
  const totalBytes = typeof limit === 'number' ? limit : parseSize(limit);
  return {
    totalBytes,
    duckdbBytes: Math.floor(totalBytes * SHARE.duckdb),
    queueBytes: Math.floor(totalBytes * SHARE.queue),
    decodeBytes: Math.floor(totalBytes * SHARE.decode),
    decodeHeapBytes: Math.floor(totalBytes * SHARE.decodeHeap),
    embedBacklogBytes: Math.floor(totalBytes * SHARE.embedBacklog),
  };
}
