// The smallest real sentence-transformers-shaped export: a WordLevel tokenizer.json and an ONNX
// graph that gathers word vectors (last_hidden_state [batch, seq, dim]). For tests of model
// plumbing (pull, resolution, the indexer) where the architecture does not matter.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataType, encodeModel, node, tensor, valueInfo } from '../../src/embed/onnx-builder.js';

export const TINY_WORDS = [
  'refactor', 'auth', 'middleware', 'jwt', 'fix', 'flaky', 'tests', 'ci', 'migration', 'database', 'docs', 'readme',
  'task', 'description', 'repository', 'model', 'tier', 'pool', 'success', 'true', 'false', 'solution', 'small', 'medium', 'large',
];

export function tinyTokenizerJson(words: string[]): object {
  const special = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  const vocab: Record<string, number> = { '[PAD]': 0, '[UNK]': 1 };
  words.forEach((w, i) => (vocab[w] = i + 2));
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(0, '[PAD]'), special(1, '[UNK]')],
    normalizer: { type: 'Lowercase' },
    pre_tokenizer: { type: 'Whitespace' },
    post_processor: null,
    decoder: null,
    model: { type: 'WordLevel', vocab, unk_token: '[UNK]' },
  };
}

/** Writes model.onnx + tokenizer.json into dir; vectors are seeded so runs repeat exactly. */
export function writeTinyModel(dir: string, opts: { dim?: number; seed?: number; layout?: 'root' | 'onnx-subdir' } = {}): string {
  const dim = opts.dim ?? 16;
  const vocab = TINY_WORDS.length + 2;
  let s = opts.seed ?? 42;
  const rand = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  const E = Float32Array.from({ length: vocab * dim }, rand);
  const bytes = encodeModel({
    name: 'tiny',
    inputs: [valueInfo('input_ids', DataType.INT64, ['batch', 'seq']), valueInfo('attention_mask', DataType.INT64, ['batch', 'seq'])],
    outputs: [valueInfo('last_hidden_state', DataType.FLOAT, ['batch', 'seq', dim])],
    nodes: [node('Gather', ['embeddings', 'input_ids'], ['last_hidden_state'], { axis: 0 })],
    initializers: [tensor('embeddings', [vocab, dim], E)],
  });
  mkdirSync(dir, { recursive: true });
  const onnxDir = opts.layout === 'onnx-subdir' ? join(dir, 'onnx') : dir;
  mkdirSync(onnxDir, { recursive: true });
  writeFileSync(join(onnxDir, 'model.onnx'), bytes);
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tinyTokenizerJson(TINY_WORDS)));
  return dir;
}
