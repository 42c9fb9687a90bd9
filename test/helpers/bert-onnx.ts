// Synthetic sentence-transformers models for tests and benchmarks: the real BERT encoder
// architecture (as all-MiniLM-L6-v2 exports it to ONNX) with seeded random weights, a generated
// WordPiece tokenizer.json, and the config files of a Hugging Face / sentence-transformers export.
// No real weights are downloaded or needed. ONNX is written only through src/embed/onnx-builder.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DataType, encodeModel, node, tensor, valueInfo } from '../../src/embed/onnx-builder.js';
import { buildVocab, FUNCTION_VOCAB_WORDS, mulberry32, SOFTWARE_VOCAB_WORDS, VOCAB_WORDS } from './bert-vocab.js';

export { buildVocab, VOCAB_WORDS } from './bert-vocab.js';

export interface BertShape {
  layers: number;
  hidden: number;
  heads: number;
  intermediate: number;
  vocabSize: number;
  maxPositions: number;
}

/** sentence-transformers/all-MiniLM-L6-v2. */
export const MINILM_L6_SHAPE: BertShape = Object.freeze({ layers: 6, hidden: 384, heads: 12, intermediate: 1536, vocabSize: 30522, maxPositions: 512 });
/** Small enough that every test can build and run it in milliseconds. */
export const TINY_SHAPE: BertShape = Object.freeze({ layers: 2, hidden: 32, heads: 4, intermediate: 64, vocabSize: 1000, maxPositions: 128 });

export interface WriteBertOptions {
  shape: BertShape;
  /** 'int8': dynamic quantization as onnxruntime's quantize_dynamic / optimum do it. Default 'fp32'. */
  quantize?: 'fp32' | 'int8';
  /** Declare the token_type_ids input (default true). Without it, type 0 is built in. */
  tokenTypeIds?: boolean;
  /** Weight seed (default 42). The same seed gives the same fp32 weights for every variant. */
  seed?: number;
  /** 'root': <dir>/model.onnx; 'onnx-subdir': <dir>/onnx/model.onnx, as sentence-transformers repos ship it. */
  layout?: 'root' | 'onnx-subdir';
  /** File name of the model (default 'model.onnx'), e.g. 'model_qint8_avx512_vnni.onnx'. */
  modelFileName?: string;
}

export interface WrittenBertModel {
  modelPath: string;
  tokenizerPath: string;
  /** Index = token id. */
  vocab: string[];
}

const LN_EPS = 1e-12;
/** What transformers' exports add for masked keys: torch.finfo(float32).min. */
const MASK_MIN = -3.4028234663852886e38;

// ---------------------------------------------------------------------------------------------
// Weights

interface LayerWeights {
  wq: Float32Array; bq: Float32Array;
  wk: Float32Array; bk: Float32Array;
  wv: Float32Array; bv: Float32Array;
  wo: Float32Array; bo: Float32Array;
  ln1g: Float32Array; ln1b: Float32Array;
  w1: Float32Array; b1: Float32Array;
  w2: Float32Array; b2: Float32Array;
  ln2g: Float32Array; ln2b: Float32Array;
}
interface BertWeights {
  word: Float32Array; pos: Float32Array; type: Float32Array;
  embLnG: Float32Array; embLnB: Float32Array;
  layers: LayerWeights[];
}

/**
 * Seeded weights, normal-ish (Irwin–Hall of 4 uniforms: mean 0, variance 1, bounded by ±3.46)
 * times a BERT-like initializer range. Word embeddings dominate position and type embeddings so
 * that pooled vectors of different sentences are not all alike.
 */
