// The OTLP message types, loaded once from proto/ by protobufjs (reflection with generated
// decoders; faster than @grpc/proto-loader's object conversion, see docs/benchmarks.md).
import protobuf from 'protobufjs';
import { PROTO_DIR } from '../paths.js';

const root = new protobuf.Root();
root.resolvePath = (_origin, target) =>
  // google/protobuf/* come bundled with protobufjs (their fields keep snake_case: Any.type_url).
  target.startsWith('google/protobuf/') ? target : PROTO_DIR + target;
root.loadSync([
  'opentelemetry/proto/collector/trace/v1/trace_service.proto',
  'google/rpc/status.proto',
  'google/rpc/error_details.proto',
]);
root.resolveAll();

export const ExportTraceServiceRequest = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
export const ExportTraceServiceResponse = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse');
export const RpcStatus = root.lookupType('google.rpc.Status');
export const RetryInfo = root.lookupType('google.rpc.RetryInfo');

export const TRACE_EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
