// A minimal loader for a built offline model folder, doing what the project's embedder does with
// the sentence-transformers export layout (tokenize, right-pad, run, pool per orb-model.json,
// L2-normalise). Used by the offline model's tests and the recall benchmark.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import * as ort from 'onnxruntime-node';
import type { OrbModelJson } from '../../src/embed/offline/index.js';

export interface OfflineEmbedder {
  meta: OrbModelJson;
  tokenizer: Tokenizer;
  session: ort.InferenceSession;
  /** Token ids as the model sees them (truncated to maxTokens). */
  ids(text: string): number[];
  /** Runs one batch of id sequences, right-padded with `padId` (mask 0); raw model output rows. */
  run(batch: number[][], padId?: number): Promise<Float32Array[]>;
  /** L2-normalised sentence embeddings. */
  embed(texts: string[]): Promise<Float32Array[]>;
  release(): Promise<void>;
}

export function l2normalize(v: Float32Array): Float32Array {
  let s = 0;
  for (const x of v) s += x * x;
  const n = Math.sqrt(s);
  return n > 0 ? v.map((x) => x / n) : v;
}

export function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb);
}

export async function loadOfflineEmbedder(dir: string): Promise<OfflineEmbedder> {
  const meta = JSON.parse(readFileSync(join(dir, 'orb-model.json'), 'utf8')) as OrbModelJson;
  const tokenizer = new Tokenizer(
    JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')) as object,
    JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')) as object,
  );
  const session = await ort.InferenceSession.create(join(dir, 'model.onnx'), { intraOpNumThreads: 2 });
  const D = meta.dimension;
  const outputName = session.outputNames[0]!;

  const run = async (batch: number[][], padId = 0): Promise<Float32Array[]> => {
    const S = Math.max(1, ...batch.map((e) => e.length));
    const ids = new BigInt64Array(batch.length * S).fill(BigInt(padId));
    const mask = new BigInt64Array(batch.length * S);
    batch.forEach((e, i) => e.forEach((id, j) => {
      ids[i * S + j] = BigInt(id);
      mask[i * S + j] = 1n;
    }));
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', ids, [batch.length, S]),
      attention_mask: new ort.Tensor('int64', mask, [batch.length, S]),
    };
    if (session.inputNames.includes('token_type_ids')) feeds.token_type_ids = new ort.Tensor('int64', new BigInt64Array(batch.length * S), [batch.length, S]);
    const out = (await session.run(feeds))[outputName]!;
    const data = out.data as Float32Array;
    if (meta.pooling === 'none') return batch.map((_, i) => data.slice(i * D, (i + 1) * D));
    // Mean over attention_mask.
    return batch.map((e, i) => {
      const v = new Float32Array(D);
      for (let j = 0; j < e.length; j++) for (let d = 0; d < D; d++) v[d]! += data[(i * S + j) * D + d]!;
      return v.map((x) => x / Math.max(1, e.length));
    });
  };

  const ids = (text: string) => tokenizer.encode(text).ids.slice(0, meta.maxTokens);
  return {
    meta,
    tokenizer,
    session,
    ids,
    run,
    async embed(texts) {
      return (await run(texts.map(ids))).map(l2normalize);
    },
    release: () => session.release(),
  };
}
