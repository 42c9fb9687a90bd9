// Every otelcol-contrib configuration in collector-config/ is wired the way the collector requires
// and agrees with orb-learn: its default gRPC address, the record's required fields, durability.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/config.js';
import { splitHostPort } from '../../src/host.js';
import { FEEDBACK_ATTRIBUTES } from '../../src/convert/feedback.js';
import { RECORD_FIELDS } from '../../src/convert/record.js';
import { AGENT_KIND, AGENT_OPERATION, INFERENCE_KINDS, INFERENCE_OPERATIONS } from '../../src/convert/genai/names.js';
import {
  COLLECTOR_CONFIG_DIR,
  collectorConfigFiles,
  hostOf,
  isLoadBalancing,
  learningEndpoints,
  learningExporters,
  loadCollectorConfig,
  otlpClientSettings,
  portOf,
  routes,
  SECTIONS,
  typeOf,
  type CollectorConfig,
} from './collector.js';

const DEFAULTS = loadConfig();
const DEFAULT_GRPC = splitHostPort(DEFAULTS.grpc);
const DEFAULT_HTTP = splitHostPort(DEFAULTS.http);

/** Fields a span cannot supply itself (task_id, timestamp, success, duration come from the span). */
const FROM_SPAN = new Set(['task_id', 'timestamp', 'success', 'duration_seconds']);
const REQUIRED_ATTRIBUTES = RECORD_FIELDS.filter((f) => f.required && !f.hasDefault && !FROM_SPAN.has(f.name)).map(
  (f) => `execution.${f.name}`,
);
/** Every feedback.* attribute orb-learn reads: a span with any of them is a feedback span to it. */
const FEEDBACK_KEYS: string[] = Object.values(FEEDBACK_ATTRIBUTES);
/** Processors that drop or sample spans: none may stand between the receiver and the trace backend. */
const DROPPING_PROCESSORS = new Set(['filter', 'tail_sampling', 'probabilistic_sampler', 'groupbytrace']);

const PIPELINE_TYPES = new Set(['traces', 'metrics', 'logs', 'profiles']);
const ROUTING_CONTEXTS = new Set(['resource', 'span', 'metric', 'datapoint', 'log', 'request']);
/** Deprecated exporter names and what replaced them. */
const DEPRECATED_EXPORTERS: Record<string, string> = {
  otlp: 'otlp_grpc',
  otlphttp: 'otlp_http',
  logging: 'debug',
  loadbalancing: 'load_balancing', // contrib PR #48533 (0.153); the old name is a deprecated alias
};

/** Where each configuration's learning exporter must send. */
const EXPECTED_LEARNING_HOSTS: Record<string, (hosts: string[]) => void> = {
  'sidecar.yaml': (hosts) => assert.deepEqual(hosts, [DEFAULT_GRPC.host], 'the sidecar exports to orb-learn on this host'),
  'compose.yaml': (hosts) => assert.deepEqual(hosts, ['orb-learn'], 'compose exports to the orb-learn service'),
  'scale-out.yaml': (hosts) => {
    assert.ok(hosts.length >= 2, 'scale-out balances over several instances');
    assert.equal(new Set(hosts).size, hosts.length, 'each instance listed once');
  },
};

const files = collectorConfigFiles();

/**
 * The routing connector's decision for a span, for the OTTL these files use: a disjunction of
 * `attributes["k"] != nil` and `attributes["k"] == "v"`. Routes are tried in order; the first that
 * matches takes the span (the connector always matches once since 0.120).
 */
function routeOf(rs: ReturnType<typeof routes>, attrs: Record<string, string | number>): string[] | null {
  for (const r of rs) {
    const hit = r.condition
      .trim()
      .split(/\s+or\s+/)
      .some((clause) => {
        const m = /^attributes\["([^"]+)"\] (!= nil|== "([^"]*)")$/.exec(clause.trim());
        if (!m) throw new Error(`unsupported OTTL clause: ${clause}`);
        return m[2] === '!= nil' ? attrs[m[1]!] !== undefined : attrs[m[1]!] === m[3];
      });
    if (hit) return r.pipelines;
  }
  return null;
}

describe('collector-config/', () => {
  it('holds the sidecar, compose and scale-out configurations, each explained in its README', () => {
    for (const f of Object.keys(EXPECTED_LEARNING_HOSTS)) assert.ok(files.includes(f), `collector-config/${f} exists`);
    const readme = readFileSync(join(COLLECTOR_CONFIG_DIR, 'README.md'), 'utf8');
    for (const f of files) assert.ok(readme.includes(f), `README.md explains ${f}`);
  });

  it('every file is in EXPECTED_LEARNING_HOSTS, so its learning endpoint is checked', () => {
    for (const f of files) assert.ok(EXPECTED_LEARNING_HOSTS[f], `add ${f} to EXPECTED_LEARNING_HOSTS`);
  });
});

