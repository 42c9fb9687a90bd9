// The approximate (HNSW) side of the vector index, for repos with many distinct vectors. Below
// `minEntries` distinct vectors the exact SIMD scan is fast enough and is kept. Above it, a usearch
// HNSW graph over the partition's entries is built in a worker thread; until it is ready, and for
// entries added after it was built (the tail), the scan stays exact. Candidates from the graph are
// re-scored exactly from the index's own int8 codes, so similarities are always exact cosines; only
// which entries are candidates is approximate. The graph is cached in a file beside the database,
// used again only when the model, the settings, the entries (a digest of their keys, in order) and
// the file's own digest all match; otherwise it is rebuilt.
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { newGraph, type AnnJob, type AnnMeta, type AnnParams, type AnnReply } from './ann-thread.js';
import type { Partition, VectorIndex } from './vector-index.js';

const THREAD_URL = new URL('./ann-thread.js', import.meta.url);

export interface AnnSettings extends AnnParams {
  /** Distinct vectors in a repo before it gets a graph (default 50,000). */
  minEntries: number;
  /** Rebuild once the exact tail exceeds this share of the graph (default 0.25). */
  rebuildShare: number;
  /** Where graph files are kept (default: a temporary directory, so no cache). */
  cacheDir: string | null;
  /** Threads of the build (default 1: the build must not take the cores from ingest and queries). */
  threads: number;
}

/** Chosen by `npm run bench:ann-tune` (docs/vector-index.md): recall@10 and @50 ≥ 0.99 after the exact re-score. */
export const DEFAULT_ANN: AnnSettings = { minEntries: 50_000, rebuildShare: 0.25, cacheDir: null, threads: 1, connectivity: 16, expansionAdd: 128, expansionSearch: 256 };

export interface AnnGraph {
  /** Entries [0, covered) are in the graph. */
  readonly covered: number;
  /** Size of the graph file (about its memory). */
  readonly bytes: number;
  /** The ids of about the k nearest entries (order not exact). */
  search(q: Int8Array, k: number): Uint32Array;
}

/** FNV over the partition's first `covered` entry hashes: what the graph was built from. */
function entriesDigest(p: Partition, covered: number): string {
  let h = 0x811c9dc5;
  for (let e = 0; e < covered; e++) h = Math.imul(h ^ p.hashes[e]!, 0x01000193);
  return `${covered}:${(h >>> 0).toString(16)}`;
}

export interface AnnBuildReport {
  repo: string;
  covered: number;
  cached: boolean;
  seconds: number;
  bytes: number;
}

/** Watches a vector index and keeps an HNSW graph for each partition that is large enough. */
export class AnnIndexer {
  readonly settings: AnnSettings;
  private readonly building = new Map<Partition, Promise<void>>();
  private readonly dir: string;
  private closed = false;
  private queue: Promise<void> = Promise.resolve();
  readonly reports: AnnBuildReport[] = [];

  constructor(
    private readonly index: VectorIndex,
    settings: Partial<AnnSettings> = {},
    private readonly onError: (err: Error, repo: string) => void = () => undefined,
  ) {
    this.settings = { ...DEFAULT_ANN, ...settings };
    this.dir = this.settings.cacheDir ?? join(tmpdir(), `orb-ann-${process.pid}-${Math.random().toString(36).slice(2)}`);
    mkdirSync(this.dir, { recursive: true });
    index.onEntry = (p) => this.consider(p);
    for (const p of index.parts) this.consider(p);
  }

  /** Starts a build when the partition is large enough and its graph is missing or stale. */
  private consider(p: Partition): void {
    if (this.closed || this.building.has(p) || p.m < this.settings.minEntries) return;
    const covered = p.ann?.covered ?? 0;
    if (p.ann && p.m - covered <= covered * this.settings.rebuildShare) return;
    // One build at a time: each takes a core for minutes at 1M.
    const job = this.queue
      .then(() => this.build(p))
      .catch((err: unknown) => this.onError(err as Error, p.repo))
      .finally(() => this.building.delete(p));
    this.queue = job;
    this.building.set(p, job);
  }

  /** Resolves when no build is running (benches and tests wait for the graph). */
  async idle(): Promise<void> {
    while (this.building.size > 0) await Promise.all(this.building.values());
  }

  private graphPath(p: Partition): string {
    const tag = createHash('sha256').update(`${this.index.modelId}\u0000${p.repo}`).digest('hex').slice(0, 16);
    return join(this.dir, `${tag}.usearch`);
  }

  private async build(p: Partition): Promise<void> {
    if (this.closed) return;
    const covered = p.m;
    const s = this.settings;
    const meta: AnnMeta = { version: 1, model: this.index.modelId, dim: p.dim, covered, entries: entriesDigest(p, covered), connectivity: s.connectivity, expansionAdd: s.expansionAdd, expansionSearch: s.expansionSearch };
    const path = this.graphPath(p);
    const job: AnnJob = { path, meta, codes: p.data.slice(0, covered * p.dim), threads: s.threads };
    const reply = await new Promise<AnnReply>((resolve, reject) => {
      const w = new Worker(THREAD_URL, { workerData: job, transferList: [job.codes.buffer as ArrayBuffer] });
      w.once('message', resolve);
      w.once('error', reject);
      w.once('exit', (code) => code !== 0 && reject(new Error(`ANN build thread exited with ${code}`)));
    });
    if (!reply.ok) throw new Error(reply.error);
    if (this.closed) return;
    const graph = loadGraph(path, meta);
    p.setAnn(graph);
    this.reports.push({ repo: p.repo, covered, cached: reply.cached, seconds: reply.seconds, bytes: graph.bytes });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.index.onEntry = null;
    await Promise.allSettled(this.building.values());
    if (!this.settings.cacheDir) rmSync(this.dir, { recursive: true, force: true });
  }
}

function loadGraph(path: string, meta: AnnMeta): AnnGraph {
  const graph = newGraph(meta.dim, meta);
  graph.load(path);
  if (graph.size() !== meta.covered) throw new Error(`ANN graph ${path} holds ${graph.size()} entries, not ${meta.covered}`);
  const bytes = statSync(path).size;
  return {
    covered: meta.covered,
    bytes,
    search(q, k) {
      const m = graph.search(Float32Array.from(q), Math.min(k, meta.covered), 1);
      return Uint32Array.from(m.keys, Number);
    },
  };
}
