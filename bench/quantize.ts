// npm run bench:quantize — recall@10 of int8 vectors (per-vector scale, as stored) against
// float32, on a synthetic clustered set of 100K unit vectors in 384 dimensions.
import usearch from 'usearch';
import { mulberry32 } from '../src/synth/generate.js';
import { quantize } from '../src/embed/quantize.js';

const { exactSearch, MetricKind } = usearch;
const N = 100_000;
const D = 384;
const Q = 200;
const rand = mulberry32(11);
const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
const unit = (v: Float32Array) => {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
};
// 2,000 topics; each vector is a topic plus noise, like embeddings of paraphrases.
const centers = Array.from({ length: 2000 }, () => unit(Float32Array.from({ length: D }, gauss)));
const make = () => {
  const c = centers[Math.floor(rand() * centers.length)]!;
  return unit(Float32Array.from({ length: D }, (_, j) => c[j]! + 0.6 * gauss() / Math.sqrt(D) * 4));
};
const f32 = new Float32Array(N * D);
const i8 = new Int8Array(N * D);
for (let i = 0; i < N; i++) {
  const v = make();
  f32.set(v, i * D);
  i8.set(quantize(v).values, i * D);
}
let hits = 0;
for (let q = 0; q < Q; q++) {
  const v = make();
  const exact = exactSearch(f32, v, D, 10, MetricKind.Cos) as { keys: BigUint64Array };
  const approx = exactSearch(i8, quantize(v).values, D, 10, MetricKind.Cos) as { keys: BigUint64Array };
  const truth = new Set(exact.keys);
  for (const k of approx.keys) if (truth.has(k)) hits++;
}
console.log(`recall@10 of int8 (per-vector scale) vs float32: ${(hits / (Q * 10)).toFixed(4)} over ${Q} queries, ${N.toLocaleString('en')} vectors × ${D}`);
