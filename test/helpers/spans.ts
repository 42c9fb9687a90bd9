// Real OpenTelemetry SDK spans, exported by the real OTLP exporters, as a collector would send them.
import { SpanStatusCode, type Attributes } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';

export interface SpanSpec {
  name?: string;
  attributes: Attributes;
  status?: { code: 'ok' | 'error'; message?: string };
  startMs?: number;
  endMs?: number;
}

export function makeSpans(specs: SpanSpec[], resource: Attributes = { 'service.name': 'agent-orchestrator' }): ReadableSpan[] {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes(resource),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer('orb-learn-test', '1.0.0');
  for (const s of specs) {
    const span = tracer.startSpan(s.name ?? 'execution', { attributes: s.attributes, startTime: s.startMs });
    if (s.status)
      span.setStatus({ code: s.status.code === 'error' ? SpanStatusCode.ERROR : SpanStatusCode.OK, message: s.status.message });
    span.end(s.endMs);
  }
  return memory.getFinishedSpans();
}

export type ExporterKind = 'grpc' | 'http-proto' | 'http-json';

export function makeExporter(kind: ExporterKind, base: { grpcUrl: string; httpUrl: string }, gzip = false): SpanExporter {
  const timeoutMillis = 15_000;
  if (kind === 'grpc')
    return new GrpcExporter({ url: base.grpcUrl, timeoutMillis, compression: gzip ? CompressionAlgorithm.GZIP : CompressionAlgorithm.NONE });
  const opts = { url: `${base.httpUrl}/v1/traces`, timeoutMillis, compression: gzip ? CompressionAlgorithm.GZIP : CompressionAlgorithm.NONE };
  return kind === 'http-proto' ? new ProtoExporter(opts) : new JsonExporter(opts);
}

export function exportSpans(exporter: SpanExporter, spans: ReadableSpan[]): Promise<ExportResult> {
  return new Promise((resolve) => exporter.export(spans, resolve));
}

export async function exportOk(exporter: SpanExporter, spans: ReadableSpan[]): Promise<void> {
  const r = await exportSpans(exporter, spans);
  if (r.code !== ExportResultCode.SUCCESS) throw r.error ?? new Error('export failed');
}

let seq = 0;

/** A complete, valid execution: every attribute of the mapping table set. */
export function fullExecution(over: Attributes = {}): Attributes {
  seq++;
  return {
    'execution.task_type': 'refactor',
    'execution.task_description': `Refactor the authentication middleware #${seq}`,
    'execution.repo': 'mahavishnu',
    'execution.model_tier': 'medium',
    'execution.pool_type': 'session-buddy',
    'execution.swarm_topology': 'mesh',
    'execution.solution_summary': 'Extracted JWT validation into shared middleware',
    'execution.file_count': 7,
    'execution.estimated_tokens': 12000,
    'execution.complexity_score': 65,
    'execution.routing_confidence': 0.82,
    'execution.predicted_success_probability': 0.9,
    'execution.success': true,
    'execution.user_accepted': true,
    'execution.duration_seconds': 45.5,
    'execution.cost_estimate': 0.003,
    'execution.actual_cost': 0.0034,
    'execution.peak_memory_mb': 512.25,
    'execution.cpu_time_seconds': 30.5,
    'execution.quality_score': 92,
    'execution.user_rating': 5,
    'execution.metadata.ticket': 'ORB-42',
    ...over,
  };
}

/** Only the required attributes; everything else comes from defaults or the span. */
export function minimalExecution(over: Attributes = {}): Attributes {
  return {
    'execution.task_type': 'test',
    'execution.task_description': 'Stabilize the flaky integration tests',
    'execution.repo': 'orb',
    'execution.model_tier': 'small',
    'execution.pool_type': 'local',
    'execution.routing_confidence': 0.5,
    'execution.cost_estimate': 0.001,
    'execution.actual_cost': 0.002,
    ...over,
  };
}

export async function shutdownExporter(e: SpanExporter): Promise<void> {
  await e.shutdown();
}
