// Reads a TF.js graph model (model.json + binary weight shards) from local files into plain
// typed arrays: the node list and every weight by name. No TF.js runtime is involved.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TfNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, unknown>;
}

export interface TfWeight {
  name: string;
  dtype: 'float32' | 'int32';
  shape: number[];
  data: Float32Array | Int32Array;
}

interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: unknown;
}

interface ModelJson {
  modelTopology: { node: TfNode[] };
  weightsManifest: { paths: string[]; weights: WeightSpec[] }[];
}

export class TfGraph {
  readonly nodes: Map<string, TfNode>;
  readonly weights: Map<string, TfWeight>;

  private constructor(
    readonly dir: string,
    nodes: TfNode[],
    weights: Map<string, TfWeight>,
  ) {
    this.nodes = new Map(nodes.map((n) => [n.name, n]));
    this.weights = weights;
  }

  static load(dir: string): TfGraph {
    const model = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as ModelJson;
    const weights = new Map<string, TfWeight>();
    for (const group of model.weightsManifest) {
      const buf = Buffer.concat(group.paths.map((p) => readFileSync(join(dir, p))));
      let offset = 0;
      for (const spec of group.weights) {
        if (spec.quantization) throw new Error(`${spec.name}: quantized weights are not supported`);
        if (spec.dtype !== 'float32' && spec.dtype !== 'int32') throw new Error(`${spec.name}: dtype ${spec.dtype} not supported`);
        const count = spec.shape.reduce((a, b) => a * b, 1);
        const bytes = count * 4;
        if (offset + bytes > buf.length) throw new Error(`${spec.name}: weight shards are too short`);
        // Copy into a fresh aligned buffer: shard offsets need not be 4-byte aligned in memory.
        const copy = new Uint8Array(bytes);
        copy.set(buf.subarray(offset, offset + bytes));
        const data = spec.dtype === 'float32' ? new Float32Array(copy.buffer) : new Int32Array(copy.buffer);
        weights.set(spec.name, { name: spec.name, dtype: spec.dtype, shape: spec.shape, data });
        offset += bytes;
      }
      if (offset !== buf.length) throw new Error(`weight group ${group.paths[0]}: ${buf.length - offset} unused bytes`);
    }
    return new TfGraph(dir, model.modelTopology.node, weights);
  }

  node(name: string): TfNode {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`TF graph has no node ${name}`);
    return n;
  }

  /** The value of a Const node, checking its shape (a number per dim; [] for a scalar). */
  const(name: string, shape?: number[]): TfWeight {
    const n = this.node(name);
    if (n.op !== 'Const') throw new Error(`${name} is a ${n.op}, not a Const`);
    const w = this.weights.get(name);
    if (!w) throw new Error(`Const ${name} has no weight data`);
    if (shape && (shape.length !== w.shape.length || shape.some((d, i) => d !== w.shape[i]))) {
      throw new Error(`Const ${name}: shape [${w.shape}] where [${shape}] was expected`);
    }
    return w;
  }

  floats(name: string, shape?: number[]): Float32Array {
    const w = this.const(name, shape);
    if (!(w.data instanceof Float32Array)) throw new Error(`Const ${name} is not float32`);
    return w.data;
  }

  scalar(name: string): number {
    const w = this.const(name, []);
    return w.data[0]!;
  }

  ints(name: string): number[] {
    const w = this.const(name);
    if (!(w.data instanceof Int32Array)) throw new Error(`Const ${name} is not int32`);
    return Array.from(w.data);
  }

  /** Asserts that node `name` is an `op` whose inputs are exactly `inputs` (when given). */
  expect(name: string, op: string, inputs?: string[]): TfNode {
    const n = this.node(name);
    if (n.op !== op) throw new Error(`TF node ${name}: op ${n.op} where ${op} was expected`);
    if (inputs) {
      const actual = n.input ?? [];
      if (actual.length !== inputs.length || actual.some((x, i) => x !== inputs[i])) {
        throw new Error(`TF node ${name}: inputs [${actual.join(', ')}] where [${inputs.join(', ')}] were expected`);
      }
    }
    return n;
  }

  countOps(): Record<string, number> {
    const c: Record<string, number> = {};
    for (const n of this.nodes.values()) c[n.op] = (c[n.op] ?? 0) + 1;
    return c;
  }
}
