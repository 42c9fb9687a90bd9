// int8 vectors with a per-vector scale: 1 byte a dimension where float32 takes 4.
// v[i] ≈ q[i] * scale, with scale = max|v| / 127, so the largest component keeps full range.

export interface QuantizedVector {
  scale: number;
  values: Int8Array;
}

export function quantize(v: Float32Array): QuantizedVector {
  let max = 0;
  for (let i = 0; i < v.length; i++) max = Math.max(max, Math.abs(v[i]!));
  const scale = max === 0 ? 1 : max / 127;
  const values = new Int8Array(v.length);
  for (let i = 0; i < v.length; i++) values[i] = Math.round(v[i]! / scale);
  return { scale, values };
}

export function dequantize(q: QuantizedVector): Float32Array {
  const out = new Float32Array(q.values.length);
  for (let i = 0; i < out.length; i++) out[i] = q.values[i]! * q.scale;
  return out;
}

export function l2normalize(v: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  const n = Math.sqrt(s);
  if (n > 0) for (let i = 0; i < v.length; i++) v[i] = v[i]! / n;
  return v;
}
