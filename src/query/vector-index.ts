// The in-process vector index: every int8 vector of the active model, partitioned by repo, with
// the few columns that recommendation needs beside it. Search is exact: usearch's SIMD cosine
// over the int8 codes (cosine is scale-invariant, so each vector's own quantization scale drops
// out). Repo and time filters never lose a hit to approximation: the scan widens until `limit`
// rows pass the filters, the ranks fall below the threshold, or the partition is exhausted.
// With the lexical option it also keeps BM25 postings of each task description, for hybrid ranking.
import { JSDuckDBValueConverter, type DuckDBConnection } from '@duckdb/node-api';
import usearch from 'usearch';
import { DEFAULT_EMBED_CONTENT, type EmbedContent } from '../embed/content.js';
import { LexicalIndex } from './lexical-index.js';

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
  /** For the lexical index, when the index keeps one. */
  task_description?: string;
}

export type VectorHit = Omit<IndexedExecution, 'scale' | 'values' | 'task_description'> & {
  /** Cosine to the query. */
  similarity: number;
  /** The blended score, when the ranking was hybrid. */
  score?: number;
};

/** A row found by a scan: partition, row in it, cosine. */
interface Candidate {
  p: Partition;
  i: number;
  sim: number;
}
type Scored = Candidate & { score: number };

class Partition {
  data: Int8Array;
  n = 0;
  /** The index-wide number of each row (the lexical index's doc number). */
  docs: Uint32Array;
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
    this.docs = new Uint32Array(capacity);
    this.scales = new Float32Array(capacity);
    this.times = new Float64Array(capacity);
    this.success = new Uint8Array(capacity);
    this.quality = new Int16Array(capacity);
    this.cost = new Float64Array(capacity);
  }

  private grow(): void {
    const cap = this.scales.length * 2;
    const g = <T extends Int8Array | Uint32Array | Float32Array | Float64Array | Uint8Array | Int16Array>(a: T, per: number): T => grown(a, cap * per);
    this.data = g(this.data, this.dim);
    this.docs = g(this.docs, 1);
    this.scales = g(this.scales, 1);
    this.times = g(this.times, 1);
    this.success = g(this.success, 1);
    this.quality = g(this.quality, 1);
    this.cost = g(this.cost, 1);
  }

  add(e: IndexedExecution, doc: number): number {
    if (this.n === this.scales.length) this.grow();
    const i = this.n++;
    this.docs[i] = doc;
    this.data.set(e.values, i * this.dim);
    this.scales[i] = e.scale;
    this.times[i] = e.timestampMs;
    this.ids.push(e.task_id);
    this.tiers.push(e.model_tier);
    this.types.push(e.task_type);
    this.success[i] = e.success ? 1 : 0;
    this.quality[i] = e.quality_score ?? -1;
    this.cost[i] = e.actual_cost;
    return i;
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
  /** Hybrid ranking: blend the cosine with the BM25 of this text; weight 0 ranks by cosine alone. */
  lexical?: { text: string; weight: number };
}

export interface VectorIndexOptions {
  /** What the vectors are of, so that queries are embedded the same way (default 'task'). */
  content?: EmbedContent;
  /** Keep BM25 postings of each task description, for hybrid ranking (default on: 35–140 B a row). */
  lexical?: boolean;
}

function grown<T extends Int8Array | Uint32Array | Float32Array | Float64Array | Uint8Array | Int16Array>(a: T, length: number): T {
  const b = new (a.constructor as new (n: number) => T)(length);
  b.set(a);
  return b;
}

export class VectorIndex {
  private readonly partitions = new Map<string, Partition>();
  private readonly known = new Set<string>();
  /** Where each index-wide row number lives: its partition and its row there. */
  private readonly partOf: Partition[] = [];
  private rowOf = new Uint32Array(1024);
  readonly lexical: LexicalIndex | null;
  readonly content: EmbedContent;

