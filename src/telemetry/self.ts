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

import { isLoopback } from '../host.js';
import { SELF_SCOPE } from './scope.js';

export interface SelfTelemetry {
  tracer: Tracer;
  shutdown(): Promise<void>;
}

/**
 * Mirrors every prom-client metric as OTel observable instruments: one definition per metric.
 * A histogram goes over as its Prometheus series (NAME_bucket with `le`, NAME_sum, NAME_count),
 * cumulative counters, since the OTel API has no observable histogram.
 */
function bridgeMetrics(registry: Registry): void {
  const meter = metrics.getMeter(SELF_SCOPE);
  type Value = { value: number; labels: Attributes; metricName?: string };
  const values = async (name: string) => ((await registry.getSingleMetric(name)?.get())?.values ?? []) as Value[];
  for (const m of registry.getMetricsAsArray()) {
    const type = (m as unknown as { type?: string }).type ?? '';
    const name = m.name;
    const description = (m as unknown as { help?: string }).help;
    if (type === 'counter' || type === 'gauge') {
      const inst = type === 'counter' ? meter.createObservableCounter(name, { description }) : meter.createObservableGauge(name, { description });
      inst.addCallback(async (obs) => {
        for (const v of await values(name)) obs.observe(v.value, v.labels);
      });
    } else if (type === 'histogram' || type === 'summary') {
      const suffixes = type === 'histogram' ? ['_bucket', '_sum', '_count'] : ['', '_sum', '_count'];
      for (const suffix of suffixes) {
        const series = `${name}${suffix}`;
        const inst = suffix === '' ? meter.createObservableGauge(series, { description }) : meter.createObservableCounter(series, { description });
        inst.addCallback(async (obs) => {
          for (const v of await values(name)) if ((v.metricName ?? name) === series) obs.observe(v.value, v.labels);
        });
      }
    }
  }
}

const endpointUrl = (endpoint: string) => new URL(endpoint.includes('://') ? endpoint : `http://${endpoint}`);

/** True when an OTLP endpoint is this process's own gRPC receiver (listening on host:port). */
export function isOwnReceiver(endpoint: string, own: { host: string; port: number }): boolean {
  const url = endpointUrl(endpoint);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  if (port !== own.port) return false;
  const wildcard = own.host === '0.0.0.0' || own.host === '::' || own.host === '';
  return wildcard || isLoopback(host) || host === own.host;
}

/** Throws when the endpoint is orb-learn's own receiver: it would learn from itself. */
export function refuseOwnReceiver(endpoint: string, own: { host: string; port: number }): void {
  if (isOwnReceiver(endpoint, own)) throw new Error(`telemetry endpoint ${endpoint} is orb-learn's own receiver: it would learn from itself`);
}

export function startSelfTelemetry(endpoint: string, registry: Registry, own: { host: string; port: number }, intervalMs = 10_000): SelfTelemetry {
  refuseOwnReceiver(endpoint, own);
  const url = endpointUrl(endpoint);
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
