// Sentence embeddings on onnxruntime-node: tokenize, pad a batch, run, mean-pool over the
// attention mask (or take an already pooled output), L2-normalize. Synchronous inside
// onnxruntime-node, so the server runs it on a worker thread (embed-thread.ts).
import * as ort from 'onnxruntime-node';
import type { ModelFiles, Pooling } from './model.js';
import { l2normalize } from './quantize.js';
import { TextTokenizer } from './tokenizer.js';

export const DEFAULT_MAX_TOKENS = 256;

export interface EmbedderOptions {
  /** onnxruntime intra-op threads; 1 keeps the embedder to one core. */
  threads?: number;
  maxTokens?: number;
}

export interface EmbedResult {
  vectors: Float32Array[];
  /** Texts cut at maxTokens. */
  truncated: number;
  /** Tokens fed, padding included: what length-sorted batching keeps low. */
  paddedTokens: number;
  realTokens: number;
}

export class OnnxEmbedder {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly tokenizer: TextTokenizer,
    readonly modelId: string,
    readonly dimension: number,
    private readonly pooling: Pooling,
  ) {}

  static async load(files: ModelFiles, opts: EmbedderOptions = {}): Promise<OnnxEmbedder> {
    const threads = opts.threads ?? 1;
    const session = await ort.InferenceSession.create(files.onnxPath, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    if (!session.inputNames.includes('input_ids'))
      throw new Error(`${files.onnxPath}: the model has no input_ids input (inputs: ${session.inputNames.join(', ')})`);
    const maxTokens = opts.maxTokens ?? files.manifest.maxTokens ?? DEFAULT_MAX_TOKENS;
    const tokenizer = new TextTokenizer(files.tokenizerPath, files.tokenizerConfigPath, maxTokens);
    const probe = new OnnxEmbedder(session, tokenizer, files.manifest.id, 0, files.manifest.pooling ?? 'mean');
    // The output's rank decides pooling when the manifest does not: [b, s, d] is pooled, [b, d] is not.
    const out = await probe.runRaw(['dimension probe']);
    const pooling: Pooling = files.manifest.pooling ?? (out.dims.length === 3 ? 'mean' : 'none');
    const dimension = out.dims[out.dims.length - 1]!;
    if (files.manifest.dimension && files.manifest.dimension !== dimension)
      throw new Error(`${files.onnxPath}: manifest says ${files.manifest.dimension} dimensions, the model outputs ${dimension}`);
    return new OnnxEmbedder(session, tokenizer, files.manifest.id, dimension, pooling);
  }

  private feeds(encoded: number[][]): { feeds: Record<string, ort.Tensor>; mask: BigInt64Array; seq: number } {
    const seq = Math.max(1, ...encoded.map((e) => e.length));
    const n = encoded.length;
    const ids = new BigInt64Array(n * seq).fill(BigInt(this.tokenizer.padId));
    const mask = new BigInt64Array(n * seq);
    encoded.forEach((e, b) => {
      for (let i = 0; i < e.length; i++) {
        ids[b * seq + i] = BigInt(e[i]!);
        mask[b * seq + i] = 1n;
      }
    });
    const feeds: Record<string, ort.Tensor> = { input_ids: new ort.Tensor('int64', ids, [n, seq]) };
    const names = this.session.inputNames;
    if (names.includes('attention_mask')) feeds.attention_mask = new ort.Tensor('int64', mask, [n, seq]);
    if (names.includes('token_type_ids')) feeds.token_type_ids = new ort.Tensor('int64', new BigInt64Array(n * seq), [n, seq]);
    return { feeds, mask, seq };
  }

  private async runRaw(texts: string[]): Promise<ort.Tensor> {
    const { feeds } = this.feeds(texts.map((t) => this.tokenizer.encode(t).ids));
    const out = await this.session.run(feeds);
    return out[this.session.outputNames[0]!]!;
  }

  /** Embeds one batch, in the order given. */
  async embed(texts: string[]): Promise<EmbedResult> {
    if (texts.length === 0) return { vectors: [], truncated: 0, paddedTokens: 0, realTokens: 0 };
    const encoded = texts.map((t) => this.tokenizer.encode(t));
    const { feeds, mask, seq } = this.feeds(encoded.map((e) => e.ids));
    const outputs = await this.session.run(feeds);
    const out = outputs[this.session.outputNames[0]!]!;
    const data = out.data as Float32Array;
    const d = this.dimension;
    const vectors = texts.map((_, b) => {
      const v = new Float32Array(d);
      if (this.pooling === 'none') {
        v.set(data.subarray(b * d, (b + 1) * d));
      } else {
        let count = 0;
        for (let i = 0; i < seq; i++) {
          if (mask[b * seq + i] === 0n) continue;
          count++;
          const base = (b * seq + i) * d;
          for (let j = 0; j < d; j++) v[j]! += data[base + j]!;
        }
        if (count > 0) for (let j = 0; j < d; j++) v[j] = v[j]! / count;
      }
      return l2normalize(v);
    });
    const realTokens = encoded.reduce((n, e) => n + e.ids.length, 0);
    return { vectors, truncated: encoded.filter((e) => e.truncated).length, paddedTokens: seq * texts.length, realTokens };
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
