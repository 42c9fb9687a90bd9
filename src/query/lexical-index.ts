// In-process BM25 over execution descriptions, the lexical half of hybrid ranking (DuckDB's fts
// extension is not available here). Documents are numbered densely by the caller (the vector
// index's row numbers), so this index keeps no ids of its own: per term a postings list of
// (doc, term frequency), per doc a length, and the two collection totals BM25 needs. Rows are
// only added, never removed, like the vector index: archived rows stay until the next restart.
import porter2 from 'wink-porter2-stemmer';
import stopwords from 'stopword';
import { LEXICON, withLexicon } from './lexicon.js';

/** How text becomes terms: which words are dropped, and how a word is reduced to its stem. */
export interface Analyzer {
  stopwords: ReadonlySet<string>;
  stem(word: string): string;
}

// The `stopword` package's English list (function words: "the", "with", "should"); task verbs
// ("fix", "add") are not in it and carry meaning here.
const STOPWORDS: ReadonlySet<string> = new Set(stopwords.eng);

/**
 * Porter2, the English Snowball stemmer (`wink-porter2-stemmer`), for words without digits
 * ("http2", "v1" stay as they are). Chosen over Porter (`stemmer`) by cross-validation
 * (docs/hybrid-ranking.md).
 */
export function stem(word: string): string {
  return /\d/.test(word) ? word : porter2(word);
}

/** Porter2 and the stopword list alone, without the lexicon. */
export const PORTER2_ANALYZER: Analyzer = { stopwords: STOPWORDS, stem };

/**
 * What the index uses: Porter2, the stopword list, then the domain lexicon's classes (auth and
 * authentication are one term). The lexicon was kept by cross-validation (docs/hybrid-ranking.md).
 */
export const DEFAULT_ANALYZER: Analyzer = withLexicon(PORTER2_ANALYZER, LEXICON);

/**
 * The weight w of BM25 in the hybrid score (1 − w)·cosine + w·BM25/norm (LexicalQuery.norm):
 * chosen by 6-fold cross-validation over the groups of the dev set (docs/hybrid-ranking.md).
 */
export const DEFAULT_LEXICAL_WEIGHT = 0.5;

/** Lowercase words split on anything but letters and digits, stopwords and 1-letter words out, stemmed. */
export function tokenize(text: string, analyzer: Analyzer = DEFAULT_ANALYZER): string[] {
  const out: string[] = [];
  for (const w of text.toLowerCase().split(/[^\p{L}\p{N}]+/u)) if (w.length > 1 && !analyzer.stopwords.has(w)) out.push(analyzer.stem(w));
  return out;
}

// A term's postings, doc·16 + min(tf, 15) each, in doc order. Most terms are rare (names,
// numbers), so the per-term overhead decides the memory: one posting is the bare number, a few
// sit in a plain array, and only long lists pay for a typed array. BM25 saturates long before
// tf 15 (k1 = 1.2), so the cap costs nothing.
const TF_BITS = 4;
const TF_MAX = (1 << TF_BITS) - 1;
const MAX_DOC = 2 ** (32 - TF_BITS) - 1;
const PACK_AT = 256;

class Packed {
  a = new Uint32Array(PACK_AT * 2);
  n = 0;
}
type Postings = number | number[] | Packed;

function append(p: Postings | undefined, x: number): Postings {
  if (p === undefined) return x;
  if (typeof p === 'number') return [p, x];
  if (Array.isArray(p)) {
    if (p.length < PACK_AT) {
      p.push(x);
      return p;
    }
    const packed = new Packed();
    packed.a.set(p);
    packed.n = p.length;
    p = packed;
  }
  if (p.n === p.a.length) {
    const a = new Uint32Array(p.n * 2);
    a.set(p.a);
    p.a = a;
  }
  p.a[p.n++] = x;
  return p;
}

// V8 cuts words of 13+ characters out of the text as slices that keep the whole text alive;
// a term stored as a key gets a string of its own.
const ownCopy = (s: string): string => (s.length < 13 ? s : (JSON.parse(JSON.stringify(s)) as string));

const entries = (p: Postings): ArrayLike<number> => (typeof p === 'number' ? [p] : Array.isArray(p) ? p : p.a.subarray(0, p.n));

export interface LexicalHit {
  doc: number;
  score: number;
}

/** One query's BM25 scores over the whole index, computed once and read many times. */
export class LexicalQuery {
  constructor(
    private readonly scores: Float32Array,
    /** Every doc with a score above zero. */
    readonly matched: Uint32Array,
    /** The best score of any doc. */
    readonly max: number,
    /**
     * What a doc made of exactly the query's terms would score: the hybrid blend divides by it, so
     * a doc's lexical share does not depend on whether the index holds a verbatim repeat.
     */
    readonly norm: number,
  ) {}

  score(doc: number): number {
    return this.scores[doc] ?? 0;
  }

