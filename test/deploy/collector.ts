// Reading otelcol-contrib configurations (collector-config/*.yaml) the way the collector wires them.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { PACKAGE_ROOT } from '../../src/paths.js';

export const COLLECTOR_CONFIG_DIR = join(PACKAGE_ROOT, 'collector-config');

export type Section = 'receivers' | 'processors' | 'exporters' | 'connectors' | 'extensions';
export const SECTIONS: readonly Section[] = ['receivers', 'processors', 'exporters', 'connectors', 'extensions'];

export interface Pipeline {
  receivers: string[];
  processors: string[];
  exporters: string[];
}

export interface CollectorConfig {
  file: string;
  raw: Record<string, unknown>;
  components: Record<Section, Record<string, Record<string, unknown>>>;
  serviceExtensions: string[];
  pipelines: Record<string, Pipeline>;
}

export function collectorConfigFiles(): string[] {
  return readdirSync(COLLECTOR_CONFIG_DIR)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
}

/** Parses strictly: any YAML error or warning (duplicate keys included) throws. */
export function parseYamlStrict(text: string, name: string): unknown {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  const problems = [...doc.errors, ...doc.warnings];
  if (problems.length) throw new Error(`${name}: ${problems.map((p) => p.message).join('; ')}`);
  return doc.toJS();
}

const asObject = (v: unknown, what: string): Record<string, unknown> => {
  if (v === null || v === undefined) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new Error(`${what}: expected a mapping`);
  return v as Record<string, unknown>;
};

const asList = (v: unknown, what: string): string[] => {
  if (v === null || v === undefined) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new Error(`${what}: expected a list of component ids`);
  return v as string[];
};

export function loadCollectorConfig(file: string): CollectorConfig {
  const raw = asObject(parseYamlStrict(readFileSync(join(COLLECTOR_CONFIG_DIR, file), 'utf8'), file), file);
  const components = {} as CollectorConfig['components'];
  for (const s of SECTIONS) {
    components[s] = {};
    for (const [id, cfg] of Object.entries(asObject(raw[s], `${file} ${s}`))) components[s][id] = asObject(cfg, `${file} ${s}.${id}`);
  }
  const service = asObject(raw.service, `${file} service`);
  const pipelines: Record<string, Pipeline> = {};
  for (const [id, p] of Object.entries(asObject(service.pipelines, `${file} service.pipelines`))) {
    const o = asObject(p, `${file} pipeline ${id}`);
    pipelines[id] = {
      receivers: asList(o.receivers, `${file} ${id}.receivers`),
      processors: asList(o.processors, `${file} ${id}.processors`),
      exporters: asList(o.exporters, `${file} ${id}.exporters`),
    };
  }
  return { file, raw, components, serviceExtensions: asList(service.extensions, `${file} service.extensions`), pipelines };
}

/** `otlp_grpc/orb-learn` → `otlp_grpc`. */
export const typeOf = (id: string) => id.split('/')[0]!;

/** The load-balancing exporter: `load_balancing` since otelcol-contrib 0.153, `loadbalancing` before (now a deprecated alias). */
export const isLoadBalancing = (id: string) => ['load_balancing', 'loadbalancing'].includes(typeOf(id));

export interface Route {
  connector: string;
  context: string | undefined;
  /** The OTTL condition, or the `where` clause of a statement. */
  condition: string;
  pipelines: string[];
}

export function routes(c: CollectorConfig): Route[] {
  const out: Route[] = [];
  for (const [id, cfg] of Object.entries(c.components.connectors)) {
    if (typeOf(id) !== 'routing') continue;
    for (const entry of (cfg.table as Record<string, unknown>[] | undefined) ?? []) {
      const condition = typeof entry.condition === 'string' ? entry.condition : String(entry.statement ?? '').replace(/^\s*route\(\)\s+where\s+/, '');
      out.push({ connector: id, context: entry.context as string | undefined, condition, pipelines: asList(entry.pipelines, `${id} pipelines`) });
    }
  }
  return out;
}

/** The pipelines that execution spans are routed into, and their exporters: the learning side. */
export function learningExporters(c: CollectorConfig): { pipeline: string; exporter: string; cfg: Record<string, unknown> }[] {
  const out: { pipeline: string; exporter: string; cfg: Record<string, unknown> }[] = [];
  for (const r of routes(c).filter((r) => r.condition.includes('execution.task_type'))) {
    for (const p of r.pipelines) {
      for (const e of c.pipelines[p]?.exporters ?? []) {
        const cfg = c.components.exporters[e];
        if (cfg) out.push({ pipeline: p, exporter: e, cfg });
      }
    }
  }
  return out;
}

/** Where a learning exporter sends: one endpoint for otlp_grpc, every backend for load_balancing. */
export function learningEndpoints(exporter: string, cfg: Record<string, unknown>): string[] {
  if (isLoadBalancing(exporter)) {
    const resolver = (cfg.resolver ?? {}) as Record<string, Record<string, unknown> | undefined>;
    if (resolver.static) return asList(resolver.static.hostnames, `${exporter} hostnames`);
    if (resolver.dns) return [`${String(resolver.dns.hostname)}:${String(resolver.dns.port ?? 4317)}`];
    throw new Error(`${exporter}: no static or dns resolver`);
  }
  return [String(cfg.endpoint)];
}

/** The OTLP client settings of a learning exporter (for load_balancing: its per-backend template). */
export function otlpClientSettings(exporter: string, cfg: Record<string, unknown>): Record<string, unknown> {
  if (isLoadBalancing(exporter)) return ((cfg.protocol as Record<string, unknown> | undefined)?.otlp ?? {}) as Record<string, unknown>;
  return cfg;
}

export function portOf(hostPort: string): number {
  return Number(hostPort.slice(hostPort.lastIndexOf(':') + 1));
}

export function hostOf(hostPort: string): string {
  return hostPort.slice(0, hostPort.lastIndexOf(':')).replace(/^\[|\]$/g, '');
}
