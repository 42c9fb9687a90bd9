// npm run bench:decode — which decoder for the hot path: protobufjs reflection, @grpc/proto-loader,
// or the Reader-based decoder (src/receiver/protobuf.ts) built on protobufjs's Reader.
// Each decodes the same 100-span request (about 20 attributes a span) and then hands it to
// conversion, since a decoder's output shape changes what conversion costs.
import { loadSync } from '@grpc/proto-loader';
import { convertRequest } from '../src/convert/span-to-record.js';
import type { ExportTraceRequest } from '../src/convert/wire-types.js';
import { PROTO_DIR } from '../src/paths.js';
import { readExportTraceRequest } from '../src/receiver/protobuf.js';
import { ExportTraceServiceRequest } from '../src/receiver/proto-root.js';
import { encodeRequest, otlpRequest } from '../test/helpers/raw.js';
import { fullExecution } from '../test/helpers/spans.js';

const body = encodeRequest(
  otlpRequest(Array.from({ length: 100 }, (_, k) => ({ attrs: fullExecution() as Record<string, unknown>, spanId: (k + 1).toString(16).padStart(16, '0') }))),
);

const def = loadSync('opentelemetry/proto/collector/trace/v1/trace_service.proto', {
  includeDirs: [PROTO_DIR],
  longs: String,
  bytes: Buffer,
  oneofs: true,
  defaults: false,
});
const service = def['opentelemetry.proto.collector.trace.v1.TraceService'] as Record<string, { requestDeserialize(b: Buffer): unknown }>;
const protoLoader = service.Export!.requestDeserialize;

const decoders: [string, (b: Buffer) => ExportTraceRequest][] = [
  ['protobufjs reflection (Type.decode)', (b) => ExportTraceServiceRequest.decode(b) as unknown as ExportTraceRequest],
  ['@grpc/proto-loader (decode + toObject)', (b) => protoLoader(b) as ExportTraceRequest],
  ['Reader-based decoder (shipped)', (b) => readExportTraceRequest(b)],
];

function time(fn: () => void, rounds: number): number {
  const t0 = performance.now();
  for (let i = 0; i < rounds; i++) fn();
  return (performance.now() - t0) / rounds;
}

console.log(`request: 100 spans, ${body.length} bytes; figures are µs per span, best of 5 runs of 200 requests`);
for (const [name, decode] of decoders) {
  const sample = convertRequest(decode(body), new Date());
  if (sample.executions.length !== 100) throw new Error(`${name}: converted ${sample.executions.length} of 100 spans (${sample.rejected[0]?.reason})`);
  time(() => convertRequest(decode(body), new Date()), 200); // warm-up
  let dec = Infinity;
  let both = Infinity;
  for (let run = 0; run < 5; run++) {
    dec = Math.min(dec, time(() => decode(body), 200));
    both = Math.min(both, time(() => convertRequest(decode(body), new Date()), 200));
  }
  console.log(`${name.padEnd(42)} decode ${(dec * 10).toFixed(1).padStart(6)} µs   decode+convert ${(both * 10).toFixed(1).padStart(6)} µs`);
}
