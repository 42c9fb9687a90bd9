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
import type { AnnGraph } from './ann.js';

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

/** An entry found by a scan: partition, entry in it, cosine, and how many of its executions pass the filters. */
interface Candidate {
  p: Partition;
  e: number;
  sim: number;
  n: number;
}
type Scored = Candidate & { score: number };

/** FNV-1a over the int8 codes, mixed with the description's: the key of an entry. */
function codesHash(values: Int8Array, text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < values.length; i++) h = Math.imul(h ^ (values[i]! & 0xff), 0x01000193);
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * One repo's vectors, deduplicated: an entry per distinct vector (and description), with the list
 * of its executions, newest first. Executions of one task share one vector, so at 1M executions of
 * a few thousand tasks the scan covers thousands of entries, not a million rows.
 */
export class Partition {
  /** Entries: int8 codes, index-wide doc number, key hash, newest execution time, newest execution, count. */
  m = 0;
  data: Int8Array;
  docs: Uint32Array;
  hashes: Uint32Array;
  latest: Float64Array;
  head: Int32Array;
  count: Uint32Array;
  /** Key hash → entry (open addressing on the hash when two keys collide). */
  private readonly byHash = new Map<number, number>();
  /** Executions: the next-older execution of the same entry (−1: none), and the columns recommend needs. */
  n = 0;
  next: Int32Array;
  times: Float64Array;
  ids: string[] = [];
  tiers: string[] = [];
  types: string[] = [];
  success: Uint8Array;
  quality: Int16Array;
  cost: Float64Array;
  /** The approximate index over entries [0, ann.covered), when one is built. */
  ann: AnnGraph | null = null;
  /** The codes of entries [ann.covered, m), apart: usearch's exact search ignores a subarray's offset. */
  tail = new Int8Array(0);

  constructor(
    readonly repo: string,
    readonly dim: number,
    capacity = 256,
  ) {
    this.data = new Int8Array(capacity * dim);
    this.docs = new Uint32Array(capacity);
    this.hashes = new Uint32Array(capacity);
    this.latest = new Float64Array(capacity);
    this.head = new Int32Array(capacity);
    this.count = new Uint32Array(capacity);
    this.next = new Int32Array(capacity);
    this.times = new Float64Array(capacity);
    this.success = new Uint8Array(capacity);
    this.quality = new Int16Array(capacity);
    this.cost = new Float64Array(capacity);
  }

  /** The entry of these codes and text, or −1 with the hash slot where it would go. */
  private find(values: Int8Array, h: number): { e: number; slot: number } {
    for (let slot = h; ; slot = (slot + 0x9e3779b9) >>> 0) {
      const e = this.byHash.get(slot);
      if (e === undefined) return { e: -1, slot };
      if (this.hashes[e] === h && equalCodes(this.data, e * this.dim, values)) return { e, slot };
    }
  }

  /** Adds an execution; returns its entry and whether the entry is new. */
  add(x: IndexedExecution, newDoc: () => number): { e: number; fresh: boolean } {
    const h = codesHash(x.values, x.task_description ?? '');
    let { e, slot } = this.find(x.values, h);
    const fresh = e < 0;
    if (fresh) {
      if (this.m === this.count.length) this.growEntries();
      e = this.m++;
      this.byHash.set(slot, e);
      this.data.set(x.values, e * this.dim);
      if (this.ann) this.appendTail(x.values, e - this.ann.covered);
      this.docs[e] = newDoc();
      this.hashes[e] = h;
      this.head[e] = -1;
      this.latest[e] = -Infinity;
    }
    if (this.n === this.next.length) this.growExecutions();
    const i = this.n++;
    this.next[i] = this.head[e]!;
    this.head[e] = i;
    this.count[e]!++;
    this.latest[e] = Math.max(this.latest[e]!, x.timestampMs);
    this.times[i] = x.timestampMs;
    this.ids.push(x.task_id);
    this.tiers.push(x.model_tier);
    this.types.push(x.task_type);
    this.success[i] = x.success ? 1 : 0;
    this.quality[i] = x.quality_score ?? -1;
    this.cost[i] = x.actual_cost;
    return { e, fresh };
  }