function generateWeights(shape: BertShape, seed: number): BertWeights {
  const rnd = mulberry32(seed);
  const K = Math.sqrt(3);
  const normal = (n: number, std: number, mean = 0): Float32Array => {
    const a = new Float32Array(n);
    const s = std * K;
    for (let i = 0; i < n; i++) a[i] = mean + (rnd() + rnd() + rnd() + rnd() - 2) * s;
    return a;
  };
  const { hidden: H, intermediate: I, vocabSize: V, maxPositions: P } = shape;
  const ln = () => [normal(H, 0.05, 1), normal(H, 0.02)] as const;
  const word = normal(V * H, 0.02);
  const pos = normal(P * H, 0.01);
  const type = normal(2 * H, 0.005);
  const [embLnG, embLnB] = ln();
  const layers: LayerWeights[] = [];
  for (let l = 0; l < shape.layers; l++) {
    const wq = normal(H * H, 0.02), bq = normal(H, 0.02);
    const wk = normal(H * H, 0.02), bk = normal(H, 0.02);
    const wv = normal(H * H, 0.02), bv = normal(H, 0.02);
    const wo = normal(H * H, 0.02), bo = normal(H, 0.02);
    const [ln1g, ln1b] = ln();
    const w1 = normal(H * I, 0.02), b1 = normal(I, 0.02);
    const w2 = normal(I * H, 0.02), b2 = normal(H, 0.02);
    const [ln2g, ln2b] = ln();
    layers.push({ wq, bq, wk, bk, wv, bv, wo, bo, ln1g, ln1b, w1, b1, w2, b2, ln2g, ln2b });
  }
  return { word, pos, type, embLnG, embLnB, layers };
}

/** Symmetric per-tensor int8 (zero point 0), as quantize_dynamic does with weight_type=QInt8. */
function quantizeInt8(w: Float32Array): { q: Int8Array; scale: number } {
  let max = 0;
  for (let i = 0; i < w.length; i++) max = Math.max(max, Math.abs(w[i]!));
  const scale = max === 0 ? 1 : max / 127;
  const q = new Int8Array(w.length);
  for (let i = 0; i < w.length; i++) q[i] = Math.max(-127, Math.min(127, Math.round(w[i]! / scale)));
  return { q: q, scale: Math.fround(scale) };
}

// ---------------------------------------------------------------------------------------------
// Graph

class GraphBuilder {
  readonly nodes: ReturnType<typeof node>[] = [];
  readonly initializers: ReturnType<typeof tensor>[] = [];
  private readonly quantized = new Map<string, [string, string, string]>();
  constructor(private readonly int8: boolean) {}

  init(name: string, dims: number[], data: Float32Array | BigInt64Array | Int8Array | Uint8Array): string {
    this.initializers.push(tensor(name, dims, data));
    return name;
  }
  op(opType: string, inputs: string[], out: string, attrs: Parameters<typeof node>[3] = {}): string {
    this.nodes.push(node(opType, inputs, [out], attrs));
    return out;
  }

  /** y = x·W + b. int8: DynamicQuantizeLinear → MatMulInteger → Cast → Mul(x_scale·w_scale) → Add. */
  linear(x: string, name: string, w: Float32Array, b: Float32Array, k: number, n: number): string {
    if (!this.int8) {
      const mm = this.op('MatMul', [x, this.init(`${name}.weight`, [k, n], w)], `${name}/MatMul_output_0`);
      return this.op('Add', [this.init(`${name}.bias`, [n], b), mm], `${name}/Add_output_0`);
    }
    let q = this.quantized.get(x);
    if (!q) {
      q = [`${x}_quantized`, `${x}_scale`, `${x}_zero_point`];
      this.nodes.push(node('DynamicQuantizeLinear', [x], q));
      this.quantized.set(x, q);
    }
    const { q: wq, scale } = quantizeInt8(w);
    const wName = this.init(`${name}.weight_quantized`, [k, n], wq);
    const wScale = this.init(`${name}.weight_scale`, [], Float32Array.of(scale));
    const wZero = this.init(`${name}.weight_zero_point`, [], Int8Array.of(0));
    const mm = this.op('MatMulInteger', [q[0], wName, q[2], wZero], `${name}/MatMul_output_0_quantized`);
    const f = this.op('Cast', [mm], `${name}/MatMul_output_0_quantized_cast`, { to: DataType.FLOAT });
    const s = this.op('Mul', [q[1], wScale], `${name}/MatMul_quant_scales`);
    const y = this.op('Mul', [f, s], `${name}/MatMul_output_0`);
    return this.op('Add', [this.init(`${name}.bias`, [n], b), y], `${name}/Add_output_0`);
  }

