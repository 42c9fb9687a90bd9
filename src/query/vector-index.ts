// The in-process vector index: every int8 vector of the active model, partitioned by repo, with
// the few columns that recommendation needs beside it. Search is exact: usearch's SIMD cosine
// over the int8 codes (cosine is scale-invariant, so each vector's own quantization scale drops
// out). Repo and time filters never lose a hit to approximation: the scan widens until `limit`
// rows pass the filters, the ranks fall below the threshold, or the partition is exhausted.
import { JSDuckDBValueConverter, type DuckDBConnection } from '@duckdb/node-api';
import usearch from 'usearch';

const { exactSearch, MetricKind } = usearch;

export interface IndexedExecution {
  task_id: string;
  repo: string;
  timestampMs: number;
  model_tier: string;
  task_type: string;
  success: boolean;
  quality_score: number | null;
  actual_cost: number;
  scale: number;
  values: Int8Array;
}

export type VectorHit = Omit<IndexedExecution, 'scale' | 'values'> & { similarity: number };

class Partition {
  data: Int8Array;
  n = 0;
  scales: Float32Array;
  times: Float64Array;
  ids: string[] = [];
  tiers: string[] = [];
  types: string[] = [];
  success: Uint8Array;
  quality: Int16Array;
  cost: Float64Array;

  constructor(
    readonly repo: string,
    readonly dim: number,
    capacity = 1024,
  ) {
    this.data = new Int8Array(capacity * dim);
    this.scales = new Float32Array(capacity);
    this.times = new Float64Array(capacity);
    this.success = new Uint8Array(capacity);
    this.quality = new Int16Array(capacity);
    this.cost = new Float64Array(capacity);
  }

  private grow(): void {
    const cap = this.scales.length * 2;
    const g = <T extends Int8Array | Float32Array | Float64Array | Uint8Array | Int16Array>(a: T, per: number): T => {
      const b = new (a.constructor as new (n: number) => T)(cap * per);
      b.set(a);
      return b;
    };
    this.data = g(this.data, this.dim);
    this.scales = g(this.scales, 1);
    this.times = g(this.times, 1);
    this.success = g(this.success, 1);
    this.quality = g(this.quality, 1);
    this.cost = g(this.cost, 1);
  }

  add(e: IndexedExecution): void {
    if (this.n === this.scales.length) this.grow();
    const i = this.n++;
    this.data.set(e.values, i * this.dim);
    this.scales[i] = e.scale;
    this.times[i] = e.timestampMs;
    this.ids.push(e.task_id);
    this.tiers.push(e.model_tier);
    this.types.push(e.task_type);
    this.success[i] = e.success ? 1 : 0;
    this.quality[i] = e.quality_score ?? -1;
    this.cost[i] = e.actual_cost;
  }

  hit(i: number, similarity: number): VectorHit {
    const q = this.quality[i]!;
    return {
      task_id: this.ids[i]!,
      similarity,
      repo: this.repo,
      timestampMs: this.times[i]!,
      model_tier: this.tiers[i]!,
      task_type: this.types[i]!,
      success: this.success[i] === 1,
      quality_score: q < 0 ? null : q,
      actual_cost: this.cost[i]!,
    };
  }
}

export interface SearchOptions {
  limit: number;
  repo?: string | null;
  sinceMs?: number | null;
  threshold?: number | null;
}

export class VectorIndex {
  private readonly partitions = new Map<string, Partition>();
  private readonly known = new Set<string>();

  constructor(
    readonly modelId: string,
    readonly dim: number,
  ) {}

  get size(): number {
    return this.known.size;
  }

  add(e: IndexedExecution): void {
    if (e.values.length !== this.dim || this.known.has(e.task_id)) return;
    this.known.add(e.task_id);
    let p = this.partitions.get(e.repo);
    if (!p) this.partitions.set(e.repo, (p = new Partition(e.repo, this.dim)));
    p.add(e);
  }

  /** Loads every vector of the model (in time order), one DuckDB chunk at a time (bounded memory). */
  async load(conn: DuckDBConnection): Promise<number> {
    const result = await conn.stream(
      `SELECT e.task_id::VARCHAR AS task_id, e.repo, epoch_ms(e.timestamp)::DOUBLE AS ts, e.model_tier, e.task_type, e.success, e.quality_score, e.actual_cost,
              v.scale, v.embedding
       FROM execution_embeddings v JOIN executions e ON e.task_id = v.task_id
       WHERE v.model_id = $1 ORDER BY e.timestamp`,
      [this.modelId],
    );
    let n = 0;
    for (let chunk = await result.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await result.fetchChunk()) {
      for (const r of chunk.convertRows(JSDuckDBValueConverter) as unknown[][]) {
        this.add({
          task_id: r[0] as string,
          repo: r[1] as string,
          timestampMs: Number(r[2]),
          model_tier: r[3] as string,
          task_type: r[4] as string,
          success: r[5] as boolean,
          quality_score: r[6] as number | null,
          actual_cost: r[7] as number,
          scale: r[8] as number,
          values: Int8Array.from(r[9] as number[]),
        });
        n++;
      }
    }
    return n;
  }

  /** Exact top hits by cosine (vectors are unit length, so cosine = scaled int8 inner product). */
  search(query: Float32Array, opts: SearchOptions): VectorHit[] {
    let qmax = 0;
    for (const x of query) qmax = Math.max(qmax, Math.abs(x));
    const qs = qmax === 0 ? 1 : qmax / 127;
    const q = Int8Array.from(query, (x) => Math.round(x / qs));
    const parts = opts.repo ? [this.partitions.get(opts.repo)].filter((p): p is Partition => !!p) : [...this.partitions.values()];
    const hits: VectorHit[] = [];
    for (const p of parts) hits.push(...this.searchPartition(p, q, opts));
    hits.sort((a, b) => b.similarity - a.similarity);
    return hits.slice(0, opts.limit);
  }

  private searchPartition(p: Partition, q: Int8Array, opts: SearchOptions): VectorHit[] {
    if (p.n === 0) return [];
    const accept = (i: number, sim: number) =>
      (opts.sinceMs == null || p.times[i]! >= opts.sinceMs) && (opts.threshold == null || sim >= opts.threshold);
    let count = Math.min(p.n, Math.max(opts.limit * 4, 64));
    for (;;) {
      const m = exactSearch(p.data.subarray(0, p.n * this.dim), q, this.dim, count, MetricKind.Cos, 1) as { keys: BigUint64Array; distances: Float32Array };
      const out: VectorHit[] = [];
      let belowThreshold = false;
      for (let k = 0; k < m.keys.length && out.length < opts.limit; k++) {
        const i = Number(m.keys[k]);
        const sim = 1 - m.distances[k]!;
        if (opts.threshold != null && sim < opts.threshold) belowThreshold = true;
        if (accept(i, sim)) out.push(p.hit(i, sim));
      }
      // Ranks only fall: once one is below the threshold, no later one can pass it.
      if (out.length >= opts.limit || count >= p.n || belowThreshold) return out;
      count = Math.min(p.n, count * 4);
    }
  }
}