  /** Uses a graph over entries [0, graph.covered); later entries are scanned exactly. */
  setAnn(graph: AnnGraph): void {
    this.ann = graph;
    this.tail = this.data.slice(graph.covered * this.dim, this.m * this.dim);
  }

  private appendTail(values: Int8Array, t: number): void {
    if ((t + 1) * this.dim > this.tail.length) this.tail = grown(this.tail, Math.max(1024, t * 2) * this.dim);
    this.tail.set(values, t * this.dim);
  }

  /** How many executions of entry e are at or after sinceMs. */
  passing(e: number, sinceMs: number | null | undefined): number {
    if (sinceMs == null) return this.count[e]!;
    if (this.latest[e]! < sinceMs) return 0;
    let n = 0;
    for (let i = this.head[e]!; i >= 0; i = this.next[i]!) if (this.times[i]! >= sinceMs) n++;
    return n;
  }

  codes(e: number): Int8Array {
    return this.data.subarray(e * this.dim, (e + 1) * this.dim);
  }

  private growEntries(): void {
    const cap = this.count.length * 2;
    this.data = grown(this.data, cap * this.dim);
    this.docs = grown(this.docs, cap);
    this.hashes = grown(this.hashes, cap);
    this.latest = grown(this.latest, cap);
    this.head = grown(this.head, cap);
    this.count = grown(this.count, cap);
  }