  layerNorm(x: string, name: string, g: Float32Array, b: Float32Array): string {
    const n = g.length;
    return this.op(
      'LayerNormalization',
      [x, this.init(`${name}.weight`, [n], g), this.init(`${name}.bias`, [n], b)],
      `${name}/LayerNormalization_output_0`,
      { axis: -1, epsilon: LN_EPS },
    );
  }
}

function buildGraph(shape: BertShape, w: BertWeights, int8: boolean, tokenTypeIds: boolean): GraphBuilder {
  const { hidden: H, heads: NH, intermediate: I, vocabSize: V, maxPositions: P } = shape;
  if (H % NH !== 0) throw new Error(`hidden ${H} is not a multiple of heads ${NH}`);
  const DH = H / NH;
  const g = new GraphBuilder(int8);
  const c = {
    zero: g.init('const_zero_i64', [], BigInt64Array.of(0n)),
    one: g.init('const_one_i64', [], BigInt64Array.of(1n)),
    oneF: g.init('const_one_f', [], Float32Array.of(1)),
    halfF: g.init('const_half_f', [], Float32Array.of(0.5)),
    maskMin: g.init('const_mask_min_f', [], Float32Array.of(MASK_MIN)),
    invSqrt2: g.init('const_inv_sqrt2_f', [], Float32Array.of(Math.SQRT1_2)),
    scale: g.init('const_attention_scale_f', [], Float32Array.of(1 / Math.sqrt(DH))),
    splitHeads: g.init('const_split_heads_shape', [4], BigInt64Array.of(0n, 0n, BigInt(NH), BigInt(DH))),
    mergeHeads: g.init('const_merge_heads_shape', [3], BigInt64Array.of(0n, 0n, BigInt(H))),
    maskAxes: g.init('const_mask_axes', [2], BigInt64Array.of(1n, 2n)),
  };

  // Embeddings.
  let words: string;
  if (int8) {
    const { q, scale } = quantizeInt8(w.word);
    const table = g.init('embeddings.word_embeddings.weight_quantized', [V, H], q);
    const gathered = g.op('Gather', [table, 'input_ids'], 'embeddings/word_embeddings/Gather_output_0_quantized');
    words = g.op(
      'DequantizeLinear',
      [gathered, g.init('embeddings.word_embeddings.weight_scale', [], Float32Array.of(scale)), g.init('embeddings.word_embeddings.weight_zero_point', [], Int8Array.of(0))],
      'embeddings/word_embeddings/Gather_output_0',
    );
  } else {
    words = g.op('Gather', [g.init('embeddings.word_embeddings.weight', [V, H], w.word), 'input_ids'], 'embeddings/word_embeddings/Gather_output_0');
  }
  const idsShape = g.op('Shape', ['input_ids'], 'embeddings/Shape_output_0');
  const seqLen = g.op('Gather', [idsShape, c.one], 'embeddings/seq_len', { axis: 0 });
  const positionIds = g.op('Range', [c.zero, seqLen, c.one], 'embeddings/position_ids');
  const positions = g.op('Gather', [g.init('embeddings.position_embeddings.weight', [P, H], w.pos), positionIds], 'embeddings/position_embeddings/Gather_output_0');
  let types: string;
  if (tokenTypeIds) {
    types = g.op('Gather', [g.init('embeddings.token_type_embeddings.weight', [2, H], w.type), 'token_type_ids'], 'embeddings/token_type_embeddings/Gather_output_0');
  } else {
    // What an export without token_type_ids bakes in: the type-0 row, broadcast.
    types = g.init('embeddings.token_type_embeddings.type0', [H], w.type.slice(0, H));
  }
  let x = g.op('Add', [words, types], 'embeddings/Add_output_0');
  x = g.op('Add', [x, positions], 'embeddings/Add_1_output_0');
  x = g.layerNorm(x, 'embeddings.LayerNorm', w.embLnG, w.embLnB);

  // Additive attention mask [batch, 1, 1, seq]: 0 for real tokens, float32 min for padding.
  const maskF = g.op('Cast', ['attention_mask'], 'mask/Cast_output_0', { to: DataType.FLOAT });
  const inverted = g.op('Sub', [c.oneF, maskF], 'mask/Sub_output_0');
  const additive = g.op('Mul', [inverted, c.maskMin], 'mask/Mul_output_0');
  const mask = g.op('Unsqueeze', [additive, c.maskAxes], 'mask/extended_attention_mask');

  for (let l = 0; l < shape.layers; l++) {
    const L = w.layers[l]!;
    const p = `encoder.layer.${l}`;
    const heads = (t: string, name: string, perm: number[]) =>
      g.op('Transpose', [g.op('Reshape', [t, c.splitHeads], `${name}/Reshape_output_0`)], `${name}/Transpose_output_0`, { perm });
    const q = heads(g.linear(x, `${p}.attention.self.query`, L.wq, L.bq, H, H), `${p}.attention.self.query`, [0, 2, 1, 3]);
    const k = heads(g.linear(x, `${p}.attention.self.key`, L.wk, L.bk, H, H), `${p}.attention.self.key`, [0, 2, 3, 1]);
    const v = heads(g.linear(x, `${p}.attention.self.value`, L.wv, L.bv, H, H), `${p}.attention.self.value`, [0, 2, 1, 3]);
    let scores = g.op('MatMul', [q, k], `${p}.attention.self/scores`);
    scores = g.op('Mul', [scores, c.scale], `${p}.attention.self/scaled_scores`);
    scores = g.op('Add', [scores, mask], `${p}.attention.self/masked_scores`);
    const probs = g.op('Softmax', [scores], `${p}.attention.self/Softmax_output_0`, { axis: -1 });
    let ctx = g.op('MatMul', [probs, v], `${p}.attention.self/context`);
    ctx = g.op('Transpose', [ctx], `${p}.attention.self/context_transposed`, { perm: [0, 2, 1, 3] });
    ctx = g.op('Reshape', [ctx, c.mergeHeads], `${p}.attention.self/context_merged`);
    const attnOut = g.linear(ctx, `${p}.attention.output.dense`, L.wo, L.bo, H, H);
    x = g.layerNorm(g.op('Add', [attnOut, x], `${p}.attention.output/residual`), `${p}.attention.output.LayerNorm`, L.ln1g, L.ln1b);

    const h = g.linear(x, `${p}.intermediate.dense`, L.w1, L.b1, H, I);
    // Exact GELU: 0.5·h·(1 + erf(h/√2)).
    const erf = g.op('Erf', [g.op('Mul', [h, c.invSqrt2], `${p}.intermediate/gelu_div`)], `${p}.intermediate/gelu_erf`);
    const gelu = g.op('Mul', [g.op('Mul', [h, g.op('Add', [erf, c.oneF], `${p}.intermediate/gelu_add`)], `${p}.intermediate/gelu_mul`), c.halfF], `${p}.intermediate/gelu`);
    const ffOut = g.linear(gelu, `${p}.output.dense`, L.w2, L.b2, I, H);
    const out = g.op('Add', [ffOut, x], `${p}.output/residual`);
    x = l === shape.layers - 1
      ? g.op('LayerNormalization', [out, g.init(`${p}.output.LayerNorm.weight`, [H], L.ln2g), g.init(`${p}.output.LayerNorm.bias`, [H], L.ln2b)], 'last_hidden_state', { axis: -1, epsilon: LN_EPS })
      : g.layerNorm(out, `${p}.output.LayerNorm`, L.ln2g, L.ln2b);
  }
  if (shape.layers === 0) g.op('Identity', [x], 'last_hidden_state');
  return g;
}