for (const file of files) {
  describe(`collector-config/${file}`, () => {
    let c: CollectorConfig;
    const load = () => (c ??= loadCollectorConfig(file));

    it('parses as YAML without errors or duplicate keys', () => {
      load();
      assert.ok(Object.keys(c.pipelines).length > 0, 'has pipelines');
    });

    it('names each pipeline <signal>[/<name>]', () => {
      for (const id of Object.keys(load().pipelines)) assert.ok(PIPELINE_TYPES.has(typeOf(id)), `pipeline ${id}`);
    });

    it('defines every component the pipelines reference', () => {
      const { components: d } = load();
      for (const [id, p] of Object.entries(c.pipelines)) {
        for (const r of p.receivers) assert.ok(d.receivers[r] || d.connectors[r], `${id}: receiver ${r} is defined`);
        for (const x of p.processors) assert.ok(d.processors[x], `${id}: processor ${x} is defined`);
        for (const e of p.exporters) assert.ok(d.exporters[e] || d.connectors[e], `${id}: exporter ${e} is defined`);
        assert.ok(p.receivers.length > 0 && p.exporters.length > 0, `${id} has receivers and exporters`);
      }
    });

    it('uses every receiver, processor, exporter and connector it defines', () => {
      const used = new Set(Object.values(load().pipelines).flatMap((p) => [...p.receivers, ...p.processors, ...p.exporters]));
      for (const s of SECTIONS.filter((s) => s !== 'extensions'))
        for (const id of Object.keys(c.components[s])) assert.ok(used.has(id), `${s}.${id} is used by a pipeline`);
    });

    it('uses each connector as an exporter in one pipeline and a receiver in another', () => {
      for (const id of Object.keys(load().components.connectors)) {
        const from = Object.entries(c.pipelines).filter(([, p]) => p.exporters.includes(id)).map(([n]) => n);
        const to = Object.entries(c.pipelines).filter(([, p]) => p.receivers.includes(id)).map(([n]) => n);
        assert.ok(from.length > 0, `${id} is an exporter somewhere`);
        assert.ok(to.length > 0, `${id} is a receiver somewhere`);
        assert.ok(!from.some((p) => to.includes(p)), `${id} does not loop within one pipeline`);
      }
    });

    it('enables exactly the extensions it defines, and storage refers to an enabled one', () => {
      const { components: d, serviceExtensions } = load();
      for (const e of serviceExtensions) assert.ok(d.extensions[e] !== undefined, `extension ${e} is defined`);
      for (const e of Object.keys(d.extensions)) assert.ok(serviceExtensions.includes(e), `extension ${e} is enabled in service.extensions`);
      const storages: string[] = [];
      const walk = (v: unknown) => {
        if (v && typeof v === 'object')
          for (const [k, x] of Object.entries(v)) {
            if (k === 'storage' && typeof x === 'string') storages.push(x);
            else walk(x);
          }
      };
      walk(d.exporters);
      walk(d.receivers);
      for (const s of storages) assert.ok(serviceExtensions.includes(s), `storage ${s} is an enabled extension`);
    });

    it('uses current component names (otlp_grpc and load_balancing, not the deprecated otlp and loadbalancing)', () => {
      for (const id of Object.keys(load().components.exporters)) {
        const t = typeOf(id);
        assert.ok(!DEPRECATED_EXPORTERS[t], `exporter ${id}: "${t}" is deprecated, use "${DEPRECATED_EXPORTERS[t]}"`);
      }
    });

    it('routing tables use the current syntax and point at pipelines fed by their connector', () => {
      for (const [id, cfg] of Object.entries(load().components.connectors)) {
        if (typeOf(id) !== 'routing') continue;
        assert.equal(cfg.match_once, undefined, `${id}: match_once was removed in 0.120`);
        const table = cfg.table as Record<string, unknown>[];
        assert.ok(Array.isArray(table) && table.length > 0, `${id} has a table`);
        for (const entry of table) {
          assert.ok((entry.condition === undefined) !== (entry.statement === undefined), `${id}: each route has a condition or a statement`);
          if (entry.context !== undefined) assert.ok(ROUTING_CONTEXTS.has(String(entry.context)), `${id}: context ${String(entry.context)}`);
          if (entry.statement !== undefined) assert.match(String(entry.statement), /^route\(\) where /, `${id}: statement form`);
        }
        const targets = [...routes(c).filter((r) => r.connector === id).flatMap((r) => r.pipelines), ...((cfg.default_pipelines as string[]) ?? [])];
        for (const p of targets) {
          assert.ok(c.pipelines[p], `${id} routes to ${p}, which exists`);
          assert.ok(c.pipelines[p]!.receivers.includes(id), `${p} receives from ${id}`);
        }
      }
    });

    it('routes execution spans, by execution.task_type and every other required attribute, span by span', () => {
      const learning = routes(load()).filter((r) => r.condition.includes('execution.task_type'));
      assert.equal(learning.length, 1, 'one route selects execution spans');
      const r = learning[0]!;
      assert.equal(r.context, 'span', 'the condition reads span attributes, so spans are routed one by one');
      for (const a of REQUIRED_ATTRIBUTES)
        assert.ok(r.condition.includes(`attributes["${a}"]`), `a span carrying only ${a} still reaches orb-learn (to be rejected, not lost)`);
      for (const p of r.pipelines)
        assert.ok(c.pipelines[p]!.receivers.every((x) => c.components.connectors[x]), `${p} receives routed spans only`);
    });

    it('routes feedback spans on every feedback.* attribute orb-learn reads, so malformed ones are rejected there', () => {
      const r = routes(load()).find((x) => x.condition.includes('execution.task_type'))!;
      for (const a of FEEDBACK_KEYS)
        assert.ok(r.condition.includes(`attributes["${a}"]`), `a span carrying only ${a} is a feedback span to orb-learn, so it must reach it`);
    });

    it('routes GenAI agent spans and inference calls, under both conventions, to the same learning pipeline', () => {
      const rs = routes(load());
      const learning = rs.find((x) => x.condition.includes('execution.task_type'))!.pipelines;
      const genai = rs.filter((r) => r.condition.includes('gen_ai.operation.name'));
      assert.equal(genai.length, 1, 'one route selects GenAI spans');
      assert.equal(genai[0]!.context, 'span');
      assert.deepEqual(genai[0]!.pipelines, learning);
      for (const op of [AGENT_OPERATION, ...INFERENCE_OPERATIONS]) assert.deepEqual(routeOf(rs, { 'gen_ai.operation.name': op }), learning, op);
      for (const k of [AGENT_KIND, ...INFERENCE_KINDS]) assert.deepEqual(routeOf(rs, { 'openinference.span.kind': k }), learning, k);
      // Exactly the values orb-learn reads, and nothing it ignores.
      const values = [...genai[0]!.condition.matchAll(/== "([^"]+)"/g)].map((m) => m[1]).sort();
      assert.deepEqual(values, [AGENT_OPERATION, ...INFERENCE_OPERATIONS, AGENT_KIND, ...INFERENCE_KINDS].sort());
      for (const other of [{ 'gen_ai.operation.name': 'execute_tool' } as Record<string, string>, { 'openinference.span.kind': 'TOOL' }, { 'openinference.span.kind': 'CHAIN' }, { 'http.request.method': 'POST' }])
        assert.equal(routeOf(rs, other), null, `${JSON.stringify(other)} reaches trace storage only`);
      assert.deepEqual(routeOf(rs, { 'execution.task_type': 'refactor' }), learning);
      assert.deepEqual(routeOf(rs, { 'gen_ai.operation.name': 'invoke_agent', 'execution.model_tier': 'large' }), learning, 'once, by the first route');
    });

    it('routes a span when any one of the listed attributes is present (a plain disjunction)', () => {
      const r = routes(load()).find((x) => x.condition.includes('execution.task_type'))!;
      const clauses = r.condition.trim().split(/\s+or\s+/);
      for (const clause of clauses) assert.match(clause.trim(), /^attributes\["[^"]+"\] != nil$/, `"${clause}" is a presence check joined by "or"`);
      const keys = clauses.map((x) => /"([^"]+)"/.exec(x)![1]!);
      assert.equal(new Set(keys).size, keys.length, 'each attribute listed once');
      for (const k of keys) assert.match(k, /^(execution|feedback)\./, `${k}: orb-learn reads only execution.* and feedback.* spans`);
    });

    it('queues the learning exporter on disk (file_storage) and retries it for ever', () => {
      const exporters = learningExporters(load());
      assert.ok(exporters.length > 0, 'the learning pipeline has an exporter');
      for (const { exporter, cfg } of exporters) {
        const q = cfg.sending_queue as Record<string, unknown> | undefined;
        assert.ok(q && q.enabled !== false, `${exporter}: sending_queue enabled`);
        const storage = String(q.storage);
        assert.equal(typeOf(storage), 'file_storage', `${exporter}: the queue is stored by a file_storage extension`);
        assert.ok(c.components.extensions[storage] && c.serviceExtensions.includes(storage), `${storage} is defined and enabled`);
        const retry = cfg.retry_on_failure as Record<string, unknown> | undefined;
        assert.ok(retry && retry.enabled !== false, `${exporter}: retry_on_failure enabled`);
        assert.ok(retry.max_elapsed_time === 0 || retry.max_elapsed_time === '0s', `${exporter}: retries never give up (max_elapsed_time 0)`);
      }
    });

    it("sends the learning exporter to orb-learn's gRPC port, in plaintext", () => {
      for (const { exporter, cfg } of learningExporters(load())) {
        const endpoints = learningEndpoints(exporter, cfg);
        for (const e of endpoints) assert.equal(portOf(e), DEFAULT_GRPC.port, `${exporter} → ${e}: orb-learn's default gRPC port`);
        EXPECTED_LEARNING_HOSTS[file]!(endpoints.map(hostOf));
        const client = otlpClientSettings(exporter, cfg);
        assert.equal((client.tls as Record<string, unknown> | undefined)?.insecure, true, `${exporter}: orb-learn serves plaintext gRPC`);
        if (file === 'sidecar.yaml') assert.equal(cfg.endpoint, DEFAULTS.grpc, "the sidecar's endpoint is exactly orb-learn serve's default");
        if (isLoadBalancing(exporter)) {
          assert.equal(client.endpoint, undefined, 'the resolver fills each backend endpoint');
          const sub = client.sending_queue as Record<string, unknown> | undefined;
          assert.equal(sub?.enabled, false, 'per-backend in-memory queue off: the persistent queue holds data until an instance commits it');
          const resolvers = Object.keys((cfg.resolver ?? {}) as object);
          assert.equal(resolvers.length, 1, `one resolver (got ${resolvers.join(', ')})`);
        }
      }
    });

    /** The pipelines that take data from the otlp receiver: what the apps send enters here. */
    const fromReceiver = () => Object.entries(load().pipelines).filter(([, p]) => p.receivers.some((r) => typeOf(r) === 'otlp'));

    it('puts memory_limiter first in every pipeline fed by the otlp receiver (and wherever else it is used)', () => {
      const fed = fromReceiver();
      assert.ok(fed.length > 0, 'a pipeline receives from the otlp receiver');
      for (const [id, p] of fed) {
        const first = p.processors[0];
        assert.ok(first !== undefined && typeOf(first) === 'memory_limiter', `${id}: memory_limiter is the first processor (got ${p.processors.join(', ') || 'none'})`);
        const cfg = c.components.processors[first]!;
        assert.ok(cfg.limit_mib !== undefined || cfg.limit_percentage !== undefined, `${first} sets a limit`);
        assert.ok(cfg.check_interval !== undefined, `${first} sets check_interval`);
      }
      for (const [id, p] of Object.entries(c.pipelines))
        for (const [i, x] of p.processors.entries()) if (typeOf(x) === 'memory_limiter') assert.equal(i, 0, `${id}: ${x} first`);
    });

    it('sends every span it receives to the trace backend, whatever the routing connector does', () => {
      const fed = fromReceiver();
      const learning = new Set(learningExporters(c).map((e) => e.exporter));
      const backends = new Set<string>();
      for (const [id, p] of fed) {
        const direct = p.exporters.filter((e) => c.components.exporters[e] && !learning.has(e));
        assert.ok(direct.length > 0, `${id} exports to the trace backend itself, not through a connector`);
        for (const e of direct) backends.add(e);
        for (const x of p.processors)
          assert.ok(!DROPPING_PROCESSORS.has(typeOf(x)), `${id}: ${x} would drop spans before the trace backend`);
      }
      for (const [id, p] of Object.entries(c.pipelines)) {
        if (!p.receivers.every((r) => c.components.connectors[r])) continue;
        for (const e of p.exporters) assert.ok(!backends.has(e), `${id} is fed by a connector: the trace backend ${e} must not depend on routing`);
      }
      for (const [id, cfg] of Object.entries(c.components.connectors)) {
        if (typeOf(id) !== 'routing') continue;
        const catchAll = (cfg.default_pipelines as string[] | undefined) ?? [];
        assert.deepEqual(catchAll, [], `${id}: no default_pipelines (a catch-all): spans that match no route go nowhere but the trace backend`);
      }
    });

    if (file === 'sidecar.yaml')
      it("listens beside orb-learn's default ports, not on them (same host)", () => {
        const taken = new Set([DEFAULT_GRPC.port, DEFAULT_HTTP.port]);
        const otlp = (load().components.receivers.otlp?.protocols ?? {}) as Record<string, { endpoint?: string } | null>;
        for (const [proto, cfg] of Object.entries(otlp)) {
          assert.ok(cfg?.endpoint, `otlp ${proto} has an explicit endpoint (the default would be orb-learn's port)`);
          assert.ok(!taken.has(portOf(cfg.endpoint)), `otlp ${proto} ${cfg.endpoint} does not collide with orb-learn`);
        }
      });
  });
}