  constructor(
    readonly modelId: string,
    readonly dim: number,
    opts: VectorIndexOptions = {},
  ) {
    this.lexical = (opts.lexical ?? true) ? new LexicalIndex() : null;
    this.content = opts.content ?? DEFAULT_EMBED_CONTENT;
  }

  get size(): number {
    return this.known.size;
  }

  add(e: IndexedExecution): void {
    if (e.values.length !== this.dim || this.known.has(e.task_id)) return;
    this.known.add(e.task_id);
    let p = this.partitions.get(e.repo);
    if (!p) this.partitions.set(e.repo, (p = new Partition(e.repo, this.dim)));
    const doc = this.partOf.length;
    if (doc === this.rowOf.length) this.rowOf = grown(this.rowOf, doc * 2);
    this.partOf.push(p);
    this.rowOf[doc] = p.add(e, doc);
    this.lexical?.add(doc, e.task_description ?? '');
  }

  /** Loads every vector of the model (in time order), one DuckDB chunk at a time (bounded memory). */
  async load(conn: DuckDBConnection): Promise<number> {
    const result = await conn.stream(
      `SELECT e.task_id::VARCHAR AS task_id, e.repo, epoch_ms(e.timestamp)::DOUBLE AS ts, e.model_tier, e.task_type, e.success, e.quality_score, e.actual_cost,
              v.scale, v.embedding${this.lexical ? ', e.task_description' : ''}
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
          task_description: r[10] as string | undefined,
        });
        n++;
      }
    }
    return n;
  }

  /** Exact top hits by cosine, or by the hybrid score when opts.lexical has a weight above 0. */
  search(query: Float32Array, opts: SearchOptions): VectorHit[] {
    let qmax = 0;
    for (const x of query) qmax = Math.max(qmax, Math.abs(x));
    const qs = qmax === 0 ? 1 : qmax / 127;
    const q = Int8Array.from(query, (x) => Math.round(x / qs));
    if (opts.lexical && opts.lexical.weight > 0) return this.hybrid(q, opts.lexical.text, opts.lexical.weight, opts);
    return this.scan(q, opts).map((c) => c.p.hit(c.i, c.sim));
  }

  /** Exact top rows by cosine that pass the filters and the threshold. */
  private scan(q: Int8Array, opts: SearchOptions): Candidate[] {
    const parts = opts.repo ? [this.partitions.get(opts.repo)].filter((p): p is Partition => !!p) : [...this.partitions.values()];
    const found: Candidate[] = [];
    for (const p of parts) found.push(...this.searchPartition(p, q, opts));
    found.sort((a, b) => b.sim - a.sim);
    return found.slice(0, opts.limit);
  }

  /**
   * score = (1 − w)·cosine + w·BM25/norm (norm: the text's BM25 against itself as a doc), exact under
   * the same filters and cosine threshold. The top c rows by cosine are scored. Any other row has
   * cosine ≤ the c-th, so it can beat the limit-th score S only if w·BM25/norm > S − (1 − w)·(c-th
   * cosine). Those rows are scored in chunks, best BM25 first, by the same SIMD kernel; each chunk
   * can raise S and so the cutoff. Once an eighth of the rows has been scored so (gathering a row
   * costs about ten times its share of a scan), c grows and the scan repeats instead.
   */
  private hybrid(q: Int8Array, text: string, w: number, opts: SearchOptions): VectorHit[] {
    if (!this.lexical) throw new Error('this vector index keeps no lexical index: hybrid ranking is off');
    const lq = this.lexical.query(text);
    const blend = (sim: number, doc: number) => (1 - w) * sim + (lq.norm > 0 ? (w * lq.score(doc)) / lq.norm : 0);
    const byScore = (a: Scored, b: Scored) => b.score - a.score || b.sim - a.sim;
    const hits = (best: Scored[]) => best.map((x) => ({ ...x.p.hit(x.i, x.sim), score: x.score }));
    const rows = opts.repo ? (this.partitions.get(opts.repo)?.n ?? 0) : this.partOf.length;
    for (let c = Math.max(opts.limit * 4, 64); ; c *= 16) {
      const byCosine = this.scan(q, { ...opts, limit: c });
      let best: Scored[] = byCosine.map((x) => ({ ...x, score: blend(x.sim, x.p.docs[x.i]!) })).sort(byScore).slice(0, opts.limit);
      // Fewer than c: every row that passes the filters and the threshold is scored already.
      if (byCosine.length < c) return hits(best);
      const floor = (1 - w) * byCosine[c - 1]!.sim;
      const needed = () => ((best[opts.limit - 1]!.score - floor) / w) * lq.norm;
      let cutoff = needed();
      const seen = new Set(byCosine.map((x) => x.p.docs[x.i]!));
      const rest: number[] = [];
      for (const doc of lq.matched) {
        if (lq.score(doc) < cutoff || seen.has(doc)) continue;
        const p = this.partOf[doc]!;
        if ((!opts.repo || p.repo === opts.repo) && (opts.sinceMs == null || p.times[this.rowOf[doc]!]! >= opts.sinceMs)) rest.push(doc);
      }
      rest.sort((a, b) => lq.score(b) - lq.score(a));
      let k = 0;
      for (; k < rest.length && k <= rows / 8 && lq.score(rest[k]!) >= cutoff; k += 256) {
        const chunk = rest.slice(k, k + 256).filter((doc) => lq.score(doc) >= cutoff);
        const sims = this.cosines(q, chunk);
        chunk.forEach((doc, j) => {
          const sim = sims[j]!;
          if (opts.threshold == null || sim >= opts.threshold) best.push({ p: this.partOf[doc]!, i: this.rowOf[doc]!, sim, score: blend(sim, doc) });
        });
        best = best.sort(byScore).slice(0, opts.limit);
        cutoff = needed();
      }
      if (k > rows / 8 && k < rest.length && lq.score(rest[k]!) >= cutoff) continue;
      return hits(best);
    }
  }

  /** Cosines of the given rows (index-wide numbers), in their order, by the same SIMD kernel as the scan. */
  private cosines(q: Int8Array, docs: number[]): Float32Array {
    const sims = new Float32Array(docs.length);
    if (docs.length === 0) return sims;
    const data = new Int8Array(docs.length * this.dim);
    docs.forEach((doc, k) => {
      const i = this.rowOf[doc]!;
      data.set(this.partOf[doc]!.data.subarray(i * this.dim, (i + 1) * this.dim), k * this.dim);
    });
    const m = exactSearch(data, q, this.dim, docs.length, MetricKind.Cos, 1) as { keys: BigUint64Array; distances: Float32Array };
    m.keys.forEach((key, k) => (sims[Number(key)] = 1 - m.distances[k]!));
    return sims;
  }

  private searchPartition(p: Partition, q: Int8Array, opts: SearchOptions): Candidate[] {
    if (p.n === 0) return [];
    const accept = (i: number, sim: number) =>
      (opts.sinceMs == null || p.times[i]! >= opts.sinceMs) && (opts.threshold == null || sim >= opts.threshold);
    let count = Math.min(p.n, Math.max(opts.limit * 4, 64));
    for (;;) {
      const m = exactSearch(p.data.subarray(0, p.n * this.dim), q, this.dim, count, MetricKind.Cos, 1) as { keys: BigUint64Array; distances: Float32Array };
      const out: Candidate[] = [];
      let belowThreshold = false;
      for (let k = 0; k < m.keys.length && out.length < opts.limit; k++) {
        const i = Number(m.keys[k]);
        const sim = 1 - m.distances[k]!;
        if (opts.threshold != null && sim < opts.threshold) belowThreshold = true;
        if (accept(i, sim)) out.push({ p, i, sim });
      }
      // Ranks only fall: once one is below the threshold, no later one can pass it.
      if (out.length >= opts.limit || count >= p.n || belowThreshold) return out;
      count = Math.min(p.n, count * 4);
    }
  }
}