// ---------------------------------------------------------------------------------------------
// Tokenizer and configuration files

function tokenizerFiles(vocab: string[], shape: BertShape) {
  const id = (t: string) => {
    const i = vocab.indexOf(t);
    if (i < 0) throw new Error(`vocabulary lacks ${t}`);
    return i;
  };
  const specials = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
  const [pad, , cls, sep] = specials.map(id) as [number, number, number, number, number];
  const maxLength = Math.min(128, shape.maxPositions);
  const tokenizer = {
    version: '1.0',
    truncation: { direction: 'Right', max_length: maxLength, strategy: 'LongestFirst', stride: 0 },
    padding: { strategy: 'BatchLongest', direction: 'Right', pad_to_multiple_of: null, pad_id: pad, pad_type_id: 0, pad_token: '[PAD]' },
    added_tokens: specials.map((content) => ({ id: id(content), content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [cls], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [sep], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(vocab.map((t, i) => [t, i])),
    },
  };
  const tokenizerConfig = {
    added_tokens_decoder: Object.fromEntries(
      specials.map((content) => [String(id(content)), { content, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true }]),
    ),
    clean_up_tokenization_spaces: true,
    cls_token: '[CLS]',
    do_basic_tokenize: true,
    do_lower_case: true,
    mask_token: '[MASK]',
    model_max_length: shape.maxPositions,
    never_split: null,
    pad_token: '[PAD]',
    sep_token: '[SEP]',
    strip_accents: null,
    tokenize_chinese_chars: true,
    tokenizer_class: 'BertTokenizer',
    unk_token: '[UNK]',
  };
  const specialTokensMap = { cls_token: '[CLS]', mask_token: '[MASK]', pad_token: '[PAD]', sep_token: '[SEP]', unk_token: '[UNK]' };
  return { tokenizer, tokenizerConfig, specialTokensMap, pad };
}

/**
 * Writes a BERT-architecture sentence-transformers model with seeded random weights into dir:
 * the ONNX model (model.onnx or onnx/model.onnx), tokenizer.json, tokenizer_config.json,
 * special_tokens_map.json, vocab.txt, config.json, modules.json, sentence_bert_config.json and
 * 1_Pooling/config.json. Inputs are int64 [batch, seq] input_ids, attention_mask and (unless
 * tokenTypeIds is false) token_type_ids; the output is float last_hidden_state [batch, seq, hidden].
 */
export async function writeBertModel(dir: string, opts: WriteBertOptions): Promise<WrittenBertModel> {
  const { shape, quantize = 'fp32', tokenTypeIds = true, seed = 42, layout = 'root', modelFileName = 'model.onnx' } = opts;
  for (const [k, v] of Object.entries(shape)) {
    if (!Number.isInteger(v) || v < (k === 'layers' ? 0 : 1)) throw new Error(`shape.${k} must be a positive integer, got ${v}`);
  }
  const vocab = buildVocab(shape.vocabSize);
  const weights = generateWeights(shape, seed);
  const int8 = quantize === 'int8';
  const g = buildGraph(shape, weights, int8, tokenTypeIds);
  const inputNames = ['input_ids', 'attention_mask', ...(tokenTypeIds ? ['token_type_ids'] : [])];
  const bytes = encodeModel({
    name: 'main_graph',
    inputs: inputNames.map((n) => valueInfo(n, DataType.INT64, ['batch_size', 'sequence_length'])),
    outputs: [valueInfo('last_hidden_state', DataType.FLOAT, ['batch_size', 'sequence_length', shape.hidden])],
    nodes: g.nodes,
    initializers: g.initializers,
    producer: 'orb-learn test/helpers/bert-onnx',
    metadata: {
      'orb-learn.synthetic': 'true',
      'orb-learn.seed': String(seed),
      'orb-learn.quantize': quantize,
      'orb-learn.shape': JSON.stringify(shape),
    },
  });

  const modelDir = layout === 'onnx-subdir' ? join(dir, 'onnx') : dir;
  await mkdir(modelDir, { recursive: true });
  await mkdir(join(dir, '1_Pooling'), { recursive: true });
  const modelPath = join(modelDir, modelFileName);
  const tokenizerPath = join(dir, 'tokenizer.json');
  const { tokenizer, tokenizerConfig, specialTokensMap, pad } = tokenizerFiles(vocab, shape);
  const json = (v: unknown) => JSON.stringify(v, null, 2) + '\n';
  const config = {
    _name_or_path: 'orb-learn/synthetic-bert',
    architectures: ['BertModel'],
    attention_probs_dropout_prob: 0.1,
    classifier_dropout: null,
    hidden_act: 'gelu',
    hidden_dropout_prob: 0.1,
    hidden_size: shape.hidden,
    initializer_range: 0.02,
    intermediate_size: shape.intermediate,
    layer_norm_eps: LN_EPS,
    max_position_embeddings: shape.maxPositions,
    model_type: 'bert',
    num_attention_heads: shape.heads,
    num_hidden_layers: shape.layers,
    pad_token_id: pad,
    position_embedding_type: 'absolute',
    torch_dtype: 'float32',
    type_vocab_size: 2,
    use_cache: true,
    vocab_size: shape.vocabSize,
    orb_learn_synthetic: { seed, quantize, token_type_ids: tokenTypeIds, note: 'random weights generated by test/helpers/bert-onnx.ts' },
  };
  await Promise.all([
    writeFile(modelPath, bytes),
    writeFile(tokenizerPath, JSON.stringify(tokenizer)),
    writeFile(join(dir, 'tokenizer_config.json'), json(tokenizerConfig)),
    writeFile(join(dir, 'special_tokens_map.json'), json(specialTokensMap)),
    writeFile(join(dir, 'vocab.txt'), vocab.join('\n') + '\n'),
    writeFile(join(dir, 'config.json'), json(config)),
    writeFile(
      join(dir, 'modules.json'),
      json([
        { idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' },
        { idx: 1, name: '1', path: '1_Pooling', type: 'sentence_transformers.models.Pooling' },
        { idx: 2, name: '2', path: '2_Normalize', type: 'sentence_transformers.models.Normalize' },
      ]),
    ),
    writeFile(join(dir, 'sentence_bert_config.json'), json({ max_seq_length: Math.min(256, shape.maxPositions), do_lower_case: false })),
    writeFile(
      join(dir, '1_Pooling', 'config.json'),
      json({
        word_embedding_dimension: shape.hidden,
        pooling_mode_cls_token: false,
        pooling_mode_mean_tokens: true,
        pooling_mode_max_tokens: false,
        pooling_mode_mean_sqrt_len_tokens: false,
        pooling_mode_weightedmean_tokens: false,
        pooling_mode_lasttoken: false,
        include_prompt: true,
      }),
    ),
  ]);
  return { modelPath, tokenizerPath, vocab };
}

/**
 * Deterministic task-description-like sentences made of vocabulary words, about `words` words
 * each (a word is usually one token, so ~words + 2 tokens with [CLS]/[SEP]). For benchmarks.
 */
export function syntheticSentences(count: number, words = 12, seed = 7): string[] {
  const rnd = mulberry32(seed);
  const pick = (list: readonly string[]) => list[Math.floor(rnd() * list.length)]!;
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const n = Math.max(1, Math.round(words * (0.75 + rnd() * 0.5)));
    const ws: string[] = [];
    for (let j = 0; j < n; j++) {
      const r = rnd();
      ws.push(r < 0.45 ? pick(SOFTWARE_VOCAB_WORDS) : r < 0.75 ? pick(FUNCTION_VOCAB_WORDS) : pick(VOCAB_WORDS));
    }
    const s = ws.join(' ');
    out.push(s[0]!.toUpperCase() + s.slice(1) + (rnd() < 0.5 ? '.' : ''));
  }
  return out;
}
