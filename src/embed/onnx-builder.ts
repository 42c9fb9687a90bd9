// A thin, typed layer over onnx-proto's generated ModelProto for writing ONNX graphs: the
// offline model and the test/benchmark BERT-shaped models are built with it. Bytes are
// encoded by onnx-proto (protobufjs), never by hand.
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
export { onnx };

export const DataType = onnx.TensorProto.DataType;
export type DataTypeValue = (typeof DataType)[keyof typeof DataType];

export type AttrValue = number | string | number[] | Float32Array | { tensor: onnxProto.onnx.ITensorProto };

/** Little-endian raw bytes of a typed array, as TensorProto.raw_data wants them. */
function rawBytes(data: ArrayBufferView): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

export function tensor(
  name: string,
  dims: number[],
  data: Float32Array | Int32Array | BigInt64Array | Int8Array | Uint8Array,
): onnxProto.onnx.ITensorProto {
  const dataType =
    data instanceof Float32Array
      ? DataType.FLOAT
      : data instanceof Int32Array
        ? DataType.INT32
        : data instanceof BigInt64Array
          ? DataType.INT64
          : data instanceof Int8Array
            ? DataType.INT8
            : DataType.UINT8;
  const expected = dims.reduce((a, b) => a * b, 1);
  if (expected !== data.length) throw new Error(`tensor ${name}: dims ${dims} hold ${expected} values, got ${data.length}`);
  return { name, dims, dataType, rawData: rawBytes(data) };
}

export const int64s = (name: string, values: number[]) => tensor(name, [values.length], BigInt64Array.from(values.map(BigInt)));
export const scalarF = (name: string, v: number) => tensor(name, [], Float32Array.of(v));

function attribute(name: string, v: AttrValue): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'number') return Number.isInteger(v) ? { name, type: T.INT, i: v } : { name, type: T.FLOAT, f: v };
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (v instanceof Float32Array) return { name, type: T.FLOATS, floats: Array.from(v) };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  return { name, type: T.TENSOR, t: v.tensor };
}

export function node(
  opType: string,
  inputs: string[],
  outputs: string[],
  attrs: Record<string, AttrValue> = {},
  domain?: string,
): onnxProto.onnx.INodeProto {
  return {
    opType,
    input: inputs,
    output: outputs,
    name: `${opType}_${outputs[0]}`,
    attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    ...(domain ? { domain } : {}),
  };
}

/** A graph input/output: dims are numbers or symbolic names such as 'batch'. */
export function valueInfo(name: string, elemType: DataTypeValue, dims: (number | string)[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

export interface GraphSpec {
  name: string;
  inputs: onnxProto.onnx.IValueInfoProto[];
  outputs: onnxProto.onnx.IValueInfoProto[];
  nodes: onnxProto.onnx.INodeProto[];
  initializers: onnxProto.onnx.ITensorProto[];
  /** Default opset 17; add e.g. { domain: 'com.microsoft', version: 1 } for contrib ops. */
  opsets?: { domain: string; version: number }[];
  producer?: string;
  metadata?: Record<string, string>;
}

export function encodeModel(g: GraphSpec): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: g.producer ?? 'orb-learn',
    opsetImport: g.opsets ?? [{ domain: '', version: 17 }],
    graph: {
      name: g.name,
      node: g.nodes,
      input: g.inputs,
      output: g.outputs,
      initializer: g.initializers,
    },
    metadataProps: Object.entries(g.metadata ?? {}).map(([key, value]) => ({ key, value })),
  });
  return onnx.ModelProto.encode(model).finish();
}
