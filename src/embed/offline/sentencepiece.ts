// SentencePiece vocabulary ([piece, score] pairs, as shipped with the TF.js Universal Sentence
// Encoder) → a HuggingFace tokenizer.json with a Unigram model that reproduces the TF.js USE
// tokenizer:
//   TF.js: text.normalize('NFKC'), every ' ' → '▁', then '▁' prepended (non-empty text only);
//          Viterbi over piece scores on a trie of pieces 6.. (ids 0..5 are reserved:
//          0 = unknown, 1..5 = <s>, </s>, extra_token_id_1..3 and never matched);
//          characters no piece covers become id 0, consecutive unknowns merged into one.
//   Here:  normalizer Sequence[NFKC, Replace(' ' → '▁'), Prepend('▁')] (tokenizers skips
//          normalization of empty text, as TF.js does), no pre-tokenizer (the whole text is one
//          lattice, as in TF.js), Unigram with unk_id 0 (fuse_unk on).
// Reserved pieces 1..5 must stay in the vocabulary so ids keep their positions, but must never
// match text: they are renamed with a leading U+212B ANGSTROM SIGN, which NFKC always rewrites
// (to U+00C5), so it can never occur in normalized input. A null score in the source
// vocabulary (a few pieces such as ':' have one) adds 0 in TF.js's Viterbi, so it is written as 0.

export type SentencePieceVocab = [string, number | null][];

export const SP_SEPARATOR = '\u2581';
export const RESERVED_PIECES = 6;
const NEVER_MATCHES = '\u212B';

export interface TokenizerJson {
  version: string;
  truncation: null;
  padding: null;
  added_tokens: unknown[];
  normalizer: unknown;
  pre_tokenizer: null;
  post_processor: null;
  decoder: unknown;
  model: { type: 'Unigram'; unk_id: number; vocab: [string, number][]; byte_fallback: boolean };
}

export function unigramTokenizerJson(vocab: SentencePieceVocab): TokenizerJson {
  if (vocab.length <= RESERVED_PIECES) throw new Error(`vocabulary too small: ${vocab.length} pieces`);
  const pieces: [string, number][] = vocab.map(([piece, score], i) => {
    if (typeof piece !== 'string' || piece.length === 0) throw new Error(`piece ${i} is not a non-empty string`);
    if (i > 0 && i < RESERVED_PIECES) return [NEVER_MATCHES + piece, 0];
    return [piece, score ?? 0];
  });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [],
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'NFKC' },
        { type: 'Replace', pattern: { String: ' ' }, content: SP_SEPARATOR },
        { type: 'Prepend', prepend: SP_SEPARATOR },
      ],
    },
    pre_tokenizer: null,
    post_processor: null,
    decoder: { type: 'Metaspace', replacement: SP_SEPARATOR, prepend_scheme: 'always', split: true },
    model: { type: 'Unigram', unk_id: 0, vocab: pieces, byte_fallback: false },
  };
}

/** tokenizer_config.json beside tokenizer.json (what transformers-style loaders read). */
export function unigramTokenizerConfig(vocab: SentencePieceVocab, maxTokens: number): Record<string, unknown> {
  return {
    tokenizer_class: 'PreTrainedTokenizerFast',
    model_max_length: maxTokens,
    unk_token: vocab[0]![0],
    // Padding positions are excluded by attention_mask; id 0 is as good as any.
    pad_token: vocab[0]![0],
    clean_up_tokenization_spaces: false,
  };
}