  private growExecutions(): void {
    const cap = this.next.length * 2;
    this.next = grown(this.next, cap);
    this.times = grown(this.times, cap);
    this.success = grown(this.success, cap);
    this.quality = grown(this.quality, cap);
    this.cost = grown(this.cost, cap);
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

function equalCodes(data: Int8Array, off: number, values: Int8Array): boolean {
  for (let d = 0; d < values.length; d++) if (data[off + d] !== values[d]) return false;
  return true;
}

export interface SearchOptions {
  limit: number;
  /**
   * At most this many distinct vectors (tasks), each with all its executions up to `limit`: the
   * search's cost follows the entries it must find, and a task's own history is never cut short.
   */
  entries?: number;
  repo?: string | null;
  sinceMs?: number | null;
  threshold?: number | null;
  /**
   * Hybrid ranking: blend the cosine with the BM25 of this text; weight 0 ranks by cosine alone.
   * `candidates`: lexical matches outside the cosine candidates re-scored at most, best BM25 first
   * (default LEXICAL_CANDIDATES; Infinity: exact).
   */
  lexical?: { text: string; weight: number; candidates?: number };
}

/**
 * Lexical matches a hybrid search re-scores beyond its cosine candidates, at most. Past it the
 * ranking is approximate, like the HNSW side: an entry must then be outside both the top cosines
 * and the top BM25s yet blend into the answer, which only ties do (many texts with one BM25).
 */
export const LEXICAL_CANDIDATES = 1024;

export interface VectorIndexOptions {
  /** What the vectors are of, so that queries are embedded the same way (default 'task'). */
  content?: EmbedContent;
  /** Keep BM25 postings of each task description, for hybrid ranking (default on: 35–140 B a row). */
  lexical?: boolean;
}

function grown<T extends Int8Array | Uint32Array | Int32Array | Float32Array | Float64Array | Uint8Array | Int16Array>(a: T, length: number): T {
  const b = new (a.constructor as new (n: number) => T)(length);
  b.set(a);
  return b;
}

export class VectorIndex {
  private readonly partitions = new Map<string, Partition>();
  private readonly known = new Set<string>();
  /** Where each index-wide entry number (the lexical index's doc number) lives: partition and entry. */
  private readonly partOf: Partition[] = [];
  private rowOf = new Uint32Array(1024);
  readonly lexical: LexicalIndex | null;
  readonly content: EmbedContent;
  /** Called when an entry is added to a partition (the ANN builder watches the growth). */
  onEntry: ((p: Partition) => void) | null = null;

  constructor(
    readonly modelId: string,
    readonly dim: number,
    opts: VectorIndexOptions = {},
  ) {
    this.lexical = (opts.lexical ?? true) ? new LexicalIndex() : null;
    this.content = opts.content ?? DEFAULT_EMBED_CONTENT;
  }

  /** Executions indexed. */
  get size(): number {
    return this.known.size;
  }

  /** Distinct vectors (entries) indexed, over all repos. */
  get entries(): number {
    return this.partOf.length;
  }

  /** Repo partitions, for the ANN builder. */
  get parts(): Partition[] {
    return [...this.partitions.values()];
  }

  /** Bytes of the entries' int8 codes (the exact scan's data). */
  get codeBytes(): number {
    return this.partOf.length * this.dim;
  }

  /** For answers' notes: what a search covers, and how. */
  describe(): string {
    const graphs = this.parts.filter((p) => p.ann);
    const inGraph = graphs.reduce((n, p) => n + p.ann!.covered, 0);
    const distinct = this.entries < this.size ? ` (${this.entries} distinct)` : '';
    const how = graphs.length ? `HNSW (a graph over ${inGraph} distinct vectors in ${graphs.length} repos, candidates re-scored exactly)` : `exact${distinct}`;
    return `${how} over ${this.size} int8 vectors of model ${this.modelId}`;
  }

  add(x: IndexedExecution): void {
    if (x.values.length !== this.dim || this.known.has(x.task_id)) return;
    this.known.add(x.task_id);
    let p = this.partitions.get(x.repo);
    if (!p) this.partitions.set(x.repo, (p = new Partition(x.repo, this.dim)));
    const { e, fresh } = p.add(x, () => this.partOf.length);
    if (!fresh) {
      this.lexical?.repeat(x.task_description ?? '');
      return;
    }
    const doc = this.partOf.length;
    if (doc === this.rowOf.length) this.rowOf = grown(this.rowOf, doc * 2);
    this.partOf.push(p);
    this.rowOf[doc] = e;
    this.lexical?.add(doc, x.task_description ?? '');
    this.onEntry?.(p);
  }

  /** Loads every vector of the model (in time order), one DuckDB chunk at a time (bounded memory). */
  async load(conn: DuckDBConnection): Promise<number> {
    const result = await conn.stream(
      `SELECT e.task_id::VARCHAR AS task_id, e.repo, epoch_ms(e.timestamp)::DOUBLE AS ts, e.model_tier, e.task_type, e.success, e.quality_score, e.actual_cost,
              v.scale, v.embedding${this.lexical ? ', e.task_description' : ''}
       FROM execution_embeddings v JOIN executions e ON e.task_id = v.task_id
       WHERE v.model_id = $1 ORDER BY e.timestamp, e.task_id`,
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

  /** Top executions by cosine, or by the hybrid score when opts.lexical has a weight above 0. */
  search(query: Float32Array, opts: SearchOptions): VectorHit[] {
    let qmax = 0;
    for (const x of query) qmax = Math.max(qmax, Math.abs(x));
    const qs = qmax === 0 ? 1 : qmax / 127;
    const q = Int8Array.from(query, (x) => Math.round(x / qs));
    if (opts.lexical && opts.lexical.weight > 0) return this.hybrid(q, opts.lexical.text, opts.lexical.weight, opts);
    return this.expand(this.scan(q, opts), opts);
  }

  /** The executions of the candidates, in their order (newest first within an entry), up to the limit. */
  private expand(cands: (Candidate & { score?: number })[], opts: SearchOptions): VectorHit[] {
    const out: VectorHit[] = [];
    for (const c of cands) {
      for (let i = c.p.head[c.e]!; i >= 0 && out.length < opts.limit; i = c.p.next[i]!) {
        if (opts.sinceMs != null && c.p.times[i]! < opts.sinceMs) continue;
        const h = c.p.hit(i, c.sim);
        if (c.score !== undefined) h.score = c.score;
        out.push(h);
      }
      if (out.length >= opts.limit) break;
    }
    return out;
  }

  /** Top entries by cosine that pass the filters and the threshold, enough to cover `limit` executions. */
  private scan(q: Int8Array, opts: SearchOptions): Candidate[] {
    const parts = opts.repo ? [this.partitions.get(opts.repo)].filter((p): p is Partition => !!p) : [...this.partitions.values()];
    const found: Candidate[] = [];
    for (const p of parts) found.push(...this.searchPartition(p, q, opts));
    found.sort((a, b) => b.sim - a.sim);
    return covering(found, opts.limit, opts.entries);
  }

  /**
   * score = (1 − w)·cosine + w·BM25/norm (norm: the text's BM25 against itself as a doc), exact under
   * the same filters and cosine threshold; an entry's executions share its score. The top entries
   * covering c executions by cosine are scored. Any other entry has cosine ≤ the last of them, so it
   * can beat the score S at which `limit` executions are covered only if w·BM25/norm > S − (1 − w)·(that
   * cosine). Those entries are scored in chunks, best BM25 first, by the same SIMD kernel; each chunk
   * can raise S and so the cutoff. Once an eighth of the entries has been scored so (gathering a row
   * costs about ten times its share of a scan), c grows and the scan repeats instead.
   */
  private hybrid(q: Int8Array, text: string, w: number, opts: SearchOptions): VectorHit[] {
    if (!this.lexical) throw new Error('this vector index keeps no lexical index: hybrid ranking is off');
    const lq = this.lexical.query(text);
    const budget = opts.lexical?.candidates ?? LEXICAL_CANDIDATES;
    const blend = (sim: number, doc: number) => (1 - w) * sim + (lq.norm > 0 ? (w * lq.score(doc)) / lq.norm : 0);
    const byScore = (a: Scored, b: Scored) => b.score - a.score || b.sim - a.sim;
    const rows = opts.repo ? (this.partitions.get(opts.repo)?.m ?? 0) : this.partOf.length;
    for (let c = Math.max(opts.limit * 4, 64), ce = opts.entries && opts.entries * 4; ; c *= 16, ce &&= ce * 16) {
      const byCosine = this.scan(q, { ...opts, limit: c, entries: ce });
      let best: Scored[] = covering(
        byCosine.map((x) => ({ ...x, score: blend(x.sim, x.p.docs[x.e]!) })).sort(byScore),
        opts.limit,
        opts.entries,
      );
      // Fewer than asked for: every execution that passes the filters and the threshold is scored already.
      if (byCosine.reduce((n, x) => n + x.n, 0) < c && (!ce || byCosine.length < ce)) return this.expand(best, opts);
      const floor = (1 - w) * byCosine[byCosine.length - 1]!.sim;
      const needed = () => ((best[best.length - 1]!.score - floor) / w) * lq.norm;
      let cutoff = needed();
      const seen = new Set(byCosine.map((x) => x.p.docs[x.e]!));
      const accept = (doc: number) => {
        if (seen.has(doc)) return false;
        const p = this.partOf[doc]!;
        return (!opts.repo || p.repo === opts.repo) && (opts.sinceMs == null || p.latest[this.rowOf[doc]!]! >= opts.sinceMs);
      };
      // The best lexical matches above the cutoff, at most `budget` of them (or rows/8 when exact).
      const cap = Number.isFinite(budget) ? budget : Math.floor(rows / 8) + 256;
      const rest = lq.top(cap + 1, accept, cutoff).map((h) => h.doc);
      const capped = rest.length > cap;
      let k = 0;
      for (; k < Math.min(rest.length, cap) && lq.score(rest[k]!) >= cutoff; k += 256) {
        const chunk = rest.slice(k, Math.min(k + 256, cap)).filter((doc) => lq.score(doc) >= cutoff);
        const sims = this.cosines(q, chunk.length, (j) => this.partOf[chunk[j]!]!.codes(this.rowOf[chunk[j]!]!));
        chunk.forEach((doc, j) => {
          const sim = sims[j]!;
          if (opts.threshold != null && sim < opts.threshold) return;
          const p = this.partOf[doc]!;
          const e = this.rowOf[doc]!;
          const n = p.passing(e, opts.sinceMs);
          if (n > 0) best.push({ p, e, sim, n, score: blend(sim, doc) });
        });
        best = covering(best.sort(byScore), opts.limit, opts.entries);
        cutoff = needed();
      }
      // Exact: more lexical matches above the cutoff than an eighth of the rows; scan more cosines instead.
      if (!Number.isFinite(budget) && capped && k >= cap && lq.score(rest[cap]!) >= cutoff) continue;
      return this.expand(best, opts);
    }
  }

  /** Cosines of the given rows of codes, in their order, by the same SIMD kernel as the scan. */
  private cosines(q: Int8Array, count: number, codes: (j: number) => Int8Array): Float32Array {
    const sims = new Float32Array(count);
    if (count === 0) return sims;
    const data = new Int8Array(count * this.dim);
    for (let j = 0; j < count; j++) data.set(codes(j), j * this.dim);
    const m = exactSearch(data, q, this.dim, count, MetricKind.Cos, 1) as { keys: BigUint64Array; distances: Float32Array };
    m.keys.forEach((key, k) => (sims[Number(key)] = 1 - m.distances[k]!));
    return sims;
  }

  /** The `count` nearest entries of p with their exact cosines, best first: exact, or by the ANN graph and the tail after it. */
  private nearest(p: Partition, q: Int8Array, count: number): { keys: number[]; sims: number[] } {
    const ann = p.ann;
    if (ann && count <= ann.covered / 8) {
      const found = ann.search(q, count);
      const tail = p.m - ann.covered;
      const sims = this.cosines(q, found.length, (j) => p.codes(found[j]!));
      const all = Array.from(found, (e, j) => ({ e, sim: sims[j]! }));
      if (tail > 0) {
        const t = exactSearch(p.tail.subarray(0, tail * this.dim), q, this.dim, Math.min(count, tail), MetricKind.Cos, 1) as { keys: BigUint64Array; distances: Float32Array };
        t.keys.forEach((key, k) => all.push({ e: ann.covered + Number(key), sim: 1 - t.distances[k]! }));
      }
      all.sort((a, b) => b.sim - a.sim);
      const top = all.slice(0, count);
      return { keys: top.map((x) => x.e), sims: top.map((x) => x.sim) };
    }
    const m = exactSearch(p.data.subarray(0, p.m * this.dim), q, this.dim, count, MetricKind.Cos, 1) as { keys: BigUint64Array; distances: Float32Array };
    return { keys: Array.from(m.keys, Number), sims: Array.from(m.distances, (d) => 1 - d) };
  }

  private searchPartition(p: Partition, q: Int8Array, opts: SearchOptions): Candidate[] {
    if (p.m === 0) return [];
    // 4× over: entries whose executions all fall before sinceMs are passed over.
    const over = opts.sinceMs != null ? 4 : 1;
    const wanted = Math.ceil((opts.limit * 4 * p.m) / p.n);
    let count = Math.min(p.m, Math.max(opts.entries ? Math.min(wanted, opts.entries * over) : wanted, 64));
    const enough = (covered: number, entries: number) => covered >= opts.limit || (opts.entries !== undefined && entries >= opts.entries);
    for (;;) {
      const m = this.nearest(p, q, count);
      const out: Candidate[] = [];
      let covered = 0;
      let belowThreshold = false;
      for (let k = 0; k < m.keys.length && !enough(covered, out.length); k++) {
        const e = m.keys[k]!;
        const sim = m.sims[k]!;
        if (opts.threshold != null && sim < opts.threshold) {
          belowThreshold = true;
          break;
        }
        const n = p.passing(e, opts.sinceMs);
        if (n > 0) {
          out.push({ p, e, sim, n });
          covered += n;
        }
      }
      // Ranks only fall: once one is below the threshold, no later one can pass it.
      if (enough(covered, out.length) || count >= p.m || belowThreshold) return out;
      count = Math.min(p.m, count * 4);
    }
  }
}

/** The shortest prefix of the sorted candidates that covers `limit` executions (all of them if fewer), and at most `entries` of them. */
function covering<T extends Candidate>(sorted: T[], limit: number, entries = Infinity): T[] {
  let n = 0;
  for (let k = 0; k < sorted.length; k++) {
    n += sorted[k]!.n;
    if (n >= limit || k + 1 >= entries) return sorted.slice(0, k + 1);
  }
  return sorted;
}
