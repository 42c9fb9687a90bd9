// orb-learn's own traces and metrics over OTLP/gRPC, through @opentelemetry/sdk-node. Off unless
// an endpoint is configured. Its spans carry no execution.* or feedback.* attribute, so even
// if a collector routed them back, orb-learn would count them as trace data and never learn
// from itself; an endpoint that is orb-learn's own receiver is refused outright.
import { metrics, trace, type Attributes, type Tracer } from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { NodeSDK } from '@opentelemetry/sdk-node';
import type { Registry } from 'prom-client';

import { SELF_SCOPE } from './scope.js';

export interface SelfTelemetry {
  tracer: Tracer;
  shutdown(): Promise<void>;
}

/** Mirrors every prom-client counter and gauge as an OTel observable instrument: one definition per metric. */
function bridgeMetrics(registry: Registry): void {
  const meter = metrics.getMeter(SELF_SCOPE);
  const values = async (name: string) => ((await registry.getSingleMetric(name)?.get())?.values ?? []) as { value: number; labels: Attributes }[];
  for (const m of registry.getMetricsAsArray()) {
    const type = (m as unknown as { type?: string }).type ?? '';
    const name = m.name;
    const help = (m as unknown as { help?: string }).help;
    if (type === 'counter') {
      meter.createObservableCounter(name, { description: help }).addCallback(async (obs) => {
        for (const v of await values(name)) obs.observe(v.value, v.labels);
      });
    } else if (type === 'gauge') {
      meter.createObservableGauge(name, { description: help }).addCallback(async (obs) => {
        for (const v of await values(name)) obs.observe(v.value, v.labels);
      });
    }
  }
}

export function startSelfTelemetry(endpoint: string, registry: Registry, ownGrpcPort: number, intervalMs = 10_000): SelfTelemetry {
  const url = new URL(endpoint.includes('://') ? endpoint : `http://${endpoint}`);
  if (['127.0.0.1', 'localhost', '::1', '[::1]'].includes(url.hostname) && Number(url.port) === ownGrpcPort)
    throw new Error(`telemetry endpoint ${endpoint} is orb-learn's own receiver: it would learn from itself`);
  const sdk = new NodeSDK({
    resource: resourceFromAttributes({ 'service.name': 'orb-learn' }),
    traceExporter: new OTLPTraceExporter({ url: url.toString() }),
    metricReader: new PeriodicExportingMetricReader({ exporter: new OTLPMetricExporter({ url: url.toString() }), exportIntervalMillis: intervalMs }),
    instrumentations: [],
  });
  sdk.start();
  bridgeMetrics(registry);
  return { tracer: trace.getTracer(SELF_SCOPE), shutdown: () => sdk.shutdown() };
}
