// A stand-in embedder for benchmarks at scale: a real model on ~1M distinct contents takes hours
// on 2 vCPU. Each text gets a deterministic vector of the model's shape: Gaussian components,
// L2-normalized, so its int8 codes carry about the entropy of a real sentence embedding's.
import { createHash } from 'node:crypto';
import { mulberry32 } from '../src/synth/generate.js';
import type { SynthEmbedder } from '../src/synth/write.js';

export class StandInEmbedder implements SynthEmbedder {
  readonly modelId: string;

  constructor(readonly dimension = 384) {
    this.modelId = `bench-gaussian-${dimension}`;
  }

  async embed(texts: string[]): Promise<{ vectors: Float32Array[] }> {
    const dim = this.dimension;
    return {
      vectors: texts.map((t) => {
        const rnd = mulberry32(createHash('sha1').update(t).digest().readUInt32LE(0));
        const v = new Float32Array(dim);
        for (let i = 0; i < dim; i += 2) {
          const r = Math.sqrt(-2 * Math.log(1 - rnd()));
          const a = 2 * Math.PI * rnd();
          v[i] = r * Math.cos(a);
          if (i + 1 < dim) v[i + 1] = r * Math.sin(a);
        }
        let norm = 0;
        for (const x of v) norm += x * x;
        norm = Math.sqrt(norm);
        for (let i = 0; i < dim; i++) v[i] = v[i]! / norm;
        return v;
      }),
    };
  }
}