  /** The `limit` best docs scoring at least `min` that `accept` lets through, best first (ties: lower doc first). */
  top(limit: number, accept: (doc: number) => boolean = () => true, min = -Infinity): LexicalHit[] {
    if (limit <= 0) return [];
    // A min-heap of the best so far: O(matched · log limit).
    const heap: LexicalHit[] = [];
    // (score, doc) ranks below b: compared before a hit is allocated, so most matches allocate nothing.
    const below = (score: number, doc: number, b: LexicalHit) => score < b.score || (score === b.score && doc > b.doc);
    const worse = (a: LexicalHit, b: LexicalHit) => below(a.score, a.doc, b);
    for (const doc of this.matched) {
      const score = this.scores[doc]!;
      if (score < min) continue;
      if (heap.length === limit && below(score, doc, heap[0]!)) continue;
      if (!accept(doc)) continue;
      const h = { doc, score };
      if (heap.length < limit) {
        heap.push(h);
        for (let i = heap.length - 1; i > 0; ) {
          const parent = (i - 1) >> 1;
          if (!worse(heap[i]!, heap[parent]!)) break;
          [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
          i = parent;
        }
      } else {
        heap[0] = h;
        for (let i = 0; ; ) {
          const l = 2 * i + 1;
          const r = l + 1;
          let m = i;
          if (l < heap.length && worse(heap[l]!, heap[m]!)) m = l;
          if (r < heap.length && worse(heap[r]!, heap[m]!)) m = r;
          if (m === i) break;
          [heap[i], heap[m]] = [heap[m]!, heap[i]!];
          i = m;
        }
      }
    }
    return heap.sort((a, b) => (worse(a, b) ? 1 : worse(b, a) ? -1 : 0));
  }
}

export class LexicalIndex {
  private readonly terms = new Map<string, Postings>();
  private lengths = new Uint16Array(1024);
  private docs = 0;
  private maxDoc = -1;
  private totalLength = 0;
  /** Docs counted by `repeat`: they add to the statistics but share an existing doc's postings. */
  private readonly repeatedDf = new Map<string, number>();

  constructor(
    readonly k1 = 1.2,
    readonly b = 0.75,
    readonly analyzer: Analyzer = DEFAULT_ANALYZER,
  ) {}

  get size(): number {
    return this.docs;
  }

  get vocabulary(): number {
    return this.terms.size;
  }

  /** Adds doc (a number never added before) with its text. */
  add(doc: number, text: string): void {
    if (!(doc >= 0 && doc <= MAX_DOC)) throw new RangeError(`lexical index: doc ${doc} out of range`);
    if (doc >= this.lengths.length) {
      const lengths = new Uint16Array(Math.max(doc + 1, this.lengths.length * 2));
      lengths.set(this.lengths);
      this.lengths = lengths;
    }
    const tokens = tokenize(text, this.analyzer);
    const tf = new Map<string, number>();
    for (const t of tokens) tf.set(t, (tf.get(t) ?? 0) + 1);
    for (const [t, n] of tf) {
      const p = this.terms.get(t);
      const q = append(p, doc * (TF_MAX + 1) + Math.min(n, TF_MAX));
      if (q !== p) this.terms.set(p === undefined ? ownCopy(t) : t, q);
    }
    this.lengths[doc] = Math.min(tokens.length, 65_535);
    this.docs++;
    this.totalLength += tokens.length;
    this.maxDoc = Math.max(this.maxDoc, doc);
  }

  /**
   * Counts one more doc with this text, which an added doc already holds verbatim (the vector index
   * keeps one doc per distinct vector): N, the lengths and the document frequencies are as if it had
   * been added, so scores equal those of an index with one doc per execution.
   */
  repeat(text: string): void {
    const tokens = tokenize(text, this.analyzer);
    for (const t of new Set(tokens)) this.repeatedDf.set(t, (this.repeatedDf.get(t) ?? 0) + 1);
    this.docs++;
    this.totalLength += tokens.length;
  }

  /** Inverse document frequency, Lucene's form (never negative). */
  idf(term: string): number {
    const p = this.terms.get(term);
    const df = (p === undefined ? 0 : entries(p).length) + (this.repeatedDf.get(term) ?? 0);
    return Math.log(1 + (this.docs - df + 0.5) / (df + 0.5));
  }

  /** BM25 of every doc for the text's distinct terms (a repeated query word counts once). */
  query(text: string): LexicalQuery {
    return this.queryTerms([...new Set(tokenize(text, this.analyzer))].map((term) => ({ term, weight: 1 })));
  }

  /** BM25 with a weight per (analyzed, distinct) term: Σ weight·idf·tf·(k1 + 1)/(tf + k1·(1 − b + b·len/avglen)). */
  queryTerms(terms: readonly { term: string; weight: number }[]): LexicalQuery {
    const scores = new Float32Array(this.maxDoc + 1);
    const lists = terms.flatMap(({ term, weight }) => {
      const p = this.terms.get(term);
      return p === undefined || !(weight > 0) ? [] : [{ p: entries(p), idf: weight * this.idf(term) }];
    });
    const matched = new Uint32Array(lists.reduce((s, l) => s + l.p.length, 0));
    let m = 0;
    let max = 0;
    const avgdl = this.docs ? this.totalLength / this.docs : 1;
    for (const { p, idf } of lists) {
      for (let i = 0; i < p.length; i++) {
        const doc = p[i]! >>> TF_BITS;
        const tf = p[i]! & TF_MAX;
        if (scores[doc] === 0) matched[m++] = doc;
        scores[doc] = scores[doc]! + (idf * tf * (this.k1 + 1)) / (tf + this.k1 * (1 - this.b + (this.b * this.lengths[doc]!) / avgdl));
      }
    }
    for (let i = 0; i < m; i++) max = Math.max(max, scores[matched[i]!]!);
    // The query as a doc: each distinct term once, its length the number of terms; terms the index
    // lacks count too (a query word no past task has is a part of the query none matches).
    let norm = 0;
    const selfLength = terms.filter((t) => t.weight > 0).length;
    for (const { term, weight } of terms) if (weight > 0) norm += (weight * this.idf(term) * (this.k1 + 1)) / (1 + this.k1 * (1 - this.b + (this.b * selfLength) / avgdl));
    return new LexicalQuery(scores, matched.subarray(0, m), max, norm);
  }
}
